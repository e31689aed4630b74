/**
 * The OpenTelemetry Collector's `probabilistic_sampler` decision in `hash_seed` mode, so that a tier of
 * spanline and Collector instances with the same seed and percentage keeps exactly the same traces:
 *
 *  - hash = FNV-1a 32-bit over the seed's 4 bytes (little-endian) then the 16 trace-id bytes (a 64-bit
 *    Zipkin trace id is its 128-bit form, high half zero); keep when `hash & 0x3fff` < the threshold;
 *  - threshold = trunc(float32(percentage) * float32(16384 / 100)), multiplied in 32-bit floats;
 *  - a span without randomness (all-zero trace id) or whose W3C tracestate is invalid or already carries
 *    OTel sampling (`ot=rv:`/`th:`) is an error: dropped when `fail_closed`, kept otherwise;
 *  - then `sampling.priority` overrides everything: 0 drops the span, more than 0 keeps it.
 *
 * spanline adds one rule the Collector cannot have (its Zipkin receiver drops the flag): a Zipkin `debug`
 * span whose priority did not decide is kept, as Zipkin's own samplers do.
 *
 * The Collector also writes `ot=rv:…;th:…` into the tracestate of the spans it keeps; spanline leaves
 * spans unchanged.
 */
import type { AnyValue, Span } from '../../model/span.js';
import { ZIPKIN_DEBUG } from '../../model/zipkin-attributes.js';

export const SAMPLING_PRIORITY = 'sampling.priority';

const NUM_HASH_BUCKETS = 0x4000;
const HASH_BUCKET_MASK = NUM_HASH_BUCKETS - 1;
// Go converts the untyped constant 0x4000/100.0 to float32 when it multiplies a float32 by it.
const PERCENTAGE_SCALE_FACTOR = Math.fround(NUM_HASH_BUCKETS / 100);

const FNV32_OFFSET = 0x811c9dc5;
const FNV32_PRIME = 0x01000193;

/** Why a span was kept or dropped; a metric label and the drop reason. */
export type SamplingPolicy = 'trace_id_hash' | 'sampling_priority' | 'zipkin_debug' | 'missing_randomness' | 'tracestate';

export interface SamplingDecision {
  sampled: boolean;
  policy: SamplingPolicy;
}

/** The accept threshold out of 16384 buckets, as the Collector computes it (0 keeps nothing). */
export function scaledSamplingRate(percentage: number): number {
  const pct = Math.min(Math.fround(percentage), 100);
  if (!(pct > 0)) return 0;
  return Math.trunc(Math.fround(pct * PERCENTAGE_SCALE_FACTOR));
}

/** FNV-1a 32-bit over the seed's four bytes, little-endian, then `bytes`: the Collector's `computeHash`. */
export function computeHash(bytes: Uint8Array, seed: number): number {
  let h = seedState(seed);
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], FNV32_PRIME);
  return h >>> 0;
}

function seedState(seed: number): number {
  let h = FNV32_OFFSET;
  for (let i = 0; i < 4; i++) h = Math.imul(h ^ ((seed >>> (8 * i)) & 0xff), FNV32_PRIME);
  return h;
}

/**
 * The hash of a hex trace id, or undefined when it has no randomness: all zero, or not a 16- or
 * 32-digit hex id. Reads the hex directly; no buffer per span.
 */
export function traceIdHash(traceId: string, seedHash: number): number | undefined {
  const n = traceId.length;
  if (n !== 32 && n !== 16) return undefined;
  let h = seedHash;
  // A 64-bit id is the low half of a 128-bit one.
  if (n === 16) for (let i = 0; i < 8; i++) h = Math.imul(h, FNV32_PRIME);
  let any = 0;
  for (let i = 0; i < n; i += 2) {
    const hi = hexDigit(traceId.charCodeAt(i));
    const lo = hexDigit(traceId.charCodeAt(i + 1));
    if (hi < 0 || lo < 0) return undefined;
    const b = (hi << 4) | lo;
    any |= b;
    h = Math.imul(h ^ b, FNV32_PRIME);
  }
  return any === 0 ? undefined : h >>> 0;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

export class HashSeedSampler {
  private readonly seedHash: number;
  /** Accept when the 14-bit hash is below this; 0 is the Collector's "never" sampler. */
  readonly threshold: number;

  constructor(
    percentage: number,
    seed: number,
    private readonly failClosed: boolean,
  ) {
    this.seedHash = seedState(seed);
    this.threshold = scaledSamplingRate(percentage);
  }

  decide(span: Span): SamplingDecision {
    const priority = samplingPriority(span.attributes[SAMPLING_PRIORITY]);
    if (priority !== undefined) return { sampled: priority, policy: 'sampling_priority' };
    if (span.debug || span.attributes[ZIPKIN_DEBUG] === true) return { sampled: true, policy: 'zipkin_debug' };
    const state = otelSamplingState(span.traceState);
    if (this.threshold === 0) {
      // The Collector's never-sampler only fails on a tracestate it cannot parse.
      return state === 'invalid' ? { sampled: !this.failClosed, policy: 'tracestate' } : { sampled: false, policy: 'trace_id_hash' };
    }
    if (state !== 'none') return { sampled: !this.failClosed, policy: 'tracestate' };
    const hash = traceIdHash(span.traceId, this.seedHash);
    if (hash === undefined) return { sampled: !this.failClosed, policy: 'missing_randomness' };
    return { sampled: (hash & HASH_BUCKET_MASK) < this.threshold, policy: 'trace_id_hash' };
  }
}

/**
 * `sampling.priority` as the Collector reads it: an int or double, or a string that parses as a float.
 * Returns false (drop) for 0, true (keep) above 0, and undefined, leaving the decision to the hash, for
 * anything else: negative, NaN, booleans and other types.
 */
export function samplingPriority(v: AnyValue | undefined): boolean | undefined {
  let n: number;
  if (typeof v === 'bigint') n = v === 0n ? 0 : v > 0n ? 1 : -1;
  else if (typeof v === 'number') n = v;
  else if (typeof v === 'string') n = parseGoFloat(v);
  else return undefined;
  if (n === 0) return false;
  if (n > 0) return true;
  return undefined;
}

const DECIMAL_FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const SPECIAL_FLOAT = /^[+-]?(?:inf|infinity|nan)$/i;

/** Go's strconv.ParseFloat for decimal text (NaN when Go would fail); no surrounding spaces allowed. */
function parseGoFloat(s: string): number {
  if (DECIMAL_FLOAT.test(s)) return Number(s);
  if (SPECIAL_FLOAT.test(s)) {
    const negative = s[0] === '-';
    if (/nan$/i.test(s)) return NaN;
    return negative ? -Infinity : Infinity;
  }
  return NaN;
}

// ---- W3C tracestate, as far as hash_seed mode looks at it (the Collector's pkg/sampling rules)

const MAX_TRACESTATE_LENGTH = 1024;
const MAX_MEMBERS = 32;
const MAX_KEY_LENGTH = 256;
const MAX_TENANT_LENGTH = 241;
const MAX_SYSTEM_LENGTH = 14;
const MAX_OTEL_LENGTH = 256;
const OTEL_VALUE = /^[a-z][a-z0-9]*:[a-zA-Z0-9._-]*(?:;[a-z][a-z0-9]*:[a-zA-Z0-9._-]*)*$/;
const RVALUE = /^[0-9a-fA-F]{14}$/;
const TVALUE = /^[0-9a-fA-F]{1,14}$/;

/**
 * `none`: valid, without OTel sampling fields (hash_seed mode may decide); `in_use`: a valid `ot` entry
 * with `rv` or `th` (the Collector refuses to overwrite it); `invalid`: not parseable.
 */
export function otelSamplingState(tracestate: string): 'none' | 'in_use' | 'invalid' {
  if (tracestate === '') return 'none';
  if (Buffer.byteLength(tracestate) > MAX_TRACESTATE_LENGTH) return 'invalid';
  let inUse = false;
  let items = 0;
  let rest = tracestate;
  while (rest !== '') {
    // The Collector counts every comma-separated piece, empty ones too, and fails at the 32nd.
    if (++items >= MAX_MEMBERS) return 'invalid';
    const comma = rest.indexOf(',');
    const member = trimOws(comma < 0 ? rest : rest.slice(0, comma));
    rest = comma < 0 ? '' : rest.slice(comma + 1);
    if (member === '') continue;
    const eq = member.indexOf('=');
    if (eq < 1) return 'invalid';
    const key = member.slice(0, eq);
    const value = member.slice(eq + 1);
    if (!isValidKey(key) || !isValidValue(value)) return 'invalid';
    if (key !== 'ot') continue;
    if (value.length > MAX_OTEL_LENGTH || !OTEL_VALUE.test(value)) return 'invalid';
    for (const field of value.split(';')) {
      const colon = field.indexOf(':');
      const name = field.slice(0, colon);
      const v = field.slice(colon + 1);
      if (name === 'rv') {
        if (!RVALUE.test(v)) return 'invalid';
        inUse = true;
      } else if (name === 'th') {
        if (!TVALUE.test(v)) return 'invalid';
        inUse = true;
      }
    }
  }
  return inUse ? 'in_use' : 'none';
}

function trimOws(s: string): string {
  let a = 0;
  let b = s.length;
  while (a < b && (s[a] === ' ' || s[a] === '\t')) a++;
  while (b > a && (s[b - 1] === ' ' || s[b - 1] === '\t')) b--;
  return s.slice(a, b);
}

const lcAlpha = (c: number) => c >= 97 && c <= 122;
const lcAlphaNum = (c: number) => lcAlpha(c) || (c >= 48 && c <= 57);
// _ - * /
const keyChar = (c: number) => lcAlphaNum(c) || c === 95 || c === 45 || c === 42 || c === 47;

function keyChars(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (!keyChar(s.charCodeAt(i))) return false;
  return true;
}

function isValidKey(key: string): boolean {
  if (key.length > MAX_KEY_LENGTH) return false;
  const at = key.indexOf('@');
  if (at < 0) return lcAlpha(key.charCodeAt(0)) && keyChars(key, 1, key.length);
  const tenantLength = at;
  const systemLength = key.length - at - 1;
  if (tenantLength === 0 || systemLength === 0 || tenantLength > MAX_TENANT_LENGTH || systemLength > MAX_SYSTEM_LENGTH) return false;
  return lcAlphaNum(key.charCodeAt(0)) && lcAlpha(key.charCodeAt(at + 1)) && keyChars(key, 1, at) && keyChars(key, at + 2, key.length);
}

function isValidValue(value: string): boolean {
  if (value.length === 0 || value.length > 256) return false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    const nonBlank = (c >= 0x21 && c <= 0x2b) || (c >= 0x2d && c <= 0x3c) || (c >= 0x3e && c <= 0x7e);
    if (!nonBlank && (c !== 0x20 || i === value.length - 1)) return false;
  }
  return true;
}
