import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { newResource, Span, type AnyValue, type SpanBatch } from '../../src/model/span.js';
import { ZIPKIN_DEBUG } from '../../src/model/zipkin-attributes.js';
import {
  computeHash,
  probabilisticSamplerProcessor,
  scaledSamplingRate,
  type ProbabilisticSamplerConfig,
} from '../../src/processors/probabilistic-sampler/index.js';
import { otelSamplingState } from '../../src/processors/probabilistic-sampler/sampler.js';
import { checkedConfig, configProblems, processorContext } from '../helpers/processors.js';

const configOf = (raw: Record<string, unknown>): ProbabilisticSamplerConfig => checkedConfig(probabilisticSamplerProcessor, raw);
const problemsOf = (raw: Record<string, unknown>) => configProblems(probabilisticSamplerProcessor, raw);

function setup(raw: Record<string, unknown>) {
  const context = processorContext('probabilistic_sampler');
  const p = probabilisticSamplerProcessor.create(configOf(raw), context);
  if (!('process' in p)) throw new Error('probabilistic_sampler must be a process() processor');
  return { process: (batch: SpanBatch) => p.process(batch) as SpanBatch, dropped: context.drops, metrics: context.metrics };
}

function span(traceId: string, spanId: string, attributes: Record<string, AnyValue> = {}, traceState = ''): Span {
  const s = new Span(newResource({ 'service.name': 'svc' }), attributes);
  s.traceId = traceId;
  s.spanId = spanId;
  s.traceState = traceState;
  return s;
}

const hex = (b: string) => Uint8Array.from(Buffer.from(b, 'hex'));

interface Fixture {
  collector: string;
  cases: { traceId: string; traceState?: string; priority?: { type: 'int' | 'double' | 'string'; value: string } }[];
  configs: { sampling_percentage: number; hash_seed: number; fail_closed: boolean; kept: number[] }[];
  hashes: { bytes: string; seed: number; hash: number }[];
}

// Produced by running the Collector's own processor (test/fixtures/probabilistic-sampler/collector/main.go).
const fixture = JSON.parse(readFileSync('test/fixtures/probabilistic-sampler/collector-decisions.json', 'utf8')) as Fixture;

function fixtureSpans(): SpanBatch {
  return fixture.cases.map((c, i) => {
    const attributes: Record<string, AnyValue> = {};
    if (c.priority) {
      const { type, value } = c.priority;
      attributes['sampling.priority'] = type === 'int' ? BigInt(value) : type === 'double' ? Number(value) : value;
    }
    // Half of the all-64-bit ids go in as Zipkin writes them (16 hex digits): they must hash the same.
    const short = c.traceId.startsWith('0000000000000000') && i % 2 === 0 && c.traceId !== '0'.repeat(32);
    return span(short ? c.traceId.slice(16) : c.traceId, String(i), attributes, c.traceState ?? '');
  });
}

describe('probabilistic_sampler: the hash', () => {
  it('matches the Collector test vectors for computeHash', () => {
    expect(computeHash(new Uint8Array(0), 0) & 0x3fff).toBe(0x3515);
    expect(computeHash(new Uint8Array(16), 0) & 0x3fff).toBe(0x2455);
  });
  it.each(fixture.hashes.map((h) => [h.bytes, h.seed, h.hash]))('FNV-1a of seed %#: bytes %s, seed %i → %i', (bytes, seed, want) => {
    expect(computeHash(hex(bytes as string), seed as number)).toBe(want);
  });

  // Computed by Go: uint32(float32(p) * (0x4000 / 100.0)).
  const rates: [percentage: number, threshold: number][] = [
    [25, 4096],
    [50.5, 8273],
    [1, 163],
    [99.99, 16382],
    [33.3, 5455],
    [0.001, 0],
    [0.01, 1],
    [0.0061, 0],
    [0.0062, 1],
    [100, 16384],
    [150, 16384],
    [12.34, 2021],
    [66.6667, 10922],
    [0.5, 81],
    [0, 0],
  ];
  it.each(rates)('%f%% accepts hashes below %i', (pct, want) => {
    expect(scaledSamplingRate(pct)).toBe(want);
  });
});

describe('probabilistic_sampler: same decisions as the Collector', () => {
  it(`uses a fixture from ${fixture.collector.split('/').pop()}`, () => {
    expect(fixture.cases.length).toBeGreaterThan(500);
  });
  it.each(fixture.configs.map((c) => [c.sampling_percentage, c.hash_seed, c.fail_closed, c]))(
    '%f%%, seed %i, fail_closed %s',
    (_pct, _seed, _fc, c) => {
      const cfg = c as Fixture['configs'][number];
      const { process } = setup({ sampling_percentage: cfg.sampling_percentage, hash_seed: cfg.hash_seed, fail_closed: cfg.fail_closed });
      const kept = process(fixtureSpans()).map((s) => Number(s.spanId));
      expect(kept).toEqual(cfg.kept);
    },
  );
});

describe('probabilistic_sampler: decisions', () => {
  it('gives every span of a trace the same decision, whatever batch it comes in', () => {
    const { process } = setup({ sampling_percentage: 30, hash_seed: 11 });
    const traceIds = fixture.cases.slice(0, 200).map((c) => c.traceId);
    const first = new Set(process(traceIds.map((t, i) => span(t, `a${i}`))).map((s) => s.traceId));
    // Other spans of the same traces, later and in another order, mixed with 64-bit forms.
    const later = traceIds.flatMap((t, i) => [span(t, `b${i}`), span(t, `c${i}`)]).reverse();
    const second = process(later);
    expect(first.size).toBeGreaterThan(30);
    expect(first.size).toBeLessThan(100);
    expect(new Set(second.map((s) => s.traceId))).toEqual(first);
    expect(second.length).toBe(first.size * 2);
  });

  const priorityCases: [name: string, attributes: Record<string, AnyValue>, debug: boolean, kept: boolean][] = [
    ['priority 1 keeps at 0%', { 'sampling.priority': 1n }, false, true],
    ['priority "2" keeps at 0%', { 'sampling.priority': '2' }, false, true],
    ['Zipkin debug keeps at 0%', {}, true, true],
    ['zipkin.debug attribute keeps at 0%', { [ZIPKIN_DEBUG]: true }, false, true],
    ['priority 0 drops a debug span', { 'sampling.priority': 0n }, true, false],
    ['a negative priority leaves the decision to the hash', { 'sampling.priority': -1n }, false, false],
    ['no priority, no debug: the hash decides', {}, false, false],
  ];
  it.each(priorityCases)('%s', (_name, attributes, debug, kept) => {
    const { process } = setup({ sampling_percentage: 0 });
    const s = span('4bf92f3577b34da6a3ce929d0e0e4736', '1', attributes);
    s.debug = debug;
    expect(process([s]).length).toBe(kept ? 1 : 0);
  });

  it('counts each drop with its reason and every decision in a metric', async () => {
    const { process, dropped, metrics } = setup({ sampling_percentage: 1, hash_seed: 7 });
    const batch = [
      ...fixture.cases.slice(0, 100).map((c, i) => span(c.traceId, `h${i}`)),
      span('0'.repeat(32), 'zero'),
      span('4bf92f3577b34da6a3ce929d0e0e4736', 'ts', {}, 'ot=th:8'),
      span('4bf92f3577b34da6a3ce929d0e0e4736', 'p0', { 'sampling.priority': 0n }),
      span('4bf92f3577b34da6a3ce929d0e0e4736', 'p1', { 'sampling.priority': 1n }),
    ];
    const kept = process(batch);
    const hashKept = kept.filter((s) => s.spanId.startsWith('h')).length;
    expect(dropped).toEqual({ sampled_out: 100 - hashKept, missing_randomness: 1, tracestate: 1, sampling_priority: 1 });
    const text = await metrics.registry.metrics();
    expect(text).toContain(
      `spanline_probabilistic_sampler_decisions_total{processor="probabilistic_sampler",pipeline="traces",policy="trace_id_hash",sampled="false"} ${100 - hashKept}`,
    );
    expect(text).toContain(
      'spanline_probabilistic_sampler_decisions_total{processor="probabilistic_sampler",pipeline="traces",policy="sampling_priority",sampled="true"} 1',
    );
  });

  const states: [tracestate: string, want: 'none' | 'in_use' | 'invalid'][] = [
    ['', 'none'],
    ['congo=t61rcWkgMzE,rojo=00f067aa0ba902b7', 'none'],
    ['ot=p:8;q:1', 'none'],
    ['ot=rv:0123456789abcd', 'in_use'],
    ['vendor=x, ot=th:8', 'in_use'],
    ['ot=th:', 'invalid'],
    ['ot=rv:123', 'invalid'],
    ['ot=p:8;', 'invalid'],
    ['Bad=1', 'invalid'],
    ['a@1b=1', 'invalid'],
    ['a=', 'invalid'],
    ['a=1,,b=2', 'none'],
    [Array(32).fill('k=v').join(','), 'invalid'],
    [Array(31).fill('k=v').join(','), 'none'],
  ];
  it.each(states)('tracestate %j is %s', (ts, want) => {
    expect(otelSamplingState(ts)).toBe(want);
  });
});

describe('probabilistic_sampler: config', () => {
  it('has the Collector defaults', () => {
    expect(configOf({ sampling_percentage: 10 })).toEqual({
      sampling_percentage: 10,
      hash_seed: 0,
      mode: 'hash_seed',
      fail_closed: true,
      sampling_precision: 4,
    });
  });

  const bad: [raw: Record<string, unknown>, path: string, message: string][] = [
    [{}, 'sampling_percentage', 'is required'],
    [{ sampling_percentage: -1 }, 'sampling_percentage', 'must be at least 0'],
    [{ sampling_percentage: 1e-20 }, 'sampling_percentage', 'sampling rate is too small'],
    [{ sampling_percentage: 10, hash_seed: 2 ** 32 }, 'hash_seed', 'must be between 0 and 4294967295'],
    [{ sampling_percentage: 10, mode: 'proportional' }, 'mode', 'mode "proportional" is not supported'],
    [{ sampling_percentage: 10, mode: 'equalizing' }, 'mode', 'mode "equalizing" is not supported'],
    [{ sampling_percentage: 10, attribute_source: 'record' }, 'attribute_source', 'applies to logs only'],
    [{ sampling_percentage: 10, from_attribute: 'id' }, 'from_attribute', 'applies to logs only'],
    [{ sampling_percentage: 10, sampling_precision: 15 }, 'sampling_precision', 'must be between 1 and 14'],
  ];
  it.each(bad)('rejects %j at %s', (raw, path, message) => {
    expect(problemsOf(raw)).toEqual([{ path, message: expect.stringContaining(message) }]);
  });
});
