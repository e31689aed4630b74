/**
 * The `filter` processor in the real daemon: YAML config, Zipkin JSON in over HTTP, the file exporter's
 * Zipkin JSON lines out, and the drops in the self-metrics.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Daemon, freePort } from '../../helpers/daemon.js';
import { tempDir, writeTemp } from '../../helpers/tmp.js';

let daemons: Daemon[] = [];
afterEach(async () => {
  await Promise.all(daemons.map((d) => d.stop('SIGKILL')));
  daemons = [];
});

const TRACE = '5af7183fb1d4cf5f';
const T0 = 1_700_000_000_000_000; // µs

/** A Zipkin v2 span with `id` as its last hex digits. */
function zipkinSpan(id: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    traceId: TRACE,
    id: id.padStart(16, '0'),
    name: 'get /orders',
    timestamp: T0,
    duration: 1000,
    localEndpoint: { serviceName: 'orders' },
    ...fields,
  };
}

const SPANS = [
  zipkinSpan('1', { localEndpoint: { serviceName: 'healthcheck' } }), // dropped: service
  zipkinSpan('2', { kind: 'PRODUCER', name: 'send order' }), // dropped: kind
  zipkinSpan('3', { duration: 6_000_000 }), // dropped: longer than 5 s
  zipkinSpan('4', { tags: { 'http.path': '/metrics' } }), // dropped: attribute
  zipkinSpan('5', { duration: 4_000_000, tags: { 'http.path': '/orders' } }), // kept
  zipkinSpan('6', {
    kind: 'SERVER',
    annotations: [
      { timestamp: T0 + 10, value: 'debug' },
      { timestamp: T0 + 20, value: 'cache miss' },
      { timestamp: T0 + 30, value: 'debug' },
    ],
  }), // kept, without its two "debug" annotations
];

const config = (p: { zipkin: number; metrics: number; out: string }) => `
receivers:
  zipkin:
    endpoint: 127.0.0.1:${p.zipkin}
processors:
  filter:
    traces:
      span:
        - resource.attributes["service.name"] == "healthcheck"
        - kind == SPAN_KIND_PRODUCER
        - end_time_unix_nano - start_time_unix_nano > 5000000000
        - attributes["http.path"] == "/metrics"
      spanevent:
        - name == "debug"
  batch:
    timeout: 10s
exporters:
  file:
    path: ${p.out}
service:
  pipelines:
    traces:
      receivers: [zipkin]
      processors: [filter, batch]
      exporters: [file]
  telemetry:
    metrics:
      address: 127.0.0.1:${p.metrics}
`;

describe('filter in the daemon', () => {
  it('drops spans by service, kind, duration and attribute, and span events by name; counts each reason', async () => {
    const dir = tempDir();
    const ports = { zipkin: await freePort(), metrics: await freePort(), out: join(dir, 'spans.jsonl') };
    const d = await Daemon.start(['--config', writeTemp('spanline.yaml', config(ports), dir)], { cwd: dir });
    daemons.push(d);

    const res = await fetch(`http://127.0.0.1:${ports.zipkin}/api/v2/spans`, {
      method: 'POST',
      body: JSON.stringify(SPANS),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(202);

    const metrics = await (await fetch(`http://127.0.0.1:${ports.metrics}/metrics`)).text();
    const lines = (name: string) => metrics.split('\n').filter((l) => l.startsWith(name + '{')).sort();
    expect(lines('spanline_processor_dropped_spans_total')).toEqual(
      [0, 1, 2, 3].map((i) => `spanline_processor_dropped_spans_total{processor="filter",pipeline="traces",reason="span_condition_${i}"} 1`),
    );
    expect(lines('spanline_processor_dropped_span_events_total')).toEqual([
      'spanline_processor_dropped_span_events_total{processor="filter",pipeline="traces",reason="spanevent_condition_0"} 2',
    ]);

    expect(await d.stop('SIGTERM')).toBe(0);
    const written = readFileSync(ports.out, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(written).toEqual([
      {
        traceId: TRACE,
        id: '0000000000000005',
        name: 'get /orders',
        timestamp: T0,
        duration: 4_000_000,
        localEndpoint: { serviceName: 'orders' },
        tags: { 'http.path': '/orders' },
      },
      {
        traceId: TRACE,
        id: '0000000000000006',
        kind: 'SERVER',
        name: 'get /orders',
        timestamp: T0,
        duration: 1000,
        localEndpoint: { serviceName: 'orders' },
        annotations: [{ timestamp: T0 + 20, value: 'cache miss' }],
      },
    ]);
    // Drops are logged with a count, not once per span.
    const dropLogs = d.logs().filter((l) => l.msg === 'spans dropped by processor');
    expect(dropLogs.length).toBeGreaterThan(0);
    expect(dropLogs.reduce((n, l) => n + (l.count as number), 0)).toBe(4);
    expect(dropLogs.length).toBeLessThan(4);
  });

  it('refuses to start with a condition that does not parse, naming file, line, column and the column in the condition', async () => {
    const dir = tempDir();
    const ports = { zipkin: await freePort(), metrics: await freePort(), out: join(dir, 'spans.jsonl') };
    const file = writeTemp('spanline.yaml', config(ports).replace('kind == SPAN_KIND_PRODUCER', 'kind == SPAN_KIND_PRODUCR'), dir);
    await expect(Daemon.start(['--config', file], { cwd: dir })).rejects.toThrow(
      `${file}:10:11: processors.filter.traces.span[1]: column 9: unknown enum SPAN_KIND_PRODUCR (did you mean "SPAN_KIND_PRODUCER"?)`,
    );
  });
});
