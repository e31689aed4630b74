/**
 * Sampling policies and how their decisions combine, as the OpenTelemetry Collector's tail_sampling
 * processor does (`internal/sampling/*.go`, `makeDecision` in `processor.go`):
 *
 * 1. any policy says Dropped          → not sampled (and evaluation stops at it);
 * 2. else any says InvertNotSampled   → not sampled;
 * 3. else any says Sampled            → sampled;
 * 4. else InvertSampled and no NotSampled → sampled;
 * 5. else                             → not sampled.
 *
 * Where a policy here differs from the Collector on purpose, its doc comment says so.
 */
import { StatusCode, type AnyValue, type Attributes, type Resource, type Span } from '../../model/span.js';
import { compileSafePattern, type SafePattern } from '../common/safe-regex.js';
import type { CompositeSubPolicyConfig, LeafPolicyConfig, PolicyConfig } from './config.js';

export enum Decision {
  NotSampled = 0,
  Sampled = 1,
  InvertSampled = 2,
  InvertNotSampled = 3,
  Dropped = 4,
}

/** What policies see of a trace: its spans so far, by reference, in arrival order. */
export interface TraceView {
  readonly traceId: string;
  readonly spans: readonly Span[];
  /**
   * What {@link SpanChecks.observe} gathered from exactly these spans as they arrived. Policies built with
   * those checks read it instead of walking the spans; without it they walk them.
   */
  readonly summary?: TraceSummary;
}

/** Per trace, what the span checks found so far. */
export interface TraceSummary {
  /** Bit i set: span check i matched one of the trace's spans. */
  matched: number;
  /** The earliest start and latest end over spans with a start (0n while there is none). */
  minStart: bigint;
  maxEnd: bigint;
}

/** Checks beyond this many are not registered; their policies walk the spans at decision time. */
const MAX_SPAN_CHECKS = 30;

/**
 * The per-span tests of the policies that sample when any span matches (status, attributes, trace
 * state) and the trace's time range (latency), run once per span as it arrives: the span was just
 * decoded and is in the CPU cache then, while at decision time, `decision_wait` later, walking every span
 * again reads memory long gone from it. The decision then reads one summary per trace.
 */
export class SpanChecks {
  private readonly tests: ((sp: Span) => boolean)[] = [];
  private times = false;

  /** True when `observe` has anything to do. */
  get active(): boolean {
    return this.times || this.tests.length > 0;
  }

  /** Registers a test; returns its bit, or -1 when there are too many (the policy then walks the spans). */
  add(test: (sp: Span) => boolean): number {
    if (this.tests.length >= MAX_SPAN_CHECKS) return -1;
    this.tests.push(test);
    return this.tests.length - 1;
  }

  /** A latency policy needs the trace's time range. */
  needTimes(): void {
    this.times = true;
  }

  /** Adds one span of the trace to its summary. */
  observe(summary: TraceSummary, sp: Span): void {
    if (this.times) {
      const start = sp.startTimeUnixNano;
      if (start !== 0n) {
        if (summary.minStart === 0n || start < summary.minStart) summary.minStart = start;
        if (sp.endTimeUnixNano > summary.maxEnd) summary.maxEnd = sp.endTimeUnixNano;
      }
    }
    const tests = this.tests;
    for (let i = 0; i < tests.length; i++) {
      const bit = 1 << i;
      if ((summary.matched & bit) === 0 && tests[i](sp)) summary.matched |= bit;
    }
  }
}

/** Whether span check `bit` matched a span of the trace; undefined when the trace must be walked instead. */
function checked(trace: TraceView, bit: number): boolean | undefined {
  const summary = trace.summary;
  return summary === undefined || bit < 0 ? undefined : (summary.matched & (1 << bit)) !== 0;
}

export interface Policy {
  readonly name: string;
  evaluate(trace: TraceView): Decision;
}

/** Clock for the rate-based policies (ms since the epoch); `Date.now` so that tests can fake it. */
export type Clock = () => number;

/**
 * Builds a policy. With `checks`, the policies that look at every span register their per-span tests
 * there and read a trace's summary when it has one (see {@link SpanChecks}).
 */
export function buildPolicy(cfg: PolicyConfig | CompositeSubPolicyConfig | LeafPolicyConfig, clock: Clock, checks?: SpanChecks): Policy {
  const name = cfg.name;
  switch (cfg.type) {
    case 'always_sample':
      return { name, evaluate: () => Decision.Sampled };
    case 'latency':
      return latency(name, cfg.latency!.threshold_ms, cfg.latency!.upper_threshold_ms, checks);
    case 'status_code':
      return statusCode(name, cfg.status_code!.status_codes, checks);
    case 'string_attribute':
      return stringAttribute(name, cfg.string_attribute!, checks);
    case 'numeric_attribute': {
      const c = cfg.numeric_attribute!;
      return numericAttribute(name, c.key, c.min_value, c.max_value, c.invert_match, checks);
    }
    case 'boolean_attribute': {
      const c = cfg.boolean_attribute!;
      // Zipkin tags are strings: "true" and "false" count as booleans (the Collector reads any non-boolean as false).
      const text = String(c.value);
      const matches = (v: AnyValue | undefined) => v === c.value || v === text;
      return attributeMatch(name, c.key, matches, c.invert_match, checks);
    }
    case 'probabilistic':
      return probabilistic(name, cfg.probabilistic!.hash_salt, cfg.probabilistic!.sampling_percentage);
    case 'rate_limiting':
      return rateLimiting(name, cfg.rate_limiting!.spans_per_second, clock);
    case 'span_count':
      return spanCount(name, cfg.span_count!.min_spans, cfg.span_count!.max_spans);
    case 'trace_state':
      return traceState(name, cfg.trace_state!.key, cfg.trace_state!.values, checks);
    case 'and': {
      const subs = (cfg as CompositeSubPolicyConfig).and!.and_sub_policy.map((c) => buildPolicy(c, clock, checks));
      return and(name, subs);
    }
    case 'drop': {
      const subs = (cfg as PolicyConfig).drop!.drop_sub_policy.map((c) => buildPolicy(c, clock, checks));
      return drop(name, subs);
    }
    case 'composite':
      return composite(name, (cfg as PolicyConfig).composite!, clock, checks);
  }
}

/** Decisions a policy can return; `counts` in {@link decide} has this many slots per policy. */
export const DECISION_KINDS = 5;

/**
 * The Collector's final decision over every policy. Each policy's own decision is counted in
 * `counts[index * DECISION_KINDS + decision]` when given.
 */
export function decide(policies: readonly Policy[], trace: TraceView, sampleOnFirstMatch: boolean, counts?: Float64Array): Decision {
  let sampled = false;
  let notSampled = false;
  let invertSampled = false;
  let invertNotSampled = false;
  for (let i = 0; i < policies.length; i++) {
    const d = policies[i].evaluate(trace);
    if (counts !== undefined) counts[i * DECISION_KINDS + d]++;
    if (d === Decision.Dropped) return Decision.Dropped;
    if (d === Decision.Sampled) {
      sampled = true;
      if (sampleOnFirstMatch) break;
    } else if (d === Decision.NotSampled) notSampled = true;
    else if (d === Decision.InvertSampled) invertSampled = true;
    else invertNotSampled = true;
  }
  if (invertNotSampled) return Decision.NotSampled;
  if (sampled) return Decision.Sampled;
  if (invertSampled && !notSampled) return Decision.Sampled;
  return Decision.NotSampled;
}

/** True for a final decision that sends the trace on. */
export const isSampled = (d: Decision) => d === Decision.Sampled || d === Decision.InvertSampled;

/**
 * Trace duration: the earliest start to the latest end over all spans. Unlike the Collector, which
 * checks a running duration span by span (so that with an upper threshold the result depended on
 * arrival order), the whole trace is measured. Spans without a timestamp (start 0) are skipped.
 * Milliseconds are truncated, as Go's `Duration.Milliseconds()` does.
 */
function latency(name: string, thresholdMs: number, upperMs: number, checks: SpanChecks | undefined): Policy {
  const lower = BigInt(thresholdMs);
  const upper = BigInt(upperMs);
  checks?.needTimes();
  return {
    name,
    evaluate(trace) {
      let min = 0n;
      let max = 0n;
      const summary = checks === undefined ? undefined : trace.summary;
      if (summary !== undefined) {
        min = summary.minStart;
        max = summary.maxEnd;
      } else {
        for (const sp of trace.spans) {
          if (sp.startTimeUnixNano === 0n) continue;
          if (min === 0n || sp.startTimeUnixNano < min) min = sp.startTimeUnixNano;
          if (sp.endTimeUnixNano > max) max = sp.endTimeUnixNano;
        }
      }
      if (min === 0n) return Decision.NotSampled;
      const ms = max > min ? (max - min) / 1_000_000n : 0n;
      const hit = upperMs === 0 ? ms >= lower : lower < ms && ms <= upper;
      return hit ? Decision.Sampled : Decision.NotSampled;
    },
  };
}

const STATUS: Record<string, StatusCode> = { OK: StatusCode.Ok, ERROR: StatusCode.Error, UNSET: StatusCode.Unset };

function statusCode(name: string, codes: readonly string[], checks: SpanChecks | undefined): Policy {
  const wanted = new Set(codes.map((c) => STATUS[c]));
  const bit = checks?.add((sp) => wanted.has(sp.status.code)) ?? -1;
  return {
    name,
    evaluate(trace) {
      const hit = checked(trace, bit);
      if (hit !== undefined) return hit ? Decision.Sampled : Decision.NotSampled;
      for (const sp of trace.spans) if (wanted.has(sp.status.code)) return Decision.Sampled;
      return Decision.NotSampled;
    },
  };
}

/**
 * The Collector's attribute match over resources and spans: Sampled when a resource or span matches;
 * with `invert`, InvertNotSampled when one matches, else InvertSampled. A resource shared by several
 * spans is checked once.
 */
function attributeMatch(
  name: string,
  key: string,
  matches: (v: AnyValue | undefined, onSpan: boolean) => boolean,
  invert: boolean,
  checks: SpanChecks | undefined,
): Policy {
  const bit =
    checks?.add((sp) => {
      const rv = valueOf(sp.resource.attributes, key);
      if (rv !== undefined && matches(rv, false)) return true;
      const v = valueOf(sp.attributes, key);
      return v !== undefined && matches(v, true);
    }) ?? -1;
  const any = (trace: TraceView): boolean => {
    const hit = checked(trace, bit);
    if (hit !== undefined) return hit;
    let lastResource: Resource | undefined;
    for (const sp of trace.spans) {
      if (sp.resource !== lastResource) {
        lastResource = sp.resource;
        const rv = valueOf(sp.resource.attributes, key);
        if (rv !== undefined && matches(rv, false)) return true;
      }
      const v = valueOf(sp.attributes, key);
      if (v !== undefined && matches(v, true)) return true;
    }
    return false;
  };
  return {
    name,
    evaluate: invert
      ? (trace) => (any(trace) ? Decision.InvertNotSampled : Decision.InvertSampled)
      : (trace) => (any(trace) ? Decision.Sampled : Decision.NotSampled),
  };
}

function valueOf(attributes: Attributes, key: string): AnyValue | undefined {
  return Object.prototype.hasOwnProperty.call(attributes, key) ? attributes[key] : undefined;
}

/**
 * String values only, as the Collector (`Str()` of another type is ""). Empty span values never match;
 * with regexes, results are remembered per value in an LRU of `cache_max_size`.
 */
function stringAttribute(name: string, c: NonNullable<LeafPolicyConfig['string_attribute']>, checks: SpanChecks | undefined): Policy {
  let test: (v: string) => boolean;
  if (c.enabled_regex_matching) {
    const patterns: SafePattern[] = c.values.map((v) => compileSafePattern(v));
    // Results per value, up to cache_max_size; emptied when full (cheaper on hits than the Collector's LRU).
    const cache = new Map<string, boolean>();
    const max = c.cache_max_size > 0 ? c.cache_max_size : 128;
    test = (v) => {
      const known = cache.get(v);
      if (known !== undefined) return known;
      const hit = patterns.some((p) => p.test(v));
      if (cache.size >= max) cache.clear();
      cache.set(v, hit);
      return hit;
    };
  } else {
    const values = new Set(c.values.filter((v) => v !== ''));
    test = (v) => values.has(v);
  }
  const matches = (v: AnyValue | undefined, onSpan: boolean) => typeof v === 'string' && !(onSpan && v === '') && test(v);
  return attributeMatch(name, c.key, matches, c.invert_match, checks);
}

/**
 * Integer values in [min, max]. Besides OTLP ints, decimal integer strings match too: Zipkin tags are
 * strings (`http.status_code: "500"`), and the Collector, reading them as 0, could never match them.
 */
function numericAttribute(
  name: string,
  key: string,
  min: number | undefined,
  max: number | undefined,
  invert: boolean,
  checks: SpanChecks | undefined,
): Policy {
  const lo = min === undefined ? undefined : BigInt(min);
  const hi = max === undefined ? undefined : BigInt(max);
  const matches = (v: AnyValue | undefined) => {
    let n: bigint;
    if (typeof v === 'bigint') n = v;
    else if (typeof v === 'string' && /^[+-]?\d{1,19}$/.test(v)) n = BigInt(v);
    else return false;
    return (lo === undefined || n >= lo) && (hi === undefined || n <= hi);
  };
  return attributeMatch(name, key, matches, invert, checks);
}

const FNV64_OFFSET_HI = 0xcbf29ce4;
const FNV64_OFFSET_LO = 0x84222325;
const TWO32 = 0x1_0000_0000;

/**
 * FNV-1a 64 over `bytes`, continuing from `[hi, lo]`. The prime is 2^40 + 0x1b3, so the product splits
 * into 32-bit halves without BigInt.
 */
function fnv1a64(bytes: Uint8Array, state: [number, number]): [number, number] {
  let [hi, lo] = state;
  for (let i = 0; i < bytes.length; i++) {
    lo = (lo ^ bytes[i]) >>> 0;
    const loProduct = lo * 0x1b3;
    const carry = Math.floor(loProduct / TWO32);
    hi = (Math.imul(hi, 0x1b3) + carry + ((lo << 8) >>> 0)) >>> 0;
    lo = loProduct >>> 0;
  }
  return [hi, lo];
}

/** FNV-1a 64 of `bytes`, as a BigInt (tests compare against published vectors). */
export function fnv1a64Of(bytes: Uint8Array): bigint {
  const [hi, lo] = fnv1a64(bytes, [FNV64_OFFSET_HI, FNV64_OFFSET_LO]);
  return (BigInt(hi) << 32n) | BigInt(lo);
}

/** The 16 bytes of a trace id as OTLP carries it: a 64-bit id is left-padded with zeros. */
export function traceIdBytes(traceId: string): Uint8Array {
  const out = new Uint8Array(16);
  writeTraceIdBytes(traceId, out);
  return out;
}

/** Writes the 16 bytes of a hex trace id into `out`, right-aligned and zero-padded; a non-hex digit counts as 0. */
function writeTraceIdBytes(traceId: string, out: Uint8Array): void {
  out.fill(0);
  const digits = Math.min(traceId.length, 32);
  const from = traceId.length - digits;
  // Digit k (from the right) goes to byte 15 - k/2, high nibble when k is odd.
  for (let k = 0; k < digits; k++) {
    const v = hexValue(traceId.charCodeAt(from + digits - 1 - k));
    out[15 - (k >> 1)] |= k & 1 ? v << 4 : v;
  }
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return 0;
}

/**
 * `floor(MaxUint64 × ratio)` computed as Go's `big.Float` does it: the product rounded to 64 significant
 * bits (nearest even), then truncated to an integer.
 */
export function probabilisticThreshold(ratio: number): bigint {
  if (ratio <= 0) return 0n;
  const max = (1n << 64n) - 1n;
  // ratio = m × 2^e exactly, m a 53-bit integer.
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, ratio);
  const bits = view.getBigUint64(0);
  const expBits = Number((bits >> 52n) & 0x7ffn);
  const frac = bits & ((1n << 52n) - 1n);
  const m = expBits === 0 ? frac : frac | (1n << 52n);
  const e = (expBits === 0 ? 1 : expBits) - 1075;
  let product = max * m; // exact; the value is product × 2^e
  let shift = e;
  const len = product.toString(2).length;
  if (len > 64) {
    const drop = BigInt(len - 64);
    const rest = product & ((1n << drop) - 1n);
    const half = 1n << (drop - 1n);
    product >>= drop;
    if (rest > half || (rest === half && (product & 1n) === 1n)) product += 1n;
    shift += Number(drop);
  }
  const value = shift >= 0 ? product << BigInt(shift) : product >> BigInt(-shift);
  return value > max ? max : value;
}

/**
 * FNV-1a 64 of the salt then the 16 trace-id bytes, ≤ the threshold: the Collector's probabilistic policy.
 * Like the Collector's, the hash spreads the last bytes of an id poorly into its top bits: ids that differ
 * only at the end (sequential ids) are not sampled independently. Real trace ids are random.
 */
function probabilistic(name: string, salt: string, percentage: number): Policy {
  const saltState = fnv1a64(Buffer.from(salt === '' ? 'default-hash-seed' : salt, 'utf8'), [FNV64_OFFSET_HI, FNV64_OFFSET_LO]);
  const t = probabilisticThreshold(percentage / 100);
  const tHi = Number(t >> 32n);
  const tLo = Number(t & 0xffffffffn);
  const bytes = new Uint8Array(16);
  return {
    name,
    evaluate(trace) {
      writeTraceIdBytes(trace.traceId, bytes);
      const [hi, lo] = fnv1a64(bytes, saltState);
      return hi < tHi || (hi === tHi && lo <= tLo) ? Decision.Sampled : Decision.NotSampled;
    },
  };
}

/**
 * A token bucket of `2 × spans_per_second` spans, refilled continuously, starting full; a trace is
 * sampled when the bucket holds its span count (the Collector's `rate.Limiter.AllowN`).
 */
function rateLimiting(name: string, perSecond: number, clock: Clock): Policy {
  const burst = perSecond * 2;
  let tokens = burst;
  let last = clock();
  return {
    name,
    evaluate(trace) {
      const now = clock();
      if (now > last) {
        tokens = Math.min(burst, tokens + ((now - last) / 1000) * perSecond);
        last = now;
      }
      const n = trace.spans.length;
      if (n <= tokens) {
        tokens -= n;
        return Decision.Sampled;
      }
      return Decision.NotSampled;
    },
  };
}

function spanCount(name: string, min: number, max: number): Policy {
  return {
    name,
    evaluate(trace) {
      const n = trace.spans.length;
      return n >= min && (max === 0 || n <= max) ? Decision.Sampled : Decision.NotSampled;
    },
  };
}

/** Sampled when a span's W3C trace state has one of `values` under `key`; a malformed trace state never matches. */
function traceState(name: string, key: string, values: readonly string[], checks: SpanChecks | undefined): Policy {
  const wanted = new Set(values.filter((v) => v !== '' && key.length + v.length < 256));
  const matches = (sp: Span): boolean => {
    if (sp.traceState === '') return false;
    const v = traceStateValue(sp.traceState, key);
    return v !== undefined && wanted.has(v);
  };
  const bit = checks?.add(matches) ?? -1;
  return {
    name,
    evaluate(trace) {
      const hit = checked(trace, bit);
      if (hit !== undefined) return hit ? Decision.Sampled : Decision.NotSampled;
      for (const sp of trace.spans) if (matches(sp)) return Decision.Sampled;
      return Decision.NotSampled;
    },
  };
}

const TRACE_STATE_MEMBER = /^([a-z0-9][_0-9a-z\-*/]{0,255}|[a-z0-9][_0-9a-z\-*/]{0,240}@[a-z][_0-9a-z\-*/]{0,13})=([\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e])$/;

/** The value of `key` in a W3C `tracestate`, undefined when absent or when the list is malformed. */
export function traceStateValue(list: string, key: string): string | undefined {
  let found: string | undefined;
  const members = list.split(',');
  if (members.length > 32) return undefined;
  for (const raw of members) {
    const member = raw.trim();
    if (member === '') continue;
    const m = TRACE_STATE_MEMBER.exec(member);
    if (!m) return undefined;
    if (m[1] === key && found === undefined) found = m[2];
  }
  return found;
}

/** True when no sub-policy says NotSampled or InvertNotSampled (stopping at the first that does). */
function allSample(subs: readonly Policy[], trace: TraceView): boolean {
  for (const sub of subs) {
    const d = sub.evaluate(trace);
    if (d === Decision.NotSampled || d === Decision.InvertNotSampled) return false;
  }
  return true;
}

/** Sampled when every sub-policy samples (InvertSampled counts); NotSampled at the first that does not. */
function and(name: string, subs: readonly Policy[]): Policy {
  return { name, evaluate: (trace) => (allSample(subs, trace) ? Decision.Sampled : Decision.NotSampled) };
}

/** Dropped when every sub-policy samples, which overrides every other policy; else NotSampled. */
function drop(name: string, subs: readonly Policy[]): Policy {
  return { name, evaluate: (trace) => (allSample(subs, trace) ? Decision.Dropped : Decision.NotSampled) };
}

/**
 * The Collector's composite: sub-policies in the order listed; the first that samples decides. It
 * samples if its spans this second, plus this trace's, stay within both its allocation and the
 * total; otherwise the trace is not sampled (later sub-policies are not asked). Counters restart
 * every wall-clock second. A sub-policy without a `rate_allocation` entry has 0 spans per second; an
 * entry with percent 0 gets an equal share (total / number of sub-policies). `policy_order` is not
 * used for evaluation, as in the Collector.
 */
function composite(name: string, c: NonNullable<PolicyConfig['composite']>, clock: Clock, checks: SpanChecks | undefined): Policy {
  const total = c.max_total_spans_per_second;
  const equalShare = total / c.composite_sub_policy.length;
  const allocation = new Map<string, number>();
  for (const a of c.rate_allocation) allocation.set(a.policy, a.percent > 0 ? (a.percent / 100) * total : equalShare);
  const subs = c.composite_sub_policy.map((sc) => ({
    policy: buildPolicy(sc, clock, checks),
    // int64() in Go truncates.
    allocated: Math.trunc(allocation.get(sc.name) ?? 0),
    sampled: 0,
  }));
  let second = -1;
  return {
    name,
    evaluate(trace) {
      const now = Math.floor(clock() / 1000);
      if (now !== second) {
        second = now;
        for (const sub of subs) sub.sampled = 0;
      }
      for (const sub of subs) {
        const d = sub.policy.evaluate(trace);
        if (d !== Decision.Sampled && d !== Decision.InvertSampled) continue;
        const ifSampled = sub.sampled + trace.spans.length;
        if (ifSampled <= sub.allocated && ifSampled <= total) {
          sub.sampled = ifSampled;
          return Decision.Sampled;
        }
        return Decision.NotSampled;
      }
      return Decision.NotSampled;
    },
  };
}

/**
 * The order in which the last `capacity` trace ids of a decision cache were added, first in, first out:
 * adding one past capacity calls `forget` with the oldest. The ids and their decisions live in the
 * caller's map; a ring names the one to evict without walking a Map (a walk from the oldest entry skips
 * every deleted entry before it, which made eviction cost grow with the cache).
 */
export class RecentIds {
  private readonly ring: (string | undefined)[];
  private next = 0;

  constructor(
    readonly capacity: number,
    private readonly forget: (id: string) => void,
  ) {
    this.ring = new Array<string | undefined>(Math.max(0, capacity)).fill(undefined);
  }

  /** Adds an id that is not in this cache (a trace is decided once while its decision is remembered). */
  add(id: string): void {
    if (this.capacity <= 0) return;
    const old = this.ring[this.next];
    if (old !== undefined) this.forget(old);
    this.ring[this.next] = id;
    this.next = this.next + 1 === this.capacity ? 0 : this.next + 1;
  }
}
