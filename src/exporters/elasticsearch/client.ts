/**
 * The few REST calls the `elasticsearch` exporter makes (GET /, templates, `_bulk`, `_search`), on
 * node:http(s) with one keep-alive agent per exporter, TLS from the `tls` config and the auth header.
 * Hand-rolled rather than an Elasticsearch or OpenSearch client package: each client pins its server
 * version (the 9.x ES client's `compatible-with=9` header is refused by ES 8), and one exporter serves
 * ES 7–9 and OpenSearch 1–3.
 *
 * Several endpoints are used in turn, one per request; a request whose connection fails moves on to the
 * next endpoint once before the error is the caller's (whose outcome is then retryable).
 */
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { loadTlsFiles, type TlsClientConfig } from '../../transport/tls.js';

export interface SearchAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

export interface Credentials {
  username?: string;
  password?: string;
  api_key?: string;
}

/** The Authorization header for the credentials, if any: `Basic base64(user:pass)` or `ApiKey <key>`. */
export function authorization(c: Credentials): string | undefined {
  if (c.api_key !== undefined) return `ApiKey ${c.api_key}`;
  if (c.username !== undefined) return 'Basic ' + Buffer.from(`${c.username}:${c.password ?? ''}`, 'utf8').toString('base64');
  return undefined;
}

export class SearchClient {
  private agent: HttpAgent | HttpsAgent | undefined;
  private next = 0;
  private readonly bases: URL[];
  private readonly auth: string | undefined;

  constructor(
    endpoints: readonly string[],
    private readonly tls: TlsClientConfig,
    credentials: Credentials,
    /** Bytes of an answer kept; the rest is read and dropped. */
    private readonly maxAnswerBytes: number,
  ) {
    this.bases = endpoints.map((e) => new URL(e.endsWith('/') ? e : e + '/'));
    this.auth = authorization(credentials);
  }

  get https(): boolean {
    return this.bases[0].protocol === 'https:';
  }

  /** Reads the TLS files and makes the agent; call before the first request. */
  async start(): Promise<void> {
    if (this.https) {
      const files = await loadTlsFiles(this.tls);
      this.agent = new HttpsAgent({ keepAlive: true, ca: files.ca, cert: files.cert, key: files.key, rejectUnauthorized: !this.tls.insecure_skip_verify });
    } else {
      this.agent = new HttpAgent({ keepAlive: true });
    }
  }

  /**
   * Sends one request to `path` (with its query) on the next endpoint. Rejects when no endpoint could
   * be reached or `signal` aborts; any status resolves.
   */
  async request(method: string, path: string, body: string | Buffer | undefined, signal: AbortSignal, contentType = 'application/json'): Promise<SearchAnswer> {
    const attempts = Math.min(2, this.bases.length);
    let last: unknown;
    for (let i = 0; i < attempts; i++) {
      const base = this.bases[this.next];
      this.next = (this.next + 1) % this.bases.length;
      try {
        return await this.send(base, method, path, body, signal, contentType);
      } catch (e) {
        last = e;
        if (signal.aborted) break;
      }
    }
    throw last;
  }

  private send(base: URL, method: string, path: string, body: string | Buffer | undefined, signal: AbortSignal, contentType: string): Promise<SearchAnswer> {
    const url = new URL(path.replace(/^\//, ''), base);
    const payload = body === undefined ? undefined : typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const headers: OutgoingHttpHeaders = { accept: 'application/json' };
    if (payload !== undefined) {
      headers['content-type'] = contentType;
      headers['content-length'] = payload.length;
    }
    if (this.auth !== undefined) headers.authorization = this.auth;
    const limit = this.maxAnswerBytes;
    return new Promise((resolve, reject) => {
      const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method, headers, agent: this.agent, signal }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          if (size < limit) chunks.push(chunk);
          size += chunk.length;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).subarray(0, limit) }));
        res.on('error', reject);
        res.on('close', () => {
          if (!res.complete) reject(new Error('the connection closed before the answer was complete'));
        });
      });
      req.on('error', reject);
      req.end(payload);
    });
  }

  close(): void {
    this.agent?.destroy();
    this.agent = undefined;
  }
}

/** The `reason` of an Elasticsearch error answer, else up to 300 characters of its text. */
export function errorText(body: Buffer): string {
  const text = body.toString('utf8');
  try {
    const parsed = JSON.parse(text) as { error?: { type?: string; reason?: string; root_cause?: { reason?: string }[] } | string };
    const err = parsed.error;
    if (typeof err === 'string') return err;
    if (err?.reason !== undefined) return err.type !== undefined ? `${err.type}: ${err.reason}` : err.reason;
  } catch {
    // Not JSON: quoted as text.
  }
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 300 ? flat.slice(0, 300) + '…' : flat;
}

/** Names why a request failed: aborted, or the error's code and message. */
export function describeRequestError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  if (e.name === 'AbortError' || e.name === 'TimeoutError') return 'aborted (attempt timed out or shutdown)';
  const code = (e as NodeJS.ErrnoException).code;
  return code && !e.message.includes(code) ? `${code}: ${e.message}` : e.message;
}
