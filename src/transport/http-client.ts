/**
 * The HTTP client of the exporters that POST to a backend (`zipkin`, `otlphttp`): one keep-alive agent
 * per exporter, TLS from the `tls` config (tls.ts), and an answer read into memory up to a limit.
 * Classifying the answer is the exporter's business.
 *
 * Uses node:http(s) rather than fetch: fetch (undici) takes CA, client certificate and verification
 * options only through an undici dispatcher, which Node does not expose.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { loadTlsFiles, type TlsClientConfig } from './tls.js';

/** An answer to a POST: its body is cut at the client's `maxBodyBytes` (the rest is read and dropped). */
export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export class HttpPostClient {
  private readonly https: boolean;
  private agent: HttpAgent | HttpsAgent | undefined;

  /** `tls` applies to an https:// `url` only. */
  constructor(
    readonly url: URL,
    private readonly tls: TlsClientConfig,
    private readonly maxBodyBytes: number,
  ) {
    this.https = url.protocol === 'https:';
  }

  /** Reads the TLS files and makes the agent; call before the first `post`. */
  async start(): Promise<void> {
    if (this.https) {
      const files = await loadTlsFiles(this.tls);
      this.agent = new HttpsAgent({ keepAlive: true, ca: files.ca, cert: files.cert, key: files.key, rejectUnauthorized: !this.tls.insecure_skip_verify });
    } else {
      this.agent = new HttpAgent({ keepAlive: true });
    }
  }

  /**
   * POSTs `body` with `headers` (and its content-length). Rejects when the connection fails, `signal`
   * aborts (an error named AbortError), or the answer ends early; any status resolves.
   */
  post(body: Uint8Array, headers: OutgoingHttpHeaders, signal: AbortSignal): Promise<HttpAnswer> {
    const limit = this.maxBodyBytes;
    const options = { method: 'POST', headers: { ...headers, 'content-length': body.length }, agent: this.agent, signal };
    return new Promise((resolve, reject) => {
      const req = (this.https ? httpsRequest : httpRequest)(this.url, options, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size < limit) chunks.push(chunk);
          size += chunk.length;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).subarray(0, limit) }));
        res.on('error', reject);
        // A connection closed mid-answer does not always emit 'error'.
        res.on('close', () => {
          if (!res.complete) reject(new Error('the connection closed before the answer was complete'));
        });
      });
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Closes the agent's connections. */
  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }
}

/**
 * Retry-After in milliseconds: delta-seconds or an HTTP date (past dates are 0); undefined when absent
 * or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Date.parse also reads "-1" or "3.5" as dates; an HTTP date has a day and a month name.
  if (!/[a-z]/i.test(text)) return undefined;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
