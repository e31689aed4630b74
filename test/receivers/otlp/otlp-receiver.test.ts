/**
 * The `otlp` receiver in process: real HTTP requests (fetch) and real gRPC calls (@grpc/grpc-js), a test
 * consumer standing in for the pipelines.
 */
import { gzipSync } from 'node:zlib';
import { Client, credentials, Metadata, status as grpcStatus, type ServiceError } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { RefusedError, type SpanConsumer } from '../../../src/component/types.js';
import { encodeOtlpJsonRequest } from '../../../src/codecs/otlp-json.js';
import { decodeOtlpProtoResponse, decodeRpcStatus, encodeOtlpProtoRequest, TRACE_SERVICE_EXPORT_PATH } from '../../../src/codecs/otlp-proto.js';
import { Span, newResource, type SpanBatch } from '../../../src/model/span.js';
import { otlpReceiver, type OtlpReceiver } from '../../../src/receivers/otlp/index.js';
import { createLogger } from '../../../src/telemetry/logger.js';
import { SelfMetrics } from '../../../src/telemetry/metrics.js';

// ---- config

function check(config: unknown) {
  const ctx = { issues: [] as { path: readonly (string | number)[]; message: string }[] };
  const out = otlpReceiver.config.check(config, [], ctx);
  return { out, issues: ctx.issues.map((i) => `${i.path.join('.')}: ${i.message}`) };
}

describe('otlp receiver config: a protocol runs when it is listed', () => {
  it.each<[string, unknown, unknown]>([
    ['grpc listed with no settings gets its defaults', { protocols: { grpc: null } }, { grpc: { endpoint: '0.0.0.0:4317', max_recv_msg_size: 4194304 }, http: undefined }],
    ['http listed with no settings gets its defaults', { protocols: { http: {} } }, { grpc: undefined, http: { endpoint: '0.0.0.0:4318', max_request_body_size: 20971520, traces_url_path: '/v1/traces' } }],
    [
      'both, with settings',
      { protocols: { grpc: { endpoint: '127.0.0.1:5317', max_recv_msg_size: '1MiB' }, http: { endpoint: ':5318', traces_url_path: '/otlp/v1/traces' } } },
      { grpc: { endpoint: '127.0.0.1:5317', max_recv_msg_size: 1048576 }, http: { endpoint: ':5318', max_request_body_size: 20971520, traces_url_path: '/otlp/v1/traces' } },
    ],
  ])('%s', (_title, config, protocols) => {
    const { out, issues } = check(config);
    expect(issues).toEqual([]);
    expect(out?.protocols).toEqual(protocols);
  });

  it.each<[string, unknown, string[]]>([
    ['no protocols key', {}, ['protocols: must list at least one protocol: grpc or http']],
    ['an empty protocols map', { protocols: {} }, ['protocols: must list at least one protocol: grpc or http']],
    ['an unknown protocol', { protocols: { grpc: null, thrift: null } }, ['protocols.thrift: unknown key "thrift"']],
    ['an unknown key with a hint', { protocols: { http: { endpont: ':1' } } }, ['protocols.http.endpont: unknown key "endpont" (did you mean "endpoint"?)']],
    ['a bad endpoint', { protocols: { grpc: { endpoint: 'localhost' } } }, ['protocols.grpc.endpoint: "localhost" is not an endpoint "host:port"']],
    ['a path without a slash', { protocols: { http: { traces_url_path: 'v1/traces' } } }, ['protocols.http.traces_url_path: "v1/traces" is not a path starting with "/"']],
  ])('rejects %s', (_title, config, issues) => {
    expect(check(config).issues).toEqual(issues);
  });
});

// ---- running receivers

type Behaviour = (batch: SpanBatch) => Promise<void>;

interface Running {
  receiver: OtlpReceiver;
  metrics: SelfMetrics;
  batches: SpanBatch[];
  behave(b: Behaviour): void;
  http: string;
  grpc: Client;
}

let running: Running[] = [];
afterEach(async () => {
  for (const r of running) {
    r.grpc.close();
    await r.receiver.shutdown(AbortSignal.timeout(5000));
  }
  running = [];
});

async function start(http: Record<string, unknown> = {}): Promise<Running> {
  const batches: SpanBatch[] = [];
  let behaviour: Behaviour = async (b) => void batches.push(b);
  const next: SpanConsumer = { consume: (b) => behaviour(b) };
  const metrics = new SelfMetrics();
  const { out } = check({ protocols: { grpc: { endpoint: '127.0.0.1:0' }, http: { endpoint: '127.0.0.1:0', ...http } } });
  const receiver = otlpReceiver.create(out!, { id: 'otlp', logger: createLogger('silent'), metrics, configDir: '.', next }) as OtlpReceiver;
  await receiver.start();
  const r: Running = {
    receiver,
    metrics,
    batches,
    behave: (b) => (behaviour = b),
    http: `http://127.0.0.1:${receiver.httpPort()}${(http.traces_url_path as string | undefined) ?? '/v1/traces'}`,
    grpc: new Client(`127.0.0.1:${receiver.grpcPort()}`, credentials.createInsecure()),
  };
  running.push(r);
  return r;
}

let counter = 0;
function spans(n: number, mutate?: (s: Span, i: number) => void): SpanBatch {
  const resource = newResource({ 'service.name': 'svc' });
  return Array.from({ length: n }, (_, i) => {
    const s = new Span(resource);
    s.traceId = '5b8efff798038103d269b633813fc60c';
    s.spanId = (++counter).toString(16).padStart(16, '0');
    s.name = `span ${i}`;
    s.startTimeUnixNano = 1_700_000_000_123_456_789n;
    s.endTimeUnixNano = 1_700_000_000_223_456_789n;
    s.attributes = { i: BigInt(i), d: i + 0.5 };
    mutate?.(s, i);
    return s;
  });
}

function call(client: Client, body: Buffer, metadata = new Metadata()): Promise<{ err: ServiceError | null; response?: Buffer }> {
  return new Promise((resolve) => {
    client.makeUnaryRequest(TRACE_SERVICE_EXPORT_PATH, (b: Buffer) => b, (b: Buffer) => b, body, metadata, {}, (err, response) => resolve({ err, response }));
  });
}

const post = (url: string, body: Buffer | string, headers: Record<string, string>) => fetch(url, { method: 'POST', body, headers });
const PROTO = { 'content-type': 'application/x-protobuf' };
const JSON_CT = { 'content-type': 'application/json' };

async function metricsText(r: Running): Promise<string> {
  return r.metrics.text();
}

describe('otlp receiver over HTTP', () => {
  it('accepts protobuf: 200 with an empty ExportTraceServiceResponse in protobuf', async () => {
    const r = await start();
    const sent = spans(3);
    const res = await post(r.http, encodeOtlpProtoRequest(sent), PROTO);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/x-protobuf');
    expect(Buffer.from(await res.arrayBuffer())).toHaveLength(0);
    expect(r.batches.flat().map((s) => [s.spanId, s.startTimeUnixNano, s.attributes])).toEqual(sent.map((s) => [s.spanId, s.startTimeUnixNano, s.attributes]));
    expect(await metricsText(r)).toContain('spanline_receiver_accepted_spans_total{receiver="otlp",transport="http_proto"} 3');
  });

  it('accepts JSON (with a charset): 200 with {} in JSON', async () => {
    const r = await start();
    const res = await post(r.http, encodeOtlpJsonRequest(spans(2)), { 'content-type': 'application/json; charset=utf-8' });
    expect([res.status, res.headers.get('content-type'), await res.text()]).toEqual([200, 'application/json; charset=utf-8', '{}']);
    expect(r.batches.flat()).toHaveLength(2);
    expect(await metricsText(r)).toContain('spanline_receiver_accepted_spans_total{receiver="otlp",transport="http_json"} 2');
  });

  it('accepts gzip bodies', async () => {
    const r = await start();
    const res = await post(r.http, gzipSync(encodeOtlpProtoRequest(spans(4))), { ...PROTO, 'content-encoding': 'gzip' });
    expect(res.status).toBe(200);
    expect(r.batches.flat()).toHaveLength(4);
  });

  it('answers an empty request with success', async () => {
    const r = await start();
    expect((await post(r.http, Buffer.alloc(0), PROTO)).status).toBe(200);
    const json = await post(r.http, '', JSON_CT);
    expect([json.status, await json.text()]).toEqual([200, '{}']);
    expect(r.batches).toEqual([]);
  });

  it('serves traces_url_path', async () => {
    const r = await start({ traces_url_path: '/otlp/traces' });
    expect((await post(r.http, encodeOtlpProtoRequest(spans(1)), PROTO)).status).toBe(200);
    expect((await post(r.http.replace('/otlp/traces', '/v1/traces'), encodeOtlpProtoRequest(spans(1)), PROTO)).status).toBe(404);
  });

  it('rejects spans without ids in a partial success and passes the rest on', async () => {
    const r = await start();
    const sent = spans(4, (s, i) => {
      if (i === 1) s.traceId = '';
      if (i === 3) s.spanId = '0000000000000000';
    });
    const res = await post(r.http, encodeOtlpProtoRequest(sent), PROTO);
    expect(res.status).toBe(200);
    expect(decodeOtlpProtoResponse(Buffer.from(await res.arrayBuffer()))).toEqual({ rejectedSpans: 2, errorMessage: '2 spans rejected: trace_id is empty or all zeros (first: "span 1")' });
    expect(r.batches.flat().map((s) => s.name)).toEqual(['span 0', 'span 2']);
    const json = await post(r.http, encodeOtlpJsonRequest(sent), JSON_CT);
    expect(await json.json()).toEqual({ partialSuccess: { rejectedSpans: '2', errorMessage: '2 spans rejected: trace_id is empty or all zeros (first: "span 1")' } });
    const text = await metricsText(r);
    expect(text).toContain('spanline_receiver_received_spans_total{receiver="otlp",transport="http_proto"} 4');
    expect(text).toContain('spanline_receiver_refused_spans_total{receiver="otlp",transport="http_proto",reason="invalid"} 2');
  });

  it('answers malformed protobuf with 400 and a google.rpc.Status naming the field', async () => {
    const r = await start();
    const res = await post(r.http, Buffer.from('0a0412020a05', 'hex'), PROTO);
    expect([res.status, res.headers.get('content-type')]).toEqual([400, 'application/x-protobuf']);
    expect(decodeRpcStatus(Buffer.from(await res.arrayBuffer()))).toEqual({ code: 3, message: 'resourceSpans[0].scopeSpans[0].scope: truncated message (a field of 5 bytes, 0 left)' });
    expect(await metricsText(r)).toContain('spanline_receiver_malformed_requests_total{receiver="otlp",transport="http_proto",reason="malformed"} 1');
  });

  it('answers malformed JSON with 400 and a JSON Status', async () => {
    const r = await start();
    const res = await post(r.http, '{"resourceSpans":[{"scopeSpans":[{"spans":[{"kind":9}]}]}]}', JSON_CT);
    expect([res.status, res.headers.get('content-type')]).toEqual([400, 'application/json; charset=utf-8']);
    expect(await res.json()).toEqual({ code: 3, message: 'resourceSpans[0].scopeSpans[0].spans[0].kind: expected an integer from 0 to 5, got 9' });
  });

  it('answers another Content-Type with 415', async () => {
    const r = await start();
    const res = await post(r.http, 'x', { 'content-type': 'text/plain' });
    expect(res.status).toBe(415);
    expect(await res.text()).toBe('unsupported Content-Type "text/plain"; send application/x-protobuf or application/json\n');
    expect(await metricsText(r)).toContain('spanline_receiver_malformed_requests_total{receiver="otlp",transport="http",reason="unsupported"} 1');
  });

  it('answers a body over max_request_body_size after decompression with 413, in the request\'s encoding', async () => {
    const r = await start({ max_request_body_size: '4KiB' });
    const bomb = gzipSync(Buffer.alloc(1024 * 1024)); // 1 KiB that inflates to 1 MiB
    const res = await post(r.http, bomb, { ...PROTO, 'content-encoding': 'gzip' });
    expect(res.status).toBe(413);
    expect(decodeRpcStatus(Buffer.from(await res.arrayBuffer())).message).toBe('request body is larger than max_request_body_size (4096 bytes) after decompression');
    expect(await metricsText(r)).toContain('spanline_receiver_malformed_requests_total{receiver="otlp",transport="http_proto",reason="too_large"} 1');
  });

  it('answers 413 when the compressed body alone is too large, and keeps serving', async () => {
    // Regression: the decompressing stream used to fail after Fastify had answered, with no listener left.
    const r = await start({ max_request_body_size: '1KiB' });
    const bomb = gzipSync(Buffer.alloc(1024 * 1024));
    expect(bomb.length).toBeGreaterThan(1024);
    for (let i = 0; i < 3; i++) expect((await post(r.http, bomb, { ...JSON_CT, 'content-encoding': 'gzip' })).status).toBe(413);
    await new Promise((res) => setTimeout(res, 100));
    expect((await post(r.http, encodeOtlpProtoRequest(spans(1)), PROTO)).status).toBe(200);
  });

  it('pushes back with 503, Retry-After and a Status when the pipelines refuse (retryable)', async () => {
    const r = await start();
    r.behave(async () => {
      throw new RefusedError('exporter file queue is full', true, 2500, 'queue_full');
    });
    const res = await post(r.http, encodeOtlpProtoRequest(spans(2)), PROTO);
    expect([res.status, res.headers.get('retry-after')]).toEqual([503, '3']);
    expect(decodeRpcStatus(Buffer.from(await res.arrayBuffer()))).toEqual({ code: 14, message: 'exporter file queue is full' });
    const json = await post(r.http, encodeOtlpJsonRequest(spans(1)), JSON_CT);
    expect([json.status, json.headers.get('retry-after'), await json.json()]).toEqual([503, '3', { code: 14, message: 'exporter file queue is full' }]);
    expect(await metricsText(r)).toContain('spanline_receiver_refused_spans_total{receiver="otlp",transport="http_proto",reason="queue_full"} 2');
  });

  it('answers a permanent refusal with 400 (not retryable)', async () => {
    const r = await start();
    r.behave(async () => {
      throw new RefusedError('spans are not allowed here', false);
    });
    const res = await post(r.http, encodeOtlpProtoRequest(spans(1)), PROTO);
    expect(res.status).toBe(400);
    expect(res.headers.get('retry-after')).toBeNull();
  });
});

describe('otlp receiver over gRPC', () => {
  it('accepts an Export call: an empty ExportTraceServiceResponse', async () => {
    const r = await start();
    const sent = spans(3);
    const { err, response } = await call(r.grpc, encodeOtlpProtoRequest(sent));
    expect(err).toBeNull();
    expect(response).toHaveLength(0);
    expect(r.batches.flat().map((s) => s.spanId)).toEqual(sent.map((s) => s.spanId));
    expect(await metricsText(r)).toContain('spanline_receiver_accepted_spans_total{receiver="otlp",transport="grpc"} 3');
  });

  it('accepts gzip-compressed messages', async () => {
    const r = await start();
    const gzipClient = new Client(`127.0.0.1:${r.receiver.grpcPort()}`, credentials.createInsecure(), { 'grpc.default_compression_algorithm': 2 });
    const { err } = await call(gzipClient, encodeOtlpProtoRequest(spans(5)));
    gzipClient.close();
    expect(err).toBeNull();
    expect(r.batches.flat()).toHaveLength(5);
  });

  it('returns a partial success for spans without ids', async () => {
    const r = await start();
    const { err, response } = await call(r.grpc, encodeOtlpProtoRequest(spans(3, (s, i) => i === 0 && (s.spanId = ''))));
    expect(err).toBeNull();
    expect(decodeOtlpProtoResponse(response!)).toEqual({ rejectedSpans: 1, errorMessage: '1 span rejected: span_id is empty or all zeros (first: "span 0")' });
    expect(r.batches.flat()).toHaveLength(2);
  });

  it('answers a malformed message with INVALID_ARGUMENT naming the field', async () => {
    const r = await start();
    const { err } = await call(r.grpc, Buffer.from('0a0412020a05', 'hex'));
    expect([err?.code, err?.details]).toEqual([grpcStatus.INVALID_ARGUMENT, 'resourceSpans[0].scopeSpans[0].scope: truncated message (a field of 5 bytes, 0 left)']);
    expect(await metricsText(r)).toContain('spanline_receiver_malformed_requests_total{receiver="otlp",transport="grpc",reason="malformed"} 1');
  });

  it('pushes back with UNAVAILABLE and a RetryInfo when the pipelines refuse (retryable)', async () => {
    const r = await start();
    r.behave(async () => {
      throw new RefusedError('exporter file queue is full', true, 2500, 'queue_full');
    });
    const { err } = await call(r.grpc, encodeOtlpProtoRequest(spans(2)));
    expect([err?.code, err?.details]).toEqual([grpcStatus.UNAVAILABLE, 'exporter file queue is full']);
    const details = err!.metadata.get('grpc-status-details-bin')[0] as Buffer;
    expect(decodeRpcStatus(details)).toEqual({ code: grpcStatus.UNAVAILABLE, message: 'exporter file queue is full', retryDelayMs: 2500 });
    expect(await metricsText(r)).toContain('spanline_receiver_refused_spans_total{receiver="otlp",transport="grpc",reason="queue_full"} 2');
  });

  it('answers a permanent refusal with INVALID_ARGUMENT and no RetryInfo', async () => {
    const r = await start();
    r.behave(async () => {
      throw new RefusedError('not here', false);
    });
    const { err } = await call(r.grpc, encodeOtlpProtoRequest(spans(1)));
    expect(err?.code).toBe(grpcStatus.INVALID_ARGUMENT);
    expect(err!.metadata.get('grpc-status-details-bin')).toEqual([]);
  });

  it('refuses a message over max_recv_msg_size with RESOURCE_EXHAUSTED (no RetryInfo: not retryable)', async () => {
    const batches: SpanBatch[] = [];
    const { out } = check({ protocols: { grpc: { endpoint: '127.0.0.1:0', max_recv_msg_size: '1KiB' } } });
    const receiver = otlpReceiver.create(out!, { id: 'otlp', logger: createLogger('silent'), metrics: new SelfMetrics(), configDir: '.', next: { consume: async (b) => void batches.push(b) } }) as OtlpReceiver;
    await receiver.start();
    const client = new Client(`127.0.0.1:${receiver.grpcPort()}`, credentials.createInsecure());
    try {
      const { err } = await call(client, encodeOtlpProtoRequest(spans(50)));
      expect(err?.code).toBe(grpcStatus.RESOURCE_EXHAUSTED);
      expect(err!.metadata.get('grpc-status-details-bin')).toEqual([]);
      expect(batches).toEqual([]);
    } finally {
      client.close();
      await receiver.shutdown(AbortSignal.timeout(5000));
    }
  });

  it('finishes calls in flight on shutdown, then refuses new ones', async () => {
    const r = await start();
    let release!: () => void;
    const held = new Promise<void>((res) => (release = res));
    let entered!: () => void;
    const inside = new Promise<void>((res) => (entered = res));
    r.behave(async (b) => {
      entered();
      await held;
      r.batches.push(b);
    });
    const inFlight = call(r.grpc, encodeOtlpProtoRequest(spans(1)));
    await inside; // the call is in the pipeline, however long the connection took on a busy machine
    const stopping = r.receiver.shutdown(AbortSignal.timeout(5000));
    release();
    expect((await inFlight).err).toBeNull();
    await stopping;
    running = running.filter((x) => x !== r);
    const after = await call(r.grpc, encodeOtlpProtoRequest(spans(1)));
    r.grpc.close();
    expect(after.err?.code).toBe(grpcStatus.UNAVAILABLE);
    expect(r.batches.flat()).toHaveLength(1);
  });
});

describe('otlp receiver start-up', () => {
  it('names the endpoint when the gRPC port is taken, and does not leave HTTP running', async () => {
    const r = await start();
    const { out } = check({ protocols: { grpc: { endpoint: `127.0.0.1:${r.receiver.grpcPort()}` }, http: { endpoint: '127.0.0.1:0' } } });
    const second = otlpReceiver.create(out!, { id: 'otlp', logger: createLogger('silent'), metrics: new SelfMetrics(), configDir: '.', next: { consume: async () => undefined } }) as OtlpReceiver;
    await expect(second.start()).rejects.toThrow(`cannot listen on 127.0.0.1:${r.receiver.grpcPort()}: address already in use`);
    expect(second.httpPort()).toBe(0);
  });
});
