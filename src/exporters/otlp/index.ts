/**
 * The `otlp` exporter: OTLP/gRPC to any OTLP backend (`TraceService/Export`), with @grpc/grpc-js and our
 * protobuf codec (Buffer pass-through serializers). Config as the OpenTelemetry Collector's `otlp`
 * exporter: `endpoint` is "host:port" (an `http://` prefix means plaintext, `https://` TLS), TLS unless
 * `tls.insecure`, gzip by default.
 *
 * Outcomes follow the OTLP specification's gRPC "Failures" table: CANCELLED, DEADLINE_EXCEEDED, ABORTED,
 * OUT_OF_RANGE, UNAVAILABLE and DATA_LOSS are retryable, RESOURCE_EXHAUSTED only when the status carries
 * a `google.rpc.RetryInfo` (whose delay is passed on to the queue), every other code is permanent. A
 * partial success is a success for the queue (OTLP forbids a retry); see RejectedSpans.
 */
import type { ChannelCredentials, Client, Metadata, ServiceError } from '@grpc/grpc-js';
import { defineExporter, permanent, retryable, SUCCESS, type ExportResult } from '../../component/types.js';
import { s } from '../../config/schema.js';
import { decodeOtlpProtoResponse, decodeRpcStatus, encodeOtlpProtoRequest, TRACE_SERVICE_EXPORT_PATH } from '../../codecs/otlp-proto.js';
import { loadGrpcJs, type GrpcJs } from '../../transport/grpc-js.js';
import { loadTlsFiles, tlsClientSchema, validateTls, type TlsClientConfig } from '../../transport/tls.js';
import { RejectedSpans } from './rejected-spans.js';

const config = s.object({
  endpoint: s
    .string()
    .matches(/^(https?:\/\/)?(\[[0-9a-fA-F:.]+\]|[^\s/:]+):\d{1,5}\/?$/, 'an endpoint "host:port"')
    .describe('The backend\'s OTLP/gRPC address, "host:port" (`http://host:port` for plaintext, `https://host:port` for TLS).'),
  headers: s.record(s.string()).default({}).describe('gRPC metadata sent with every request (e.g. an API key).'),
  compression: s.enum('gzip', 'none').default('gzip').describe('Compression of requests.'),
  tls: tlsClientSchema(),
});

const passThrough = (b: Buffer) => b;

/** The RetryInfo delay in a status's `grpc-status-details-bin` trailer, if any. */
function retryDelayOf(metadata: Metadata | undefined): number | undefined {
  const details = metadata?.get('grpc-status-details-bin')[0];
  if (!Buffer.isBuffer(details)) return undefined;
  try {
    return decodeRpcStatus(details).retryDelayMs;
  } catch {
    return undefined;
  }
}

/** Classifies a failed call as the OTLP specification's gRPC failure table says. */
function classifyGrpcError({ status }: GrpcJs, err: Pick<ServiceError, 'code' | 'details' | 'metadata'>): ExportResult {
  const error = new Error(`OTLP/gRPC export failed: ${status[err.code] ?? String(err.code)}: ${err.details}`);
  const retryDelay = retryDelayOf(err.metadata);
  switch (err.code) {
    case status.CANCELLED:
    case status.DEADLINE_EXCEEDED:
    case status.ABORTED:
    case status.OUT_OF_RANGE:
    case status.UNAVAILABLE:
    case status.DATA_LOSS:
      return retryable(error, retryDelay);
    case status.RESOURCE_EXHAUSTED:
      return retryDelay === undefined ? permanent(error) : retryable(error, retryDelay);
    default:
      return permanent(error);
  }
}

/** Target and whether the endpoint asks for plaintext, from "host:port", "http://…" or "https://…". */
function parseTarget(endpoint: string, tls: TlsClientConfig): { target: string; plaintext: boolean } {
  const m = /^(https?):\/\/(.*?)\/?$/.exec(endpoint);
  if (m === null) return { target: endpoint.replace(/\/$/, ''), plaintext: tls.insecure };
  return { target: m[2], plaintext: m[1] === 'http' };
}

export const otlpExporter = defineExporter({
  type: 'otlp',
  stability: 'beta',
  description: 'Sends spans to an OTLP backend over gRPC (TraceService/Export), gzip and TLS by default.',
  config,
  validate: (cfg) => validateTls(cfg.tls),
  create(cfg, context) {
    const { target, plaintext } = parseTarget(cfg.endpoint, cfg.tls);
    const rejected = new RejectedSpans(context);
    let grpc: GrpcJs;
    let client: Client | undefined;
    let metadata: Metadata;

    return {
      async start() {
        grpc = await loadGrpcJs();
        const { credentials } = grpc;
        metadata = new grpc.Metadata();
        for (const [k, v] of Object.entries(cfg.headers)) metadata.set(k.toLowerCase(), v);
        let creds: ChannelCredentials;
        if (plaintext) creds = credentials.createInsecure();
        else {
          const files = await loadTlsFiles(cfg.tls);
          creds = credentials.createSsl(files.ca ?? null, files.key ?? null, files.cert ?? null, {
            rejectUnauthorized: !cfg.tls.insecure_skip_verify,
            ...(cfg.tls.insecure_skip_verify ? { checkServerIdentity: () => undefined } : {}),
          });
        }
        client = new grpc.Client(target, creds, {
          'grpc.default_compression_algorithm': cfg.compression === 'gzip' ? 2 : 0,
          'grpc.primary_user_agent': 'spanline',
          // Requests are as large as the batches; the backend's receive limit is what counts.
          'grpc.max_send_message_length': -1,
        });
        context.logger.info({ endpoint: target, tls: !plaintext, compression: cfg.compression }, 'exporting OTLP/gRPC');
      },

      export(batch, signal) {
        if (client === undefined) return Promise.resolve(permanent(new Error('exporter is not started')));
        let body: Buffer;
        try {
          body = encodeOtlpProtoRequest(batch);
        } catch (e) {
          return Promise.resolve(permanent(e as Error));
        }
        const c = client;
        return new Promise<ExportResult>((resolve) => {
          if (signal.aborted) return resolve(retryable(new Error('export aborted before it was sent')));
          const call = c.makeUnaryRequest(TRACE_SERVICE_EXPORT_PATH, passThrough, passThrough, body, metadata, {}, (err, response) => {
            signal.removeEventListener('abort', cancel);
            if (err) return resolve(classifyGrpcError(grpc, err));
            try {
              rejected.record(response === undefined ? undefined : decodeOtlpProtoResponse(response));
            } catch (e) {
              // The spans were accepted; only the response is unreadable.
              context.logger.debug({ err: e }, 'cannot decode the ExportTraceServiceResponse');
            }
            resolve(SUCCESS);
          });
          const cancel = () => call.cancel();
          signal.addEventListener('abort', cancel, { once: true });
        });
      },

      async shutdown() {
        client?.close();
        client = undefined;
        rejected.close();
      },
    };
  },
});
