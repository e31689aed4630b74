/**
 * The tail_sampling processor in the real daemon: two receivers (Zipkin and OTLP/HTTP) feed one pipeline,
 * halves of each trace arrive through different receivers, and the file exporter's output is read back.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Daemon, freePort } from '../../helpers/daemon.js';
import { sampleValue, scrapeMetrics } from '../../helpers/metrics.js';
import { tempDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

let daemons: Daemon[] = [];
afterEach(async () => {
  await Promise.all(daemons.map((d) => d.stop('SIGKILL')));
  daemons = [];
});

/** Scrapes until `cond` holds for the metrics text; throws after `timeoutMs`. */
async function waitForMetrics(port: number, cond: (text: string) => boolean, timeoutMs = 8_000): Promise<void> {
  const t0 = Date.now();
  while (!cond(await scrapeMetrics(port))) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`metrics condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const trace = (n: number) => n.toString(16).padStart(32, '0');
const spanId = (n: number) => n.toString(16).padStart(16, '0');
const nowUs = () => Date.now() * 1000;

function zipkinSpan(t: number, id: number, tags: Record<string, string> = {}, parent?: number) {
  return {
    traceId: trace(t),
    id: spanId(id),
    ...(parent !== undefined ? { parentId: spanId(parent) } : {}),
    name: 'get /orders',
    kind: 'SERVER',
    timestamp: nowUs(),
    duration: 1500,
    localEndpoint: { serviceName: 'frontend' },
    tags,
  };
}

function otlpBody(spans: { t: number; id: number; parent: number; error?: boolean; keep?: boolean }[]) {
  const startNs = BigInt(Date.now()) * 1_000_000n;
  return {
    resourceSpans: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'backend' } }] },
        scopeSpans: [
          {
            scope: { name: 'test' },
            spans: spans.map((s) => ({
              traceId: trace(s.t),
              spanId: spanId(s.id),
              parentSpanId: spanId(s.parent),
              name: 'select',
              kind: 3,
              startTimeUnixNano: String(startNs),
              endTimeUnixNano: String(startNs + 2_000_000n),
              attributes: s.keep ? [{ key: 'keep', value: { stringValue: 'yes' } }] : [],
              status: s.error ? { code: 2, message: 'boom' } : {},
            })),
          },
        ],
      },
    ],
  };
}

const post = async (url: string, body: unknown) => {
  const res = await fetch(url, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  expect(res.status, `${url}: ${await res.text()}`).toBeLessThan(300);
};

/** The span ids in the file exporter's output, by 128-bit trace id. */
function output(path: string): Map<string, string[]> {
  const byTrace = new Map<string, string[]>();
  if (!existsSync(path)) return byTrace;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line) continue;
    const s = JSON.parse(line) as { traceId: string; id: string };
    // Zipkin JSON writes a 128-bit id with a zero high half as 64 bits.
    const t = s.traceId.padStart(32, '0');
    byTrace.set(t, [...(byTrace.get(t) ?? []), s.id].sort());
  }
  return byTrace;
}

describe('tail_sampling in the daemon', () => {
  it('decides traces whose spans came through two receivers, follows decisions for late spans, decides the rest on SIGTERM', async () => {
    const dir = tempDir();
    const [zipkin, otlp, metrics] = [await freePort(), await freePort(), await freePort()];
    const out = join(dir, 'out', 'spans.jsonl');
    const d = await Daemon.startWithYaml(
      `
receivers:
  zipkin:
    endpoint: 127.0.0.1:${zipkin}
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:${otlp}
processors:
  tail_sampling:
    decision_wait: 1s
    num_traces: 1000
    policies:
      - name: errors
        type: status_code
        status_code: { status_codes: [ERROR] }
      - name: keep-flag
        type: string_attribute
        string_attribute: { key: keep, values: ["yes"] }
      - name: no-health
        type: drop
        drop:
          drop_sub_policy:
            - name: health
              type: string_attribute
              string_attribute: { key: http.route, values: [/health] }
exporters:
  file:
    path: ${out}
service:
  pipelines:
    traces:
      receivers: [zipkin, otlp]
      processors: [tail_sampling]
      exporters: [file]
  telemetry:
    metrics:
      address: 127.0.0.1:${metrics}
`,
      dir,
    );
    daemons.push(d);
    const zipkinUrl = `http://127.0.0.1:${zipkin}/api/v2/spans`;
    const otlpUrl = `http://127.0.0.1:${otlp}/v1/traces`;

    // 1: root by Zipkin, failing child by OTLP → sampled (errors)
    // 2: root by Zipkin, fine child by OTLP → not sampled
    // 3: child by OTLP first with keep=yes, root by Zipkin later → sampled (keep-flag)
    // 4: an error on a health check → dropped by the drop policy, whatever "errors" says
    await post(otlpUrl, otlpBody([{ t: 3, id: 0x31, parent: 0x30, keep: true }]));
    await post(zipkinUrl, [zipkinSpan(1, 0x10), zipkinSpan(2, 0x20), zipkinSpan(4, 0x40, { 'http.route': '/health', error: 'x' })]);
    await post(otlpUrl, otlpBody([{ t: 1, id: 0x11, parent: 0x10, error: true }, { t: 2, id: 0x21, parent: 0x20 }]));
    await post(zipkinUrl, [zipkinSpan(3, 0x30)]);

    // All four traces decided and the sampled spans written, instead of a guessed sleep for stragglers.
    await waitFor(() => output(out).size >= 2, 8_000);
    await waitForMetrics(metrics, (text) => sampleValue(text, 'spanline_tail_sampling_traces_decided_total') === 4 && sampleValue(text, 'spanline_exporter_sent_spans_total') === 4);
    expect(output(out)).toEqual(
      new Map([
        [trace(1), [spanId(0x10), spanId(0x11)]],
        [trace(3), [spanId(0x30), spanId(0x31)]],
      ]),
    );

    // late spans follow their trace's decision, whichever receiver they come through
    await post(zipkinUrl, [zipkinSpan(1, 0x12, {}, 0x10), zipkinSpan(2, 0x22, {}, 0x20)]);
    await post(otlpUrl, otlpBody([{ t: 3, id: 0x32, parent: 0x30 }, { t: 4, id: 0x41, parent: 0x40 }]));
    await waitFor(() => (output(out).get(trace(3)) ?? []).length === 3 && (output(out).get(trace(1)) ?? []).length === 3, 8_000);

    const text = await scrapeMetrics(metrics);
    expect(sampleValue(text, 'spanline_tail_sampling_late_spans_total', { decision: 'sampled' })).toBe(2);
    expect(sampleValue(text, 'spanline_tail_sampling_late_spans_total', { decision: 'not_sampled' })).toBe(2);
    expect(sampleValue(text, 'spanline_tail_sampling_traces_decided_total', { decision: 'dropped' })).toBe(1);
    expect(sampleValue(text, 'spanline_processor_dropped_spans_total', { reason: 'not_sampled' })).toBe(4);
    expect(sampleValue(text, 'spanline_processor_dropped_spans_total', { reason: 'drop_policy' })).toBe(1);

    // 5: an error arriving just before SIGTERM is decided at shutdown and written before exit
    await post(zipkinUrl, [zipkinSpan(5, 0x50, { error: 'late failure' })]);
    expect(await d.stop('SIGTERM')).toBe(0);
    const final = output(out);
    expect([...final.keys()].sort()).toEqual([trace(1), trace(3), trace(5)]);
    expect(final.get(trace(5))).toEqual([spanId(0x50)]);
    expect(final.get(trace(1))).toEqual([spanId(0x10), spanId(0x11), spanId(0x12)]);
  });
});
