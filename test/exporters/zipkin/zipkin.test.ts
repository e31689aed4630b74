/**
 * The zipkin exporter against a local node:http(s) server that plays the Zipkin collector: what it
 * sends (body, gzip, headers) and how it classifies every kind of answer.
 */
import { execFileSync } from 'node:child_process';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Context } from '../../../src/config/schema.js';
import { decodeZipkinV2Json, encodeZipkinV2Json } from '../../../src/codecs/zipkin-json.js';
import { decodeZipkinProto3, encodeZipkinProto3 } from '../../../src/codecs/zipkin-proto3.js';
import { retryAfterMs, zipkinExporter } from '../../../src/exporters/zipkin/index.js';
import { newResource, Span, SpanKind } from '../../../src/model/span.js';
import { createLogger } from '../../../src/telemetry/logger.js';
import { SelfMetrics } from '../../../src/telemetry/metrics.js';
import { freePort } from '../../helpers/daemon.js';
import { tempDir } from '../../helpers/tmp.js';

interface Received {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

let servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  servers = [];
});

/** A collector on 127.0.0.1 that records each request and answers with `handler` (default 202). */
async function collector(
  handler: Handler = (_q, r) => r.writeHead(202).end(),
  tls?: { key: string; cert: string; ca?: string; requestCert?: boolean; rejectUnauthorized?: boolean },
) {
  const received: Received[] = [];
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) });
      handler(req, res);
    });
  };
  const server = tls ? createHttpsServer(tls, onRequest) : createHttpServer(onRequest);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return { received, url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}/api/v2/spans` };
}

function create(config: Record<string, unknown>) {
  const ctx: Context = { issues: [] };
  const cfg = zipkinExporter.config.check(config, [], ctx);
  if (cfg === undefined) throw new Error(JSON.stringify(ctx.issues));
  return zipkinExporter.create(cfg, { id: 'zipkin', logger: createLogger('silent'), metrics: new SelfMetrics(), configDir: '.' });
}

async function started(config: Record<string, unknown>) {
  const exp = create(config);
  await exp.start!();
  return exp;
}

const never = new AbortController().signal;

function batch(): Span[] {
  const frontend = newResource({ 'service.name': 'frontend' });
  const a = new Span(frontend, { 'http.method': 'GET' });
  a.traceId = '5af7183fb1d4cf5f5af7183fb1d4cf5f';
  a.spanId = '352bff9a74ca9ad2';
  a.name = 'get /api';
  a.kind = SpanKind.Client;
  a.startTimeUnixNano = 1_732_192_000_000_000_000n;
  a.endTimeUnixNano = 1_732_192_000_020_000_000n;
  a.localEndpoint = { serviceName: '', ipv4: '192.168.99.1', ipv6: '', port: 8080 };
  a.remoteEndpoint = { serviceName: 'orders', ipv4: '', ipv6: '2001:db8::c001', port: 9000 };
  a.events.push({ timeUnixNano: 1_732_192_000_001_000_000n, name: 'ws', attributes: {}, droppedAttributesCount: 0 });
  const b = new Span(frontend);
  b.traceId = '463ac35c9f6413ad';
  b.spanId = 'a2fb4a1d1a96d312';
  b.name = 'tick';
  b.debug = true;
  return [a, b];
}

describe('zipkin exporter: what it sends', () => {
  it('POSTs the batch as Zipkin v2 JSON, gzip-compressed by default, to the endpoint', async () => {
    const { received, url } = await collector();
    const exp = await started({ endpoint: url });
    const spans = batch();
    expect(await exp.export(spans, never)).toEqual({ code: 'success' });
    expect(received).toHaveLength(1);
    const [req] = received;
    expect(req.method).toBe('POST');
    expect(req.url).toBe('/api/v2/spans');
    expect(req.headers['content-type']).toBe('application/json');
    expect(req.headers['content-encoding']).toBe('gzip');
    const json = gunzipSync(req.body).toString('utf8');
    expect(json).toBe(encodeZipkinV2Json(spans));
    expect(JSON.parse(json)).toEqual([
      {
        traceId: '5af7183fb1d4cf5f5af7183fb1d4cf5f',
        id: '352bff9a74ca9ad2',
        kind: 'CLIENT',
        name: 'get /api',
        timestamp: 1732192000000000,
        duration: 20000,
        localEndpoint: { serviceName: 'frontend', ipv4: '192.168.99.1', port: 8080 },
        remoteEndpoint: { serviceName: 'orders', ipv6: '2001:db8::c001', port: 9000 },
        annotations: [{ timestamp: 1732192000001000, value: 'ws' }],
        tags: { 'http.method': 'GET' },
      },
      { traceId: '463ac35c9f6413ad', id: 'a2fb4a1d1a96d312', name: 'tick', localEndpoint: { serviceName: 'frontend' }, debug: true },
    ]);
    await exp.shutdown!(never);
  });

  it('POSTs proto3 ListOfSpans with format: proto', async () => {
    const { received, url } = await collector();
    const exp = await started({ endpoint: url, format: 'proto' });
    const spans = batch();
    expect((await exp.export(spans, never)).code).toBe('success');
    expect(received[0].headers['content-type']).toBe('application/x-protobuf');
    expect(received[0].headers['content-encoding']).toBe('gzip');
    const body = gunzipSync(received[0].body);
    expect(body.equals(encodeZipkinProto3(spans))).toBe(true);
    // Read back with the proto3 decoder, it is the same spans as the JSON encoding says.
    expect(encodeZipkinV2Json(decodeZipkinProto3(body))).toBe(encodeZipkinV2Json(spans));
  });

  it('sends plain JSON with compression: none', async () => {
    const { received, url } = await collector();
    const exp = await started({ endpoint: url, compression: 'none' });
    expect((await exp.export(batch(), never)).code).toBe('success');
    expect(received[0].headers['content-encoding']).toBeUndefined();
    expect(decodeZipkinV2Json(received[0].body).map((s) => s.spanId)).toEqual(['352bff9a74ca9ad2', 'a2fb4a1d1a96d312']);
  });

  it('adds the configured headers, which replace its own of the same name', async () => {
    const { received, url } = await collector();
    const exp = await started({
      endpoint: url,
      headers: { Authorization: 'Bearer s3cr3t', 'X-Tenant': 'blue', 'Content-Type': 'application/json; charset=utf-8' },
    });
    expect((await exp.export(batch(), never)).code).toBe('success');
    expect(received[0].headers.authorization).toBe('Bearer s3cr3t');
    expect(received[0].headers['x-tenant']).toBe('blue');
    expect(received[0].headers['content-type']).toBe('application/json; charset=utf-8');
    expect(received[0].headers['content-encoding']).toBe('gzip');
  });

  it('names spans without a service default_service_name, without changing the batch', async () => {
    const { received, url } = await collector();
    const exp = await started({ endpoint: url, compression: 'none', default_service_name: 'unknown-svc' });
    const anonymous = new Span(newResource({ 'host.name': 'h1' }));
    anonymous.traceId = '0000000000000001';
    anonymous.spanId = '0000000000000002';
    anonymous.name = 'x';
    anonymous.localEndpoint = { serviceName: '', ipv4: '10.0.0.1', ipv6: '', port: 0 };
    const [named] = batch();
    expect((await exp.export([anonymous, named], never)).code).toBe('success');
    const sent = JSON.parse(received[0].body.toString('utf8')) as { localEndpoint: unknown }[];
    expect(sent[0].localEndpoint).toEqual({ serviceName: 'unknown-svc', ipv4: '10.0.0.1' });
    // The rest of the resource is still written (as tags).
    expect((sent[0] as { tags?: unknown }).tags).toEqual({ 'host.name': 'h1' });
    expect(sent[1].localEndpoint).toEqual({ serviceName: 'frontend', ipv4: '192.168.99.1', port: 8080 });
    // The span object itself still has no service name: other exporters share it.
    expect(anonymous.resource.attributes).toEqual({ 'host.name': 'h1' });
    expect(anonymous.localEndpoint).toEqual({ serviceName: '', ipv4: '10.0.0.1', ipv6: '', port: 0 });
  });

  it('defaults default_service_name to the Collector\'s "<missing service name>"', async () => {
    const { received, url } = await collector();
    const exp = await started({ endpoint: url, compression: 'none' });
    const anonymous = new Span(newResource());
    anonymous.traceId = '0000000000000001';
    anonymous.spanId = '0000000000000002';
    expect((await exp.export([anonymous], never)).code).toBe('success');
    expect(JSON.parse(received[0].body.toString('utf8'))).toEqual([
      { traceId: '0000000000000001', id: '0000000000000002', localEndpoint: { serviceName: '<missing service name>' } },
    ]);
  });
});

describe('zipkin exporter: outcomes', () => {
  const answer =
    (status: number, body = '', headers: Record<string, string> = {}): Handler =>
    (_q, r) =>
      r.writeHead(status, headers).end(body);

  it.each([
    [200, {}, 'success', undefined],
    [202, {}, 'success', undefined],
    [204, {}, 'success', undefined],
    [400, {}, 'permanent', undefined],
    [401, {}, 'permanent', undefined],
    [404, {}, 'permanent', undefined],
    [413, {}, 'permanent', undefined],
    [415, {}, 'permanent', undefined],
    [429, {}, 'retryable', undefined],
    [429, { 'retry-after': '7' }, 'retryable', 7000],
    [500, {}, 'retryable', undefined],
    [502, {}, 'retryable', undefined],
    [503, { 'retry-after': '2' }, 'retryable', 2000],
    [504, {}, 'retryable', undefined],
  ] as const)('answer %i %j is %s (retry after %s ms)', async (status, headers, code, retryAfter) => {
    const { url, received } = await collector(answer(status, status >= 300 ? `problem ${status}` : '', headers));
    const exp = await started({ endpoint: url });
    const result = await exp.export(batch(), never);
    expect(received).toHaveLength(1);
    expect(result.code).toBe(code);
    if (result.code === 'retryable') expect(result.retryAfterMs).toBe(retryAfter);
    if (result.code !== 'success') expect(result.error.message).toBe(`${url} answered ${status}: problem ${status}`);
  });

  it('reads Retry-After given as an HTTP date', async () => {
    const at = new Date(Date.now() + 30_000).toUTCString();
    const { url } = await collector(answer(503, '', { 'retry-after': at }));
    const result = await (await started({ endpoint: url })).export(batch(), never);
    expect(result.code).toBe('retryable');
    const ms = result.code === 'retryable' ? result.retryAfterMs! : 0;
    expect(ms).toBeGreaterThan(28_000);
    expect(ms).toBeLessThanOrEqual(30_000);
  });

  it('quotes the start of a long error answer on one line', async () => {
    const { url } = await collector(answer(400, `Expected a JSON_V2 encoded list\n${'x'.repeat(5000)}`));
    const result = await (await started({ endpoint: url })).export(batch(), never);
    expect(result.code).toBe('permanent');
    const message = result.code === 'permanent' ? result.error.message : '';
    expect(message).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/v2\/spans answered 400: Expected a JSON_V2 encoded list x+…$/);
    expect(message.length).toBeLessThan(700);
  });

  it('treats a refused connection as retryable and names the cause', async () => {
    const port = await freePort();
    const result = await (await started({ endpoint: `http://127.0.0.1:${port}/api/v2/spans` })).export(batch(), never);
    expect(result.code).toBe('retryable');
    expect(result.code === 'retryable' && result.error.message).toMatch(new RegExp(`^POST http://127.0.0.1:${port}/api/v2/spans failed: .*ECONNREFUSED`));
  });

  it('treats a connection closed mid-answer as retryable', async () => {
    const { url } = await collector((req) => req.socket.destroy());
    const result = await (await started({ endpoint: url })).export(batch(), never);
    expect(result.code).toBe('retryable');
  });

  it('stops waiting when the signal aborts, as retryable', async () => {
    const { url, received } = await collector(() => {
      // Never answers.
    });
    const exp = await started({ endpoint: url });
    const ac = new AbortController();
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 200);
    const result = await exp.export(batch(), ac.signal);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(received).toHaveLength(1);
    expect(result.code).toBe('retryable');
    expect(result.code === 'retryable' && result.error.message).toMatch(/aborted/);
  });

  it('classifies a batch it cannot encode as permanent, without sending', async () => {
    const { url, received } = await collector();
    const [span] = batch();
    // A broken span from a buggy plugin: a number where the model has a bigint.
    span.startTimeUnixNano = 5 as unknown as bigint;
    const result = await (await started({ endpoint: url })).export([span], never);
    expect(result.code).toBe('permanent');
    expect(result.code === 'permanent' && result.error.message).toMatch(/^cannot encode spans as Zipkin json: /);
    expect(received).toHaveLength(0);
  });

  it.each([
    ['7', 7000],
    [' 0 ', 0],
    ['soon', undefined],
    ['-1', undefined],
    ['Wed, 21 Oct 2015 07:28:00 GMT', 0],
  ])('Retry-After %j is %s ms', (value, ms) => {
    expect(retryAfterMs(value, Date.parse('2020-01-01T00:00:00Z'))).toBe(ms);
  });
});

describe('zipkin exporter: TLS', () => {
  let tls: { key: string; cert: string; caFile: string };
  let client: { certFile: string; keyFile: string; cert: string };
  beforeAll(() => {
    const dir = tempDir();
    const selfSigned = (name: string, cn: string) =>
      execFileSync('openssl', [
        'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${cn}`,
        '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout', join(dir, `${name}-key.pem`), '-out', join(dir, `${name}.pem`),
      ], { stdio: 'ignore' });
    selfSigned('server', 'localhost');
    selfSigned('client', 'spanline-client');
    tls = { key: readFileSync(join(dir, 'server-key.pem'), 'utf8'), cert: readFileSync(join(dir, 'server.pem'), 'utf8'), caFile: join(dir, 'server.pem') };
    client = { certFile: join(dir, 'client.pem'), keyFile: join(dir, 'client-key.pem'), cert: readFileSync(join(dir, 'client.pem'), 'utf8') };
  });

  it('verifies the server with tls.ca_file', async () => {
    const { url, received } = await collector(undefined, tls);
    const exp = await started({ endpoint: url, tls: { ca_file: tls.caFile } });
    expect(await exp.export(batch(), never)).toEqual({ code: 'success' });
    expect(received).toHaveLength(1);
    await exp.shutdown!(never);
  });

  it('refuses an unknown certificate without ca_file (retryable: the server may be fixed)', async () => {
    const { url, received } = await collector(undefined, tls);
    const result = await (await started({ endpoint: url })).export(batch(), never);
    expect(result.code).toBe('retryable');
    expect(result.code === 'retryable' && result.error.message).toMatch(/self[- ]signed certificate/i);
    expect(received).toHaveLength(0);
  });

  it('skips verification with tls.insecure_skip_verify', async () => {
    const { url, received } = await collector(undefined, tls);
    const exp = await started({ endpoint: url, tls: { insecure_skip_verify: true } });
    expect((await exp.export(batch(), never)).code).toBe('success');
    expect(received).toHaveLength(1);
  });

  it('presents a client certificate with tls.cert_file and key_file (mutual TLS)', async () => {
    const mutual = { ...tls, ca: client.cert, requestCert: true, rejectUnauthorized: true };
    const { url, received } = await collector(undefined, mutual);
    const withCert = await started({ endpoint: url, tls: { ca_file: tls.caFile, cert_file: client.certFile, key_file: client.keyFile } });
    expect((await withCert.export(batch(), never)).code).toBe('success');
    const withoutCert = await started({ endpoint: url, tls: { ca_file: tls.caFile } });
    expect((await withoutCert.export(batch(), never)).code).toBe('retryable');
    expect(received).toHaveLength(1);
  });

  it('fails to start when ca_file cannot be read', async () => {
    const exp = create({ endpoint: 'https://127.0.0.1:1/api/v2/spans', tls: { ca_file: '/nonexistent/ca.pem' } });
    await expect(exp.start!()).rejects.toThrow(/tls.ca_file: cannot read \/nonexistent\/ca.pem/);
  });
});

describe('zipkin exporter: config', () => {
  const check = (config: Record<string, unknown>) => {
    const ctx: Context = { issues: [] };
    const cfg = zipkinExporter.config.check(config, [], ctx);
    const problems = cfg ? zipkinExporter.validate!(cfg) : [];
    return [...ctx.issues, ...problems].map((i) => `${i.path.join('.')}: ${i.message}`);
  };

  it.each([
    [{}, ['endpoint: is required (an http:// or https:// URL)']],
    [{ endpoint: 'zipkin:9411' }, ['endpoint: "zipkin:9411" is not an http:// or https:// URL']],
    [{ endpoint: 'http://zipkin:9411/api/v2/spans', format: 'thrift' }, [expect.stringMatching(/^format: /)]],
    [{ endpoint: 'http://zipkin:9411/api/v2/spans', compression: 'zstd' }, [expect.stringMatching(/^compression: /)]],
    [{ endpoint: 'http://zipkin:9411/api/v2/spans', tls: { insecure_skip_verify: true } }, ['tls: TLS options need an https:// endpoint']],
    [{ endpoint: 'https://zipkin:9411/api/v2/spans', tls: { insecure_skip_verify: true } }, []],
    [{ endpoint: 'http://zipkin:9411/api/v2/spans', headers: { a: 1 } }, ['headers.a: expected a string, got number 1']],
    [{ endpoint: 'https://zipkin:9411/api/v2/spans', tls: { cert_file: 'c.pem' } }, ['tls.key_file: cert_file and key_file must be set together']],
  ])('config %j', (config, problems) => {
    expect(check(config)).toEqual(problems);
  });

  it('has the Collector zipkinexporter defaults', () => {
    const ctx: Context = { issues: [] };
    expect(zipkinExporter.config.check({ endpoint: 'http://z:9411/api/v2/spans' }, [], ctx)).toEqual({
      endpoint: 'http://z:9411/api/v2/spans',
      format: 'json',
      compression: 'gzip',
      headers: {},
      tls: { insecure: false, insecure_skip_verify: false },
      default_service_name: '<missing service name>',
    });
  });
});
