/**
 * Zipkin v2 JSON (`POST /api/v2/spans`, a JSON list of spans) to and from the span model.
 *
 * Decoding accepts what Zipkin's own `V2SpanReader` accepts and normalizes the way `zipkin2.Span` and
 * `zipkin2.Endpoint` do (ids padded, names lower-cased, annotations sorted and de-duplicated, tags in key
 * order, IPs canonical), so that {@link encodeZipkinV2Span} of a decoded span is the JSON that Zipkin
 * itself would write for it. Where this differs from Zipkin, the comment at the spot says so.
 *
 * Model mapping: timestamp/duration (µs) become start/end times (ns); the local endpoint's service name
 * becomes the resource's `service.name` and its address `span.localEndpoint`; annotations become events;
 * tags become string attributes. Tags are not interpreted (no `error` → status here).
 */
import {
  SERVICE_NAME,
  Span,
  SpanKind,
  newResource,
  serviceNameOf,
  type AnyValue,
  type Attributes,
  type Endpoint,
  type Resource,
  type SpanEvent,
} from '../model/span.js';
import {
  JsonNumberText,
  NEEDS_NUMBER_TEXT,
  jsonTokenName,
  parseJsonInteger,
  parseJsonKeepingNumberText,
  quoteJson,
  setOwn,
  toBase64,
} from './json-text.js';

/**
 * A payload Zipkin would refuse with 400. The message is `<where>: <problem>`, e.g.
 * `span[3].traceId: 48485A3953BB6124 should be lower-hex encoded with no prefix`; the problem is worded
 * as Zipkin words it, without Gson's location suffix.
 */
export class ZipkinDecodeError extends Error {
  override readonly name = 'ZipkinDecodeError';
}

/** Decodes a Zipkin v2 JSON list. An empty body is an empty list, as in Zipkin. */
export function decodeZipkinV2Json(body: Buffer | string): Span[] {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (text.length === 0) return [];
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (e) {
    throw malformed(e);
  }
  try {
    return decodeSpanList(root);
  } catch (e) {
    if (e !== NEEDS_NUMBER_TEXT) throw e;
  }
  let exact: unknown;
  try {
    exact = parseJsonKeepingNumberText(text);
  } catch (e) {
    throw malformed(e);
  }
  return decodeSpanList(exact);
}

function malformed(e: unknown): ZipkinDecodeError {
  return new ZipkinDecodeError(`Malformed reading List<Span> from json: ${(e as Error).message}`);
}

/** One resource per local service name within a call, so that encoders can group by identity. */
class ServiceResources {
  private readonly byName = new Map<string, Resource>();
  private unnamed: Resource | undefined;

  get(serviceName: string): Resource {
    if (serviceName === '') return (this.unnamed ??= newResource());
    let r = this.byName.get(serviceName);
    if (r === undefined) {
      r = newResource({ [SERVICE_NAME]: serviceName });
      this.byName.set(serviceName, r);
    }
    return r;
  }
}

function decodeSpanList(root: unknown): Span[] {
  if (!Array.isArray(root)) throw new ZipkinDecodeError('Expected a JSON array of spans');
  const resources = new ServiceResources();
  const n = root.length;
  const out: Span[] = new Array(n);
  for (let i = 0; i < n; i++) out[i] = decodeSpan(root[i], i, resources);
  return out;
}

type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof JsonNumberText);
}

function fail(i: number, path: string, problem: string): ZipkinDecodeError {
  return new ZipkinDecodeError(`span[${i}]${path}: ${problem}`);
}

function decodeSpan(v: unknown, i: number, resources: ServiceResources): Span {
  if (!isObject(v)) throw fail(i, '', `Expected BEGIN_OBJECT but was ${jsonTokenName(v)}`);

  // Zipkin reads traceId and id even when null (and fails); every other null field is skipped.
  const rawTraceId = v.traceId;
  if (rawTraceId === undefined) throw fail(i, '', 'Missing traceId');
  const rawId = v.id;
  if (rawId === undefined) throw fail(i, '', 'Missing id');
  const traceId = normalizeTraceId(readString(rawTraceId, i, '.traceId'), i);
  const spanId = normalizeSpanId(readString(rawId, i, '.id'), i);

  let parentSpanId = '';
  const rawParentId = v.parentId;
  if (rawParentId != null) {
    parentSpanId = normalizeParentId(readString(rawParentId, i, '.parentId'), i);
    if (parentSpanId === spanId) parentSpanId = '';
  }

  let kind = SpanKind.Unspecified;
  const rawKind = v.kind;
  if (rawKind != null) kind = parseKind(readString(rawKind, i, '.kind'), i);

  let name = '';
  const rawName = v.name;
  if (rawName != null) name = readString(rawName, i, '.name').toLowerCase();

  let start = 0n;
  let end = 0n;
  const rawTimestamp = v.timestamp;
  if (rawTimestamp != null) {
    const ts = readLong(rawTimestamp, i, '.timestamp');
    if (ts > 0n) start = ts * 1000n;
  }
  const rawDuration = v.duration;
  if (rawDuration != null) {
    const d = readLong(rawDuration, i, '.duration');
    // Without a timestamp, start stays 0n (absent) and end holds the duration: end - start is the
    // duration either way (the model's convention, see span.ts).
    if (d > 0n) end = start + d * 1000n;
  }

  let serviceName = '';
  let localEndpoint: Endpoint | undefined;
  const rawLocal = v.localEndpoint;
  if (rawLocal != null) {
    const ep = decodeEndpoint(rawLocal, i, '.localEndpoint');
    if (ep !== undefined) {
      serviceName = ep.serviceName;
      if (ep.ipv4 !== '' || ep.ipv6 !== '' || ep.port !== 0) {
        ep.serviceName = '';
        localEndpoint = ep;
      }
    }
  }
  let remoteEndpoint: Endpoint | undefined;
  const rawRemote = v.remoteEndpoint;
  if (rawRemote != null) remoteEndpoint = decodeEndpoint(rawRemote, i, '.remoteEndpoint');

  const rawAnnotations = v.annotations;
  const events = rawAnnotations != null ? decodeAnnotations(rawAnnotations, i) : [];
  const rawTags = v.tags;
  const attributes = rawTags != null ? decodeTags(rawTags, i) : {};

  const debug = readFlag(v.debug, i, '.debug');
  // `shared` belongs to the server side; Zipkin drops it from a client span.
  const shared = readFlag(v.shared, i, '.shared') && kind !== SpanKind.Client;

  const span = new Span(resources.get(serviceName), attributes, events);
  span.traceId = traceId;
  span.spanId = spanId;
  span.parentSpanId = parentSpanId;
  span.name = name;
  span.kind = kind;
  span.startTimeUnixNano = start;
  span.endTimeUnixNano = end;
  span.shared = shared;
  span.debug = debug;
  span.localEndpoint = localEndpoint;
  span.remoteEndpoint = remoteEndpoint;
  return span;
}

// ---- scalar readers. The `to*` ones return undefined for a value of the wrong type, so that a caller
// with a computed path builds it only on failure; the `read*` ones throw. All throw NEEDS_NUMBER_TEXT
// when JSON.parse lost what a number said.

/** Gson `nextString`: a string, or the literal text of a number. */
function toText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') throw NEEDS_NUMBER_TEXT;
  if (v instanceof JsonNumberText) return v.text;
  return undefined;
}

function readString(v: unknown, i: number, path: string): string {
  const t = toText(v);
  if (t === undefined) throw fail(i, path, `Expected a string but was ${jsonTokenName(v)}`);
  return t;
}

const MIN_LONG = -(2n ** 63n);
const MAX_LONG = 2n ** 63n - 1n;

/** Gson `nextLong`: an integral number, or a string holding one. */
function toLong(v: unknown): bigint | undefined {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return BigInt(v);
    if (Number.isInteger(v)) throw NEEDS_NUMBER_TEXT;
    return undefined;
  }
  const text = typeof v === 'string' ? v : v instanceof JsonNumberText ? v.text : undefined;
  if (text === undefined) return undefined;
  const n = parseJsonInteger(text);
  return n !== undefined && n >= MIN_LONG && n <= MAX_LONG ? n : undefined;
}

/** Gson's wording: the value when it is a number or a string, else its token name. */
function numberProblem(v: unknown, expected: 'a long' | 'an int'): string {
  const shown = typeof v === 'number' ? String(v) : typeof v === 'string' ? v : v instanceof JsonNumberText ? v.text : jsonTokenName(v);
  return `Expected ${expected} but was ${shown}`;
}

function readLong(v: unknown, i: number, path: string): bigint {
  const n = toLong(v);
  if (n === undefined) throw fail(i, path, numberProblem(v, 'a long'));
  return n;
}

function readFlag(v: unknown, i: number, path: string): boolean {
  if (v == null) return false;
  if (typeof v !== 'boolean') throw fail(i, path, `Expected a boolean but was ${jsonTokenName(v)}`);
  return v;
}

// ---- ids, as zipkin2.Span.Builder normalizes them. The problem texts are Zipkin's.

const ZEROS = '00000000000000000000000000000000';

/** The number of leading '0' chars, or -1 when `id` is not lower-hex. */
function lowerHexZeroPrefix(id: string): number {
  let zeros = 0;
  let inPrefix = true;
  for (let k = 0; k < id.length; k++) {
    const c = id.charCodeAt(k);
    if (c === 0x30) {
      if (inPrefix) zeros++;
    } else if ((c > 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66)) {
      inPrefix = false;
    } else {
      return -1;
    }
  }
  return zeros;
}

function normalizeTraceId(id: string, i: number): string {
  const len = id.length;
  if (len === 0) throw fail(i, '.traceId', 'traceId is empty');
  if (len > 32) throw fail(i, '.traceId', 'traceId.length > 32');
  const zeros = lowerHexZeroPrefix(id);
  if (zeros < 0) throw fail(i, '.traceId', `${id} should be lower-hex encoded with no prefix`);
  if (zeros === len) throw fail(i, '.traceId', 'traceId is all zeros');
  if (len === 16) return id;
  if (len < 16) return ZEROS.slice(0, 16 - len) + id;
  // 17-32 chars is 128-bit; a zero high half is the 64-bit id. Zipkin checks the high half only when
  // the input has 32 chars; checking after padding as well keeps decoding idempotent.
  if (zeros + 32 - len >= 16) return id.slice(len - 16);
  return len === 32 ? id : ZEROS.slice(0, 32 - len) + id;
}

function normalizeSpanId(id: string, i: number): string {
  const len = id.length;
  if (len === 0) throw fail(i, '.id', 'id is empty');
  if (len > 16) throw fail(i, '.id', 'id.length > 16');
  const zeros = lowerHexZeroPrefix(id);
  if (zeros < 0) throw fail(i, '.id', `${id} should be lower-hex encoded with no prefix`);
  // Zipkin rejects only a 16-char zero id (a shorter one pads to "0000000000000000"); an all-zero span
  // id is invalid in every format we write, so any length is rejected here.
  if (zeros === len) throw fail(i, '.id', 'id is all zeros');
  return len === 16 ? id : ZEROS.slice(0, 16 - len) + id;
}

/** '' when the parent is all zeros (a root span). */
function normalizeParentId(id: string, i: number): string {
  const len = id.length;
  if (len === 0) throw fail(i, '.parentId', 'parentId is empty');
  if (len > 16) throw fail(i, '.parentId', 'parentId.length > 16');
  const zeros = lowerHexZeroPrefix(id);
  if (zeros < 0) throw fail(i, '.parentId', `${id} should be lower-hex encoded with no prefix`);
  if (zeros === len) return '';
  return len === 16 ? id : ZEROS.slice(0, 16 - len) + id;
}

function parseKind(kind: string, i: number): SpanKind {
  switch (kind) {
    case 'CLIENT':
      return SpanKind.Client;
    case 'SERVER':
      return SpanKind.Server;
    case 'PRODUCER':
      return SpanKind.Producer;
    case 'CONSUMER':
      return SpanKind.Consumer;
    default:
      throw fail(i, '.kind', `No enum constant Span.Kind.${kind} (expected CLIENT, SERVER, PRODUCER or CONSUMER)`);
  }
}

// ---- endpoints, annotations, tags

const MIN_INT = -(2n ** 31n);
const MAX_INT = 2n ** 31n - 1n;

/** Undefined when every field is absent, as Zipkin treats `{}` and all-null endpoints. */
function decodeEndpoint(v: unknown, i: number, path: string): Endpoint | undefined {
  if (!isObject(v)) throw fail(i, path, `Expected BEGIN_OBJECT but was ${jsonTokenName(v)}`);
  let serviceName = '';
  let ipv4 = '';
  let ipv6 = '';
  let port = 0;
  const rawServiceName = v.serviceName;
  if (rawServiceName != null) serviceName = readString(rawServiceName, i, path + '.serviceName').toLowerCase();
  // Zipkin parses both keys with one `parseIp`: the text decides the family, not the key, and text that
  // is not an IP is ignored.
  const rawIpv4 = v.ipv4;
  if (rawIpv4 != null) {
    const ip = normalizeIp(readString(rawIpv4, i, path + '.ipv4'));
    if (ip.indexOf(':') >= 0) ipv6 = ip;
    else if (ip !== '') ipv4 = ip;
  }
  const rawIpv6 = v.ipv6;
  if (rawIpv6 != null) {
    const ip = normalizeIp(readString(rawIpv6, i, path + '.ipv6'));
    if (ip.indexOf(':') >= 0) ipv6 = ip;
    else if (ip !== '') ipv4 = ip;
  }
  const rawPort = v.port;
  if (rawPort != null) {
    const p = toLong(rawPort);
    if (p === undefined || p > MAX_INT || p < MIN_INT) throw fail(i, path + '.port', numberProblem(rawPort, 'an int'));
    if (p > 65535n) throw fail(i, path + '.port', `invalid port ${p}`);
    if (p > 0n) port = Number(p);
  }
  if (serviceName === '' && ipv4 === '' && ipv6 === '' && port === 0) return undefined;
  return { serviceName, ipv4, ipv6, port };
}

function compareEvents(a: SpanEvent, b: SpanEvent): number {
  if (a.timeUnixNano !== b.timeUnixNano) return a.timeUnixNano < b.timeUnixNano ? -1 : 1;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

/** Events sorted by (time, value) with exact duplicates removed, as `zipkin2.Span` keeps annotations. */
function decodeAnnotations(v: unknown, i: number): SpanEvent[] {
  if (!Array.isArray(v)) throw fail(i, '.annotations', `Expected BEGIN_ARRAY but was ${jsonTokenName(v)}`);
  const events: SpanEvent[] = [];
  let ordered = true;
  for (let j = 0; j < v.length; j++) {
    const a: unknown = v[j];
    if (!isObject(a)) throw fail(i, `.annotations[${j}]`, `Expected BEGIN_OBJECT but was ${jsonTokenName(a)}`);
    const rawTimestamp = a.timestamp;
    const rawValue = a.value;
    let ts: bigint | undefined;
    if (rawTimestamp !== undefined) {
      ts = toLong(rawTimestamp);
      if (ts === undefined) throw fail(i, `.annotations[${j}].timestamp`, numberProblem(rawTimestamp, 'a long'));
    }
    let value: string | undefined;
    if (rawValue !== undefined) {
      value = toText(rawValue);
      if (value === undefined) throw fail(i, `.annotations[${j}].value`, `Expected a string but was ${jsonTokenName(rawValue)}`);
    }
    if (ts === undefined || value === undefined) throw fail(i, `.annotations[${j}]`, 'Incomplete annotation');
    // Zipkin keeps a negative annotation timestamp; the model's times are unsigned, so it is dropped.
    if (ts < 0n) continue;
    const e: SpanEvent = { timeUnixNano: ts * 1000n, name: value, attributes: {}, droppedAttributesCount: 0 };
    if (ordered && events.length > 0 && compareEvents(events[events.length - 1], e) >= 0) ordered = false;
    events.push(e);
  }
  if (!ordered) {
    events.sort(compareEvents);
    let k = 0;
    for (let m = 1; m < events.length; m++) {
      if (compareEvents(events[k], events[m]) !== 0) events[++k] = events[m];
    }
    events.length = k + 1;
  }
  return events;
}

function isSorted(keys: string[]): boolean {
  for (let k = 1; k < keys.length; k++) if (keys[k - 1] > keys[k]) return false;
  return true;
}

/**
 * Tags in key order (Zipkin keeps a TreeMap). Object property order puts integer-like keys first, so
 * the encoder sorts again rather than relying on this order.
 */
function decodeTags(v: unknown, i: number): Attributes {
  if (!isObject(v)) throw fail(i, '.tags', `Expected BEGIN_OBJECT but was ${jsonTokenName(v)}`);
  const keys = Object.keys(v);
  if (!isSorted(keys)) keys.sort();
  const attributes: Attributes = {};
  for (let k = 0; k < keys.length; k++) {
    const key = keys[k];
    const raw = v[key];
    if (typeof raw === 'string') {
      setOwn(attributes, key, raw);
      continue;
    }
    if (raw === null) throw fail(i, `.tags.${key}`, 'No value');
    const text = toText(raw);
    if (text === undefined) throw fail(i, `.tags.${key}`, `Expected a string but was ${jsonTokenName(raw)}`);
    setOwn(attributes, key, text);
  }
  return attributes;
}

// ---- IP text, ported from zipkin2.Endpoint (detectFamily, textToNumericFormatV6, writeIpV6) so that
// the same inputs are accepted, ignored or rewritten.

/** The canonical text of an IP (IPv4 for `::a.b.c.d` and `::ffff:a.b.c.d`), or '' when not an IP. */
export function normalizeIp(s: string): string {
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
    const bytes = parseIpV6(s);
    return bytes === undefined ? '' : writeIpV6(bytes);
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

// ---- encoding

const KIND_NAMES: readonly string[] = ['', '', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];
const ZERO_HIGH_HALF = '0000000000000000';

/**
 * One Zipkin v2 JSON span, fields in the order of Zipkin's `V2SpanWriter`. For a span decoded by
 * {@link decodeZipkinV2Json} this is exactly what Zipkin writes for it.
 *
 * For spans from other sources: a 128-bit trace id with a zero high half is written as 64-bit (Zipkin
 * would do so on receipt); Unspecified and Internal kinds are written without a kind; a positive
 * duration under 1µs is written as 1 (Zipkin's rule; 0 would mean absent); attributes become tags as
 * text (see {@link tagText}); event names become annotation values (event attributes are not written).
 * The local endpoint's service name is the resource's `service.name`.
 */
export function encodeZipkinV2Span(span: Span): string {
  let traceId = span.traceId;
  if (traceId.length === 32 && traceId.startsWith(ZERO_HIGH_HALF)) traceId = traceId.slice(16);
  let out = '{"traceId":"' + traceId + '"';
  if (span.parentSpanId !== '') out += ',"parentId":"' + span.parentSpanId + '"';
  out += ',"id":"' + span.spanId + '"';
  const kind = KIND_NAMES[span.kind];
  if (kind) out += ',"kind":"' + kind + '"';
  if (span.name !== '') out += ',"name":' + quoteJson(span.name);

  const start = span.startTimeUnixNano;
  const end = span.endTimeUnixNano;
  const timestamp = start / 1000n;
  if (timestamp > 0n) out += ',"timestamp":' + timestamp;
  if (end > start) {
    const duration = (end - start) / 1000n;
    out += ',"duration":' + (duration > 0n ? duration : 1n);
  }

  const serviceName = serviceNameOf(span);
  const local = span.localEndpoint;
  if (serviceName !== '' || local !== undefined) {
    const ep = endpointJson(serviceName, local);
    if (ep !== '{}') out += ',"localEndpoint":' + ep;
  }
  const remote = span.remoteEndpoint;
  if (remote !== undefined) {
    const ep = endpointJson(remote.serviceName, remote);
    if (ep !== '{}') out += ',"remoteEndpoint":' + ep;
  }

  const events = span.events;
  if (events.length > 0) {
    out += ',"annotations":[';
    for (let k = 0; k < events.length; k++) {
      const e = events[k];
      if (k > 0) out += ',';
      out += '{"timestamp":' + e.timeUnixNano / 1000n + ',"value":' + quoteJson(e.name) + '}';
    }
    out += ']';
  }

  const attributes = span.attributes;
  const keys = Object.keys(attributes);
  if (keys.length > 0) {
    if (!isSorted(keys)) keys.sort();
    out += ',"tags":{';
    for (let k = 0; k < keys.length; k++) {
      const key = keys[k];
      if (k > 0) out += ',';
      out += quoteJson(key) + ':' + quoteJson(tagText(attributes[key]));
    }
    out += '}';
  }

  if (span.debug) out += ',"debug":true';
  if (span.shared) out += ',"shared":true';
  return out + '}';
}

/** A JSON list of {@link encodeZipkinV2Span}. */
export function encodeZipkinV2Json(spans: Span[]): string {
  if (spans.length === 0) return '[]';
  let out = '[' + encodeZipkinV2Span(spans[0]);
  for (let k = 1; k < spans.length; k++) out += ',' + encodeZipkinV2Span(spans[k]);
  return out + ']';
}

function endpointJson(serviceName: string, ep: Endpoint | undefined): string {
  let out = '{';
  if (serviceName !== '') out += '"serviceName":' + quoteJson(serviceName);
  if (ep !== undefined) {
    if (ep.ipv4 !== '') out += (out.length > 1 ? ',' : '') + '"ipv4":' + quoteJson(ep.ipv4);
    if (ep.ipv6 !== '') out += (out.length > 1 ? ',' : '') + '"ipv6":' + quoteJson(ep.ipv6);
    if (ep.port !== 0) out += (out.length > 1 ? ',' : '') + '"port":' + ep.port;
  }
  return out + '}';
}

/**
 * A tag value for an attribute: strings as is; int64 and double as their decimal text; booleans as
 * `true`/`false`; bytes as base64; the empty value as ''; arrays and maps as JSON.
 */
export function tagText(v: AnyValue): string {
  switch (typeof v) {
    case 'string':
      return v;
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
    case 'number':
      return String(v);
    default:
      if (v === null) return '';
      if (v instanceof Uint8Array) return toBase64(v);
      return anyValueJson(v);
  }
}

function anyValueJson(v: AnyValue): string {
  switch (typeof v) {
    case 'string':
      return quoteJson(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    case 'number':
      return Number.isFinite(v) ? String(v) : quoteJson(String(v));
    default: {
      if (v === null) return 'null';
      if (v instanceof Uint8Array) return quoteJson(toBase64(v));
      if (Array.isArray(v)) {
        let out = '[';
        for (let k = 0; k < v.length; k++) out += (k > 0 ? ',' : '') + anyValueJson(v[k]);
        return out + ']';
      }
      let out = '{';
      for (const key in v) out += (out.length > 1 ? ',' : '') + quoteJson(key) + ':' + anyValueJson(v[key]);
      return out + '}';
    }
  }
}
