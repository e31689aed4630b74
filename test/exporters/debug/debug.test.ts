import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { Context } from '../../../src/config/schema.js';
import { debugExporter } from '../../../src/exporters/debug/index.js';
import { newResource, Span, SpanKind, StatusCode, type SpanBatch } from '../../../src/model/span.js';
import { SelfMetrics } from '../../../src/telemetry/metrics.js';

/** A debug exporter whose log records land in `records`, parsed. */
function setup(verbosity?: string) {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      cb();
    },
  });
  const ctx: Context = { issues: [] };
  const cfg = debugExporter.config.check(verbosity === undefined ? {} : { verbosity }, [], ctx);
  if (cfg === undefined) throw new Error(JSON.stringify(ctx.issues));
  const exporter = debugExporter.create(cfg, {
    id: 'debug',
    logger: pino({ level: 'info' }, stream),
    metrics: new SelfMetrics(),
    configDir: '.',
  });
  const records = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { exporter, records };
}

const T1 = '0af7651916cd43dd8448eb211c80319c';
const T2 = '00000000000000004bf92f3577b34da6';

function batch(): SpanBatch {
  const frontend = newResource({ 'service.name': 'frontend', 'host.name': 'web-1' });
  const cart = newResource({ 'service.name': 'cart' });

  const a = new Span(frontend, { 'http.method': 'GET', 'http.status_code': 200n, ratio: 0.5, raw: new Uint8Array([1, 2, 255]) });
  a.traceId = T1;
  a.spanId = 'b7ad6b7169203331';
  a.name = 'GET /cart';
  a.kind = SpanKind.Server;
  a.startTimeUnixNano = 1_700_000_000_000_000_000n;
  a.endTimeUnixNano = 1_700_000_000_012_500_000n;
  a.status = { code: StatusCode.Error, message: 'boom' };
  a.events.push({ timeUnixNano: 1_700_000_000_001_000_000n, name: 'retry', attributes: { attempt: 2n, tags: ['x', 3n] }, droppedAttributesCount: 0 });
  a.links.push({ traceId: T2, spanId: '00f067aa0ba902b7', traceState: 'k=v', attributes: { nested: { deep: 9n } }, droppedAttributesCount: 1, flags: 1 });
  a.localEndpoint = { serviceName: 'frontend', ipv4: '10.0.0.1', ipv6: '', port: 8080 };
  a.remoteEndpoint = { serviceName: 'browser', ipv4: '', ipv6: '::1', port: 0 };

  const b = new Span(cart);
  b.traceId = T1;
  b.spanId = '00f067aa0ba902b7';
  b.parentSpanId = 'b7ad6b7169203331';
  b.name = 'load cart';
  b.startTimeUnixNano = 1_700_000_000_001_000_000n;
  b.endTimeUnixNano = 1_700_000_000_004_000_000n;

  const c = new Span(cart);
  c.traceId = T2;
  c.spanId = '1111111111111111';
  c.name = 'no timing';
  return [a, b, c];
}

describe('debug exporter', () => {
  it('at basic (the default) logs one line per batch with span, trace and service counts', async () => {
    const { exporter, records } = setup();
    await expect(exporter.export(batch(), new AbortController().signal)).resolves.toEqual({ code: 'success' });
    const logged = records();
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ level: 30, spans: 3, traces: 2, services: 2, msg: 'spans exported' });
    expect(logged[0]).not.toHaveProperty('summary');
  });

  it('at normal adds one summary line per span, in one record', async () => {
    const { exporter, records } = setup('normal');
    await exporter.export(batch(), new AbortController().signal);
    const logged = records();
    expect(logged).toHaveLength(1);
    expect(logged[0]).toMatchObject({ spans: 3, traces: 2, services: 2 });
    expect(logged[0].summary).toEqual([
      `trace=${T1} span=b7ad6b7169203331 service=frontend name="GET /cart" duration=12.5ms`,
      `trace=${T1} span=00f067aa0ba902b7 service=cart name="load cart" duration=3ms`,
      `trace=${T2} span=1111111111111111 service=cart name="no timing" duration=?`,
    ]);
  });

  it('at detailed also logs every span in full, bigints as strings and bytes as base64', async () => {
    const { exporter, records } = setup('detailed');
    await exporter.export(batch(), new AbortController().signal);
    const logged = records();
    expect(logged).toHaveLength(4);
    expect(logged[0]).toMatchObject({ spans: 3, summary: expect.any(Array) });
    expect(logged.slice(1).map((r) => (r.span as { spanId: string }).spanId)).toEqual(['b7ad6b7169203331', '00f067aa0ba902b7', '1111111111111111']);
    expect(logged[1].span).toEqual({
      traceId: T1,
      spanId: 'b7ad6b7169203331',
      parentSpanId: '',
      name: 'GET /cart',
      kind: 'Server',
      service: 'frontend',
      startTimeUnixNano: '1700000000000000000',
      endTimeUnixNano: '1700000000012500000',
      durationMs: 12.5,
      status: { code: 'Error', message: 'boom' },
      attributes: { 'http.method': 'GET', 'http.status_code': '200', ratio: 0.5, raw: 'AQL/' },
      droppedAttributesCount: 0,
      events: [{ timeUnixNano: '1700000000001000000', name: 'retry', attributes: { attempt: '2', tags: ['x', '3'] }, droppedAttributesCount: 0 }],
      droppedEventsCount: 0,
      links: [{ traceId: T2, spanId: '00f067aa0ba902b7', traceState: 'k=v', attributes: { nested: { deep: '9' } }, droppedAttributesCount: 1, flags: 1 }],
      droppedLinksCount: 0,
      traceState: '',
      flags: 0,
      resource: { attributes: { 'service.name': 'frontend', 'host.name': 'web-1' }, droppedAttributesCount: 0 },
      scope: { name: '', version: '', attributes: {}, droppedAttributesCount: 0 },
      shared: false,
      debug: false,
      localEndpoint: { serviceName: 'frontend', ipv4: '10.0.0.1', ipv6: '', port: 8080 },
      remoteEndpoint: { serviceName: 'browser', ipv4: '', ipv6: '::1', port: 0 },
    });
    expect(logged[3].span).toMatchObject({ name: 'no timing', durationMs: null, startTimeUnixNano: '0', localEndpoint: null });
  });

  it('rejects an unknown verbosity in the config', () => {
    const ctx: Context = { issues: [] };
    expect(debugExporter.config.check({ verbosity: 'loud' }, [], ctx)).toBeUndefined();
    expect(ctx.issues[0]).toMatchObject({ path: ['verbosity'], message: expect.stringContaining('basic, normal, detailed') });
  });
});
