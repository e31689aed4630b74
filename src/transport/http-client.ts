/**
 * The HTTP client of the exporters that talk to a backend over HTTP (`zipkin` and `otlphttp` POST to
 * one URL through HttpPostClient; `elasticsearch` builds its REST calls on `keepAliveAgent` and
 * `sendRequest`): one keep-alive agent per exporter, TLS from the `tls` config (tls.ts), and an answer
 * read into memory up to a limit. Classifying the answer is the exporter's business.
 *
 * Uses node:http(s) rather than fetch: fetch (undici) takes CA, client certificate and verification
 * options only through an undici dispatcher, which Node does not expose.
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { loadTlsFiles, type TlsClientConfig } from './tls.js';

/** An answer to a request: its body is cut at the caller's byte limit (the rest is read and dropped). */
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
    this.agent = await keepAliveAgent(this.https, this.tls);
  }

  /**
   * POSTs `body` with `headers` (and its content-length). Rejects as `sendRequest` does; any status
   * resolves.
   */
  post(body: Uint8Array, headers: OutgoingHttpHeaders, signal: AbortSignal): Promise<HttpAnswer> {
    return sendRequest(this.url, { method: 'POST', headers: { ...headers, 'content-length': body.length }, agent: this.agent, signal }, body, this.maxBodyBytes);
  }

  /** Closes the agent's connections. */
  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }
}

/** A keep-alive agent: for https, with the CA, client certificate and verification of `tls`. */
export async function keepAliveAgent(https: boolean, tls: TlsClientConfig): Promise<HttpAgent | HttpsAgent> {
  if (!https) return new HttpAgent({ keepAlive: true });
  const files = await loadTlsFiles(tls);
  return new HttpsAgent({ keepAlive: true, ca: files.ca, cert: files.cert, key: files.key, rejectUnauthorized: !tls.insecure_skip_verify });
}

export interface RequestOptions {
  method: string;
  /** Sent as given: a caller with a body sets its content-length. */
  headers: OutgoingHttpHeaders;
  agent: HttpAgent | HttpsAgent | undefined;
  signal: AbortSignal;
}

/**
 * Sends one request over http or https (by `url`'s protocol) and reads the answer, keeping `maxBodyBytes`
 * of its body. Rejects when the connection fails, `signal` aborts (an error named AbortError), or the
 * answer ends early; any status resolves.
 */
export function sendRequest(url: URL, options: RequestOptions, body: Uint8Array | undefined, maxBodyBytes: number): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (size < maxBodyBytes) chunks.push(chunk);
        size += chunk.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).subarray(0, maxBodyBytes) }));
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
