/**
 * Zipkin v2 JSON (`POST /api/v2/spans`, a JSON list of spans) to and from the span model.
 *
 * Decoding accepts what Zipkin's own `V2SpanReader` accepts and normalizes as every Zipkin decoder does
 * (zipkin-normalize.ts), so that {@link encodeZipkinV2Span} of a decoded span is the JSON that Zipkin
 * itself would write for it. Where this differs from Zipkin, the comment at the spot says so.
 *
 * Model mapping: timestamp/duration (µs) become start/end times (ns); the local endpoint's service name
 * becomes the resource's `service.name` and its address `span.localEndpoint`; annotations become events;
 * tags become string attributes, kept as they are, and also give status, scope and trace state
 * (zipkin-otel.ts). Encoding writes any span, whatever its origin, through zipkin-view.ts.
 */
import { SpanKind, type Attributes, type Endpoint, type Span, type SpanEvent } from '../model/span.js';
import {
  JsonBytes,
  JsonNumberText,
  asciiBytes,
  NEEDS_NUMBER_TEXT,
  jsonTokenName,
  parseJsonInteger,
  parseJsonKeepingNumberText,
  quoteJson,
  setOwn,
} from './json-text.js';
import {
  ZipkinDecodeContext,
  ZipkinDecodeError,
  ZipkinSpanFields,
  bodyText,
  isSorted,
  nanosOfMicros,
  NO_EVENT_ATTRIBUTES,
  normalizeIp,
  normalizeParentId,
  normalizeSpanId,
  normalizeTraceId,
} from './zipkin-normalize.js';
import { zipkinTagGroup } from './zipkin-otel.js';
import { ZIPKIN_KIND_NAMES, ZipkinView } from './zipkin-view.js';

export { ZipkinDecodeError, normalizeIp } from './zipkin-normalize.js';
export { tagText } from './zipkin-view.js';

/** Decodes a Zipkin v2 JSON list. An empty body is an empty list, as in Zipkin. */
export function decodeZipkinV2Json(body: Buffer | string): Span[] {
  return decodeZipkinJsonList(body, decodeSpanList);
}

/** The message of Zipkin's collector for a v1 JSON body on the v2 route. */
export const V1_ON_V2_ROUTE = 'Expected a JSON_V2 encoded list, but received: JSON_V1';

/**
 * {@link decodeZipkinV2Json}, refusing a span that has a v1 `binaryAnnotations` key with
 * {@link V1_ON_V2_ROUTE}. Zipkin's collector looks for the text `yAnnotations"` in the whole body before
 * decoding; the receiver uses this instead on the common path (a key read per span costs less than a
 * scan of every byte), and scans only when decoding fails, so that errors come out as Zipkin orders
 * them (see the zipkin receiver).
 */
export function decodeZipkinV2JsonRefusingV1(body: Buffer | string): Span[] {
  return decodeZipkinJsonList(body, decodeSpanListRefusingV1);
}

/**
 * The prologue of both Zipkin JSON list decoders (v1 and v2): an empty body is an empty list; otherwise
 * `decodeList` reads the `JSON.parse` tree and, if it throws {@link NEEDS_NUMBER_TEXT}, reads again the
 * tree of {@link parseJsonKeepingNumberText}. A body that is not JSON is worded as Zipkin words it.
 */
export function decodeZipkinJsonList(body: Buffer | string, decodeList: (root: unknown) => Span[]): Span[] {
  const text = typeof body === 'string' ? body : bodyText(body);
  if (text.length === 0) return [];
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (e) {
    throw malformedJson(e);
  }
  try {
    return decodeList(root);
  } catch (e) {
    if (e !== NEEDS_NUMBER_TEXT) throw e;
  }
  let exact: unknown;
  try {
    exact = parseJsonKeepingNumberText(text);
  } catch (e) {
    throw malformedJson(e);
  }
  return decodeList(exact);
}

function malformedJson(e: unknown): ZipkinDecodeError {
  return new ZipkinDecodeError(`Malformed reading List<Span> from json: ${(e as Error).message}`);
}

function decodeSpanList(root: unknown): Span[] {
  return decodeSpans(root, false);
}

function decodeSpanListRefusingV1(root: unknown): Span[] {
  return decodeSpans(root, true);
}

function decodeSpans(root: unknown, refuseV1: boolean): Span[] {
  if (!Array.isArray(root)) throw new ZipkinDecodeError('Expected a JSON array of spans');
  const context = new ZipkinDecodeContext();
  const fields = new ZipkinSpanFields();
  const n = root.length;
  const out: Span[] = new Array(n);
  for (let i = 0; i < n; i++) {
    fields.reset();
    const v: unknown = root[i];
    if (refuseV1 && isObject(v) && v.binaryAnnotations !== undefined) throw new ZipkinDecodeError(V1_ON_V2_ROUTE);
    readSpan(v, i, fields);
    out[i] = context.toSpan(fields);
  }
  return out;
}

type JsonObject = Record<string, unknown>;

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof JsonNumberText);
}

/** A decode error located in span `i`: `span[i]<path>: <problem>`. */
export function fail(i: number, path: string, problem: string): ZipkinDecodeError {
  return new ZipkinDecodeError(`span[${i}]${path}: ${problem}`);
}

/** Runs a normalizer, locating its error in span `i`. */
function located(normalize: (id: string) => string, id: string, i: number, path: string): string {
  try {
    return normalize(id);
  } catch (e) {
    if (e instanceof ZipkinDecodeError) throw fail(i, path, e.message);
    throw e;
  }
}

function readSpan(v: unknown, i: number, f: ZipkinSpanFields): void {
  if (!isObject(v)) throw fail(i, '', `Expected BEGIN_OBJECT but was ${jsonTokenName(v)}`);

  // Zipkin reads traceId and id even when null (and fails); every other null field is skipped.
  const rawTraceId = v.traceId;
  if (rawTraceId === undefined) throw fail(i, '', 'Missing traceId');
  const rawId = v.id;
  if (rawId === undefined) throw fail(i, '', 'Missing id');
  f.traceId = located(normalizeTraceId, readString(rawTraceId, i, '.traceId'), i, '.traceId');
  f.spanId = located(normalizeSpanId, readString(rawId, i, '.id'), i, '.id');

  const rawParentId = v.parentId;
  if (rawParentId != null) f.parentSpanId = located(normalizeParentId, readString(rawParentId, i, '.parentId'), i, '.parentId');

  const rawKind = v.kind;
  if (rawKind != null) f.kind = parseKind(readString(rawKind, i, '.kind'), i);

  const rawName = v.name;
  if (rawName != null) f.name = readString(rawName, i, '.name');

  const rawTimestamp = v.timestamp;
  // Safe integers, the common case, stay numbers (see ZipkinSpanFields).
  if (rawTimestamp != null) f.timestamp = Number.isSafeInteger(rawTimestamp) ? (rawTimestamp as number) : readMicros(rawTimestamp, i, '.timestamp');
  const rawDuration = v.duration;
  if (rawDuration != null) f.duration = Number.isSafeInteger(rawDuration) ? (rawDuration as number) : readMicros(rawDuration, i, '.duration');

  const rawLocal = v.localEndpoint;
  if (rawLocal != null) {
    f.localEndpoint = decodeEndpoint(rawLocal, i, '.localEndpoint');
    f.localEndpointIsOwn = true;
  }
  const rawRemote = v.remoteEndpoint;
  if (rawRemote != null) f.remoteEndpoint = decodeEndpoint(rawRemote, i, '.remoteEndpoint');

  const rawAnnotations = v.annotations;
  if (rawAnnotations != null) f.events = decodeAnnotations(rawAnnotations, i);
  const rawTags = v.tags;
  if (rawTags != null) decodeTags(rawTags, i, f);

  f.debug = readFlag(v.debug, i, '.debug');
  f.shared = readFlag(v.shared, i, '.shared');
}

// ---- scalar readers, Gson's semantics. The `to*` ones return undefined for a value of the wrong type,
// so that a caller with a computed path builds it only on failure; the `read*` ones throw. All throw
// NEEDS_NUMBER_TEXT when JSON.parse lost what a number said.

/** Gson `nextString`: a string, or the literal text of a number. */
function toText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') throw NEEDS_NUMBER_TEXT;
  if (v instanceof JsonNumberText) return v.text;
  return undefined;
}

export function readString(v: unknown, i: number, path: string): string {
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

export function readLong(v: unknown, i: number, path: string): bigint {
  const n = toLong(v);
  if (n === undefined) throw fail(i, path, numberProblem(v, 'a long'));
  return n;
}

/**
 * A time or duration in microseconds. Unlike Zipkin, a fractional value is rounded rather than refused:
 * the OpenTelemetry JS Zipkin exporter sends span timestamps with sub-microsecond fractions, and a whole
 * batch should not be lost for that.
 */
export function readMicros(v: unknown, i: number, path: string): bigint {
  if (typeof v === 'number' && Number.isFinite(v) && !Number.isInteger(v) && Math.abs(v) < 2 ** 63) return BigInt(Math.round(v));
  return readLong(v, i, path);
}

export function readFlag(v: unknown, i: number, path: string): boolean {
  if (v == null) return false;
  if (typeof v !== 'boolean') throw fail(i, path, `Expected a boolean but was ${jsonTokenName(v)}`);
  return v;
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

/**
 * A JSON endpoint as Zipkin's `ENDPOINT_READER` reads it (v1 and v2): service name lower-cased, IPs
 * canonical, port 0 or negative absent. Undefined when every field is absent, as Zipkin treats `{}` and
 * all-null endpoints.
 */
export function decodeEndpoint(v: unknown, i: number, path: string): Endpoint | undefined {
  if (!isObject(v)) throw fail(i, path, `Expected BEGIN_OBJECT but was ${jsonTokenName(v)}`);
  let serviceName = '';
  let ipv4 = '';
  let ipv6 = '';
  let port = 0;
  const rawServiceName = v.serviceName;
  // Strings, the common case, are taken as they are: the error paths are built only when needed.
  if (rawServiceName != null) serviceName = (typeof rawServiceName === 'string' ? rawServiceName : readString(rawServiceName, i, path + '.serviceName')).toLowerCase();
  // Zipkin parses both keys with one `parseIp`: the text decides the family, not the key, and text that
  // is not an IP is ignored.
  const rawIpv4 = v.ipv4;
  if (rawIpv4 != null) {
    const ip = normalizeIp(typeof rawIpv4 === 'string' ? rawIpv4 : readString(rawIpv4, i, path + '.ipv4'));
    if (ip.indexOf(':') >= 0) ipv6 = ip;
    else if (ip !== '') ipv4 = ip;
  }
  const rawIpv6 = v.ipv6;
  if (rawIpv6 != null) {
    const ip = normalizeIp(typeof rawIpv6 === 'string' ? rawIpv6 : readString(rawIpv6, i, path + '.ipv6'));
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


/** Annotations as events, in the order given (sorted and de-duplicated when the span is built). */
function decodeAnnotations(v: unknown, i: number): SpanEvent[] {
  if (!Array.isArray(v)) throw fail(i, '.annotations', `Expected BEGIN_ARRAY but was ${jsonTokenName(v)}`);
  const events: SpanEvent[] = new Array(v.length);
  for (let j = 0; j < v.length; j++) {
    const a: unknown = v[j];
    if (!isObject(a)) throw fail(i, `.annotations[${j}]`, `Expected BEGIN_OBJECT but was ${jsonTokenName(a)}`);
    const rawTimestamp = a.timestamp;
    const rawValue = a.value;
    let time: bigint | undefined;
    if (rawTimestamp !== undefined) {
      if (Number.isSafeInteger(rawTimestamp) && (rawTimestamp as number) >= 0) time = nanosOfMicros(rawTimestamp as number);
      else time = (Number.isSafeInteger(rawTimestamp) ? BigInt(rawTimestamp as number) : readMicros(rawTimestamp, i, `.annotations[${j}].timestamp`)) * 1000n;
    }
    let value: string | undefined;
    if (rawValue !== undefined) {
      value = toText(rawValue);
      if (value === undefined) throw fail(i, `.annotations[${j}].value`, `Expected a string but was ${jsonTokenName(rawValue)}`);
    }
    if (time === undefined || value === undefined) throw fail(i, `.annotations[${j}]`, 'Incomplete annotation');
    events[j] = { timeUnixNano: time, name: value, attributes: NO_EVENT_ATTRIBUTES, droppedAttributesCount: 0 };
  }
  return events;
}

/**
 * Tags in key order (Zipkin keeps a TreeMap). Object property order puts integer-like keys first, so
 * the encoder sorts again rather than relying on this order.
 */
function decodeTags(v: unknown, i: number, f: ZipkinSpanFields): void {
  if (!isObject(v)) throw fail(i, '.tags', `Expected BEGIN_OBJECT but was ${jsonTokenName(v)}`);
  const order = keyOrder(Object.keys(v));
  const keys = KEY_ORDER_SORTED[order];
  f.tagGroups = KEY_ORDER_GROUPS[order];
  if (keys === KEY_ORDER_SENT[order] && allStrings(v, keys)) {
    // The common shape: the parsed object already is the attributes, in key order (an object built
    // from these keys would enumerate them the same way), and nothing else refers to it.
    f.attributes = v as Attributes;
    return;
  }
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
  f.attributes = attributes;
}

// The tag key orders seen last: the keys as sent, the same keys sorted (the same array when sent
// sorted), and their zipkinTagGroup bits. Tags from one instrumentation come with the same keys in the
// same order, and finding them here by identity (JSON.parse interns keys) costs less than sorting them
// again (decoding outside JSON.parse, bench payload: 1.60 -> 1.43 µs/span).
const KEY_ORDERS = 8;
const KEY_ORDER_SENT: string[][] = [];
const KEY_ORDER_SORTED: string[][] = [];
const KEY_ORDER_GROUPS: number[] = [];
let nextKeyOrder = 0;

/** The index of `keys` (in the order sent) among the orders seen last, added when new. */
function keyOrder(keys: string[]): number {
  for (let k = 0; k < KEY_ORDER_SENT.length; k++) if (sameKeys(KEY_ORDER_SENT[k], keys)) return k;
  let sorted = keys;
  if (!isSorted(keys)) {
    sorted = keys.slice();
    sortNearlySorted(sorted);
  }
  let groups = 0;
  for (let k = 0; k < keys.length; k++) groups |= zipkinTagGroup(keys[k]);
  const order = nextKeyOrder;
  nextKeyOrder = (order + 1) % KEY_ORDERS;
  KEY_ORDER_SENT[order] = keys;
  KEY_ORDER_SORTED[order] = sorted;
  KEY_ORDER_GROUPS[order] = groups;
  return order;
}

function sameKeys(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  for (let k = 0; k < a.length; k++) if (a[k] !== b[k]) return false;
  return true;
}

/**
 * The order of `keys.sort()` for distinct keys, by insertion sort: tags come nearly sorted (often one
 * key out of place), where this is cheaper than the general sort. Insertion sort is quadratic in the
 * number of keys out of place, and the sender chooses the order (a request of reverse-ordered tags
 * would hold the event loop for minutes), so past a linear budget of moves the general sort finishes
 * (the array is still a permutation of the keys, so the result is the same).
 */
function sortNearlySorted(keys: string[]): void {
  let budget = 2 * keys.length + 16;
  for (let k = 1; k < keys.length; k++) {
    const key = keys[k];
    let m = k - 1;
    if (keys[m] <= key) continue;
    while (m >= 0 && keys[m] > key) {
      keys[m + 1] = keys[m];
      m--;
      budget--;
    }
    keys[m + 1] = key;
    if (budget < 0) {
      keys.sort();
      return;
    }
  }
}

function allStrings(v: JsonObject, keys: string[]): boolean {
  for (let k = 0; k < keys.length; k++) if (typeof v[keys[k]] !== 'string') return false;
  return true;
}

// ---- encoding

const VIEW = new ZipkinView();

/**
 * One Zipkin v2 JSON span, fields in the order of Zipkin's `V2SpanWriter`. For a span decoded from
 * Zipkin this is exactly what Zipkin itself writes for it; any other span is mapped by zipkin-view.ts.
 */
export function encodeZipkinV2Span(span: Span): string {
  const v = VIEW.fill(span);
  let out = '{"traceId":"' + v.traceId + '"';
  if (v.parentId !== '') out += ',"parentId":"' + v.parentId + '"';
  out += ',"id":"' + v.id + '"';
  if (v.kind !== 0) out += ',"kind":"' + ZIPKIN_KIND_NAMES[v.kind] + '"';
  if (v.name !== '') out += ',"name":' + quoteJson(v.name);
  if (v.timestamp !== 0n) out += ',"timestamp":' + v.timestamp;
  if (v.duration !== 0n) out += ',"duration":' + v.duration;

  if (v.hasLocalEndpoint) out += ',"localEndpoint":' + endpointJson(v.localServiceName, v.localIpv4, v.localIpv6, v.localPort);
  if (v.hasRemoteEndpoint) out += ',"remoteEndpoint":' + endpointJson(v.remoteServiceName, v.remoteIpv4, v.remoteIpv6, v.remotePort);

  const annotations = v.annotationCount;
  if (annotations > 0) {
    const timestamps = v.annotationTimestamps;
    const values = v.annotationValues;
    out += ',"annotations":[';
    for (let k = 0; k < annotations; k++) {
      if (k > 0) out += ',';
      out += '{"timestamp":' + timestamps[k] + ',"value":' + quoteJson(values[k]) + '}';
    }
    out += ']';
  }

  const tags = v.tagCount;
  if (tags > 0) {
    const keys = v.tagKeys;
    const values = v.tagValues;
    out += ',"tags":{';
    for (let k = 0; k < tags; k++) {
      if (k > 0) out += ',';
      out += quoteJson(keys[k]) + ':' + quoteJson(values[k]);
    }
    out += '}';
  }

  if (v.debug) out += ',"debug":true';
  if (v.shared) out += ',"shared":true';
  return out + '}';
}

/** A JSON list of {@link encodeZipkinV2Span}. */
export function encodeZipkinV2Json(spans: Span[]): string {
  if (spans.length === 0) return '[]';
  let out = '[' + encodeZipkinV2Span(spans[0]);
  for (let k = 1; k < spans.length; k++) out += ',' + encodeZipkinV2Span(spans[k]);
  return out + ']';
}

/**
 * Spans `from` to `to` (exclusive) of `spans` as newline-terminated {@link encodeZipkinV2Span} lines,
 * as UTF-8 bytes: the same bytes as `Buffer.from(lines, 'utf8')`, written straight into a buffer
 * (JsonBytes: no strings joined, no second pass to encode them). The caller bounds `to - from`, which
 * bounds the buffer.
 */
export function writeZipkinV2Lines(spans: readonly Span[], from: number, to: number): Buffer {
  appendZipkinV2Lines(LINES, spans, from, to);
  return LINES.take();
}

/**
 * The lines of {@link writeZipkinV2Lines}, written into `w` after what it holds. If a span cannot be
 * encoded, what was written since `w`'s last take is forgotten and the error thrown.
 */
export function appendZipkinV2Lines(w: JsonBytes, spans: readonly Span[], from: number, to: number): void {
  try {
    for (let i = from; i < to; i++) {
      writeZipkinV2Span(w, spans[i]);
      w.byte(0x0a);
    }
  } catch (e) {
    w.reset();
    throw e;
  }
}

/** {@link encodeZipkinV2Json} as UTF-8 bytes, written straight into a buffer (see writeZipkinV2Lines). */
export function encodeZipkinV2JsonBytes(spans: readonly Span[]): Buffer {
  const w = LINES;
  try {
    w.byte(0x5b);
    for (let i = 0; i < spans.length; i++) {
      if (i > 0) w.byte(0x2c);
      writeZipkinV2Span(w, spans[i]);
    }
    w.byte(0x5d);
  } catch (e) {
    w.reset();
    throw e;
  }
  return w.take();
}

// Room for several of the file exporter's chunks (~340 KB each), which are taken one after the other.
const LINES = new JsonBytes(2 * 1024 * 1024);

// The constant parts of a span as bytes: JsonBytes copies them for a fraction of what reading a
// string's chars costs.
const L_TRACE_ID = asciiBytes('{"traceId":"');
const L_PARENT_ID = asciiBytes('","parentId":"');
const L_ID = asciiBytes('","id":"');
/** By Zipkin kind number, the rest of the `id` string and the kind (see ZIPKIN_KIND_NAMES). */
const L_ID_END_KIND: readonly Uint8Array[] = ZIPKIN_KIND_NAMES.map((name) => asciiBytes(name === '' ? '"' : `","kind":"${name}"`));
const L_NAME = asciiBytes(',"name":');
const L_TIMESTAMP = asciiBytes(',"timestamp":');
const L_DURATION = asciiBytes(',"duration":');
const L_LOCAL_ENDPOINT = asciiBytes(',"localEndpoint":{');
const L_REMOTE_ENDPOINT = asciiBytes(',"remoteEndpoint":{');
const L_SERVICE_NAME = asciiBytes('"serviceName":');
const L_IPV4 = asciiBytes('"ipv4":');
const L_NEXT_IPV4 = asciiBytes(',"ipv4":');
const L_IPV6 = asciiBytes('"ipv6":');
const L_NEXT_IPV6 = asciiBytes(',"ipv6":');
const L_PORT = asciiBytes('"port":');
const L_NEXT_PORT = asciiBytes(',"port":');
const L_ANNOTATIONS = asciiBytes(',"annotations":[{"timestamp":');
const L_NEXT_ANNOTATION = asciiBytes('},{"timestamp":');
const L_VALUE = asciiBytes(',"value":');
const L_TAGS = asciiBytes(',"tags":{');
const L_DEBUG = asciiBytes(',"debug":true');
const L_SHARED = asciiBytes(',"shared":true');

/** {@link encodeZipkinV2Span} written into `w`: keep the two in step (test/codecs/json-bytes.test.ts). */
export function writeZipkinV2Span(w: JsonBytes, span: Span): void {
  const v = VIEW.fill(span);
  v.fillMicros();
  w.raw(L_TRACE_ID);
  w.text(v.traceId);
  if (v.parentId !== '') {
    w.raw(L_PARENT_ID);
    w.text(v.parentId);
  }
  w.raw(L_ID);
  w.text(v.id);
  w.raw(L_ID_END_KIND[v.kind]);
  if (v.name !== '') {
    w.raw(L_NAME);
    w.string(v.name);
  }
  const timestamp = v.timestampMicros;
  if (timestamp !== 0) {
    w.raw(L_TIMESTAMP);
    if (timestamp > 0) w.uint(timestamp);
    else w.bigint(v.timestamp);
  }
  const duration = v.durationMicros;
  if (duration !== 0) {
    w.raw(L_DURATION);
    if (duration > 0) w.uint(duration);
    else w.bigint(v.duration);
  }

  if (v.hasLocalEndpoint) writeEndpoint(w, L_LOCAL_ENDPOINT, v.localServiceName, v.localIpv4, v.localIpv6, v.localPort);
  if (v.hasRemoteEndpoint) writeEndpoint(w, L_REMOTE_ENDPOINT, v.remoteServiceName, v.remoteIpv4, v.remoteIpv6, v.remotePort);

  const annotations = v.annotationCount;
  if (annotations > 0) {
    const micros = v.annotationMicros;
    const values = v.annotationValues;
    for (let k = 0; k < annotations; k++) {
      w.raw(k === 0 ? L_ANNOTATIONS : L_NEXT_ANNOTATION);
      if (micros[k] >= 0) w.uint(micros[k]);
      else w.bigint(v.annotationTimestamps[k]);
      w.raw(L_VALUE);
      w.string(values[k]);
    }
    w.byte(0x7d);
    w.byte(0x5d);
  }

  const tags = v.tagCount;
  if (tags > 0) {
    const keys = v.tagKeys;
    const values = v.tagValues;
    w.raw(L_TAGS);
    for (let k = 0; k < tags; k++) {
      if (k > 0) w.byte(0x2c);
      w.string(keys[k]);
      w.byte(0x3a);
      w.string(values[k]);
    }
    w.byte(0x7d);
  }

  if (v.debug) w.raw(L_DEBUG);
  if (v.shared) w.raw(L_SHARED);
  w.byte(0x7d);
}

/** `open` (the key and `{`), the fields that are set, and `}`. */
function writeEndpoint(w: JsonBytes, open: Uint8Array, serviceName: string, ipv4: string, ipv6: string, port: number): void {
  let sep = false;
  w.raw(open);
  if (serviceName !== '') {
    w.raw(L_SERVICE_NAME);
    w.string(serviceName);
    sep = true;
  }
  if (ipv4 !== '') {
    w.raw(sep ? L_NEXT_IPV4 : L_IPV4);
    w.string(ipv4);
    sep = true;
  }
  if (ipv6 !== '') {
    w.raw(sep ? L_NEXT_IPV6 : L_IPV6);
    w.string(ipv6);
    sep = true;
  }
  if (port !== 0) {
    w.raw(sep ? L_NEXT_PORT : L_PORT);
    w.number(port);
  }
  w.byte(0x7d);
}

function endpointJson(serviceName: string, ipv4: string, ipv6: string, port: number): string {
  let out = '{';
  if (serviceName !== '') out += '"serviceName":' + quoteJson(serviceName);
  if (ipv4 !== '') out += (out.length > 1 ? ',' : '') + '"ipv4":' + quoteJson(ipv4);
  if (ipv6 !== '') out += (out.length > 1 ? ',' : '') + '"ipv6":' + quoteJson(ipv6);
  if (port !== 0) out += (out.length > 1 ? ',' : '') + '"port":' + port;
  return out + '}';
}
