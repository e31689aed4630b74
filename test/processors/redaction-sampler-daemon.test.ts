/**
 * End-to-end: the real CLI with `redaction` and `probabilistic_sampler` in a YAML pipeline, Zipkin JSON in
 * over HTTP, spans read back from the file exporter.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Daemon, freePort } from '../helpers/daemon.js';
import { sampleValue, scrapeMetrics } from '../helpers/metrics.js';
import { tempDir } from '../helpers/tmp.js';

let daemons: Daemon[] = [];
afterEach(async () => {
  await Promise.all(daemons.map((d) => d.stop('SIGKILL')));
  daemons = [];
});

// Trace ids whose decision at 25% with seed 0 comes from the Collector's own processor
// (test/fixtures/probabilistic-sampler/collector-decisions.json).
const KEPT = '88d9cb6670f881a5';
const DROPPED = 'b240965bb414909f';
const KEPT_128 = '9f6d8fecf88eecd518e430bb1511f2d2';
const DROPPED_128 = '230249cae360329798aa033e99c4a792';

const zipkinSpan = (traceId: string, id: string, extra: Record<string, unknown> = {}) => ({
  traceId,
  id,
  name: 'post /checkout',
  kind: 'SERVER',
  timestamp: 1732192000000000,
  duration: 1000,
  localEndpoint: { serviceName: 'shop' },
  ...extra,
});

describe('redaction and probabilistic_sampler in a running daemon', () => {
  it('keeps the Collector-sampled traces, with card numbers and e-mail addresses masked', async () => {
    const dir = tempDir();
    const [zipkin, metrics] = [await freePort(), await freePort()];
    const out = join(dir, 'spans.jsonl');
    const d = await Daemon.startWithYaml(
      `
receivers:
  zipkin:
    endpoint: 127.0.0.1:${zipkin}
processors:
  redaction:
    allowed_keys: [http.method, user.note, service.name]
    blocked_values:
      - '\\b4[0-9]{12}(?:[0-9]{3})?\\b'
      - '[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\\.[a-zA-Z]{2,}'
      - '(a+)+$'
    summary: info
  probabilistic_sampler:
    sampling_percentage: 25
exporters:
  file:
    path: ${out}
service:
  pipelines:
    traces:
      receivers: [zipkin]
      processors: [probabilistic_sampler, redaction]
      exporters: [file]
  telemetry:
    metrics:
      address: 127.0.0.1:${metrics}
`,
      dir,
    );
    daemons.push(d);

    const hostile = 'a'.repeat(30_000) + '!';
    const body = JSON.stringify([
      zipkinSpan(KEPT, '0000000000000001', {
        tags: {
          'http.method': 'POST',
          'user.note': 'card 4111111111111111, mail ann@example.com',
          'user.password': 'hunter2',
        },
        annotations: [{ timestamp: 1732192000000500, value: 'charged 4012888888881881' }],
      }),
      zipkinSpan(KEPT, '0000000000000002', { parentId: '0000000000000001', tags: { 'user.note': hostile } }),
      zipkinSpan(DROPPED, '0000000000000003', { tags: { 'http.method': 'GET' } }),
      zipkinSpan(DROPPED, '0000000000000004', { debug: true }),
      zipkinSpan(DROPPED, '0000000000000005', { tags: { 'sampling.priority': '1' } }),
      zipkinSpan(KEPT_128, '0000000000000006', { tags: { 'sampling.priority': '0' } }),
      zipkinSpan(KEPT_128, '0000000000000007'),
      zipkinSpan(DROPPED_128, '0000000000000008'),
    ]);
    const started = performance.now();
    const res = await fetch(`http://127.0.0.1:${zipkin}/api/v2/spans`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(202);
    expect(performance.now() - started).toBeLessThan(2_000);
    const scraped = await scrapeMetrics(metrics);
    expect(await d.stop('SIGTERM')).toBe(0);

    const spans = readFileSync(out, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { id: string; tags?: Record<string, string>; annotations?: { value: string }[]; debug?: boolean });
    // Kept: the hashed-in traces (64- and 128-bit ids), the debug span and the priority-1 span.
    expect(spans.map((s) => s.id)).toEqual(['0000000000000001', '0000000000000002', '0000000000000004', '0000000000000005', '0000000000000007']);
    expect(spans[0].tags).toEqual({
      'http.method': 'POST',
      'user.note': 'card ****, mail ****',
      'redaction.redacted.count': '1',
      'redaction.masked.count': '2',
    });
    expect(spans[0].annotations).toEqual([{ timestamp: 1732192000000500, value: 'charged ****' }]);
    expect(spans[1].tags).toEqual({ 'user.note': hostile });
    expect(spans[2].debug).toBe(true);
    expect(spans[3].tags).toEqual({ 'redaction.redacted.count': '1' });
    expect(readFileSync(out, 'utf8')).not.toMatch(/4111111111111111|4012888888881881|ann@example\.com|hunter2/);
    expect(sampleValue(scraped, 'spanline_processor_dropped_spans_total', { processor: 'probabilistic_sampler', reason: 'sampled_out' })).toBe(2);
    expect(sampleValue(scraped, 'spanline_processor_dropped_spans_total', { reason: 'sampling_priority' })).toBe(1);
  });
});
