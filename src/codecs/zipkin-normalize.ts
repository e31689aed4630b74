/**
 * What every Zipkin decoder (v2 JSON, proto3, v1 JSON, Thrift) does the same way: Zipkin's own
 * normalisation (`zipkin2.Span`, `zipkin2.Endpoint`: ids padded and checked, names lower-cased,
 * annotations sorted and de-duplicated, tags in key order, IPs canonical, `shared` dropped from client
 * spans) and the building of model spans, so that all formats decode to the same span for the same data.
 *
 * A decoder fills a {@link ZipkinSpanFields} per span and hands it to {@link ZipkinDecodeContext.toSpan}.
 */
import { isAscii } from 'node:buffer';
import {
  SERVICE_NAME,
  Span,
  SpanKind,
  newResource,
  type Attributes,
  type Endpoint,
  type InstrumentationScope,
  type Resource,
  type SpanEvent,
} from '../model/span.js';
import { setOwn } from './json-text.js';
import { applyZipkinTagSemantics } from './zipkin-otel.js';

/**
 * A payload Zipkin would refuse with 400. The message says what is wrong as Zipkin words it; each
 * decoder adds where (`span[3].traceId: …` for JSON, `… reading List<Span> from proto3` for proto3).
 */
export class ZipkinDecodeError extends Error {
  override readonly name = 'ZipkinDecodeError';
}

// ---- ids, as zipkin2.Span.Builder normalizes them. The problem texts are Zipkin's.

const ZEROS = '00000000000000000000000000000000';

const LOWER_HEX = /^[0-9a-f]*$/;

/** The number of leading '0' chars, or -1 when `id` is not lower-hex. */
function lowerHexZeroPrefix(id: string): number {
  // The RegExp checks the chars in native code: measured 50-60 ns for an id where a charCodeAt loop
  // took 85.
  if (!LOWER_HEX.test(id)) return -1;
  let zeros = 0;
  while (zeros < id.length && id.charCodeAt(zeros) === 0x30) zeros++;
  return zeros;
}

/** A trace id of 16 or 32 lower-hex chars; a 128-bit id whose high half is zero becomes 64-bit. */
export function normalizeTraceId(id: string): string {
  const len = id.length;
  if (len === 0) throw new ZipkinDecodeError('traceId is empty');
  if (len > 32) throw new ZipkinDecodeError('traceId.length > 32');
  const zeros = lowerHexZeroPrefix(id);
  if (zeros < 0) throw new ZipkinDecodeError(`${id} should be lower-hex encoded with no prefix`);
  if (zeros === len) throw new ZipkinDecodeError('traceId is all zeros');
  if (len === 16) return id;
  if (len < 16) return ZEROS.slice(0, 16 - len) + id;
  // 17-32 chars is 128-bit; a zero high half is the 64-bit id. Zipkin checks the high half only when
  // the input has 32 chars; checking after padding as well keeps decoding idempotent.
  if (zeros + 32 - len >= 16) return id.slice(len - 16);
  return len === 32 ? id : ZEROS.slice(0, 32 - len) + id;
}

export function normalizeSpanId(id: string): string {
  const len = id.length;
  if (len === 0) throw new ZipkinDecodeError('id is empty');
  if (len > 16) throw new ZipkinDecodeError('id.length > 16');
  const zeros = lowerHexZeroPrefix(id);
  if (zeros < 0) throw new ZipkinDecodeError(`${id} should be lower-hex encoded with no prefix`);
  // Zipkin rejects only a 16-char zero id (a shorter one pads to "0000000000000000"); an all-zero span
  // id is invalid in every format we write, so any length is rejected here.
  if (zeros === len) throw new ZipkinDecodeError('id is all zeros');
  return len === 16 ? id : ZEROS.slice(0, 16 - len) + id;
}

/** '' when the parent is all zeros (a root span). */
export function normalizeParentId(id: string): string {
  const len = id.length;
  if (len === 0) throw new ZipkinDecodeError('parentId is empty');
  if (len > 16) throw new ZipkinDecodeError('parentId.length > 16');
  const zeros = lowerHexZeroPrefix(id);
  if (zeros < 0) throw new ZipkinDecodeError(`${id} should be lower-hex encoded with no prefix`);
  if (zeros === len) return '';
  return len === 16 ? id : ZEROS.slice(0, 16 - len) + id;
}

// ---- IPs, ported from zipkin2.Endpoint (detectFamily, textToNumericFormatV6, writeIpV6,
// parseIp(byte[])) so that the same inputs are accepted, ignored or rewritten.

// Endpoints repeat within and across requests (v1 JSON repeats them on every annotation), so the
// canonical text of recent IPs is kept; the cache is dropped whole when it grows past its bound.
const IP_CACHE_SIZE = 4096;
let ipCache = new Map<string, string>();

/** The canonical text of an IP (IPv4 for `::a.b.c.d` and `::ffff:a.b.c.d`), or '' when not an IP. */
export function normalizeIp(s: string): string {
  // Plain dotted quads, by far the most common text, are checked in one pass without the cache: a
  // fleet has more addresses than the cache holds, and hashing a fresh string to miss costs more than
  // the check (parseIpText gives the same answer for them).
  const dotted = dottedQuad(s);
  if (dotted !== NOT_DIGITS_AND_DOTS) return dotted === VALID ? s : '';
  let ip = ipCache.get(s);
  if (ip === undefined) {
    ip = parseIpText(s);
    if (ipCache.size >= IP_CACHE_SIZE) ipCache = new Map();
    ipCache.set(s, ip);
  }
  return ip;
}

const VALID = 0;
const INVALID = 1;
const NOT_DIGITS_AND_DOTS = 2;

/**
 * For text of only '0'-'9' and '.' (non-empty, at most 15 chars), whether it is an IPv4 address as
 * {@link isValidIpV4} says (four words of 1 to 3 digits, each at most 255), in one pass; for any other
 * text NOT_DIGITS_AND_DOTS.
 */
function dottedQuad(s: string): number {
  const n = s.length;
  if (n === 0 || n > 15) return NOT_DIGITS_AND_DOTS;
  let valid = true;
  let dots = 0;
  let digits = 0;
  let word = 0;
  for (let k = 0; k < n; k++) {
    const c = s.charCodeAt(k);
    if (c === 0x2e) {
      if (digits === 0 || word > 255) valid = false;
      dots++;
      digits = 0;
      word = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      word = word * 10 + (c - 0x30);
      if (++digits > 3) valid = false;
    } else {
      return NOT_DIGITS_AND_DOTS;
    }
  }
  return valid && dots === 3 && digits > 0 && word <= 255 ? VALID : INVALID;
}

function parseIpText(s: string): string {
  let hasColon = false;
  let hasDot = false;
  for (let k = 0; k < s.length; k++) {
    const c = s.charCodeAt(k);
    if (c === 0x2e) {
      hasDot = true;
    } else if (c === 0x3a) {
      if (hasDot) return '';
      hasColon = true;
    } else if (!isHexChar(c)) {
      return '';
    }
  }
  if (!hasColon) return hasDot && isValidIpV4(s, 0, s.length) ? s : '';
  if (!hasDot) {
    const hextets = parseIpV6(s);
    return hextets === undefined ? '' : writeIpV6(hextets);
  }
  const lastColon = s.lastIndexOf(':');
  if (!isValidIpV4(s, lastColon + 1, s.length)) return '';
  if (lastColon === 1 && s.charCodeAt(0) === 0x3a) return s.slice(2);
  if (lastColon !== 6 || s.charCodeAt(0) !== 0x3a || s.charCodeAt(1) !== 0x3a) return '';
  for (let k = 2; k < 6; k++) {
    const c = s.charCodeAt(k);
    if (c !== 0x66 && c !== 0x46 && c !== 0x30) return '';
  }
  return s.slice(7);
}

/**
 * The text of a binary IP as `Endpoint.Builder.parseIp(byte[])` reads it: 4 bytes are IPv4, 16 bytes
 * IPv6 (IPv4 when the first 96 bits are zero, except `::1`; Zipkin leaves `::ffff:a.b.c.d` IPv6 here),
 * any other length is ignored ('').
 */
export function ipFromBytes(b: Uint8Array, start: number, length: number): string {
  if (length === 4) return b[start] + '.' + b[start + 1] + '.' + b[start + 2] + '.' + b[start + 3];
  if (length !== 16) return '';
  let embedded = true;
  for (let k = 0; k < 12; k++) {
    if (b[start + k] !== 0) {
      embedded = false;
      break;
    }
  }
  if (embedded && !(b[start + 12] === 0 && b[start + 13] === 0 && b[start + 14] === 0 && b[start + 15] === 1)) {
    return b[start + 12] + '.' + b[start + 13] + '.' + b[start + 14] + '.' + b[start + 15];
  }
  const hextets: number[] = new Array(8);
  for (let k = 0; k < 8; k++) hextets[k] = (b[start + 2 * k] << 8) | b[start + 2 * k + 1];
  return writeIpV6(hextets);
}

/**
 * Writes the 4 bytes of a canonical IPv4 text (as {@link normalizeIp} writes it) at `offset`; false when
 * the text is not one.
 */
export function ipv4ToBytes(ip: string, out: Uint8Array, offset: number): boolean {
  const parts = ip.split('.');
  if (parts.length !== 4) return false;
  for (let k = 0; k < 4; k++) {
    const n = Number(parts[k]);
    if (!Number.isInteger(n) || n < 0 || n > 255 || parts[k] === '') return false;
    out[offset + k] = n;
  }
  return true;
}

/** Writes the 16 bytes of an IPv6 text at `offset`; false when the text is not one. */
export function ipv6ToBytes(ip: string, out: Uint8Array, offset: number): boolean {
  const hextets = parseIpV6(ip);
  if (hextets === undefined) return false;
  for (let k = 0; k < 8; k++) {
    out[offset + 2 * k] = hextets[k] >> 8;
    out[offset + 2 * k + 1] = hextets[k] & 0xff;
  }
  return true;
}

function isHexChar(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46);
}

function isValidIpV4(ip: string, from: number, to: number): boolean {
  const len = to - from;
  if (len > 15 || len < 7) return false;
  let k = ip.indexOf('.', from + 1);
  if (k <= 0 || !isValidIpV4Word(ip, from, k)) return false;
  from = k + 2;
  k = ip.indexOf('.', from);
  if (k <= 0 || !isValidIpV4Word(ip, from - 1, k)) return false;
  from = k + 2;
  k = ip.indexOf('.', from);
  if (k <= 0 || !isValidIpV4Word(ip, from - 1, k)) return false;
  return isValidIpV4Word(ip, k + 1, to);
}

function isValidIpV4Word(word: string, from: number, to: number): boolean {
  const len = to - from;
  if (len < 1 || len > 3) return false;
  const c0 = word.charCodeAt(from);
  if (c0 < 0x30) return false;
  if (len === 3) {
    const c1 = word.charCodeAt(from + 1);
    const c2 = word.charCodeAt(from + 2);
    return (
      c1 >= 0x30 &&
      c2 >= 0x30 &&
      ((c0 <= 0x31 && c1 <= 0x39 && c2 <= 0x39) || (c0 === 0x32 && c1 <= 0x35 && (c2 <= 0x35 || (c1 < 0x35 && c2 <= 0x39))))
    );
  }
  if (c0 > 0x39) return false;
  if (len === 1) return true;
  const c1 = word.charCodeAt(from + 1);
  return c1 >= 0x30 && c1 <= 0x39;
}

/** Eight hextets, or undefined when the text is not an IPv6 address (hex digits and colons only). */
function parseIpV6(s: string): number[] | undefined {
  const parts = s.split(':');
  if (parts.length < 3 || parts.length > 9) return undefined;
  let skipIndex = -1;
  for (let k = 1; k < parts.length - 1; k++) {
    if (parts[k].length === 0) {
      if (skipIndex >= 0) return undefined;
      skipIndex = k;
    }
  }
  let partsHi: number;
  let partsLo: number;
  if (skipIndex >= 0) {
    partsHi = skipIndex;
    partsLo = parts.length - skipIndex - 1;
    if (parts[0].length === 0 && --partsHi !== 0) return undefined;
    if (parts[parts.length - 1].length === 0 && --partsLo !== 0) return undefined;
  } else {
    partsHi = parts.length;
    partsLo = 0;
  }
  const partsSkipped = 8 - (partsHi + partsLo);
  if (!(skipIndex >= 0 ? partsSkipped >= 1 : partsSkipped === 0)) return undefined;
  const hextets: number[] = [];
  for (let k = 0; k < partsHi; k++) hextets.push(parseHextet(parts[k]));
  for (let k = 0; k < partsSkipped; k++) hextets.push(0);
  for (let k = partsLo; k > 0; k--) hextets.push(parseHextet(parts[parts.length - k]));
  for (let k = 0; k < 8; k++) if (hextets[k] < 0) return undefined;
  return hextets;
}

/** -1 when empty or above 0xffff. */
function parseHextet(part: string): number {
  if (part.length === 0) return -1;
  const v = parseInt(part, 16);
  return v > 0xffff ? -1 : v;
}

/**
 * Zipkin's writer: compresses the first longest run of zero hextets (even a single one), and a trailing
 * run only when no run ended before it.
 */
function writeIpV6(h: number[]): string {
  let compressAt = -1;
  let compressLength = -1;
  let zeroAt = -1;
  let allZeros = true;
  for (let k = 0; k < 8; k++) {
    if (h[k] === 0) {
      if (zeroAt < 0) zeroAt = k;
      continue;
    }
    allZeros = false;
    if (zeroAt >= 0) {
      if (k - zeroAt > compressLength) {
        compressAt = zeroAt;
        compressLength = k - zeroAt;
      }
      zeroAt = -1;
    }
  }
  if (allZeros) return '::';
  if (compressAt === -1 && zeroAt !== -1) {
    compressAt = zeroAt;
    compressLength = 8 - zeroAt;
  }
  let out = '';
  let k = 0;
  while (k < 8) {
    if (k === compressAt) {
      out += ':';
      k += compressLength;
      if (k === 8) out += ':';
      continue;
    }
    if (k !== 0) out += ':';
    out += h[k++].toString(16);
  }
  return out;
}

export function isEmptyEndpoint(ep: Endpoint): boolean {
  return ep.serviceName === '' && ep.ipv4 === '' && ep.ipv6 === '' && ep.port === 0;
}

/**
 * The text of a request body. Span payloads are almost always ASCII, which is copied as is instead of
 * being decoded as UTF-8.
 */
export function bodyText(body: Buffer): string {
  return body.toString(isAscii(body) ? 'latin1' : 'utf8');
}

type Slice = (this: Buffer, start: number, end: number) => string;
const UTF8_SLICE = (Buffer.prototype as unknown as { utf8Slice: Slice }).utf8Slice;
const HEX_SLICE = (Buffer.prototype as unknown as { hexSlice: Slice }).hexSlice;

/**
 * `buf.toString('utf8', start, end)` without its argument handling, which costs more than decoding the
 * short strings of spans. The range must be within the buffer.
 */
export function utf8Slice(buf: Buffer, start: number, end: number): string {
  return UTF8_SLICE.call(buf, start, end);
}

/** `buf.toString('hex', start, end)`, likewise. */
export function hexSlice(buf: Buffer, start: number, end: number): string {
  return HEX_SLICE.call(buf, start, end);
}

// ---- building model spans

/**
 * One decoded Zipkin span before it becomes a model span, as the decoders fill it: ids already
 * normalized, everything else as read. A decoder may reuse one instance for many spans ({@link reset}):
 * {@link ZipkinDecodeContext.toSpan} keeps its `events` and `attributes`, nothing else.
 */
export class ZipkinSpanFields {
  traceId = '';
  spanId = '';
  /** '' when absent. */
  parentSpanId = '';
  kind: SpanKind = SpanKind.Unspecified;
  /** As read; lower-cased when the span is built. */
  name = '';
  /**
   * Epoch µs; zero or negative is absent. A decoder that read a safe integer may give it as a number:
   * the span's times are then made with fewer BigInt operations ({@link nanosOfMicros}).
   */
  timestamp: bigint | number = 0n;
  /** µs; zero or negative is absent. A number must be a safe integer, as for `timestamp`. */
  duration: bigint | number = 0n;
  /**
   * The whole local endpoint, service name included; undefined when absent. Copied into the span, unless
   * {@link localEndpointIsOwn}.
   */
  localEndpoint: Endpoint | undefined = undefined;
  /**
   * True when the decoder made `localEndpoint` for this span alone: the span then keeps the object, its
   * service name blanked (the name lives in the resource), instead of a copy.
   */
  localEndpointIsOwn = false;
  /** Becomes the span's own object: a decoder hands each span a remote endpoint of its own. */
  remoteEndpoint: Endpoint | undefined = undefined;
  /** Annotations in any order; negative timestamps are dropped, the rest sorted and de-duplicated. */
  events: SpanEvent[] = [];
  /** Tags as string attributes. */
  attributes: Attributes = {};
  /** Whether the keys of `attributes` were inserted in key order. */
  tagsSorted = true;
  /** OR of `zipkinTagGroup(key)` over the tag keys: which tags need interpreting (see zipkin-otel.ts). */
  tagGroups = 0;
  debug = false;
  shared = false;

  reset(): void {
    this.traceId = '';
    this.spanId = '';
    this.parentSpanId = '';
    this.kind = SpanKind.Unspecified;
    this.name = '';
    this.timestamp = 0n;
    this.duration = 0n;
    this.localEndpoint = undefined;
    this.localEndpointIsOwn = false;
    this.remoteEndpoint = undefined;
    this.events = [];
    this.attributes = {};
    this.tagsSorted = true;
    this.tagGroups = 0;
    this.debug = false;
    this.shared = false;
  }
}

/**
 * Attributes for decoded events that have none (Zipkin annotations): one frozen object shared by all
 * of them instead of one each, as decoded spans live until their batch is exported. Processors replace
 * it rather than write into it (ARCHITECTURE.md, "The span model"); the redaction processor copies a frozen
 * map before writing.
 */
export const NO_EVENT_ATTRIBUTES: Attributes = Object.freeze({}) as Attributes;

// nanosOfMicros writes the two 32-bit halves of a 64-bit integer and reads it back as one BigInt.
const NANOS = new BigUint64Array(1);
const NANOS_HALVES = new Uint32Array(NANOS.buffer);
const LOW_HALF = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1 ? 0 : 1;
const HIGH_HALF = 1 - LOW_HALF;

/**
 * `BigInt(us) * 1000n` for a safe integer `us` ≥ 0: one BigInt made instead of two and a BigInt
 * multiplication (measured: 20 ns instead of 35-50). Exact: the high half of `us` is below 2^21, so the
 * product's is below 2^31, and the low half times 1000 is below 2^42.
 */
export function nanosOfMicros(us: number): bigint {
  const high = Math.floor(us / 4294967296);
  const lowNanos = (us - high * 4294967296) * 1000;
  const carry = Math.floor(lowNanos / 4294967296);
  NANOS_HALVES[LOW_HALF] = lowNanos - carry * 4294967296;
  NANOS_HALVES[HIGH_HALF] = high * 1000 + carry;
  return NANOS[0];
}

/**
 * Per decode call: shares one resource per local service name and one scope per scope name and
 * version among the spans of the call, so that encoders can group by identity.
 */
/** The latest time the model holds: unsigned 64-bit nanoseconds. */
const MAX_TIME_NS = 0xffff_ffff_ffff_ffffn;

export class ZipkinDecodeContext {
  private readonly resourcesByService = new Map<string, Resource>();
  private unnamed: Resource | undefined;
  readonly scopes = new Map<string, InstrumentationScope>();

  resource(serviceName: string): Resource {
    if (serviceName === '') return (this.unnamed ??= newResource());
    let r = this.resourcesByService.get(serviceName);
    if (r === undefined) {
      r = newResource({ [SERVICE_NAME]: serviceName });
      this.resourcesByService.set(serviceName, r);
    }
    return r;
  }

  /**
   * The model span for `f`, normalized as `zipkin2.Span` is, with the OTel meaning of its tags applied
   * (status, scope, trace state; see zipkin-otel.ts). Times become nanoseconds; the local endpoint's
   * service name becomes the resource's `service.name` and its address `span.localEndpoint`.
   */
  toSpan(f: ZipkinSpanFields): Span {
    let serviceName = '';
    let local = f.localEndpoint;
    if (local !== undefined) {
      serviceName = local.serviceName;
      // A span owns its endpoint objects: decoders may hand the same endpoint to several spans.
      if (local.ipv4 === '' && local.ipv6 === '' && local.port === 0) local = undefined;
      else if (f.localEndpointIsOwn) local.serviceName = '';
      else local = { serviceName: '', ipv4: local.ipv4, ipv6: local.ipv6, port: local.port };
    }
    let remote = f.remoteEndpoint;
    if (remote !== undefined && isEmptyEndpoint(remote)) remote = undefined;

    let attributes = f.attributes;
    if (!f.tagsSorted) attributes = sortedAttributes(attributes);
    let events = f.events;
    if (events.length > 1 || (events.length === 1 && events[0].timeUnixNano < 0n)) events = normalizeEvents(events);

    const span = new Span(this.resource(serviceName), attributes, events);
    span.traceId = f.traceId;
    span.spanId = f.spanId;
    // A span that is its own parent is a root (Zipkin drops the parent id).
    span.parentSpanId = f.parentSpanId === f.spanId ? '' : f.parentSpanId;
    span.name = f.name.toLowerCase();
    span.kind = f.kind;
    // Without a timestamp, start stays 0n (absent) and end holds the duration: end - start is the
    // duration either way (the model's convention, see span.ts).
    let start = 0n;
    let end = 0n;
    const timestamp = f.timestamp;
    const duration = f.duration;
    if (typeof timestamp === 'number' && typeof duration === 'number' && timestamp + duration <= Number.MAX_SAFE_INTEGER) {
      // Safe integers, and so is the end: the times are below 2^63 ns.
      if (timestamp > 0) start = nanosOfMicros(timestamp);
      if (duration > 0) end = nanosOfMicros(timestamp > 0 ? timestamp + duration : duration);
    } else {
      const ts = BigInt(timestamp);
      const d = BigInt(duration);
      if (ts > 0n) start = ts * 1000n;
      if (d > 0n) end = start + d * 1000n;
      // Zipkin's microseconds go up to 2^63; the model's nanoseconds up to 2^64 (the year 2554). Later
      // times are refused like any other bad value rather than wrapped by the encoders.
      if (end > MAX_TIME_NS || start > MAX_TIME_NS) throw new ZipkinDecodeError(`span ${f.spanId}: timestamp + duration is after the year 2554 (2^64 ns since 1970)`);
    }
    for (const e of events) {
      if (e.timeUnixNano > MAX_TIME_NS) throw new ZipkinDecodeError(`span ${f.spanId}: annotation "${e.name}" is after the year 2554 (2^64 ns since 1970)`);
    }
    span.startTimeUnixNano = start;
    span.endTimeUnixNano = end;
    span.debug = f.debug;
    // `shared` belongs to the server side; Zipkin drops it from a client span.
    span.shared = f.shared && f.kind !== SpanKind.Client;
    span.localEndpoint = local;
    span.remoteEndpoint = remote;
    if (f.tagGroups !== 0) applyZipkinTagSemantics(span, f.tagGroups, this.scopes);
    return span;
  }
}

function compareEvents(a: SpanEvent, b: SpanEvent): number {
  if (a.timeUnixNano !== b.timeUnixNano) return a.timeUnixNano < b.timeUnixNano ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/**
 * Events sorted by (time, value) with exact duplicates removed, as `zipkin2.Span` keeps annotations.
 * Zipkin keeps a negative annotation timestamp; the model's times are unsigned, so such events are
 * dropped.
 */
function normalizeEvents(events: SpanEvent[]): SpanEvent[] {
  let ordered = true;
  let negative = false;
  for (let k = 0; k < events.length; k++) {
    if (events[k].timeUnixNano < 0n) negative = true;
    else if (k > 0 && ordered && compareEvents(events[k - 1], events[k]) >= 0) ordered = false;
  }
  if (negative) {
    events = events.filter((e) => e.timeUnixNano >= 0n);
    ordered = false;
  }
  if (ordered || events.length < 2) return events;
  events.sort(compareEvents);
  let k = 0;
  for (let m = 1; m < events.length; m++) {
    if (compareEvents(events[k], events[m]) !== 0) events[++k] = events[m];
  }
  events.length = k + 1;
  return events;
}

export function isSorted(keys: string[]): boolean {
  for (let k = 1; k < keys.length; k++) if (keys[k - 1] > keys[k]) return false;
  return true;
}

/** The same attributes with keys inserted in key order (Zipkin keeps tags in a TreeMap). */
function sortedAttributes(a: Attributes): Attributes {
  const keys = Object.keys(a);
  if (isSorted(keys)) return a;
  keys.sort();
  const out: Attributes = {};
  for (let k = 0; k < keys.length; k++) {
    setOwn(out, keys[k], a[keys[k]]);
  }
  return out;
}
