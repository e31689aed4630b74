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
import type { Agent as HttpAgent, OutgoingHttpHeaders } from 'node:http';
import type { Agent as HttpsAgent } from 'node:https';
import { keepAliveAgent, sendRequest, type HttpAnswer } from '../../transport/http-client.js';
import type { TlsClientConfig } from '../../transport/tls.js';

export type SearchAnswer = HttpAnswer;

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
    this.agent = await keepAliveAgent(this.https, this.tls);
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
    return sendRequest(url, { method, headers, agent: this.agent, signal }, payload, this.maxAnswerBytes);
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
