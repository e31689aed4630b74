/**
 * The `otlp` (gRPC) exporter against a gRPC server that answers as each test needs, and against our own
 * `otlp` receiver.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttp2Server, type IncomingHttpHeaders } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { Metadata, Server, ServerCredentials, status as grpcStatus, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExportResult } from '../../../src/component/types.js';
import { decodeOtlpProtoRequest, encodeOtlpProtoResponse, encodeRpcStatus, TRACE_SERVICE_EXPORT_PATH } from '../../../src/codecs/otlp-proto.js';
import { otlpExporter } from '../../../src/exporters/otlp/index.js';
import { Span, newResource, type SpanBatch } from '../../../src/model/span.js';
import { otlpReceiver, type OtlpReceiver } from '../../../src/receivers/otlp/index.js';
import { createLogger } from '../../../src/telemetry/logger.js';
import { SelfMetrics } from '../../../src/telemetry/metrics.js';

const TLS = 'test/fixtures/tls';
const never = new AbortController().signal;

function check(config: Record<string, unknown>) {
  const ctx = { issues: [] as { path: readonly (string | number)[]; message: string }[] };
  const out = otlpExporter.config.check(config, [], ctx);
  const issues = ctx.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  if (out) issues.push(...otlpExporter.validate!(out).map((i) => `${i.path.join('.')}: ${i.message}`));
  return { out, issues };
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function exporterFor(config: Record<string, unknown>, metrics = new SelfMetrics()) {
  const { out, issues } = check(config);
  expect(issues).toEqual([]);
  const exp = otlpExporter.create(out!, { id: 'otlp', logger: createLogger('silent'), metrics, configDir: '.' });
  await exp.start!();
  cleanup.push(() => exp.shutdown!(never));
  return { exp, metrics };
}

interface Received {
  body: Buffer;
  metadata: Metadata;
}

type Answer = { code: number; details?: string; retryDelayMs?: number } | { response: Buffer } | 'hang';

/** A TraceService that records requests and answers with `answer()`. */
async function fakeServer(answer: (r: Received) => Answer, creds = ServerCredentials.createInsecure()) {
  const received: Received[] = [];
  const cancelled: boolean[] = [];
  const server = new Server();
  const pass = (b: Buffer) => b;
  server.addService(
    { Export: { path: TRACE_SERVICE_EXPORT_PATH, requestStream: false, responseStream: false, requestSerialize: pass, requestDeserialize: pass, responseSerialize: pass, responseDeserialize: pass } },
    {
      Export: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
        const r = { body: call.request, metadata: call.metadata };
        received.push(r);
        const a = answer(r);
        if (a === 'hang') {
          call.on('cancelled', () => cancelled.push(true));
          return;
        }
        if ('response' in a) return callback(null, a.response);
        const metadata = new Metadata();
        if (a.retryDelayMs !== undefined) metadata.set('grpc-status-details-bin', encodeRpcStatus({ code: a.code, message: a.details ?? '', retryDelayMs: a.retryDelayMs }));
        callback({ code: a.code, details: a.details ?? 'failed', metadata });
      },
    },
  );
  const port = await new Promise<number>((res, rej) => server.bindAsync('127.0.0.1:0', creds, (e, p) => (e ? rej(e) : res(p))));
  cleanup.push(() => void server.forceShutdown());
  return { port, received, cancelled };
}

let counter = 0;
function batch(n = 2): SpanBatch {
  const resource = newResource({ 'service.name': 'svc', 'host.cpu.count': 8n });
  const scope = { name: 'lib', version: '1.0', attributes: { 'scope.flag': true }, droppedAttributesCount: 1 };
  return Array.from({ length: n }, (_, i) => {
    const s = new Span(resource, { i: BigInt(i), ratio: 0.5, tags: ['a', 1n], raw: new Uint8Array([1, 2]), nested: { k: null } });
    s.scope = scope;
    s.traceId = '5b8efff798038103d269b633813fc60c';
    s.spanId = (++counter).toString(16).padStart(16, '0');
    s.parentSpanId = 'eee19b7ec3c1b173';
    s.name = `span ${i}`;
    s.kind = 3;
    s.startTimeUnixNano = 1_700_000_000_123_456_789n;
    s.endTimeUnixNano = 1_700_000_000_987_654_321n;
    s.traceState = 'rojo=1';
    s.flags = 0x301;
    s.droppedAttributesCount = 1;
    s.droppedEventsCount = 2;
    s.droppedLinksCount = 3;
    s.events = [{ timeUnixNano: 1_700_000_000_500_000_001n, name: 'e', attributes: { n: 1n }, droppedAttributesCount: 4 }];
    s.links = [{ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceState: 'k=v', attributes: {}, droppedAttributesCount: 5, flags: 1 }];
    s.status = { code: 2, message: 'boom' };
    return s;
  });
}

describe('otlp exporter config', () => {
  it.each<[string, Record<string, unknown>, string[]]>([
    ['host:port', { endpoint: 'collector:4317' }, []],
    ['http:// (plaintext)', { endpoint: 'http://127.0.0.1:4317' }, []],
    ['https:// with a trailing slash', { endpoint: 'https://collector.example.com:443/' }, []],
    ['[v6]:port', { endpoint: '[::1]:4317' }, []],
    ['no endpoint', {}, ['endpoint: is required (an endpoint "host:port")']],
    ['no port', { endpoint: 'collector' }, ['endpoint: "collector" is not an endpoint "host:port"']],
    ['a path', { endpoint: 'http://collector:4317/v1/traces' }, ['endpoint: "http://collector:4317/v1/traces" is not an endpoint "host:port"']],
    ['compression zstd', { endpoint: 'c:1', compression: 'zstd' }, ['compression: must be one of gzip, none; got string "zstd"']],
    ['a client certificate without its key', { endpoint: 'c:1', tls: { cert_file: 'c.pem' } }, ['tls.key_file: cert_file and key_file must be set together']],
    ['headers that are not strings', { endpoint: 'c:1', headers: { n: 1 } }, ['headers.n: expected a string, got number 1']],
  ])('%s', (_title, config, issues) => {
    expect(check(config).issues).toEqual(issues);
  });

  it('defaults: gzip, TLS verified, no headers', () => {
    expect(check({ endpoint: 'c:1' }).out).toEqual({ endpoint: 'c:1', headers: {}, compression: 'gzip', tls: { insecure: false, insecure_skip_verify: false } });
  });

  it('names the file when a TLS file cannot be read, at start', async () => {
    const { out } = check({ endpoint: 'c:1', tls: { ca_file: 'no/such/ca.pem' } });
    const exp = otlpExporter.create(out!, { id: 'otlp', logger: createLogger('silent'), metrics: new SelfMetrics(), configDir: '.' });
    await expect(exp.start!()).rejects.toThrow(/^tls\.ca_file: cannot read no\/such\/ca\.pem: ENOENT/);
  });
});

describe('otlp exporter → our otlp receiver', () => {
  it.each(['gzip', 'none'])('what arrives equals what was sent (compression %s)', async (compression) => {
    const received: SpanBatch[] = [];
    const ctx = { issues: [] };
    const rcfg = otlpReceiver.config.check({ protocols: { grpc: { endpoint: '127.0.0.1:0' } } }, [], ctx)!;
    const receiver = otlpReceiver.create(rcfg, { id: 'otlp', logger: createLogger('silent'), metrics: new SelfMetrics(), configDir: '.', next: { consume: async (b) => void received.push(b) } }) as OtlpReceiver;
    await receiver.start();
    cleanup.push(() => receiver.shutdown(never));
    const { exp } = await exporterFor({ endpoint: `127.0.0.1:${receiver.grpcPort()}`, tls: { insecure: true }, compression });
    const sent = batch(3);
    expect(await exp.export(sent, never)).toEqual({ code: 'success' });
    expect(received.flat()).toEqual(sent);
  });
});

/** A bare HTTP/2 endpoint speaking just enough gRPC to show the request as it is on the wire. */
async function wireServer() {
  const requests: { headers: IncomingHttpHeaders; compressed: number; message: Buffer }[] = [];
  const server = createHttp2Server();
  server.on('stream', (stream, headers) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      const frame = Buffer.concat(chunks);
      // A gRPC message: 1 byte "compressed" flag, 4 bytes length, the message.
      requests.push({ headers, compressed: frame[0], message: frame.subarray(5, 5 + frame.readUInt32BE(1)) });
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
      stream.end(Buffer.from([0, 0, 0, 0, 0]));
    });
  });
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  cleanup.push(() => new Promise<void>((res) => server.close(() => res())));
  return { port: (server.address() as AddressInfo).port, requests };
}

describe('otlp exporter: the request on the wire', () => {
  it('sends gzip by default, plaintext with http://, to TraceService/Export, with the headers as metadata', async () => {
    const server = await wireServer();
    const { exp } = await exporterFor({ endpoint: `http://127.0.0.1:${server.port}`, headers: { 'X-API-Key': 'secret' } });
    const sent = batch(2);
    expect((await exp.export(sent, never)).code).toBe('success');
    const [r] = server.requests;
    expect(r.headers[':path']).toBe('/opentelemetry.proto.collector.trace.v1.TraceService/Export');
    expect(r.headers['x-api-key']).toBe('secret');
    expect([r.headers['grpc-encoding'], r.compressed]).toEqual(['gzip', 1]);
    expect(decodeOtlpProtoRequest(gunzipSync(r.message))).toEqual(sent);
  });

  it('sends uncompressed with compression: none', async () => {
    const server = await wireServer();
    const { exp } = await exporterFor({ endpoint: `127.0.0.1:${server.port}`, tls: { insecure: true }, compression: 'none' });
    const sent = batch(1);
    await exp.export(sent, never);
    const [r] = server.requests;
    expect(r.compressed).toBe(0);
    expect(decodeOtlpProtoRequest(r.message)).toEqual(sent);
  });
});

describe('otlp exporter: outcomes as the OTLP specification classifies gRPC codes', () => {
  const S = grpcStatus;
  it.each<[string, Answer, ExportResult['code'], number | undefined]>([
    ['OK', { response: Buffer.alloc(0) }, 'success', undefined],
    ['CANCELLED', { code: S.CANCELLED }, 'retryable', undefined],
    ['UNKNOWN', { code: S.UNKNOWN }, 'permanent', undefined],
    ['INVALID_ARGUMENT', { code: S.INVALID_ARGUMENT }, 'permanent', undefined],
    ['DEADLINE_EXCEEDED', { code: S.DEADLINE_EXCEEDED }, 'retryable', undefined],
    ['NOT_FOUND', { code: S.NOT_FOUND }, 'permanent', undefined],
    ['ALREADY_EXISTS', { code: S.ALREADY_EXISTS }, 'permanent', undefined],
    ['PERMISSION_DENIED', { code: S.PERMISSION_DENIED }, 'permanent', undefined],
    ['UNAUTHENTICATED', { code: S.UNAUTHENTICATED }, 'permanent', undefined],
    ['RESOURCE_EXHAUSTED without RetryInfo', { code: S.RESOURCE_EXHAUSTED }, 'permanent', undefined],
    ['RESOURCE_EXHAUSTED with RetryInfo', { code: S.RESOURCE_EXHAUSTED, retryDelayMs: 7000 }, 'retryable', 7000],
    ['FAILED_PRECONDITION', { code: S.FAILED_PRECONDITION }, 'permanent', undefined],
    ['ABORTED', { code: S.ABORTED }, 'retryable', undefined],
    ['OUT_OF_RANGE', { code: S.OUT_OF_RANGE }, 'retryable', undefined],
    ['UNIMPLEMENTED', { code: S.UNIMPLEMENTED }, 'permanent', undefined],
    ['INTERNAL', { code: S.INTERNAL }, 'permanent', undefined],
    ['UNAVAILABLE', { code: S.UNAVAILABLE }, 'retryable', undefined],
    ['UNAVAILABLE with RetryInfo', { code: S.UNAVAILABLE, retryDelayMs: 30_500 }, 'retryable', 30_500],
    ['DATA_LOSS', { code: S.DATA_LOSS }, 'retryable', undefined],
  ])('%s → %s', async (_title, answer, code, retryAfterMs) => {
    const server = await fakeServer(() => answer);
    const { exp } = await exporterFor({ endpoint: `127.0.0.1:${server.port}`, tls: { insecure: true } });
    const result = await exp.export(batch(1), never);
    expect(result.code).toBe(code);
    if (result.code === 'retryable') expect(result.retryAfterMs).toBe(retryAfterMs);
    if (result.code !== 'success' && typeof answer === 'object' && 'code' in answer) expect(result.error.message).toBe(`OTLP/gRPC export failed: ${S[answer.code]}: failed`);
  });

  it('a backend that cannot be reached is retryable (UNAVAILABLE)', async () => {
    const server = await fakeServer(() => ({ response: Buffer.alloc(0) }));
    const port = server.port;
    await cleanup.pop()!(); // stop the server: nothing listens on the port now
    const { exp } = await exporterFor({ endpoint: `127.0.0.1:${port}`, tls: { insecure: true } });
    const result = await exp.export(batch(1), never);
    expect(result.code).toBe('retryable');
    expect(result.code === 'retryable' && result.error.message).toMatch(/^OTLP\/gRPC export failed: UNAVAILABLE/);
  });

  it('a partial success is a success; the rejected spans are counted and logged', async () => {
    const server = await fakeServer(() => ({ response: encodeOtlpProtoResponse({ rejectedSpans: 2, errorMessage: 'spans too old' }) }));
    const { exp, metrics } = await exporterFor({ endpoint: `127.0.0.1:${server.port}`, tls: { insecure: true } });
    expect(await exp.export(batch(3), never)).toEqual({ code: 'success' });
    expect(await metrics.text()).toContain('spanline_exporter_send_failed_spans_total{exporter="otlp",reason="rejected"} 2');
  });

  it('cancels the call when the signal aborts (timeout or shutdown deadline)', async () => {
    const server = await fakeServer(() => 'hang');
    const { exp } = await exporterFor({ endpoint: `127.0.0.1:${server.port}`, tls: { insecure: true } });
    const abort = new AbortController();
    const pending = exp.export(batch(1), abort.signal);
    await new Promise((res) => setTimeout(res, 100));
    abort.abort();
    const result = await pending;
    expect(result.code).toBe('retryable');
    await new Promise((res) => setTimeout(res, 50));
    expect(server.cancelled).toEqual([true]);
  });
});

describe('otlp exporter: TLS', () => {
  const read = (f: string) => readFileSync(`${TLS}/${f}`);
  const serverCreds = (requireClientCert = false) =>
    ServerCredentials.createSsl(requireClientCert ? read('ca.pem') : null, [{ cert_chain: read('server.pem'), private_key: read('server.key') }], requireClientCert);

  it.each<[string, Record<string, unknown>, boolean, ExportResult['code']]>([
    ['verified with ca_file', { ca_file: `${TLS}/ca.pem` }, false, 'success'],
    ['unknown CA without ca_file: retryable UNAVAILABLE', {}, false, 'retryable'],
    ['insecure_skip_verify', { insecure_skip_verify: true }, false, 'success'],
    ['mutual TLS with cert_file and key_file', { ca_file: `${TLS}/ca.pem`, cert_file: `${TLS}/client.pem`, key_file: `${TLS}/client.key` }, true, 'success'],
    ['mutual TLS required but no client certificate', { ca_file: `${TLS}/ca.pem` }, true, 'retryable'],
  ])('%s', async (_title, tls, mutual, code) => {
    const server = await fakeServer(() => ({ response: Buffer.alloc(0) }), serverCreds(mutual));
    const { exp } = await exporterFor({ endpoint: `localhost:${server.port}`, tls });
    expect((await exp.export(batch(1), never)).code).toBe(code);
    expect(server.received.length).toBe(code === 'success' ? 1 : 0);
  });
});
