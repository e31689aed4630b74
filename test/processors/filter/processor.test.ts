/**
 * The `filter` processor in process: which spans and events it drops, what it counts and logs, error_mode,
 * the legacy include/exclude form, and config errors through the real config loader.
 */
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { isRefused } from '../../../src/component/types.js';
import { ConfigError } from '../../../src/config/load.js';
import { newResource, Span, SpanKind, type SpanBatch } from '../../../src/model/span.js';
import { filterProcessor, type SpanFilter } from '../../../src/processors/filter/index.js';
import { prepareConfig } from '../../../src/service/run.js';
import { SelfMetrics } from '../../../src/telemetry/metrics.js';
import { writeTemp } from '../../helpers/tmp.js';
import { checkedConfig, processorContext } from '../../helpers/processors.js';

function setup(raw: Record<string, unknown>) {
  const dropped: { count: number; reason: string }[] = [];
  const logs: Record<string, unknown>[] = [];
  const metrics = new SelfMetrics();
  const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) });
  const context = processorContext('filter', { logger, metrics, dropped: (count, reason) => void dropped.push({ count, reason }) });
  const processor = filterProcessor.create(checkedConfig(filterProcessor, raw), context) as SpanFilter;
  const droppedBy = () => Object.fromEntries(dropped.map((d) => [d.reason, d.count]));
  const metric = async (name: string) =>
    (await metrics.text())
      .split('\n')
      .filter((l) => l.startsWith(name + '{'))
      .sort();
  return { processor, dropped, droppedBy, logs, metric };
}

interface SpanSpec {
  id: string;
  service?: string;
  name?: string;
  kind?: SpanKind;
  durationMs?: number;
  attributes?: Record<string, unknown>;
  events?: string[];
  scope?: string;
}

function batchOf(...specs: SpanSpec[]): SpanBatch {
  const resources = new Map<string, ReturnType<typeof newResource>>();
  return specs.map((spec) => {
    const service = spec.service ?? 'svc';
    let r = resources.get(service);
    if (!r) resources.set(service, (r = newResource({ 'service.name': service })));
    const sp = new Span(
      r,
      { ...(spec.attributes as Span['attributes']) },
      (spec.events ?? []).map((name, i) => ({ timeUnixNano: BigInt(i + 1), name, attributes: {}, droppedAttributesCount: 0 })),
    );
    sp.traceId = '1'.repeat(32);
    sp.spanId = spec.id.padStart(16, '0');
    sp.name = spec.name ?? 'op';
    sp.kind = spec.kind ?? SpanKind.Internal;
    sp.startTimeUnixNano = 1_000_000_000_000n;
    sp.endTimeUnixNano = sp.startTimeUnixNano + BigInt(spec.durationMs ?? 1) * 1_000_000n;
    if (spec.scope) sp.scope = { name: spec.scope, version: '1.0', attributes: {}, droppedAttributesCount: 0 };
    return sp;
  });
}

const ids = (batch: SpanBatch) => batch.map((s) => s.spanId.replace(/^0+/, ''));

describe('filter: dropping spans by OTTL conditions', () => {
  const conditions = [
    'resource.attributes["service.name"] == "healthcheck"',
    'kind == SPAN_KIND_CLIENT and IsMatch(name, "^SELECT")',
    'end_time_unix_nano - start_time_unix_nano > 5000000000',
    'attributes["http.route"] == "/metrics"',
  ];
  const batch = () =>
    batchOf(
      { id: '1', service: 'healthcheck' },
      { id: '2', kind: SpanKind.Client, name: 'SELECT users' },
      { id: '3', kind: SpanKind.Server, name: 'SELECT users' },
      { id: '4', durationMs: 6000 },
      { id: '5', durationMs: 5000 },
      { id: '6', attributes: { 'http.route': '/metrics' } },
      { id: '7', attributes: { 'http.route': '/orders' } },
      // Matches conditions 0 and 3: counted once, for the first.
      { id: '8', service: 'healthcheck', attributes: { 'http.route': '/metrics' } },
    );

  it('drops what any condition matches, keeps order, and counts each drop under its first matching condition', async () => {
    const { processor, droppedBy, metric } = setup({ traces: { span: conditions } });
    const input = batch();
    const out = processor.process(input);
    expect(ids(out)).toEqual(['3', '5', '7']);
    expect(droppedBy()).toEqual({ span_condition_0: 2, span_condition_1: 1, span_condition_2: 1, span_condition_3: 1 });
    expect(ids(input)).toEqual(['1', '2', '3', '4', '5', '6', '7', '8']); // the input batch is not changed
    expect(await metric('spanline_processor_filter_condition_errors_total')).toEqual([]);
  });

  it('passes the batch itself on when nothing matches', () => {
    const { processor, dropped } = setup({ traces: { span: ['name == "nothing"'] } });
    const input = batchOf({ id: '1' }, { id: '2' });
    expect(processor.process(input)).toBe(input);
    expect(dropped).toEqual([]);
  });

  it('passes everything with no conditions at all', () => {
    const { processor } = setup({});
    const input = batchOf({ id: '1' });
    expect(processor.process(input)).toBe(input);
  });
});

describe('filter: dropping span events', () => {
  it('removes matching events from copies of the kept spans, keeps spans that lose every event, and counts events apart', async () => {
    const { processor, droppedBy, metric, logs } = setup({
      traces: {
        span: ['name == "drop-me"'],
        spanevent: ['name == "debug"', 'IsMatch(name, "^cache\\\\.") and span.kind == SPAN_KIND_SERVER'],
      },
    });
    const input = batchOf(
      { id: '1', name: 'drop-me', events: ['debug'] },
      { id: '2', events: ['debug', 'exception', 'debug'] },
      { id: '3', kind: SpanKind.Server, events: ['cache.hit', 'debug'] },
      { id: '4', kind: SpanKind.Client, events: ['cache.hit'] },
      { id: '5', events: ['exception'] },
    );
    const out = processor.process(input);
    expect(ids(out)).toEqual(['2', '3', '4', '5']);
    expect(out.map((s) => s.events.map((e) => e.name))).toEqual([['exception'], [], ['cache.hit'], ['exception']]);
    // Spans whose events changed are copies; untouched spans are passed as they are; input spans keep their events.
    expect(out[0]).not.toBe(input[1]);
    expect(out[0]).toBeInstanceOf(Span);
    expect(out[0].spanId).toBe(input[1].spanId);
    expect(out[0].attributes).toBe(input[1].attributes);
    expect(out[2]).toBe(input[3]);
    expect(out[3]).toBe(input[4]);
    expect(input[1].events.map((e) => e.name)).toEqual(['debug', 'exception', 'debug']);
    // An event of a dropped span is not counted: its span went first.
    expect(droppedBy()).toEqual({ span_condition_0: 1 });
    expect(await metric('spanline_processor_dropped_span_events_total')).toEqual([
      'spanline_processor_dropped_span_events_total{processor="filter",pipeline="traces",reason="spanevent_condition_0"} 3',
      'spanline_processor_dropped_span_events_total{processor="filter",pipeline="traces",reason="spanevent_condition_1"} 1',
    ]);
    expect(logs.filter((l) => l.msg === 'span events dropped by processor')).toHaveLength(1);
    await processor.shutdown();
  });
});

describe('filter: error_mode', () => {
  // Condition 0 fails on spans whose "n" attribute is a string; condition 1 drops span "b".
  const conditions = ['attributes["n"] + 1 > 10', 'name == "b"'];
  const input = () =>
    batchOf(
      { id: '1', name: 'a', attributes: { n: 'text' } },
      { id: '2', name: 'b', attributes: { n: 'text' } },
      { id: '3', name: 'c', attributes: { n: 20n } },
      { id: '4', name: 'd', attributes: { n: 1n } },
    );

  it.each([
    ['ignore', ['1', '4'], 1],
    ['silent', ['1', '4'], 0],
  ] as const)('%s: a failing condition counts as false, the others still apply', async (mode, kept, logLines) => {
    const { processor, droppedBy, metric, logs } = setup({ error_mode: mode, traces: { span: conditions } });
    const out = processor.process(input());
    expect(ids(out)).toEqual(kept);
    expect(droppedBy()).toEqual({ span_condition_0: 1, span_condition_1: 1 });
    expect(await metric('spanline_processor_filter_condition_errors_total')).toEqual([
      'spanline_processor_filter_condition_errors_total{processor="filter",pipeline="traces",condition="span_condition_0"} 2',
    ]);
    const errorLogs = logs.filter((l) => l.msg === 'filter condition failed to evaluate; treated as false');
    expect(errorLogs).toHaveLength(logLines);
    if (logLines > 0) expect(errorLogs[0].reason).toBe('span_condition_0: cannot compute a string + an int');
    await processor.shutdown();
  });

  it('propagate (the default): refuses the whole batch with a permanent error and drops nothing', () => {
    const { processor, dropped } = setup({ traces: { span: conditions } });
    let error: unknown;
    try {
      processor.process(input());
    } catch (e) {
      error = e;
    }
    expect(isRefused(error)).toBe(true);
    expect(error).toMatchObject({ retryable: false, reason: 'filter_error' });
    expect((error as Error).message).toBe('filter: span_condition_0 failed: cannot compute a string + an int');
    expect(dropped).toEqual([]);
  });

  it('propagate: span-event conditions fail the batch too', () => {
    const { processor } = setup({ traces: { spanevent: ['attributes["x"] / 0 > 1'] } });
    const batch = batchOf({ id: '1', events: ['e'] });
    batch[0].events[0].attributes = { x: 4n };
    expect(() => processor.process(batch)).toThrow('spanevent_condition_0 failed: division by zero');
  });
});

describe('filter: the legacy spans include/exclude form', () => {
  it.each([
    [
      'exclude by service and kind (strict)',
      { exclude: { match_type: 'strict', services: ['healthcheck'] } },
      ['2', '3', '4'],
      { spans_excluded: 1 },
    ],
    [
      'include by span name (regexp)',
      { include: { match_type: 'regexp', span_names: ['^GET '] } },
      ['1', '2', '3'],
      { spans_not_included: 1 },
    ],
    [
      'include then exclude',
      { include: { match_type: 'regexp', span_names: ['^GET '] }, exclude: { match_type: 'strict', span_kinds: ['SPAN_KIND_CLIENT'] } },
      ['1', '2'],
      { spans_not_included: 1, spans_excluded: 1 },
    ],
    [
      'exclude by attribute and library',
      { exclude: { match_type: 'strict', attributes: [{ key: 'http.route', value: '/metrics' }], libraries: [{ name: 'lib' }] } },
      ['1', '2', '3'],
      { spans_excluded: 1 },
    ],
  ])('%s', (_title, spans, kept, reasons) => {
    const { processor, droppedBy } = setup({ spans });
    const out = processor.process(
      batchOf(
        { id: '1', service: 'healthcheck', name: 'GET /health' },
        { id: '2', name: 'GET /orders', kind: SpanKind.Server },
        { id: '3', name: 'GET /users', kind: SpanKind.Client },
        { id: '4', name: 'POST /metrics', attributes: { 'http.route': '/metrics' }, scope: 'lib' },
      ),
    );
    expect(ids(out)).toEqual(kept);
    expect(droppedBy()).toEqual(reasons);
  });
});

describe('filter: config errors name file, line, column, the condition and the column in it', () => {
  async function problems(processorYaml: string): Promise<string[]> {
    const file = writeTemp(
      'config.yaml',
      `receivers:
  zipkin:
    endpoint: 127.0.0.1:0
processors:
${processorYaml}
exporters:
  file:
    path: /tmp/spanline-filter-config-test.jsonl
service:
  pipelines:
    traces:
      receivers: [zipkin]
      processors: [filter]
      exporters: [file]
`,
    );
    try {
      await prepareConfig({ files: [file], sets: [], env: {} });
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      return e.message.split('\n').map((l) => l.replace(file, 'F'));
    }
    return [];
  }

  it.each([
    [
      'a condition that does not parse, and one with an unknown path',
      `  filter:
    traces:
      span:
        - 'name == "a"'
        - 'name = "b"'
      spanevent:
        - 'nmae == "c"'`,
      [
        'F:9:11: processors.filter.traces.span[1]: column 6: unexpected character "=" (use == to compare)',
        'F:11:11: processors.filter.traces.spanevent[0]: column 1: unknown path nmae in the spanevent context (did you mean "name"?)',
      ],
    ],
    [
      'a regular expression that could backtrack forever',
      `  filter:
    traces:
      span: ['IsMatch(name, "(a+)\\\\1")']`,
      ['F:7:14: processors.filter.traces.span[0]: column 15: invalid regular expression "(a+)\\\\1": backreferences such as \\1 are not supported: patterns must run in linear time (RE2 syntax)'],
    ],
    [
      'an unknown error_mode',
      `  filter:
    error_mode: ignored`,
      ['F:6:17: processors.filter.error_mode: must be one of propagate, ignore, silent; got string "ignored" (did you mean "ignore"?)'],
    ],
    [
      'the legacy form together with OTTL conditions, and a bad legacy pattern',
      `  filter:
    traces:
      span: ['name == "a"']
    spans:
      exclude:
        match_type: regexp
        span_names: ['(']`,
      [
        'F:9:7: processors.filter.spans: cannot be combined with OTTL conditions in `traces`; use one form',
        'F:11:22: processors.filter.spans.exclude.span_names[0]: invalid regular expression "(": missing closing ): `(` (RE2 syntax expected)',
      ],
    ],
    ['a valid config', `  filter:\n    error_mode: ignore\n    traces:\n      span: ['kind == SPAN_KIND_CLIENT']`, []],
  ])('%s', async (_title, yaml, expected) => {
    expect(await problems(yaml)).toEqual(expected);
  });
});
