/**
 * The `zipkin` receiver in process: its four encodings on Zipkin's two routes, and the checks Zipkin's
 * collector makes before decoding (ZipkinHttpCollector: first byte, the other JSON version, `[]`), over
 * real HTTP requests, with a test consumer standing in for the pipelines.
 */
import { request as httpRequest } from 'node:http';
import { deflateSync, gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { RefusedError, type SpanConsumer } from '../../src/component/types.js';
import { decodeZipkinV2Json, encodeZipkinV2Json } from '../../src/codecs/zipkin-json.js';
import { encodeZipkinProto3 } from '../../src/codecs/zipkin-proto3.js';
import type { SpanBatch } from '../../src/model/span.js';
import { zipkinReceiver } from '../../src/receivers/zipkin/index.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { SelfMetrics } from '../../src/telemetry/metrics.js';
import type { SpanHttpServer } from '../../src/transport/http-span-server.js';
import { encodeV1ThriftList } from '../codecs/zipkin-v1-thrift-writer.mjs';

interface Running {
  receiver: SpanHttpServer;
  metrics: SelfMetrics;
  batches: SpanBatch[];
  base: string;
}

let running: Running[] = [];
afterEach(async () => {
  for (const r of running) await r.receiver.shutdown();
  running = [];
});

async function start(admit?: SpanConsumer['admit']): Promise<Running> {
  const batches: SpanBatch[] = [];
  const next: SpanConsumer = { consume: async (b) => void batches.push(b), admit };
  const metrics = new SelfMetrics();
  const ctx = { issues: [] as { path: readonly (string | number)[]; message: string }[] };
  const cfg = zipkinReceiver.config.check({ endpoint: '127.0.0.1:0' }, [], ctx)!;
  const receiver = zipkinReceiver.create(cfg, { id: 'zipkin', logger: createLogger('silent'), metrics, configDir: '.', next }) as SpanHttpServer;
  await receiver.start();
  const r = { receiver, metrics, batches, base: `http://127.0.0.1:${receiver.port()}` };
  running.push(r);
  return r;
}

const post = (url: string, body: Buffer | string, headers: Record<string, string> = {}) => fetch(url, { method: 'POST', body, headers });

const V2_JSON = '[{"traceId":"463ac35c9f6413ad","id":"48485a3953bb6124","kind":"SERVER","name":"get","localEndpoint":{"serviceName":"api"},"tags":{"http.path":"/"}}]';
const V1_JSON = '[{"traceId":"463ac35c9f6413ad","id":"48485a3953bb6124","name":"get","annotations":[{"timestamp":1,"value":"sr","endpoint":{"serviceName":"api"}}],"binaryAnnotations":[{"key":"http.path","value":"/","endpoint":{"serviceName":"api"}}]}]';
const PROTO3 = encodeZipkinProto3(decodeZipkinV2Json(V2_JSON));
const THRIFT = encodeV1ThriftList(JSON.parse(V1_JSON));

const V2 = '/api/v2/spans';
const V1 = '/api/v1/spans';
const CT = {
  json: { 'content-type': 'application/json' },
  proto: { 'content-type': 'application/x-protobuf' },
  thrift: { 'content-type': 'application/x-thrift' },
  none: {} as Record<string, string>,
};

describe('zipkin receiver: encodings by route and Content-Type', () => {
  it.each<[string, string, Buffer | string, Record<string, string>, string]>([
    ['v2 JSON', V2, V2_JSON, CT.json, 'http_v2_json'],
    ['v2 JSON without Content-Type', V2, V2_JSON, CT.none, 'http_v2_json'],
    ['v2 proto3', V2, PROTO3, CT.proto, 'http_v2_proto'],
    ['v2 proto3 with parameters', V2, PROTO3, { 'content-type': 'Application/X-Protobuf; charset=binary' }, 'http_v2_proto'],
    ['v1 JSON', V1, V1_JSON, CT.json, 'http_v1_json'],
    ['v1 JSON without Content-Type', V1, V1_JSON, CT.none, 'http_v1_json'],
    ['v1 Thrift', V1, THRIFT, CT.thrift, 'http_v1_thrift'],
  ])('%s: 202, the span decoded, counted under its transport', async (_name, path, body, headers, transport) => {
    const r = await start();
    const res = await post(r.base + path, body, headers);
    expect(res.status).toBe(202);
    expect(r.batches).toHaveLength(1);
    expect(encodeZipkinV2Json(r.batches[0])).toBe(path === V2 ? V2_JSON : '[{"traceId":"463ac35c9f6413ad","id":"48485a3953bb6124","kind":"SERVER","name":"get","timestamp":1,"localEndpoint":{"serviceName":"api"},"tags":{"http.path":"/"},"shared":true}]');
    const text = await r.metrics.text();
    expect(text).toContain(`spanline_receiver_accepted_spans_total{receiver="zipkin",transport="${transport}"} 1`);
  });

  it.each([
    ['gzip', gzipSync],
    ['deflate', deflateSync],
  ] as const)('binary bodies may be %s-compressed', async (encoding, compress) => {
    const r = await start();
    expect((await post(r.base + V2, compress(PROTO3), { ...CT.proto, 'content-encoding': encoding })).status).toBe(202);
    expect((await post(r.base + V1, compress(THRIFT), { ...CT.thrift, 'content-encoding': encoding })).status).toBe(202);
    expect(r.batches.map((b) => b[0].spanId)).toEqual(['48485a3953bb6124', '48485a3953bb6124']);
  });
});

describe("zipkin receiver: Zipkin's checks before decoding", () => {
  it.each<[string, string, Buffer | string, Record<string, string>]>([
    ['an empty body on v2', V2, '', CT.json],
    ['an empty body on proto3', V2, '', CT.proto],
    ['[] on v2 JSON', V2, '[]', CT.json],
    ['[] on v2 proto3', V2, '[]', CT.proto],
    ['[] on v1 JSON', V1, '[]', CT.json],
    ['[] on v1 Thrift', V1, '[]', CT.thrift],
    ['an empty Thrift list', V1, Buffer.from('0c00000000', 'hex'), CT.thrift],
    ['a JSON span list that is neither v1 nor v2 on v2', V2, '[{"traceId":"1","id":"1","name":"test"}]', CT.json],
    ['a JSON span list that is neither v1 nor v2 on v1', V1, '[{"traceId":"1","id":"1","name":"test"}]', CT.json],
    // Unlike Zipkin, which finds its v1 marker `yAnnotations"` in the text: only a span's key counts.
    ['v2 JSON with a tag value ending in binaryAnnotations', V2, '[{"traceId":"1","id":"1","tags":{"q":"binaryAnnotations"}}]', CT.json],
  ])('accepts %s with 202', async (_name, path, body, headers) => {
    const r = await start();
    const res = await post(r.base + path, body, headers);
    expect(res.status).toBe(202);
    expect(await res.text()).toBe('');
  });

  it.each<[string, string, Buffer | string, Record<string, string>, string]>([
    ['an object on v2 JSON', V2, '{"traceId":"1","id":"1"}', CT.json, 'Expected a JSON_V2 encoded list\n'],
    ['JSON with leading whitespace', V2, ' []', CT.json, 'Expected a JSON_V2 encoded list\n'],
    ['text on proto3', V2, 'hello', CT.proto, 'Expected a PROTO3 encoded list\n'],
    ['0x0A then 0x00 on proto3', V2, Buffer.from([0x0a, 0x00, 0x01]), CT.proto, 'Expected a PROTO3 encoded list\n'],
    ['a single 0x0A on proto3', V2, Buffer.from([0x0a]), CT.proto, 'Expected a PROTO3 encoded list\n'],
    ['text on v1 JSON', V1, 'hello', CT.json, 'Expected a JSON_V1 encoded list\n'],
    ['a Thrift struct (not a list) on Thrift', V1, Buffer.from('0a0001', 'hex'), CT.thrift, 'Expected a THRIFT encoded list\n'],
    ['v1 JSON on the v2 route', V2, V1_JSON, CT.json, 'Expected a JSON_V2 encoded list, but received: JSON_V1\n'],
    // Zipkin checks the whole body before decoding: the v1 answer wins over a problem in an earlier span.
    ['v1 JSON on the v2 route after an invalid span', V2, `[{"traceId":"XYZ","id":"1"},${V1_JSON.slice(1)}`, CT.json, 'Expected a JSON_V2 encoded list, but received: JSON_V1\n'],
    ['malformed v1 JSON on the v2 route', V2, V1_JSON.slice(0, -2), CT.json, 'Expected a JSON_V2 encoded list, but received: JSON_V1\n'],
    ['v1 JSON with null binaryAnnotations on the v2 route', V2, '[{"traceId":"1","id":"1","binaryAnnotations":null}]', CT.json, 'Expected a JSON_V2 encoded list, but received: JSON_V1\n'],
    ['v2 JSON (endpoints) on the v1 route', V1, V2_JSON, CT.json, 'Expected a JSON_V1 encoded list, but received: JSON_V2\n'],
    ['v2 JSON (tags only) on the v1 route', V1, '[{"traceId":"1","id":"1","tags":{"a":"b"}}]', CT.json, 'Expected a JSON_V1 encoded list, but received: JSON_V2\n'],
    ['truncated proto3', V2, PROTO3.subarray(0, 10), CT.proto, 'Truncated: length 50 > bytes available 8 reading List<Span> from proto3\n'],
    ['truncated Thrift', V1, THRIFT.subarray(0, 10), CT.thrift, 'Truncated: length 8 > bytes available 2 reading List<Span> from TBinary\n'],
    ['a bad trace id in v2 JSON', V2, '[{"traceId":"XYZ","id":"1"}]', CT.json, 'span[0].traceId: XYZ should be lower-hex encoded with no prefix\n'],
    ['a bad trace id in v1 JSON', V1, '[{"traceId":"XYZ","id":"1"}]', CT.json, 'span[0].traceId: XYZ should be a 1 to 32 character lower-hex string with no prefix\n'],
  ])('answers %s with 400 and the problem', async (_name, path, body, headers, message) => {
    const r = await start();
    const res = await post(r.base + path, body, headers);
    expect(res.status).toBe(400);
    expect(await res.text()).toBe(message);
    expect(r.batches).toEqual([]);
  });

  it('a Thrift list on the v2 JSON route passes the first-byte check and fails as JSON', async () => {
    const r = await start();
    const res = await post(r.base + V2, THRIFT, CT.json);
    expect(res.status).toBe(400);
    expect(await res.text()).toMatch(/^Malformed reading List<Span> from json: /);
  });

  it('counts refused requests under the transport of their Content-Type', async () => {
    const r = await start();
    await post(r.base + V2, 'hello', CT.proto);
    await post(r.base + V1, THRIFT.subarray(0, 10), CT.thrift);
    await post(r.base + V1, 'nope', CT.json);
    await post(r.base + V2, 'nope', CT.json);
    const text = await r.metrics.text();
    for (const transport of ['http_v2_proto', 'http_v1_thrift', 'http_v1_json', 'http_v2_json']) {
      expect(text).toContain(`spanline_receiver_malformed_requests_total{receiver="zipkin",transport="${transport}",reason="malformed"} 1`);
    }
  });
});

describe('zipkin receiver: shutdown', () => {
  it('closes, at the deadline, a connection whose client still owes the body of a request refused early', async () => {
    const r = await start(() => new RefusedError('full', true, 1_000, 'test'));
    // Headers of a 10 MiB body, then nothing: the 503 comes at once and the body is never read.
    const { status, socketClosed } = await new Promise<{ status: number; socketClosed: Promise<void> }>((resolve, reject) => {
      const req = httpRequest(`${r.base}${V2}`, { method: 'POST', headers: { ...CT.json, 'content-length': String(10 * 1024 * 1024) } }, (res) => {
        res.resume();
        resolve({ status: res.statusCode!, socketClosed: new Promise((closed) => req.socket!.once('close', () => closed())) });
      });
      // The request never completes: its socket is closed under it, which is what the test waits for.
      req.on('error', () => undefined);
      req.once('socket', (s) => s.once('error', reject));
      req.flushHeaders();
    });
    expect(status).toBe(503);
    running = running.filter((x) => x !== r);
    const deadline = new AbortController();
    let stopped = false;
    const stopping = r.receiver.shutdown(deadline.signal).then(() => (stopped = true));
    // Still waiting for the request in flight (a gentle shutdown), until the deadline.
    await new Promise((res) => setImmediate(res));
    expect(stopped).toBe(false);
    deadline.abort();
    await stopping;
    await socketClosed;
    expect(stopped).toBe(true);
  });
});
