/**
 * OTLP/gRPC traces: the unary `opentelemetry.proto.collector.trace.v1.TraceService/Export`, served by
 * @grpc/grpc-js with Buffer pass-through (de)serializers, so that the request goes straight from bytes to
 * spans through our codec. grpc-js handles gzip and refuses messages over `max_recv_msg_size` (after
 * decompression) with RESOURCE_EXHAUSTED, before the handler runs.
 *
 * Answers, as the OTLP specification's "Failures" and "Throttling" sections prescribe:
 * - accepted: an `ExportTraceServiceResponse`, with a partial success when invalid spans were left out;
 * - undecodable request: INVALID_ARGUMENT (not retryable);
 * - refused by the pipelines, retryable (a full queue, shutting down, the memory limit): UNAVAILABLE with
 *   a `google.rpc.RetryInfo` detail carrying the Retry-After hint. The pipelines are asked when the
 *   call's metadata arrives, before the message is read (early refusal), again before it is decoded,
 *   and when the spans are handed over;
 * - refused, permanent: INVALID_ARGUMENT; any other failure: INTERNAL.
 */
import type { Server, ServerInterceptor, ServerUnaryCall, ServiceDefinition, sendUnaryData } from '@grpc/grpc-js';
import type { Receiver, ReceiverContext, RefusedError } from '../../component/types.js';
import { isRefused } from '../../component/types.js';
import { refuseEarly } from '../../transport/admission.js';
import { decodeOtlpProtoRequest, encodeOtlpProtoResponse, encodeRpcStatus, TRACE_SERVICE_EXPORT_PATH } from '../../codecs/otlp-proto.js';
import type { Span } from '../../model/span.js';
import { parseEndpoint } from '../../service/http.js';
import { loadGrpcJs, type GrpcJs } from '../../transport/grpc-js.js';
import { withoutInvalidSpans } from './invalid-spans.js';

const passThrough = (b: Buffer) => b;

const TRACE_SERVICE: ServiceDefinition = {
  Export: {
    path: TRACE_SERVICE_EXPORT_PATH,
    requestStream: false,
    responseStream: false,
    requestSerialize: passThrough,
    requestDeserialize: passThrough,
    responseSerialize: passThrough,
    responseDeserialize: passThrough,
    originalName: 'export',
  },
};

const TRANSPORT = 'grpc';

/** A gRPC error whose trailers carry a google.rpc.Status with RetryInfo, as OTLP throttling asks. */
function unavailable(grpc: GrpcJs, message: string, retryAfterMs: number) {
  const metadata = new grpc.Metadata();
  metadata.set('grpc-status-details-bin', encodeRpcStatus({ code: grpc.status.UNAVAILABLE, message, retryDelayMs: retryAfterMs }));
  return { code: grpc.status.UNAVAILABLE, details: message, metadata };
}

/** A refusal's status: UNAVAILABLE with RetryInfo when the sender should retry, else INVALID_ARGUMENT. */
function refusalStatus(grpc: GrpcJs, refused: RefusedError) {
  if (refused.retryable) return unavailable(grpc, refused.message, Math.max(1000, refused.retryAfterMs));
  return { code: grpc.status.INVALID_ARGUMENT, details: refused.message };
}

export class OtlpGrpcServer implements Receiver {
  private server: Server | undefined;
  private boundPort = 0;
  /** Set by start(), before the server takes calls. */
  private grpc!: GrpcJs;

  constructor(
    private readonly context: ReceiverContext,
    private readonly endpoint: string,
    private readonly maxReceiveMessageSize: number,
  ) {}

  /** The bound port, once started (tests listen on port 0). */
  port(): number {
    return this.boundPort;
  }

  async start(): Promise<void> {
    const grpc = (this.grpc = await loadGrpcJs());
    const server = new grpc.Server({
      'grpc.max_receive_message_length': this.maxReceiveMessageSize,
      interceptors: [this.refuseAtMetadata],
    });
    server.addService(TRACE_SERVICE, {
      Export: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => void this.export(call.request, callback),
    });
    const { host, port } = parseEndpoint(this.endpoint);
    const address = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
    this.boundPort = await new Promise<number>((resolve, reject) => {
      server.bindAsync(address, grpc.ServerCredentials.createInsecure(), (error, bound) => {
        if (error) {
          const inUse = /address already in use|EADDRINUSE/i.test(error.message);
          reject(new Error(`cannot listen on ${this.endpoint}: ${inUse ? 'address already in use' : error.message}`));
        } else resolve(bound);
      });
    });
    this.server = server;
    this.context.logger.info({ endpoint: this.endpoint, port: this.boundPort, protocol: 'grpc' }, 'receiver listening');
  }

  /**
   * Early refusal when a call's metadata arrives: grpc-js reads (and decompresses) the message only once
   * the call goes on, so a refused message is discarded unread.
   */
  private readonly refuseAtMetadata: ServerInterceptor = (_method, call) =>
    new this.grpc.ServerInterceptingCall(call, {
      start: (next) =>
        next({
          onReceiveMetadata: (metadata, nextMetadata) => {
            const refused = refuseEarly(this.context, TRANSPORT, undefined);
            if (refused === undefined) nextMetadata(metadata);
            else call.sendStatus(refusalStatus(this.grpc, refused));
          },
        }),
    });

  private async export(request: Buffer, callback: sendUnaryData<Buffer>): Promise<void> {
    const { metrics, id } = this.context;
    const labels = { receiver: id, transport: TRANSPORT };
    // Asked again before decoding: the state may have changed while the message was read.
    const early = refuseEarly(this.context, TRANSPORT, request.length);
    if (early !== undefined) {
      callback(refusalStatus(this.grpc, early));
      return;
    }
    let decoded: Span[];
    try {
      decoded = decodeOtlpProtoRequest(request);
    } catch (e) {
      metrics.receiverMalformed.inc({ ...labels, reason: 'malformed' });
      callback({ code: this.grpc.status.INVALID_ARGUMENT, details: (e as Error).message });
      return;
    }
    const valid = withoutInvalidSpans(decoded);
    const spans = Array.isArray(valid) ? valid : valid.spans;
    const partial = Array.isArray(valid) ? undefined : { rejectedSpans: valid.rejected, errorMessage: valid.message };
    metrics.receiverReceived.inc(labels, decoded.length);
    if (partial !== undefined) metrics.receiverRefused.inc({ ...labels, reason: 'invalid' }, partial.rejectedSpans);
    if (spans.length > 0) {
      try {
        await this.context.next.consume(spans);
      } catch (e) {
        const refused = isRefused(e) ? e : undefined;
        metrics.receiverRefused.inc({ ...labels, reason: refused?.reason ?? 'internal_error' }, spans.length);
        if (refused === undefined) {
          this.context.logger.error({ err: e }, 'pipeline failed');
          callback({ code: this.grpc.status.INTERNAL, details: 'internal error' });
        } else {
          callback(refusalStatus(this.grpc, refused));
        }
        return;
      }
      metrics.receiverAccepted.inc(labels, spans.length);
    }
    callback(null, encodeOtlpProtoResponse(partial));
  }

  /**
   * Stops accepting calls and waits for calls in flight to finish their hand-off; at `signal`'s deadline
   * the remaining calls are cancelled.
   */
  async shutdown(signal?: AbortSignal): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    await new Promise<void>((resolve) => {
      const force = () => {
        server.forceShutdown();
        resolve();
      };
      if (signal?.aborted) return force();
      signal?.addEventListener('abort', force, { once: true });
      server.tryShutdown(() => {
        signal?.removeEventListener('abort', force);
        resolve();
      });
    });
  }
}
