import { describe, expect, it } from 'vitest';
import { newResource, StatusCode, type Span } from '../../../src/model/span.js';
import { tailSamplingProcessor } from '../../../src/processors/tail-sampling/index.js';
import {
  buildPolicy,
  decide,
  Decision,
  DECISION_KINDS,
  fnv1a64Of,
  probabilisticThreshold,
  RecentIds,
  SpanChecks,
  traceIdBytes,
  traceStateValue,
  type Policy,
  type TraceSummary,
} from '../../../src/processors/tail-sampling/policies.js';
import { configOf, span, tid } from './helpers.js';

const S = Decision.Sampled;
const N = Decision.NotSampled;
const IS = Decision.InvertSampled;
const INS = Decision.InvertNotSampled;
const D = Decision.Dropped;

/** The policy built from one YAML-shaped policy entry, through the real schema. */
function policyOf(raw: Record<string, unknown>, clock = () => 0, checks?: SpanChecks): Policy {
  const cfg = configOf({ policies: [{ name: 'p', ...raw }] });
  expect(tailSamplingProcessor.validate!(cfg)).toEqual([]);
  return buildPolicy(cfg.policies[0], clock, checks);
}

/** The summary the sampler keeps: `spans` observed one by one as they arrive. */
function summarize(checks: SpanChecks, spans: Span[]): TraceSummary {
  const summary = { matched: 0, minStart: 0n, maxEnd: 0n };
  for (const sp of spans) checks.observe(summary, sp);
  return summary;
}

const trace = (spans: Span[], traceId = spans[0]?.traceId ?? tid(1)) => ({ traceId, spans });
const T = tid(1);
const svc = (attrs: Record<string, unknown>) => newResource(attrs as Record<string, string>);

describe('tail_sampling policies, each alone', () => {
  it.each<[string, Record<string, unknown>, Span[], Decision]>([
    ['always_sample', { type: 'always_sample' }, [span({ trace: T })], S],
    // latency: first start to last end over the trace, not one span's duration
    ['latency: ≥ threshold over the trace', { type: 'latency', latency: { threshold_ms: 100 } }, [span({ trace: T, start: 0.001, durationMs: 60 }), span({ trace: T, start: 50, durationMs: 50.5 })], S],
    ['latency: below threshold', { type: 'latency', latency: { threshold_ms: 100 } }, [span({ trace: T, start: 1, durationMs: 99.9 })], N],
    ['latency: exactly threshold', { type: 'latency', latency: { threshold_ms: 100 } }, [span({ trace: T, start: 1, durationMs: 100 })], S],
    ['latency: upper bound, lower exclusive', { type: 'latency', latency: { threshold_ms: 100, upper_threshold_ms: 200 } }, [span({ trace: T, start: 1, durationMs: 100 })], N],
    ['latency: upper bound inclusive', { type: 'latency', latency: { threshold_ms: 100, upper_threshold_ms: 200 } }, [span({ trace: T, start: 1, durationMs: 200.9 })], S],
    ['latency: above upper bound', { type: 'latency', latency: { threshold_ms: 100, upper_threshold_ms: 200 } }, [span({ trace: T, start: 1, durationMs: 150 }), span({ trace: T, start: 100, durationMs: 150 })], N],
    ['latency: spans without timestamp are skipped', { type: 'latency', latency: { threshold_ms: 100 } }, [span({ trace: T, start: 0, durationMs: 5000 }), span({ trace: T, start: 10, durationMs: 5 })], N],
    // status_code
    ['status_code: ERROR present', { type: 'status_code', status_code: { status_codes: ['ERROR'] } }, [span({ trace: T }), span({ trace: T, status: StatusCode.Error })], S],
    ['status_code: only OK and UNSET', { type: 'status_code', status_code: { status_codes: ['ERROR'] } }, [span({ trace: T, status: StatusCode.Ok }), span({ trace: T })], N],
    ['status_code: UNSET listed', { type: 'status_code', status_code: { status_codes: ['OK', 'UNSET'] } }, [span({ trace: T })], S],
    // string_attribute
    ['string: exact value on a span', { type: 'string_attribute', string_attribute: { key: 'k', values: ['a', 'b'] } }, [span({ trace: T }), span({ trace: T, attrs: { k: 'b' } })], S],
    ['string: on the resource', { type: 'string_attribute', string_attribute: { key: 'service.name', values: ['cart'] } }, [span({ trace: T, resource: svc({ 'service.name': 'cart' }) })], S],
    ['string: no exact match', { type: 'string_attribute', string_attribute: { key: 'k', values: ['a'] } }, [span({ trace: T, attrs: { k: 'ab' } })], N],
    ['string: other types never match', { type: 'string_attribute', string_attribute: { key: 'k', values: ['1', 'true'] } }, [span({ trace: T, attrs: { k: 1n } }), span({ trace: T, attrs: { k: true } })], N],
    ['string: regex matches anywhere', { type: 'string_attribute', string_attribute: { key: 'http.url', values: ['/api/v[0-9]+/'], enabled_regex_matching: true } }, [span({ trace: T, attrs: { 'http.url': 'http://x/api/v2/orders' } })], S],
    ['string: anchored regex', { type: 'string_attribute', string_attribute: { key: 'k', values: ['^ab$'], enabled_regex_matching: true } }, [span({ trace: T, attrs: { k: 'xab' } })], N],
    ['string: invert, no span matches', { type: 'string_attribute', string_attribute: { key: 'k', values: ['a'], invert_match: true } }, [span({ trace: T, attrs: { k: 'b' } }), span({ trace: T })], IS],
    ['string: invert, one span matches', { type: 'string_attribute', string_attribute: { key: 'k', values: ['a'], invert_match: true } }, [span({ trace: T, attrs: { k: 'b' } }), span({ trace: T, attrs: { k: 'a' } })], INS],
    ['string: empty span value never matches', { type: 'string_attribute', string_attribute: { key: 'k', values: [''] , enabled_regex_matching: true } }, [span({ trace: T, attrs: { k: '' } })], N],
    // numeric_attribute
    ['numeric: int in range', { type: 'numeric_attribute', numeric_attribute: { key: 'n', min_value: 500, max_value: 599 } }, [span({ trace: T, attrs: { n: 503n } })], S],
    ['numeric: bounds inclusive', { type: 'numeric_attribute', numeric_attribute: { key: 'n', min_value: 500, max_value: 599 } }, [span({ trace: T, attrs: { n: 599n } })], S],
    ['numeric: out of range', { type: 'numeric_attribute', numeric_attribute: { key: 'n', min_value: 500, max_value: 599 } }, [span({ trace: T, attrs: { n: 600n } })], N],
    ['numeric: Zipkin string tag', { type: 'numeric_attribute', numeric_attribute: { key: 'http.status_code', min_value: 500 } }, [span({ trace: T, attrs: { 'http.status_code': '503' } })], S],
    ['numeric: only max', { type: 'numeric_attribute', numeric_attribute: { key: 'n', max_value: 10 } }, [span({ trace: T, attrs: { n: -4n } })], S],
    ['numeric: double is not an int', { type: 'numeric_attribute', numeric_attribute: { key: 'n', min_value: 0, max_value: 10 } }, [span({ trace: T, attrs: { n: 5.5 } })], N],
    ['numeric: invert, in range somewhere', { type: 'numeric_attribute', numeric_attribute: { key: 'n', min_value: 0, max_value: 10, invert_match: true } }, [span({ trace: T, attrs: { n: 5n } })], INS],
    ['numeric: invert, none in range', { type: 'numeric_attribute', numeric_attribute: { key: 'n', min_value: 0, max_value: 10, invert_match: true } }, [span({ trace: T, attrs: { n: 50n } })], IS],
    // boolean_attribute
    ['boolean: value matches', { type: 'boolean_attribute', boolean_attribute: { key: 'b', value: true } }, [span({ trace: T, attrs: { b: true } })], S],
    ['boolean: other value', { type: 'boolean_attribute', boolean_attribute: { key: 'b', value: true } }, [span({ trace: T, attrs: { b: false } })], N],
    ['boolean: a Zipkin tag "true"', { type: 'boolean_attribute', boolean_attribute: { key: 'b', value: true } }, [span({ trace: T, attrs: { b: 'true' } })], S],
    ['boolean: other strings are not booleans', { type: 'boolean_attribute', boolean_attribute: { key: 'b', value: false } }, [span({ trace: T, attrs: { b: 'no' } }), span({ trace: T, attrs: { b: 0n } })], N],
    ['boolean: invert', { type: 'boolean_attribute', boolean_attribute: { key: 'b', value: true, invert_match: true } }, [span({ trace: T, attrs: { b: true } })], INS],
    // span_count
    ['span_count: at least min', { type: 'span_count', span_count: { min_spans: 2 } }, [span({ trace: T }), span({ trace: T })], S],
    ['span_count: fewer than min', { type: 'span_count', span_count: { min_spans: 2 } }, [span({ trace: T })], N],
    ['span_count: more than max', { type: 'span_count', span_count: { min_spans: 1, max_spans: 2 } }, [span({ trace: T }), span({ trace: T }), span({ trace: T })], N],
    // trace_state
    ['trace_state: value present', { type: 'trace_state', trace_state: { key: 'vendor', values: ['keep'] } }, [span({ trace: T, traceState: 'other=1, vendor=keep' })], S],
    ['trace_state: other value', { type: 'trace_state', trace_state: { key: 'vendor', values: ['keep'] } }, [span({ trace: T, traceState: 'vendor=drop' })], N],
    ['trace_state: malformed list never matches', { type: 'trace_state', trace_state: { key: 'vendor', values: ['keep'] } }, [span({ trace: T, traceState: 'vendor=keep,Bad Key=1' })], N],
    // probabilistic: the extremes
    ['probabilistic 100%', { type: 'probabilistic', probabilistic: { sampling_percentage: 100 } }, [span({ trace: T })], S],
    ['probabilistic 0%', { type: 'probabilistic', probabilistic: { sampling_percentage: 0 } }, [span({ trace: T })], N],
    // and / drop
    ['and: all sample', { type: 'and', and: { and_sub_policy: [{ name: 'a', type: 'always_sample' }, { name: 'b', type: 'span_count', span_count: { min_spans: 1 } }] } }, [span({ trace: T })], S],
    ['and: invert_sampled counts as sampled', { type: 'and', and: { and_sub_policy: [{ name: 'a', type: 'always_sample' }, { name: 'b', type: 'boolean_attribute', boolean_attribute: { key: 'x', value: true, invert_match: true } }] } }, [span({ trace: T })], S],
    ['and: one does not', { type: 'and', and: { and_sub_policy: [{ name: 'a', type: 'always_sample' }, { name: 'b', type: 'span_count', span_count: { min_spans: 2 } }] } }, [span({ trace: T })], N],
    ['and: invert_not_sampled is not', { type: 'and', and: { and_sub_policy: [{ name: 'a', type: 'always_sample' }, { name: 'b', type: 'boolean_attribute', boolean_attribute: { key: 'x', value: true, invert_match: true } }] } }, [span({ trace: T, attrs: { x: true } })], N],
    ['drop: all sub-policies sample', { type: 'drop', drop: { drop_sub_policy: [{ name: 'a', type: 'string_attribute', string_attribute: { key: 'http.route', values: ['/health'] } }] } }, [span({ trace: T, attrs: { 'http.route': '/health' } })], D],
    ['drop: a sub-policy does not', { type: 'drop', drop: { drop_sub_policy: [{ name: 'a', type: 'string_attribute', string_attribute: { key: 'http.route', values: ['/health'] } }] } }, [span({ trace: T, attrs: { 'http.route': '/orders' } })], N],
  ])('%s', (_name, raw, spans, expected) => {
    expect(policyOf(raw).evaluate(trace(spans))).toBe(expected);
    // the same decision from the span checks run as the spans arrived
    const checks = new SpanChecks();
    const p = policyOf(raw, () => 0, checks);
    expect(p.evaluate({ ...trace(spans), summary: summarize(checks, spans) })).toBe(expected);
  });
});

describe('span checks (policies evaluated as spans arrive)', () => {
  it('policies read the summary instead of the spans when the trace has one', () => {
    const checks = new SpanChecks();
    const errors = policyOf({ type: 'status_code', status_code: { status_codes: ['ERROR'] } }, () => 0, checks);
    const slow = policyOf({ type: 'latency', latency: { threshold_ms: 100 } }, () => 0, checks);
    const route = policyOf({ type: 'string_attribute', string_attribute: { key: 'r', values: ['x'], invert_match: true } }, () => 0, checks);
    expect(checks.active).toBe(true);
    const spans = [span({ trace: T, start: 1, durationMs: 5 })];
    // a summary that says otherwise than the spans: the summary wins
    const summary = { matched: 0b11, minStart: 1n, maxEnd: 1n + 150_000_000n };
    expect(errors.evaluate({ ...trace(spans), summary })).toBe(S);
    expect(slow.evaluate({ ...trace(spans), summary })).toBe(S);
    expect(route.evaluate({ ...trace(spans), summary })).toBe(INS);
    expect(errors.evaluate(trace(spans))).toBe(N);
    expect(slow.evaluate(trace(spans))).toBe(N);
    expect(route.evaluate(trace(spans))).toBe(IS);
  });

  it('a check matches once and stays matched; spans without a start do not count for latency', () => {
    const checks = new SpanChecks();
    const errors = policyOf({ type: 'status_code', status_code: { status_codes: ['ERROR'] } }, () => 0, checks);
    const slow = policyOf({ type: 'latency', latency: { threshold_ms: 100 } }, () => 0, checks);
    const spans = [
      span({ trace: T, start: 10, durationMs: 5 }),
      span({ trace: T, status: StatusCode.Error, start: 0, durationMs: 500 }),
      span({ trace: T, start: 20, durationMs: 50 }),
    ];
    const summary = summarize(checks, spans);
    expect(summary.matched).toBe(1);
    expect(summary.maxEnd - summary.minStart).toBe(60_000_000n);
    expect(errors.evaluate({ ...trace(spans), summary })).toBe(S);
    expect(slow.evaluate({ ...trace(spans), summary })).toBe(N);
  });

  it('past 30 checks, further policies walk the spans', () => {
    const checks = new SpanChecks();
    const policies = Array.from({ length: 31 }, () => policyOf({ type: 'status_code', status_code: { status_codes: ['ERROR'] } }, () => 0, checks));
    const spans = [span({ trace: T, status: StatusCode.Error })];
    const wrong = { matched: 0, minStart: 0n, maxEnd: 0n }; // says no span matched
    expect(policies.map((p) => p.evaluate({ ...trace(spans), summary: wrong }))).toEqual([...Array(30).fill(N), S]);
    expect(policies.every((p) => p.evaluate({ ...trace(spans), summary: summarize(checks, spans) }) === S)).toBe(true);
  });
});

describe('string_attribute with user regexes', () => {
  it('cannot be stalled by a catastrophic pattern on a long value', () => {
    const p = policyOf({ type: 'string_attribute', string_attribute: { key: 'k', values: ['(a+)+$'], enabled_regex_matching: true } });
    const t0 = performance.now();
    expect(p.evaluate(trace([span({ trace: T, attrs: { k: 'a'.repeat(50_000) + '!' } })]))).toBe(N);
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(p.evaluate(trace([span({ trace: T, attrs: { k: 'xaaa' } })]))).toBe(S);
  });

  it('remembers results per value, up to cache_max_size', () => {
    const p = policyOf({ type: 'string_attribute', string_attribute: { key: 'k', values: ['^v[0-9]$'], enabled_regex_matching: true, cache_max_size: 2 } });
    for (let round = 0; round < 3; round++) {
      for (const [v, d] of [['v1', S], ['v2', S], ['x3', N]] as const) expect(p.evaluate(trace([span({ trace: T, attrs: { k: v } })]))).toBe(d);
    }
  });
});

describe('how policy decisions combine (the Collector\'s makeDecision)', () => {
  const fixed = (d: Decision, seen: string[] = [], name = `p${d}`): Policy => ({ name, evaluate: () => (seen.push(name), d) });
  it.each<[string, Decision[], boolean, Decision]>([
    ['no policy → not sampled', [], false, N],
    ['sampled', [S], false, S],
    ['not sampled', [N], false, N],
    ['sampled wins over not sampled', [N, S], false, S],
    ['invert_not_sampled wins over sampled', [S, INS], false, N],
    ['invert_sampled alone samples', [IS], false, S],
    ['invert_sampled with not sampled does not', [IS, N], false, N],
    ['invert_sampled with sampled samples', [IS, S], false, S],
    ['dropped wins over everything', [S, IS, D], false, D],
    ['dropped first', [D, S], false, D],
    ['sample_on_first_match stops before a later drop', [S, D], true, S],
    ['sample_on_first_match: an earlier drop still wins', [D, S], true, D],
  ])('%s', (_name, decisions, firstMatch, expected) => {
    expect(decide(decisions.map((d, i) => fixed(d, [], `p${i}`)), trace([span({ trace: T })]), firstMatch)).toBe(expected);
  });

  it('stops evaluating at a drop, and counts each policy\'s own decision', () => {
    const seen: string[] = [];
    const policies = [fixed(S, seen, 'a'), fixed(D, seen, 'b'), fixed(S, seen, 'c')];
    const counts = new Float64Array(policies.length * DECISION_KINDS);
    expect(decide(policies, trace([span({ trace: T })]), false, counts)).toBe(D);
    expect(seen).toEqual(['a', 'b']);
    expect([...counts]).toEqual([0, 1, 0, 0, 0, /* b */ 0, 0, 0, 0, 1, /* c */ 0, 0, 0, 0, 0]);
  });
});

describe('probabilistic: FNV-1a 64 of salt and trace id, as the Collector', () => {
  it.each([
    ['', 0xcbf29ce484222325n],
    ['a', 0xaf63dc4c8601ec8cn],
    ['foobar', 0x85944171f73967e8n],
  ])('FNV-1a 64 of %j', (text, expected) => {
    expect(fnv1a64Of(Buffer.from(text))).toBe(expected);
  });

  it.each([
    [0, 0n],
    [0.5, 0x7fffffffffffffffn],
    [1, 0xffffffffffffffffn],
    [0.25, 0x3fffffffffffffffn],
  ])('threshold of ratio %d is MaxUint64 × ratio, truncated', (ratio, expected) => {
    expect(probabilisticThreshold(ratio)).toBe(expected);
  });

  // Vectors printed by Go 1.x with the Collector's calculateThreshold and hashTraceID (math/big, hash/fnv).
  it.each([
    [0.1, 18446744073709551n],
    [1, 184467440737095519n],
    [10, 1844674407370955263n],
    [25, 4611686018427387903n],
    [33.3, 6142765776545279999n],
    [50, 9223372036854775807n],
    [66.6, 12285531553090559999n],
    [99.9, 18428297329635844095n],
    [100, 18446744073709551615n],
  ])('threshold for %d%% equals Go\'s', (pct, expected) => {
    expect(probabilisticThreshold(pct / 100)).toBe(expected);
  });

  it.each([
    ['0123456789abcdef0123456789abcdef', 9602316671945977917n, 13988315357069077620n],
    ['00000000000000000000000000000001', 16254957729900898954n, 2931851434160864679n],
    ['ffffffffffffffffffffffffffffffff', 1711019809656077869n, 1957366514681369060n],
    ['4bf92f3577b34da6a3ce929d0e0e4736', 11908981664384643253n, 14556177625756699720n],
  ])('hash of %s with the default salt and "salt-x" equals Go\'s', (id, withDefault, withSalt) => {
    const hash = (salt: string) => fnv1a64Of(Buffer.concat([Buffer.from(salt), Buffer.from(traceIdBytes(id))]));
    expect(hash('default-hash-seed')).toBe(withDefault);
    expect(hash('salt-x')).toBe(withSalt);
  });

  it('pads a 64-bit trace id to 16 bytes on the left', () => {
    expect(Buffer.from(traceIdBytes('00000000000000ff')).toString('hex')).toBe('000000000000000000000000000000ff');
    expect(Buffer.from(traceIdBytes('0123456789abcdef0123456789abcdef')).toString('hex')).toBe('0123456789abcdef0123456789abcdef');
  });

  it('samples exactly the ids whose salted hash is at most the threshold (checked against a BigInt FNV)', () => {
    const fnvBig = (bytes: Uint8Array) => {
      let h = 0xcbf29ce484222325n;
      for (const b of bytes) h = ((h ^ BigInt(b)) * 0x100000001b3n) & 0xffffffffffffffffn;
      return h;
    };
    const policy = policyOf({ type: 'probabilistic', probabilistic: { sampling_percentage: 30, hash_salt: 'salt-x' } });
    const threshold = probabilisticThreshold(0.3);
    let sampled = 0;
    for (let i = 0; i < 2000; i++) {
      const id = (BigInt(i) * 0x9e3779b97f4a7c15n).toString(16).padStart(32, '0').slice(-32);
      const bytes = Buffer.concat([Buffer.from('salt-x'), Buffer.from(traceIdBytes(id))]);
      const expected = fnvBig(bytes) <= threshold ? S : N;
      const got = policy.evaluate({ traceId: id, spans: [] });
      expect(got, id).toBe(expected);
      if (got === S) sampled++;
    }
    expect(sampled).toBeGreaterThan(500);
    expect(sampled).toBeLessThan(700);
  });

  it('uses the Collector\'s default salt when none is set', () => {
    const a = policyOf({ type: 'probabilistic', probabilistic: { sampling_percentage: 50 } });
    const b = policyOf({ type: 'probabilistic', probabilistic: { sampling_percentage: 50, hash_salt: 'default-hash-seed' } });
    for (let i = 0; i < 200; i++) expect(a.evaluate({ traceId: tid(i * 7919), spans: [] })).toBe(b.evaluate({ traceId: tid(i * 7919), spans: [] }));
  });
});

describe('rate-based policies (fake clock)', () => {
  it('rate_limiting: a token bucket of twice the rate, refilled continuously', () => {
    let now = 1_000_000;
    const p = policyOf({ type: 'rate_limiting', rate_limiting: { spans_per_second: 10 } }, () => now);
    const spans = (n: number) => trace(Array.from({ length: n }, () => span({ trace: T })));
    expect(p.evaluate(spans(15))).toBe(S); // 20 tokens at start
    expect(p.evaluate(spans(6))).toBe(N); // 5 left
    expect(p.evaluate(spans(5))).toBe(S); // 0 left
    now += 500; // +5
    expect(p.evaluate(spans(6))).toBe(N);
    expect(p.evaluate(spans(5))).toBe(S);
    now += 10_000; // refills to the 20 cap, not 100
    expect(p.evaluate(spans(21))).toBe(N);
    expect(p.evaluate(spans(20))).toBe(S);
  });

  const compositeOf = (extra: Record<string, unknown>, clock: () => number) =>
    policyOf(
      {
        type: 'composite',
        composite: {
          max_total_spans_per_second: 10,
          policy_order: ['errors', 'everything'],
          composite_sub_policy: [
            { name: 'errors', type: 'status_code', status_code: { status_codes: ['ERROR'] } },
            { name: 'everything', type: 'always_sample' },
          ],
          rate_allocation: [
            { policy: 'errors', percent: 30 },
            { policy: 'everything', percent: 70 },
          ],
          ...extra,
        },
      },
      clock,
    );
  const t = (n: number, error = false) => trace(Array.from({ length: n }, () => span({ trace: T, status: error ? StatusCode.Error : StatusCode.Unset })));

  it('composite: the first sub-policy that samples spends its share; over it, not sampled (no fall-through)', () => {
    let now = 5_000;
    const p = compositeOf({}, () => now);
    expect(p.evaluate(t(2, true))).toBe(S); // errors: 2/3
    expect(p.evaluate(t(2, true))).toBe(N); // errors would be 4 > 3; "everything" is not asked
    expect(p.evaluate(t(1, true))).toBe(S); // errors: 3/3
    expect(p.evaluate(t(7))).toBe(S); // everything: 7/7
    expect(p.evaluate(t(1))).toBe(N);
    now += 1000; // a new second resets the counters
    expect(p.evaluate(t(7))).toBe(S);
    expect(p.evaluate(t(3, true))).toBe(S);
  });

  it('composite: a sub-policy without allocation never samples; percent 0 means an equal share', () => {
    const now = 5_000;
    const none = compositeOf({ rate_allocation: [{ policy: 'errors', percent: 50 }] }, () => now);
    expect(none.evaluate(t(1))).toBe(N);
    expect(none.evaluate(t(1, true))).toBe(S);
    const equal = compositeOf({ rate_allocation: [{ policy: 'errors', percent: 0 }, { policy: 'everything', percent: 0 }] }, () => now);
    expect(equal.evaluate(t(5))).toBe(S); // 10 / 2 sub-policies
    expect(equal.evaluate(t(1))).toBe(N);
  });

  it('composite: an and sub-policy', () => {
    const p = policyOf(
      {
        type: 'composite',
        composite: {
          max_total_spans_per_second: 100,
          composite_sub_policy: [
            { name: 'slow-errors', type: 'and', and: { and_sub_policy: [
              { name: 'e', type: 'status_code', status_code: { status_codes: ['ERROR'] } },
              { name: 'l', type: 'latency', latency: { threshold_ms: 50 } },
            ] } },
          ],
          rate_allocation: [{ policy: 'slow-errors', percent: 100 }],
        },
      },
      () => 0,
    );
    expect(p.evaluate(trace([span({ trace: T, status: StatusCode.Error, start: 1, durationMs: 60 })]))).toBe(S);
    expect(p.evaluate(trace([span({ trace: T, status: StatusCode.Error, start: 1, durationMs: 40 })]))).toBe(N);
  });
});

describe('whole policy lists, as configured', () => {
  const cfg = configOf({
    policies: [
      { name: 'errors', type: 'status_code', status_code: { status_codes: ['ERROR'] } },
      { name: 'slow', type: 'latency', latency: { threshold_ms: 1000 } },
      { name: 'not-health', type: 'string_attribute', string_attribute: { key: 'http.route', values: ['/health'], invert_match: true } },
      { name: 'no-synthetic', type: 'drop', drop: { drop_sub_policy: [{ name: 'syn', type: 'boolean_attribute', boolean_attribute: { key: 'synthetic', value: true } }] } },
    ],
  });
  const policies = cfg.policies.map((p) => buildPolicy(p, () => 0));
  it.each<[string, Span[], Decision]>([
    ['an ordinary fast trace: invert_sampled, but errors and slow say not_sampled', [span({ trace: T, start: 1, durationMs: 5 })], N],
    ['an error', [span({ trace: T, start: 1, durationMs: 5, status: StatusCode.Error })], S],
    ['a slow health check: invert_not_sampled beats sampled', [span({ trace: T, start: 1, durationMs: 5000, attrs: { 'http.route': '/health' } })], N],
    ['a synthetic error: drop beats everything', [span({ trace: T, start: 1, durationMs: 5, status: StatusCode.Error, attrs: { synthetic: true } })], D],
  ])('%s', (_n, spans, expected) => {
    expect(decide(policies, trace(spans), false)).toBe(expected);
    const checks = new SpanChecks();
    const summarized = cfg.policies.map((p) => buildPolicy(p, () => 0, checks));
    expect(decide(summarized, { ...trace(spans), summary: summarize(checks, spans) }, false)).toBe(expected);
  });
});

describe('RecentIds (the decision caches)', () => {
  it('forgets the oldest id once past capacity, first in first out', () => {
    const forgotten: string[] = [];
    const ids = new RecentIds(3, (id) => forgotten.push(id));
    for (const id of ['a', 'b', 'c']) ids.add(id);
    expect(forgotten).toEqual([]);
    ids.add('d');
    ids.add('e');
    expect(forgotten).toEqual(['a', 'b']);
    for (let i = 0; i < 4; i++) ids.add(`x${i}`);
    expect(forgotten).toEqual(['a', 'b', 'c', 'd', 'e', 'x0']);
  });

  it('remembers nothing with capacity 0', () => {
    const forgotten: string[] = [];
    const ids = new RecentIds(0, (id) => forgotten.push(id));
    ids.add('a');
    expect(forgotten).toEqual([]);
  });
});

describe('tail_sampling config', () => {
  it('has the Collector\'s defaults', () => {
    const cfg = configOf({ policies: [{ name: 'all', type: 'always_sample' }] });
    expect(cfg).toMatchObject({
      decision_wait: 30_000,
      num_traces: 50_000,
      expected_new_traces_per_sec: 0,
      decision_cache: { sampled_cache_size: 0, non_sampled_cache_size: 0 },
      sample_on_first_match: false,
      max_memory_mib: 512,
    });
  });

  it.each<[string, Record<string, unknown>[], (string | number)[], string]>([
    ['type without its settings', [{ name: 'a', type: 'latency' }], ['policies', 0, 'latency'], 'needs its settings under "latency"'],
    ['bad regex', [{ name: 'a', type: 'string_attribute', string_attribute: { key: 'k', values: ['ok', '(a'], enabled_regex_matching: true } }], ['policies', 0, 'string_attribute', 'values', 1], 'invalid regular expression'],
    ['backreference', [{ name: 'a', type: 'string_attribute', string_attribute: { key: 'k', values: ['(a)\\1'], enabled_regex_matching: true } }], ['policies', 0, 'string_attribute', 'values', 0], 'backreferences'],
    ['duplicate names', [{ name: 'a', type: 'always_sample' }, { name: 'a', type: 'always_sample' }], ['policies', 1, 'name'], 'duplicate policy name'],
    ['numeric without bounds', [{ name: 'a', type: 'numeric_attribute', numeric_attribute: { key: 'k' } }], ['policies', 0, 'numeric_attribute'], 'min_value, max_value'],
    ['upper below lower', [{ name: 'a', type: 'latency', latency: { threshold_ms: 10, upper_threshold_ms: 5 } }], ['policies', 0, 'latency', 'upper_threshold_ms'], 'at least threshold_ms'],
    ['empty status codes', [{ name: 'a', type: 'status_code', status_code: { status_codes: [] } }], ['policies', 0, 'status_code', 'status_codes'], 'at least one'],
    ['nested and in drop', [{ name: 'a', type: 'drop', drop: { drop_sub_policy: [{ name: 'b', type: 'span_count' }] } }], ['policies', 0, 'drop', 'drop_sub_policy', 0, 'span_count'], 'needs its settings'],
    ['composite names an unknown sub-policy', [{ name: 'c', type: 'composite', composite: { max_total_spans_per_second: 5, composite_sub_policy: [{ name: 'x', type: 'always_sample' }], rate_allocation: [{ policy: 'y', percent: 10 }] } }], ['policies', 0, 'composite', 'rate_allocation', 0, 'policy'], 'no sub-policy is named "y"'],
    ['composite over 100%', [{ name: 'c', type: 'composite', composite: { max_total_spans_per_second: 5, composite_sub_policy: [{ name: 'x', type: 'always_sample' }, { name: 'z', type: 'always_sample' }], rate_allocation: [{ policy: 'x', percent: 60 }, { policy: 'z', percent: 50 }] } }], ['policies', 0, 'composite', 'rate_allocation'], 'more than 100'],
    ['no policies', [], ['policies'], 'at least one policy'],
  ])('reports %s with its path', (_n, policies, path, message) => {
    const problems = tailSamplingProcessor.validate!(configOf({ policies }));
    expect(problems).toContainEqual({ path, message: expect.stringContaining(message) });
  });

  it('refuses a composite nested in a composite and unknown types in the schema', () => {
    expect(() => configOf({ policies: [{ name: 'a', type: 'composite_x' }] })).toThrow(/must be one of/);
    expect(() =>
      configOf({ policies: [{ name: 'c', type: 'composite', composite: { max_total_spans_per_second: 5, composite_sub_policy: [{ name: 'x', type: 'composite' }] } }] }),
    ).toThrow(/composite_sub_policy\.0\.type: must be one of/);
    expect(() => configOf({ policies: [{ name: 'a', type: 'and', and: { and_sub_policy: [{ name: 'b', type: 'and' }] } }] })).toThrow(/and_sub_policy\.0\.type/);
  });

  it('parses trace states as W3C lists', () => {
    expect(traceStateValue('a=1,b=2', 'b')).toBe('2');
    expect(traceStateValue(' a=1 ,  b=2 ', 'a')).toBe('1');
    expect(traceStateValue('a=1', 'c')).toBeUndefined();
    expect(traceStateValue('a=1,=2', 'a')).toBeUndefined();
  });
});
