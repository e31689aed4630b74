/**
 * Wire encodings the load generator can send. Each entry says which receiver takes it (and that
 * receiver's config for a given endpoint), where to POST, and which module builds the bodies (see
 * zipkin-v2-json.mjs for the module contract). To add Thrift, proto3 or OTLP: write the module, add a row.
 */
export const ENCODINGS = {
  'zipkin-v2-json': {
    module: './zipkin-v2-json.mjs',
    path: '/api/v2/spans',
    receiver: (endpoint) => ({ id: 'zipkin', config: { endpoint, max_request_body_size: '20MiB' } }),
  },
  'zipkin-v2-proto3': {
    module: './zipkin-v2-proto3.mjs',
    path: '/api/v2/spans',
    receiver: (endpoint) => ({ id: 'zipkin', config: { endpoint, max_request_body_size: '20MiB' } }),
  },
  'zipkin-v1-json': {
    module: './zipkin-v1-json.mjs',
    path: '/api/v1/spans',
    receiver: (endpoint) => ({ id: 'zipkin', config: { endpoint, max_request_body_size: '20MiB' } }),
  },
  'zipkin-v1-thrift': {
    module: './zipkin-v1-thrift.mjs',
    path: '/api/v1/spans',
    receiver: (endpoint) => ({ id: 'zipkin', config: { endpoint, max_request_body_size: '20MiB' } }),
  },
  'otlp-http-proto': {
    module: './otlp-http-proto.mjs',
    path: '/v1/traces',
    receiver: (endpoint) => ({ id: 'otlp', config: { protocols: { http: { endpoint, max_request_body_size: '20MiB' } } } }),
  },
  'otlp-http-json': {
    module: './otlp-http-json.mjs',
    path: '/v1/traces',
    receiver: (endpoint) => ({ id: 'otlp', config: { protocols: { http: { endpoint, max_request_body_size: '20MiB' } } } }),
  },
  'otlp-grpc': {
    module: './otlp-grpc.mjs',
    path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
    receiver: (endpoint) => ({ id: 'otlp', config: { protocols: { grpc: { endpoint, max_recv_msg_size: '20MiB' } } } }),
  },
};

export async function loadEncoding(name) {
  const entry = ENCODINGS[name];
  if (!entry) throw new Error(`unknown encoding "${name}" (known: ${Object.keys(ENCODINGS).join(', ')})`);
  const mod = await import(new URL(entry.module, import.meta.url));
  return { name, ...entry, ...mod };
}
