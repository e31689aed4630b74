/**
 * The `otlp` receiver: OTLP over gRPC (`TraceService/Export`, default :4317) and over HTTP
 * (`POST /v1/traces`, protobuf or JSON, default :4318). As in the OpenTelemetry Collector, a protocol
 * runs when it is listed under `protocols` (`grpc:` alone, with no settings, enables gRPC with its
 * defaults), and at least one must be listed.
 */
import { defineReceiver, type Receiver } from '../../component/types.js';
import { isPlainMap, ObjectSchema, s, type Context, type InferShape, type Path, type Shape } from '../../config/schema.js';
import { SpanHttpServer } from '../../transport/http-span-server.js';
import { OtlpGrpcServer } from './grpc.js';
import { otlpTracesRoute } from './http.js';

/**
 * `protocols`: like an object schema, except that a protocol not written in the YAML is undefined
 * instead of its defaults; a protocol written with no value (`grpc:`) gets its defaults.
 */
class ProtocolsSchema<S extends Shape> extends ObjectSchema<S> {
  override check(value: unknown, path: Path, ctx: Context): InferShape<S> | undefined {
    const out = super.check(value, path, ctx);
    if (out === undefined) return undefined;
    const written = isPlainMap(value) ? value : {};
    const listed: Record<string, unknown> = {};
    for (const k of Object.keys(this.shape)) listed[k] = k in written ? (out as Record<string, unknown>)[k] : undefined;
    if (Object.values(listed).every((v) => v === undefined)) {
      ctx.issues.push({ path, message: `must list at least one protocol: ${Object.keys(this.shape).join(' or ')}` });
      return undefined;
    }
    return Object.freeze(listed) as InferShape<S>;
  }
}

const grpc = s
  .object({
    endpoint: s.endpoint().default('0.0.0.0:4317').describe('Address to listen on for OTLP/gRPC.'),
    max_recv_msg_size: s
      .byteSize()
      .default(4 * 1024 * 1024)
      .describe('Largest accepted request message, after decompression; larger ones get RESOURCE_EXHAUSTED.'),
  })
  .describe('Serve OTLP/gRPC (TraceService/Export) when listed.')
  .optional();

const http = s
  .object({
    endpoint: s.endpoint().default('0.0.0.0:4318').describe('Address to listen on for OTLP/HTTP.'),
    max_request_body_size: s
      .byteSize()
      .default(20 * 1024 * 1024)
      .describe('Largest accepted body, after decompression; larger requests get 413.'),
    traces_url_path: s
      .string()
      .matches(/^\/\S*$/, 'a path starting with "/"')
      .default('/v1/traces')
      .describe('Path that takes trace export requests.'),
  })
  .describe('Serve OTLP/HTTP (protobuf and JSON) when listed.')
  .optional();

const config = s.object({
  protocols: new ProtocolsSchema({ grpc, http }).describe('The protocols to serve; list at least one.'),
});

/** Both servers as one receiver; `grpcPort()`/`httpPort()` give the bound ports (tests listen on port 0). */
export class OtlpReceiver implements Receiver {
  constructor(
    readonly grpcServer: OtlpGrpcServer | undefined,
    readonly httpServer: SpanHttpServer | undefined,
  ) {}

  grpcPort(): number {
    return this.grpcServer?.port() ?? 0;
  }

  httpPort(): number {
    return this.httpServer?.port() ?? 0;
  }

  async start(): Promise<void> {
    await this.grpcServer?.start();
    try {
      await this.httpServer?.start();
    } catch (e) {
      await this.grpcServer?.shutdown(AbortSignal.abort());
      throw e;
    }
  }

  async shutdown(signal: AbortSignal): Promise<void> {
    await Promise.all([this.grpcServer?.shutdown(signal), this.httpServer?.shutdown(signal)]);
  }
}

export const otlpReceiver = defineReceiver({
  type: 'otlp',
  stability: 'beta',
  description: 'Receives spans over OTLP/gRPC (TraceService/Export) and OTLP/HTTP (POST /v1/traces, protobuf or JSON, gzip).',
  config,
  create(cfg, context) {
    const { grpc: g, http: h } = cfg.protocols;
    return new OtlpReceiver(
      g && new OtlpGrpcServer(context, g.endpoint, g.max_recv_msg_size),
      h && new SpanHttpServer(context, h.endpoint, h.max_request_body_size, [otlpTracesRoute(h.traces_url_path)]),
    );
  },
});
