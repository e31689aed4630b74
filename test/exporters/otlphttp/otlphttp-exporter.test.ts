/**
 * The `otlphttp` exporter against an HTTP(S) server that answers as each test needs, and against our own
 * `otlp` receiver.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExportResult } from '../../../src/component/types.js';
import { decodeOtlpJsonRequest, encodeJsonRpcStatus, encodeOtlpJsonResponse } from '../../../src/codecs/otlp-json.js';
import { decodeOtlpProtoRequest, encodeOtlpProtoResponse, encodeRpcStatus } from '../../../src/codecs/otlp-proto.js';
import { otlpHttpExporter, parseRetryAfter, tracesUrl } from '../../../src/exporters/otlphttp/index.js';
import { Span, newResource, type SpanBatch } from '../../../src/model/span.js';
import { otlpReceiver, type OtlpReceiver } from '../../../src/receivers/otlp/index.js';
import { createLogger } from '../../../src/telemetry/logger.js';
import { SelfMetrics } from '../../../src/telemetry/metrics.js';

const TLS = 'test/fixtures/tls';
const never = new AbortController().signal;

function check(config: Record<string, unknown>) {
  const ctx = { issues: [] as { path: readonly (string | number)[]; message: string }[] };
  const out = otlpHttpExporter.config.check(config, [], ctx);
  const issues = ctx.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
  if (out) issues.push(...otlpHttpExporter.validate!(out).map((i) => `${i.path.join('.')}: ${i.message}`));
  return { out, issues };
}

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

async function exporterFor(config: Record<string, unknown>, metrics = new SelfMetrics()) {
  const { out, issues } = check(config);
  expect(issues).toEqual([]);
  const exp = otlpHttpExporter.create(out!, { id: 'otlphttp', logger: createLogger('silent'), metrics, configDir: '.' });
  await exp.start!();
  cleanup.push(() => exp.shutdown!(never));
  return { exp, metrics };
}

interface Received {
  url: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

/** An OTLP/HTTP endpoint that records requests and answers with `answer()` ('close' drops the connection). */
async function fakeServer(answer: (r: Received) => Answer | 'close' | 'hang', https = false) {
  const received: Received[] = [];
  const handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks) };
      received.push(r);
      const a = answer(r);
      if (a === 'hang') return;
      if (a === 'close') return void req.socket.destroy();
      res.writeHead(a.status, a.headers);
      res.end(a.body);
    });
  };
  const server: Server = https
    ? createHttpsServer({ cert: readFileSync(`${TLS}/server.pem`), key: readFileSync(`${TLS}/server.key`) }, handler)
    : createServer(handler);
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  cleanup.push(() => {
    server.closeAllConnections();
    return new Promise<void>((res) => server.close(() => res()));
  });
  return { port: (server.address() as AddressInfo).port, received };
}

let counter = 0;
function batch(n = 2): SpanBatch {
  const resource = newResource({ 'service.name': 'svc' });
  return Array.from({ length: n }, (_, i) => {
    const s = new Span(resource, { i: BigInt(i), d: 1.5, ok: true, list: ['x', 2n], bytes: new Uint8Array([9]) });
    s.traceId = '5b8efff798038103d269b633813fc60c';
    s.spanId = (++counter).toString(16).padStart(16, '0');
    s.name = `span ${i}`;
    s.kind = 2;
    s.startTimeUnixNano = 1_700_000_000_123_456_789n;
    s.endTimeUnixNano = 1_700_000_000_987_654_321n;
    s.flags = 0x101;
    s.droppedEventsCount = 2;
    s.status = { code: 1, message: '' };
    return s;
  });
}

describe('otlphttp exporter config', () => {
  it.each<[string, Record<string, unknown>, string[]]>([
    ['endpoint', { endpoint: 'https://collector:4318' }, []],
    ['traces_endpoint', { traces_endpoint: 'http://collector:4318/custom/traces' }, []],
    ['neither', {}, ['endpoint: set endpoint or traces_endpoint']],
    ['no scheme', { endpoint: 'collector:4318' }, ['endpoint: "collector:4318" is not an http:// or https:// URL']],
    ['encoding', { endpoint: 'http://c:1', encoding: 'protobf' }, ['encoding: must be one of proto, json; got string "protobf" (did you mean "proto"?)']],
    ['a key without its certificate', { endpoint: 'https://c:1', tls: { key_file: 'k.pem' } }, ['tls.cert_file: cert_file and key_file must be set together']],
  ])('%s', (_title, config, issues) => {
    expect(check(config).issues).toEqual(issues);
  });

  it.each<[Record<string, string>, string]>([
    [{ endpoint: 'https://collector:4318' }, 'https://collector:4318/v1/traces'],
    [{ endpoint: 'https://collector:4318/' }, 'https://collector:4318/v1/traces'],
    [{ endpoint: 'https://gw.example.com/otlp' }, 'https://gw.example.com/otlp/v1/traces'],
    [{ endpoint: 'https://collector:4318', traces_endpoint: 'http://other:1/t' }, 'http://other:1/t'],
  ])('traces go to %j → %s', (cfg, url) => {
    expect(tracesUrl(cfg)).toBe(url);
  });

  it.each<[string | undefined, number | undefined]>([
    [undefined, undefined],
    ['', undefined],
    ['7', 7000],
    [' 0 ', 0],
    ['Wed, 21 Oct 2015 07:28:30 GMT', 30_000],
    ['Wed, 21 Oct 2015 07:27:00 GMT', 0],
    ['soon', undefined],
  ])('Retry-After %j → %j ms', (value, ms) => {
    expect(parseRetryAfter(value, Date.parse('Wed, 21 Oct 2015 07:28:00 GMT'))).toBe(ms);
  });
});

describe('otlphttp exporter: the request on the wire', () => {
  it('POSTs gzip protobuf to <endpoint>/v1/traces with the headers', async () => {
    const server = await fakeServer(() => ({ status: 200, headers: { 'content-type': 'application/x-protobuf' } }));
    const { exp } = await exporterFor({ endpoint: `http://127.0.0.1:${server.port}/`, headers: { Authorization: 'Bearer t' } });
    const sent = batch(2);
    expect(await exp.export(sent, never)).toEqual({ code: 'success' });
    const [r] = server.received;
    expect(r.url).toBe('/v1/traces');
    expect([r.headers['content-type'], r.headers['content-encoding'], r.headers.authorization]).toEqual(['application/x-protobuf', 'gzip', 'Bearer t']);
    expect(decodeOtlpProtoRequest(gunzipSync(r.body))).toEqual(sent);
  });

  it('POSTs uncompressed OTLP/JSON to traces_endpoint', async () => {
    const server = await fakeServer(() => ({ status: 200, headers: { 'content-type': 'application/json' }, body: '{}' }));
    const { exp } = await exporterFor({ traces_endpoint: `http://127.0.0.1:${server.port}/custom`, encoding: 'json', compression: 'none' });
    const sent = batch(2);
    expect(await exp.export(sent, never)).toEqual({ code: 'success' });
    const [r] = server.received;
    expect([r.url, r.headers['content-type'], r.headers['content-encoding']]).toEqual(['/custom', 'application/json', undefined]);
    expect(decodeOtlpJsonRequest(r.body)).toEqual(sent);
  });

  it.each(['proto', 'json'])('to our otlp receiver (%s): what arrives equals what was sent', async (encoding) => {
    const received: SpanBatch[] = [];
    const rcfg = otlpReceiver.config.check({ protocols: { http: { endpoint: '127.0.0.1:0' } } }, [], { issues: [] })!;
    const receiver = otlpReceiver.create(rcfg, { id: 'otlp', logger: createLogger('silent'), metrics: new SelfMetrics(), configDir: '.', next: { consume: async (b) => void received.push(b) } }) as OtlpReceiver;
    await receiver.start();
    cleanup.push(() => receiver.shutdown(never));
    const { exp } = await exporterFor({ endpoint: `http://127.0.0.1:${receiver.httpPort()}`, encoding });
    const sent = batch(3);
    expect(await exp.export(sent, never)).toEqual({ code: 'success' });
    expect(received.flat()).toEqual(sent);
  });
});

describe('otlphttp exporter: outcomes as the OTLP specification classifies HTTP answers', () => {
  const proto = { 'content-type': 'application/x-protobuf' };
  const json = { 'content-type': 'application/json' };
  it.each<[string, Answer, ExportResult['code'], number | undefined, string | undefined]>([
    ['200, empty body', { status: 200 }, 'success', undefined, undefined],
    ['202', { status: 202 }, 'success', undefined, undefined],
    ['400 with a protobuf Status', { status: 400, headers: proto, body: encodeRpcStatus({ code: 3, message: 'bad span' }) }, 'permanent', undefined, 'OTLP/HTTP export failed: HTTP 400: bad span'],
    ['400 with a JSON Status', { status: 400, headers: json, body: encodeJsonRpcStatus(3, 'bad json') }, 'permanent', undefined, 'OTLP/HTTP export failed: HTTP 400: bad json'],
    ['401', { status: 401, body: 'no token' }, 'permanent', undefined, 'OTLP/HTTP export failed: HTTP 401: no token'],
    ['403', { status: 403 }, 'permanent', undefined, 'OTLP/HTTP export failed: HTTP 403'],
    ['404', { status: 404 }, 'permanent', undefined, undefined],
    ['413 (never retried)', { status: 413 }, 'permanent', undefined, undefined],
    ['429 with Retry-After', { status: 429, headers: { 'retry-after': '7' } }, 'retryable', 7000, 'OTLP/HTTP export failed: HTTP 429'],
    ['500', { status: 500 }, 'permanent', undefined, undefined],
    ['501', { status: 501 }, 'permanent', undefined, undefined],
    ['502', { status: 502 }, 'retryable', undefined, undefined],
    ['503 with Retry-After and a Status', { status: 503, headers: { ...proto, 'retry-after': '2' }, body: encodeRpcStatus({ code: 14, message: 'queue full', retryDelayMs: 2000 }) }, 'retryable', 2000, 'OTLP/HTTP export failed: HTTP 503: queue full'],
    ['504', { status: 504 }, 'retryable', undefined, undefined],
  ])('%s → %s', async (_title, answer, code, retryAfterMs, message) => {
    const server = await fakeServer(() => answer);
    const { exp } = await exporterFor({ endpoint: `http://127.0.0.1:${server.port}` });
    const result = await exp.export(batch(1), never);
    expect(result.code).toBe(code);
    if (result.code === 'retryable') expect(result.retryAfterMs).toBe(retryAfterMs);
    if (message !== undefined && result.code !== 'success') expect(result.error.message).toBe(message);
  });

  it.each<[string, Answer]>([
    ['protobuf', { status: 200, headers: { 'content-type': 'application/x-protobuf' }, body: encodeOtlpProtoResponse({ rejectedSpans: 2, errorMessage: 'too old' }) }],
    ['JSON', { status: 200, headers: { 'content-type': 'application/json' }, body: encodeOtlpJsonResponse({ rejectedSpans: 2, errorMessage: 'too old' }) }],
  ])('a partial success (%s) is a success; the rejected spans are counted', async (_title, answer) => {
    const server = await fakeServer(() => answer);
    const { exp, metrics } = await exporterFor({ endpoint: `http://127.0.0.1:${server.port}` });
    expect(await exp.export(batch(3), never)).toEqual({ code: 'success' });
    expect(await metrics.text()).toContain('spanline_exporter_send_failed_spans_total{exporter="otlphttp",reason="rejected"} 2');
  });

  it('a connection closed without an answer is retryable', async () => {
    const server = await fakeServer(() => 'close');
    const { exp } = await exporterFor({ endpoint: `http://127.0.0.1:${server.port}` });
    const result = await exp.export(batch(1), never);
    expect(result.code).toBe('retryable');
  });

  it('a backend that cannot be reached is retryable', async () => {
    const server = await fakeServer(() => ({ status: 200 }));
    const port = server.port;
    await cleanup.pop()!();
    const { exp } = await exporterFor({ endpoint: `http://127.0.0.1:${port}` });
    const result = await exp.export(batch(1), never);
    expect(result.code === 'retryable' && result.error.message).toMatch(new RegExp(`^OTLP/HTTP export to http://127.0.0.1:${port}/v1/traces failed: .*ECONNREFUSED`));
  });

  it('aborts the request when the signal aborts', async () => {
    const server = await fakeServer(() => 'hang');
    const { exp } = await exporterFor({ endpoint: `http://127.0.0.1:${server.port}` });
    const abort = new AbortController();
    const pending = exp.export(batch(1), abort.signal);
    await new Promise((res) => setTimeout(res, 100));
    abort.abort();
    const result = await pending;
    expect(result.code).toBe('retryable');
  });
});

describe('otlphttp exporter: TLS', () => {
  it.each<[string, Record<string, unknown>, ExportResult['code']]>([
    ['verified with ca_file', { ca_file: `${TLS}/ca.pem` }, 'success'],
    ['unknown CA without ca_file: not sent', {}, 'retryable'],
    ['insecure_skip_verify', { insecure_skip_verify: true }, 'success'],
  ])('%s', async (_title, tls, code) => {
    const server = await fakeServer(() => ({ status: 200 }), true);
    const { exp } = await exporterFor({ endpoint: `https://localhost:${server.port}`, tls });
    expect((await exp.export(batch(1), never)).code).toBe(code);
    expect(server.received.length).toBe(code === 'success' ? 1 : 0);
  });
});
