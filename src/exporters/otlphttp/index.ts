/**
 * The `otlphttp` exporter: OTLP/HTTP to any OTLP backend, protobuf or JSON, gzip by default. Config as
 * the OpenTelemetry Collector's `otlphttp` exporter: requests go to `traces_endpoint`, or to `endpoint`
 * with `/v1/traces` appended.
 *
 * Outcomes follow the OTLP specification's HTTP "Failures" sections: 429, 502, 503 and 504 are retryable
 * and their Retry-After (seconds or an HTTP date) is passed on to the queue; every other 4xx and 5xx is
 * permanent (its google.rpc.Status message is quoted in the error); a connection that fails or closes
 * without an answer is retryable. A 2xx with a partial success is a success for the queue (OTLP forbids
 * a retry); see RejectedSpans.
 */
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { defineExporter, permanent, prepareAndSend, retryable, SUCCESS, type ExportResult, type PreparedRequest } from '../../component/types.js';
import { s } from '../../config/schema.js';
import { decodeJsonRpcStatus, decodeOtlpJsonResponse, encodeOtlpJsonBytes } from '../../codecs/otlp-json.js';
import { decodeOtlpProtoResponse, decodeRpcStatus, encodeOtlpProtoRequest, type PartialSuccess } from '../../codecs/otlp-proto.js';
import { HttpPostClient, parseRetryAfter, type HttpAnswer } from '../../transport/http-client.js';
import { tlsClientSchema, validateTls } from '../../transport/tls.js';
import { RejectedSpans } from '../otlp/rejected-spans.js';
import type { SpanBatch } from '../../model/span.js';

const gzipAsync = promisify(gzip);

const URL_PATTERN = /^https?:\/\/[^\s/]+(\/\S*)?$/;

const config = s.object({
  endpoint: s
    .string()
    .matches(URL_PATTERN, 'an http:// or https:// URL')
    .optional()
    .describe('Base URL of the backend\'s OTLP/HTTP receiver; traces go to `<endpoint>/v1/traces`.'),
  traces_endpoint: s
    .string()
    .matches(URL_PATTERN, 'an http:// or https:// URL')
    .optional()
    .describe('Full URL for traces; overrides `endpoint`.'),
  encoding: s.enum('proto', 'json').default('proto').describe('`proto`: application/x-protobuf. `json`: application/json (OTLP/JSON).'),
  headers: s.record(s.string()).default({}).describe('HTTP headers sent with every request (e.g. an API key).'),
  compression: s.enum('gzip', 'none').default('gzip').describe('Compression of request bodies.'),
  tls: tlsClientSchema(),
});

/** Where traces go: `traces_endpoint`, else `endpoint` + `/v1/traces`. */
export function tracesUrl(cfg: { endpoint?: string; traces_endpoint?: string }): string {
  if (cfg.traces_endpoint !== undefined) return cfg.traces_endpoint;
  return cfg.endpoint!.replace(/\/+$/, '') + '/v1/traces';
}

export { parseRetryAfter } from '../../transport/http-client.js';

const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
/** Enough for any Status or ExportTraceServiceResponse; more is not read. */
const MAX_RESPONSE_BYTES = 64 * 1024;

/** The message of an error body: a google.rpc.Status in the response's encoding, or its text. */
function errorMessageOf(body: Buffer, contentType: string): string {
  try {
    if (contentType.startsWith('application/x-protobuf')) {
      const st = decodeRpcStatus(body);
      if (st.message !== '') return st.message;
    } else if (contentType.startsWith('application/json')) {
      const st = decodeJsonRpcStatus(body.toString('utf8'));
      if (st !== undefined && st.message !== '') return st.message;
    }
  } catch {
    // Not a Status: quote the body as text.
  }
  const text = body.toString('utf8').trim();
  return text.length > 300 ? text.slice(0, 300) + '…' : text;
}

/** Classifies a response as the OTLP specification's HTTP failure sections say. */
export function classifyHttpResponse(status: number, headers: { 'retry-after'?: string; 'content-type'?: string }, body: Buffer): ExportResult | 'success' {
  if (status >= 200 && status < 300) return 'success';
  const message = errorMessageOf(body, headers['content-type'] ?? '');
  const error = new Error(`OTLP/HTTP export failed: HTTP ${status}${message === '' ? '' : `: ${message}`}`);
  if (RETRYABLE_STATUS.has(status)) return retryable(error, parseRetryAfter(headers['retry-after']));
  return permanent(error);
}

function partialSuccessOf(body: Buffer, contentType: string): PartialSuccess | undefined {
  if (body.length === 0) return undefined;
  return contentType.startsWith('application/json') ? decodeOtlpJsonResponse(body) : decodeOtlpProtoResponse(body);
}

export const otlpHttpExporter = defineExporter({
  type: 'otlphttp',
  stability: 'beta',
  description: 'Sends spans to an OTLP backend over HTTP (POST /v1/traces), protobuf or JSON, gzip by default.',
  config,
  validate(cfg) {
    const problems = validateTls(cfg.tls);
    if (cfg.endpoint === undefined && cfg.traces_endpoint === undefined) {
      problems.push({ path: ['endpoint'], message: 'set endpoint or traces_endpoint' });
    }
    return problems;
  },
  create(cfg, context) {
    const url = new URL(tracesUrl(cfg));
    const contentType = cfg.encoding === 'proto' ? 'application/x-protobuf' : 'application/json';
    const rejected = new RejectedSpans(context);
    const client = new HttpPostClient(url, cfg.tls, MAX_RESPONSE_BYTES);
    const headers: Record<string, string> = { ...cfg.headers, 'content-type': contentType, 'user-agent': 'spanline' };
    if (cfg.compression === 'gzip') headers['content-encoding'] = 'gzip';

    /** The body of a batch; every attempt POSTs the same bytes. */
    async function prepareRequest(batch: SpanBatch): Promise<PreparedRequest> {
      let body = cfg.encoding === 'proto' ? encodeOtlpProtoRequest(batch) : encodeOtlpJsonBytes(batch);
      if (cfg.compression === 'gzip') body = await gzipAsync(body);
      return { send: (signal) => post(body, signal) };
    }

    async function post(body: Buffer, signal: AbortSignal): Promise<ExportResult> {
      let res: HttpAnswer;
      try {
        res = await client.post(body, headers, signal);
      } catch (e) {
        // Refused, reset, or closed without an answer: OTLP says retry with backoff.
        return retryable(new Error(`OTLP/HTTP export to ${url.href} failed: ${(e as Error).message}`));
      }
      const outcome = classifyHttpResponse(res.status, res.headers as { 'retry-after'?: string; 'content-type'?: string }, res.body);
      if (outcome !== 'success') return outcome;
      try {
        rejected.record(partialSuccessOf(res.body, res.headers['content-type'] ?? ''));
      } catch (e) {
        // The spans were accepted; only the response is unreadable.
        context.logger.debug({ err: e }, 'cannot decode the ExportTraceServiceResponse');
      }
      return SUCCESS;
    }

    return {
      async start() {
        await client.start();
        context.logger.info({ url: url.href, encoding: cfg.encoding, compression: cfg.compression }, 'exporting OTLP/HTTP');
      },
      prepareRequest,
      export: (batch, signal) => prepareAndSend(prepareRequest, batch, signal),

      async shutdown() {
        client.close();
        rejected.close();
      },
    };
  },
});
