/**
 * The `zipkin` exporter: POSTs spans to a Zipkin collector (`/api/v2/spans` of a Zipkin server, or
 * anything that speaks its HTTP API) as Zipkin v2 JSON or proto3, gzip-compressed by default. Config as
 * the OpenTelemetry Collector's `zipkinexporter`.
 *
 * It only sends one batch and classifies the answer; queueing and retry are the sending queue's:
 * 2xx is success; 429, 5xx and network errors are retryable (with the server's Retry-After); any other
 * status is permanent, and so is a batch that cannot be encoded.
 */
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { defineExporter, permanent, prepareAndSend, retryable, SUCCESS, type ExportResult, type PreparedRequest } from '../../component/types.js';
import { s, type Path } from '../../config/schema.js';
import { encodeZipkinV2JsonBytes } from '../../codecs/zipkin-json.js';
import { encodeZipkinProto3 } from '../../codecs/zipkin-proto3.js';
import { newResource, serviceNameOf, SERVICE_NAME, type Resource, type Span, type SpanBatch } from '../../model/span.js';
import { HttpPostClient, parseRetryAfter, type HttpAnswer } from '../../transport/http-client.js';
import { tlsClientSchema, validateTls, type TlsClientConfig } from '../../transport/tls.js';

const gzip = promisify(gzipCallback);

const config = s.object({
  endpoint: s
    .string()
    .matches(/^https?:\/\/[^\s]+$/, 'an http:// or https:// URL')
    .describe('URL to POST spans to, e.g. `http://zipkin:9411/api/v2/spans`.'),
  format: s
    .enum('json', 'proto')
    .default('json')
    .describe('`json`: Zipkin v2 JSON. `proto`: Zipkin proto3 `ListOfSpans` (`Content-Type: application/x-protobuf`).'),
  compression: s.enum('gzip', 'none').default('gzip').describe('Compress request bodies (`Content-Encoding: gzip`).'),
  headers: s.record(s.string()).default({}).describe("Headers added to every request; they replace the exporter's own of the same name."),
  tls: tlsClientSchema(),
  default_service_name: s
    .string()
    .default('<missing service name>')
    .describe('Service name of spans that have none (no `service.name` resource attribute).'),
});

const FORMATS = {
  json: { contentType: 'application/json', encode: (spans: Span[]) => encodeZipkinV2JsonBytes(spans) },
  proto: { contentType: 'application/x-protobuf', encode: encodeZipkinProto3 },
} as const;

/** Longest part of an error answer quoted in the error message. */
const ERROR_BODY_LIMIT = 512;
/** Bytes of an answer read: enough for ERROR_BODY_LIMIT characters of UTF-8. */
const MAX_ANSWER_BYTES = ERROR_BODY_LIMIT * 4;

function usesTls(tls: TlsClientConfig): boolean {
  return tls.insecure_skip_verify || tls.ca_file !== undefined || tls.cert_file !== undefined;
}

function validate(cfg: { endpoint: string; tls: TlsClientConfig }): { path: Path; message: string }[] {
  try {
    new URL(cfg.endpoint);
  } catch {
    return [{ path: ['endpoint'], message: `${JSON.stringify(cfg.endpoint)} is not a valid URL` }];
  }
  const problems: { path: Path; message: string }[] = validateTls(cfg.tls);
  if (cfg.endpoint.startsWith('http:') && usesTls(cfg.tls)) {
    problems.push({ path: ['tls'], message: 'TLS options need an https:// endpoint' });
  }
  return problems;
}

export const zipkinExporter = defineExporter({
  type: 'zipkin',
  stability: 'beta',
  description: "Sends spans to a Zipkin server's HTTP collector (POST /api/v2/spans) as Zipkin v2 JSON or proto3, gzip by default.",
  config,
  validate,
  create(cfg, context) {
    const problems = validate(cfg);
    if (problems.length > 0) throw new Error(`zipkin exporter: ${problems[0].path.join('.')}: ${problems[0].message}`);
    const endpoint = cfg.endpoint;
    const format = FORMATS[cfg.format];
    const headers: Record<string, string> = { 'content-type': format.contentType };
    if (cfg.compression === 'gzip') headers['content-encoding'] = 'gzip';
    for (const [name, value] of Object.entries(cfg.headers)) headers[name.toLowerCase()] = value;
    const named = new DefaultServiceName(cfg.default_service_name);
    const client = new HttpPostClient(new URL(endpoint), cfg.tls, MAX_ANSWER_BYTES);

    /** The body of a batch; every attempt POSTs the same bytes. */
    async function prepareRequest(batch: SpanBatch): Promise<PreparedRequest> {
      let body: Uint8Array;
      try {
        const encoded = format.encode(named.apply(batch));
        body = cfg.compression === 'gzip' ? await gzip(encoded) : encoded;
      } catch (e) {
        throw new Error(`cannot encode spans as Zipkin ${cfg.format}: ${(e as Error).message}`);
      }
      return { send: (signal) => post(body, signal) };
    }

    async function post(body: Uint8Array, signal: AbortSignal): Promise<ExportResult> {
      let res: HttpAnswer;
      try {
        res = await client.post(body, headers, signal);
      } catch (e) {
        return retryable(new Error(`POST ${endpoint} failed: ${describeRequestError(e)}`));
      }
      return classify(res, endpoint);
    }

    return {
      async start() {
        await client.start();
        context.logger.info({ endpoint, format: cfg.format, compression: cfg.compression }, 'sending spans to Zipkin');
      },
      prepareRequest,
      export: (batch, signal) => prepareAndSend(prepareRequest, batch, signal),

      async shutdown() {
        client.close();
      },
    };
  },
});

/** The outcome of one POST, from the answer. */
function classify(res: HttpAnswer, endpoint: string): ExportResult {
  const status = res.status;
  if (status >= 200 && status < 300) return SUCCESS;
  const text = quotable(res.body, ERROR_BODY_LIMIT);
  const error = new Error(`${endpoint} answered ${status}${text ? `: ${text}` : ''}`);
  if (status === 429 || status >= 500) return retryable(error, parseRetryAfter(res.headers['retry-after']));
  return permanent(error);
}

/**
 * Gives spans without a service name `default_service_name`. The batch may be shared with other
 * exporters, so such spans are not changed: the encoder gets a view of each (a prototype-linked object
 * whose own `resource` shadows the span's), with a copy of its resource plus the name, made once per
 * resource. Batches where every span has a name are returned as they are.
 */
class DefaultServiceName {
  private readonly named = new WeakMap<Resource, Resource>();

  constructor(private readonly name: string) {}

  apply(batch: SpanBatch): SpanBatch {
    let out: SpanBatch | undefined;
    for (let i = 0; i < batch.length; i++) {
      const span = batch[i];
      if (serviceNameOf(span) !== '') continue;
      out ??= batch.slice();
      const view = Object.create(span) as Span;
      view.resource = this.resourceFor(span.resource);
      out[i] = view;
    }
    return out ?? batch;
  }

  private resourceFor(resource: Resource): Resource {
    let r = this.named.get(resource);
    if (r === undefined) {
      r = newResource({ ...resource.attributes, [SERVICE_NAME]: this.name });
      r.droppedAttributesCount = resource.droppedAttributesCount;
      this.named.set(resource, r);
    }
    return r;
  }
}

/** Retry-After as seconds or an HTTP date, in ms (the one parser, under its old name here). */
export { parseRetryAfter as retryAfterMs } from '../../transport/http-client.js';

/** Up to `limit` characters of the body, on one line. */
function quotable(body: Buffer, limit: number): string {
  const text = body.toString('utf8').replace(/\s+/g, ' ').trim();
  return text.length > limit ? text.slice(0, limit) + '…' : text;
}

/** Names the reason a request failed: aborted, or the error's code and message (ECONNREFUSED, a certificate error, …). */
function describeRequestError(e: unknown): string {
  if (!(e instanceof Error)) return String(e);
  if (e.name === 'AbortError' || e.name === 'TimeoutError') return 'aborted (attempt timed out or shutdown)';
  const code = (e as NodeJS.ErrnoException).code;
  return code && !e.message.includes(code) ? `${code}: ${e.message}` : e.message;
}
