/**
 * OTLP/JSON `ExportTraceServiceRequest` to and from the span model.
 *
 * OTLP/JSON is the protobuf JSON mapping with the OTLP specification's deviations: trace and span ids
 * are hex (case-insensitive on input), enums are integers, keys are lowerCamelCase (the original
 * snake_case names are unknown fields), unknown fields are ignored. As in protobuf JSON, 64-bit integers
 * are written as decimal strings and read from strings or numbers, and default values are not written.
 *
 * The Zipkin-only fields of the model (`shared`, `debug`, `localEndpoint`, `remoteEndpoint`) are written
 * as the extra attributes `zipkinFieldsToAttributes` returns, after the span's own (which win: that
 * function leaves out keys the span has). Decoding leaves them as attributes.
 *
 * Also here: the OTLP/JSON `ExportTraceServiceResponse` and `google.rpc.Status` that OTLP/HTTP answers
 * with when the request was JSON.
 */
import {
  EMPTY_SCOPE,
  Span,
  UNSET_STATUS,
  newResource,
  hasKeys,
  MAX_VALUE_DEPTH,
  otlpEndTime,
  type AnyValue,
  type Attributes,
  type InstrumentationScope,
  type KeyValueList,
  type Resource,
  type SpanEvent,
  type SpanKind,
  type SpanLink,
  type Status,
  type StatusCode,
} from '../model/span.js';
import { zipkinFieldsToAttributes } from './zipkin-otlp.js';
import { groupByResourceAndScope } from './otlp-grouping.js';
import { JsonBytes, JsonNumberText, NEEDS_NUMBER_TEXT, NESTED_TOO_DEEPLY, asciiBytes, parseJsonInteger, parseJsonKeepingNumberText, quoteJson, setOwn, toBase64 } from './json-text.js';

// ---- encoding

/**
 * One `ExportTraceServiceRequest` as UTF-8 JSON: spans grouped by resource object, then by scope object,
 * each group in the order first seen. A 64-bit (16 hex) trace id is left-padded with zeros to 128 bits.
 */
export function encodeOtlpJsonBytes(spans: readonly Span[]): Buffer {
  const [whole] = encodeOtlpJsonChunks(spans, Infinity);
  return whole;
}

/** {@link encodeOtlpJsonBytes} as a string. */
export function encodeOtlpJsonRequest(spans: readonly Span[]): string {
  return encodeOtlpJsonBytes(spans).toString('utf8');
}

/**
 * {@link encodeOtlpJsonBytes} in pieces: a Buffer after every `chunkSpans` spans and one with the rest,
 * which together are the request. A caller can yield to the event loop between pieces, so that a large
 * batch (one request) does not hold receivers up while it is encoded. Each call has its own writer, so
 * several requests can be in progress at once.
 */
export function* encodeOtlpJsonChunks(spans: readonly Span[], chunkSpans: number): Generator<Buffer> {
  // Sized for the whole request (~1.2 KB a span from Zipkin), so that its chunks share one buffer.
  const w = new JsonBytes(Math.min(8 << 20, 1024 + spans.length * 1280));
  for (const _ of appendOtlpJson(w, spans, chunkSpans)) yield w.take();
  yield w.finish();
}

/**
 * Writes the request of {@link encodeOtlpJsonBytes} into `w`, pausing (a `yield`) after every
 * `chunkSpans` spans but the last, so that the caller can let the event loop run.
 */
export function* appendOtlpJson(w: JsonBytes, spans: readonly Span[], chunkSpans: number): Generator<void, void, undefined> {
  if (spans.length === 0) {
    w.text('{}');
    return;
  }
  let written = 0;
  let firstResource = true;
  w.raw(L_RESOURCESPANS);
  for (const [resource, scopes] of groupByResourceAndScope(spans)) {
    w.text(firstResource ? '{"resource":' : ',{"resource":');
    firstResource = false;
    writeResource(w, resource);
    w.raw(L_SCOPESPANS);
    let firstScope = true;
    for (const [scope, group] of scopes) {
      w.text(firstScope ? '{"scope":' : ',{"scope":');
      firstScope = false;
      writeScope(w, scope);
      w.raw(L_SPANS);
      for (let k = 0; k < group.length; k++) {
        if (k > 0) w.byte(0x2c);
        writeSpan(w, group[k]);
        if (++written % chunkSpans === 0 && written < spans.length) yield;
      }
      w.text(']}');
    }
    w.text(']}');
  }
  w.text(']}');
}

const ZERO_HIGH_HALF = '0000000000000000';

// The literals of the encoder, pre-encoded: copying bytes costs about half of reading a string's chars.
const L_ARRAYVALUE = asciiBytes('{"arrayValue":{}}');
const L_ARRAYVALUE_VALUES = asciiBytes('{"arrayValue":{"values":[');
const L_ATTRIBUTES = asciiBytes('"attributes":');
const L_BOOL_FALSE = asciiBytes('{"boolValue":false}');
const L_BOOL_TRUE = asciiBytes('{"boolValue":true}');
const L_BYTESVALUE = asciiBytes('{"bytesValue":"');
const L_CODE = asciiBytes('"code":');
const L_COMMA_KEY = asciiBytes(',{"key":');
const L_DOUBLEVALUE = asciiBytes('{"doubleValue":');
const L_DROPPEDATTRIBUTESCOUNT = asciiBytes('"droppedAttributesCount":');
const L_DROPPEDEVENTSCOUNT = asciiBytes('"droppedEventsCount":');
const L_DROPPEDLINKSCOUNT = asciiBytes('"droppedLinksCount":');
const L_ENDTIMEUNIXNANO = asciiBytes('"endTimeUnixNano":');
const L_EVENTS = asciiBytes('"events":[');
const L_FLAGS = asciiBytes('"flags":');
const L_INTVALUE = asciiBytes('{"intValue":');
const L_KEY = asciiBytes('{"key":');
const L_KIND = asciiBytes('"kind":');
const L_KVLISTVALUE = asciiBytes('{"kvlistValue":{}}');
const L_KVLISTVALUE_VALUES = asciiBytes('{"kvlistValue":{"values":');
const L_LINKS = asciiBytes('"links":[');
const L_MESSAGE = asciiBytes('"message":');
const L_NAME = asciiBytes('"name":');
const L_PARENTSPANID = asciiBytes('"parentSpanId":');
const L_RESOURCESPANS = asciiBytes('{"resourceSpans":[');
const L_SCOPESPANS = asciiBytes(',"scopeSpans":[');
const L_SPANID = asciiBytes('"spanId":');
const L_SPANS = asciiBytes(',"spans":[');
const L_STARTTIMEUNIXNANO = asciiBytes('"startTimeUnixNano":');
const L_STATUS = asciiBytes('"status":{');
const L_STRINGVALUE = asciiBytes('{"stringValue":');
const L_TIMEUNIXNANO = asciiBytes('"timeUnixNano":');
const L_TRACEID = asciiBytes('"traceId":');
const L_TRACESTATE = asciiBytes('"traceState":');
const L_VALUE = asciiBytes(',"value":');
const L_VERSION = asciiBytes('"version":');
const L_END_ARRAY_VALUE = asciiBytes(']}}');
const L_VALUE_STRING = asciiBytes(',"value":{"stringValue":');
const L_END_VALUE_STRING = asciiBytes('}}');

/**
 * Writes the key of the next field of an object (`"name":`, given with its quotes and colon), after a
 * comma unless it is the first field. Returns true: the object now has a field.
 */
function key(w: JsonBytes, more: boolean, quotedKeyColon: Uint8Array): true {
  if (more) w.byte(0x2c);
  w.raw(quotedKeyColon);
  return true;
}

/** A hex id as a JSON string; a 64-bit trace id is left-padded to 128 bits. */
function hexId(w: JsonBytes, id: string, isTraceId: boolean): void {
  w.byte(0x22);
  if (isTraceId && id.length === 16) w.text(ZERO_HIGH_HALF);
  w.text(id);
  w.byte(0x22);
}

/** A 64-bit integer as protobuf JSON writes it: a decimal string. */
function int64(w: JsonBytes, v: bigint): void {
  w.byte(0x22);
  w.bigint(v);
  w.byte(0x22);
}

function writeResource(w: JsonBytes, r: Resource): void {
  w.byte(0x7b);
  let more = false;
  if (hasKeys(r.attributes)) {
    more = key(w, more, L_ATTRIBUTES);
    writeKeyValues(w, r.attributes, undefined);
  }
  if (r.droppedAttributesCount !== 0) {
    key(w, more, L_DROPPEDATTRIBUTESCOUNT);
    w.uint(r.droppedAttributesCount);
  }
  w.byte(0x7d);
}

function writeScope(w: JsonBytes, sc: InstrumentationScope): void {
  w.byte(0x7b);
  let more = false;
  if (sc.name !== '') {
    more = key(w, more, L_NAME);
    w.string(sc.name);
  }
  if (sc.version !== '') {
    more = key(w, more, L_VERSION);
    w.string(sc.version);
  }
  if (hasKeys(sc.attributes)) {
    more = key(w, more, L_ATTRIBUTES);
    writeKeyValues(w, sc.attributes, undefined);
  }
  if (sc.droppedAttributesCount !== 0) {
    key(w, more, L_DROPPEDATTRIBUTESCOUNT);
    w.uint(sc.droppedAttributesCount);
  }
  w.byte(0x7d);
}

function writeSpan(w: JsonBytes, s: Span): void {
  w.byte(0x7b);
  let more = false;
  if (s.traceId !== '') {
    more = key(w, more, L_TRACEID);
    hexId(w, s.traceId, true);
  }
  if (s.spanId !== '') {
    more = key(w, more, L_SPANID);
    hexId(w, s.spanId, false);
  }
  if (s.traceState !== '') {
    more = key(w, more, L_TRACESTATE);
    w.string(s.traceState);
  }
  if (s.parentSpanId !== '') {
    more = key(w, more, L_PARENTSPANID);
    hexId(w, s.parentSpanId, false);
  }
  if (s.flags !== 0) {
    more = key(w, more, L_FLAGS);
    w.uint(s.flags);
  }
  if (s.name !== '') {
    more = key(w, more, L_NAME);
    w.string(s.name);
  }
  if (s.kind !== 0) {
    more = key(w, more, L_KIND);
    w.uint(s.kind);
  }
  if (s.startTimeUnixNano !== 0n) {
    more = key(w, more, L_STARTTIMEUNIXNANO);
    int64(w, s.startTimeUnixNano);
  }
  const end = otlpEndTime(s);
  if (end !== 0n) {
    more = key(w, more, L_ENDTIMEUNIXNANO);
    int64(w, end);
  }
  const zipkin = zipkinFieldsToAttributes(s);
  if (hasKeys(s.attributes) || zipkin !== undefined) {
    more = key(w, more, L_ATTRIBUTES);
    writeKeyValues(w, s.attributes, zipkin);
  }
  if (s.droppedAttributesCount !== 0) {
    more = key(w, more, L_DROPPEDATTRIBUTESCOUNT);
    w.uint(s.droppedAttributesCount);
  }
  const events = s.events;
  if (events.length > 0) {
    more = key(w, more, L_EVENTS);
    for (let k = 0; k < events.length; k++) {
      if (k > 0) w.byte(0x2c);
      writeEvent(w, events[k]);
    }
    w.byte(0x5d);
  }
  if (s.droppedEventsCount !== 0) {
    more = key(w, more, L_DROPPEDEVENTSCOUNT);
    w.uint(s.droppedEventsCount);
  }
  const links = s.links;
  if (links.length > 0) {
    more = key(w, more, L_LINKS);
    for (let k = 0; k < links.length; k++) {
      if (k > 0) w.byte(0x2c);
      writeLink(w, links[k]);
    }
    w.byte(0x5d);
  }
  if (s.droppedLinksCount !== 0) {
    more = key(w, more, L_DROPPEDLINKSCOUNT);
    w.uint(s.droppedLinksCount);
  }
  const status = s.status;
  if (status.code !== 0 || status.message !== '') {
    key(w, more, L_STATUS);
    if (status.message !== '') {
      w.raw(L_MESSAGE);
      w.string(status.message);
    }
    if (status.code !== 0) {
      key(w, status.message !== '', L_CODE);
      w.uint(status.code);
    }
    w.byte(0x7d);
  }
  w.byte(0x7d);
}

function writeEvent(w: JsonBytes, e: SpanEvent): void {
  w.byte(0x7b);
  let more = false;
  if (e.timeUnixNano !== 0n) {
    more = key(w, more, L_TIMEUNIXNANO);
    int64(w, e.timeUnixNano);
  }
  if (e.name !== '') {
    more = key(w, more, L_NAME);
    w.string(e.name);
  }
  if (hasKeys(e.attributes)) {
    more = key(w, more, L_ATTRIBUTES);
    writeKeyValues(w, e.attributes, undefined);
  }
  if (e.droppedAttributesCount !== 0) {
    key(w, more, L_DROPPEDATTRIBUTESCOUNT);
    w.uint(e.droppedAttributesCount);
  }
  w.byte(0x7d);
}

function writeLink(w: JsonBytes, l: SpanLink): void {
  w.byte(0x7b);
  let more = false;
  if (l.traceId !== '') {
    more = key(w, more, L_TRACEID);
    hexId(w, l.traceId, true);
  }
  if (l.spanId !== '') {
    more = key(w, more, L_SPANID);
    hexId(w, l.spanId, false);
  }
  if (l.traceState !== '') {
    more = key(w, more, L_TRACESTATE);
    w.string(l.traceState);
  }
  if (hasKeys(l.attributes)) {
    more = key(w, more, L_ATTRIBUTES);
    writeKeyValues(w, l.attributes, undefined);
  }
  if (l.droppedAttributesCount !== 0) {
    more = key(w, more, L_DROPPEDATTRIBUTESCOUNT);
    w.uint(l.droppedAttributesCount);
  }
  if (l.flags !== 0) {
    key(w, more, L_FLAGS);
    w.uint(l.flags);
  }
  w.byte(0x7d);
}

/** A JSON list of KeyValue: `a`'s entries, then `extra`'s. The caller knows that there is at least one. */
function writeKeyValues(w: JsonBytes, a: Attributes | KeyValueList, extra: Attributes | undefined): void {
  let more = false;
  w.byte(0x5b);
  for (const k in a) {
    more = writeKeyValue(w, more, k, a[k]);
  }
  if (extra !== undefined) {
    for (const k in extra) more = writeKeyValue(w, more, k, extra[k]);
  }
  w.byte(0x5d);
}

function writeKeyValue(w: JsonBytes, more: boolean, k: string, v: AnyValue): true {
  w.raw(more ? L_COMMA_KEY : L_KEY);
  w.string(k);
  if (typeof v === 'string') {
    // Most values: one literal before the string and one after.
    w.raw(L_VALUE_STRING);
    w.string(v);
    w.raw(L_END_VALUE_STRING);
    return true;
  }
  w.raw(L_VALUE);
  writeAnyValue(w, v);
  w.byte(0x7d);
  return true;
}

/** An AnyValue: the oneof member is always written, also when it holds its type's default. */
function writeAnyValue(w: JsonBytes, v: AnyValue): void {
  switch (typeof v) {
    case 'string':
      w.raw(L_STRINGVALUE);
      w.string(v);
      w.byte(0x7d);
      return;
    case 'boolean':
      w.raw(v ? L_BOOL_TRUE : L_BOOL_FALSE);
      return;
    case 'bigint':
      w.raw(L_INTVALUE);
      int64(w, v);
      w.byte(0x7d);
      return;
    case 'number':
      w.raw(L_DOUBLEVALUE);
      writeDouble(w, v);
      w.byte(0x7d);
      return;
  }
  if (v === null) {
    w.text('{}');
  } else if (v instanceof Uint8Array) {
    w.raw(L_BYTESVALUE);
    w.text(toBase64(v));
    w.text('"}');
  } else if (Array.isArray(v)) {
    if (v.length === 0) {
      w.raw(L_ARRAYVALUE);
      return;
    }
    w.raw(L_ARRAYVALUE_VALUES);
    for (let k = 0; k < v.length; k++) {
      if (k > 0) w.byte(0x2c);
      writeAnyValue(w, v[k]);
    }
    w.raw(L_END_ARRAY_VALUE);
  } else if (!hasKeys(v)) {
    w.raw(L_KVLISTVALUE);
  } else {
    w.raw(L_KVLISTVALUE_VALUES);
    writeKeyValues(w, v, undefined);
    w.text('}}');
  }
}

/** Protobuf JSON: non-finite doubles are the strings "NaN", "Infinity", "-Infinity". */
function writeDouble(w: JsonBytes, v: number): void {
  if (!Number.isFinite(v)) w.text('"' + v + '"');
  else if (Object.is(v, -0)) w.text('-0');
  else w.number(v);
}

// ---- decoding

/**
 * A request that does not follow OTLP/JSON. The message is `<field path>: <problem>`, e.g.
 * `resourceSpans[0].scopeSpans[0].spans[2].traceId: expected 32 hex digits, got "abc"`.
 */
export class OtlpDecodeError extends Error {
  override readonly name = 'OtlpDecodeError';
  /** `path` is relative while the error travels up through the decoder (leading '.' or '['). */
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(path === '' ? problem : `${path.charCodeAt(0) === 0x2e ? path.slice(1) : path}: ${problem}`);
  }
}

/**
 * Decodes one `ExportTraceServiceRequest`. Spans of one ResourceSpans share one Resource object, and
 * spans of one ScopeSpans one scope object (EMPTY_SCOPE when the scope is empty). Resource and scope
 * `schemaUrl`s are dropped: the model has no field for them.
 */
export function decodeOtlpJsonRequest(body: string | Buffer): Span[] {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (e) {
    throw new OtlpDecodeError('', `Malformed JSON: ${(e as Error).message}`);
  }
  try {
    return decodeRequest(root);
  } catch (e) {
    if (e !== NEEDS_NUMBER_TEXT) throw tooDeep(e);
  }
  let exact: unknown;
  try {
    exact = parseJsonKeepingNumberText(text);
  } catch (e) {
    throw new OtlpDecodeError('', `Malformed JSON: ${(e as Error).message}`);
  }
  try {
    return decodeRequest(exact);
  } catch (e) {
    throw tooDeep(e);
  }
}

/** AnyValues nest; decoding them recursively can run out of stack where JSON.parse did not. */
function tooDeep(e: unknown): unknown {
  return e instanceof RangeError ? new OtlpDecodeError('', NESTED_TOO_DEEPLY) : e;
}

type JsonObject = Record<string, unknown>;

function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof JsonNumberText);
}

/** Re-throws a decode error with its path prefixed by where the failing part sits. */
function within(e: unknown, prefix: string): unknown {
  return e instanceof OtlpDecodeError ? new OtlpDecodeError(prefix + e.path, e.problem) : e;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? v.slice(0, 40) + '…' : v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v instanceof JsonNumberText) return v.text;
  return Array.isArray(v) ? 'an array' : 'an object';
}

function wrongType(path: string, expected: string, v: unknown): OtlpDecodeError {
  return new OtlpDecodeError(path, `expected ${expected}, got ${describeValue(v)}`);
}

function decodeRequest(root: unknown): Span[] {
  if (!isObject(root)) throw wrongType('', 'a JSON object (ExportTraceServiceRequest)', root);
  const out: Span[] = [];
  const list = root.resourceSpans;
  if (list == null) return out;
  if (!Array.isArray(list)) throw wrongType('.resourceSpans', 'an array', list);
  for (let r = 0; r < list.length; r++) {
    try {
      decodeResourceSpans(list[r], out);
    } catch (e) {
      throw within(e, `.resourceSpans[${r}]`);
    }
  }
  return out;
}

function decodeResourceSpans(v: unknown, out: Span[]): void {
  if (!isObject(v)) throw wrongType('', 'an object', v);
  const resource = decodeResource(v.resource);
  const list = v.scopeSpans;
  if (list == null) return;
  if (!Array.isArray(list)) throw wrongType('.scopeSpans', 'an array', list);
  for (let s = 0; s < list.length; s++) {
    try {
      decodeScopeSpans(list[s], resource, out);
    } catch (e) {
      throw within(e, `.scopeSpans[${s}]`);
    }
  }
}

function decodeResource(v: unknown): Resource {
  const resource = newResource();
  if (v == null) return resource;
  if (!isObject(v)) throw wrongType('.resource', 'an object', v);
  resource.attributes = decodeAttributes(v.attributes, '.resource.attributes');
  resource.droppedAttributesCount = readUint32(v.droppedAttributesCount, '.resource.droppedAttributesCount');
  return resource;
}

function decodeScopeSpans(v: unknown, resource: Resource, out: Span[]): void {
  if (!isObject(v)) throw wrongType('', 'an object', v);
  const scope = decodeScope(v.scope);
  const list = v.spans;
  if (list == null) return;
  if (!Array.isArray(list)) throw wrongType('.spans', 'an array', list);
  for (let p = 0; p < list.length; p++) {
    try {
      out.push(decodeSpan(list[p], resource, scope));
    } catch (e) {
      throw within(e, `.spans[${p}]`);
    }
  }
}

function decodeScope(v: unknown): InstrumentationScope {
  if (v == null) return EMPTY_SCOPE;
  if (!isObject(v)) throw wrongType('.scope', 'an object', v);
  const name = readString(v.name, '.scope.name');
  const version = readString(v.version, '.scope.version');
  const attributes = decodeAttributes(v.attributes, '.scope.attributes');
  const droppedAttributesCount = readUint32(v.droppedAttributesCount, '.scope.droppedAttributesCount');
  if (name === '' && version === '' && droppedAttributesCount === 0 && !hasKeys(attributes)) return EMPTY_SCOPE;
  return { name, version, attributes, droppedAttributesCount };
}

function decodeSpan(v: unknown, resource: Resource, scope: InstrumentationScope): Span {
  if (!isObject(v)) throw wrongType('', 'an object', v);
  const span = new Span(resource, decodeAttributes(v.attributes, '.attributes'), decodeEvents(v.events), decodeLinks(v.links));
  span.scope = scope;
  span.traceId = readId(v.traceId, 32, '.traceId');
  span.spanId = readId(v.spanId, 16, '.spanId');
  span.traceState = readString(v.traceState, '.traceState');
  span.parentSpanId = readId(v.parentSpanId, 16, '.parentSpanId');
  span.flags = readUint32(v.flags, '.flags');
  span.name = readString(v.name, '.name');
  span.kind = readEnum(v.kind, 5, '.kind') as SpanKind;
  span.startTimeUnixNano = readUint64(v.startTimeUnixNano, '.startTimeUnixNano');
  span.endTimeUnixNano = readUint64(v.endTimeUnixNano, '.endTimeUnixNano');
  span.droppedAttributesCount = readUint32(v.droppedAttributesCount, '.droppedAttributesCount');
  span.droppedEventsCount = readUint32(v.droppedEventsCount, '.droppedEventsCount');
  span.droppedLinksCount = readUint32(v.droppedLinksCount, '.droppedLinksCount');
  span.status = decodeStatus(v.status);
  return span;
}

function decodeStatus(v: unknown): Status {
  if (v == null) return UNSET_STATUS;
  if (!isObject(v)) throw wrongType('.status', 'an object', v);
  const message = readString(v.message, '.status.message');
  const code = readEnum(v.code, 2, '.status.code') as StatusCode;
  return code === 0 && message === '' ? UNSET_STATUS : { code, message };
}

function decodeEvents(v: unknown): SpanEvent[] {
  if (v == null) return [];
  if (!Array.isArray(v)) throw wrongType('.events', 'an array', v);
  const events: SpanEvent[] = new Array(v.length);
  for (let k = 0; k < v.length; k++) {
    try {
      const e: unknown = v[k];
      if (!isObject(e)) throw wrongType('', 'an object', e);
      events[k] = {
        timeUnixNano: readUint64(e.timeUnixNano, '.timeUnixNano'),
        name: readString(e.name, '.name'),
        attributes: decodeAttributes(e.attributes, '.attributes'),
        droppedAttributesCount: readUint32(e.droppedAttributesCount, '.droppedAttributesCount'),
      };
    } catch (e) {
      throw within(e, `.events[${k}]`);
    }
  }
  return events;
}

function decodeLinks(v: unknown): SpanLink[] {
  if (v == null) return [];
  if (!Array.isArray(v)) throw wrongType('.links', 'an array', v);
  const links: SpanLink[] = new Array(v.length);
  for (let k = 0; k < v.length; k++) {
    try {
      const l: unknown = v[k];
      if (!isObject(l)) throw wrongType('', 'an object', l);
      links[k] = {
        traceId: readId(l.traceId, 32, '.traceId'),
        spanId: readId(l.spanId, 16, '.spanId'),
        traceState: readString(l.traceState, '.traceState'),
        attributes: decodeAttributes(l.attributes, '.attributes'),
        droppedAttributesCount: readUint32(l.droppedAttributesCount, '.droppedAttributesCount'),
        flags: readUint32(l.flags, '.flags'),
      };
    } catch (e) {
      throw within(e, `.links[${k}]`);
    }
  }
  return links;
}

/** A KeyValue list as an attributes object; `path` names the list. A repeated key keeps its last value. */
function decodeAttributes(v: unknown, path: string): Attributes {
  const out: Attributes = {};
  if (v == null) return out;
  if (!Array.isArray(v)) throw wrongType(path, 'an array', v);
  for (let k = 0; k < v.length; k++) {
    try {
      const kv: unknown = v[k];
      if (!isObject(kv)) throw wrongType('', 'an object', kv);
      const key = readString(kv.key, '.key');
      let value: AnyValue;
      try {
        value = decodeAnyValue(kv.value);
      } catch (e) {
        throw within(e, '.value');
      }
      setOwn(out, key, value);
    } catch (e) {
      throw within(e, `${path}[${k}]`);
    }
  }
  return out;
}

/** Nesting of the AnyValue being decoded (decoding is synchronous, so one counter serves). */
let valueDepth = 0;

/** A value with no member set is the empty value (null). Thrown paths are relative to the value. */
function decodeAnyValue(v: unknown): AnyValue {
  if (valueDepth >= MAX_VALUE_DEPTH) throw new OtlpDecodeError('', `values nested deeper than ${MAX_VALUE_DEPTH} levels`);
  valueDepth++;
  try {
    return decodeAnyValueAt(v);
  } finally {
    valueDepth--;
  }
}

function decodeAnyValueAt(v: unknown): AnyValue {
  if (v == null) return null;
  if (!isObject(v)) throw wrongType('', 'an object', v);
  const s = v.stringValue;
  if (s != null) {
    if (typeof s !== 'string') throw wrongType('.stringValue', 'a string', s);
    return s;
  }
  const i = v.intValue;
  if (i != null) return readInt64(i, '.intValue');
  const b = v.boolValue;
  if (b != null) {
    if (typeof b !== 'boolean') throw wrongType('.boolValue', 'true or false', b);
    return b;
  }
  const d = v.doubleValue;
  if (d != null) return readDouble(d, '.doubleValue');
  const bytes = v.bytesValue;
  if (bytes != null) return readBytes(bytes, '.bytesValue');
  const array = v.arrayValue;
  if (array != null) {
    if (!isObject(array)) throw wrongType('.arrayValue', 'an object', array);
    const values = array.values;
    if (values == null) return [];
    if (!Array.isArray(values)) throw wrongType('.arrayValue.values', 'an array', values);
    const out: AnyValue[] = new Array(values.length);
    for (let k = 0; k < values.length; k++) {
      try {
        out[k] = decodeAnyValue(values[k]);
      } catch (e) {
        throw within(e, `.arrayValue.values[${k}]`);
      }
    }
    return out;
  }
  const kvlist = v.kvlistValue;
  if (kvlist != null) {
    if (!isObject(kvlist)) throw wrongType('.kvlistValue', 'an object', kvlist);
    return decodeAttributes(kvlist.values, '.kvlistValue.values');
  }
  return null;
}

// ---- scalars. Absent and null are the field's default.

function readString(v: unknown, path: string): string {
  if (v == null) return '';
  if (typeof v !== 'string') throw wrongType(path, 'a string', v);
  return v;
}

/** Hex of exactly `length` digits, any case, returned lower-case; '' when absent or empty. */
function readId(v: unknown, length: number, path: string): string {
  if (v == null || v === '') return '';
  if (typeof v !== 'string' || v.length !== length) throw wrongType(path, `${length} hex digits`, v);
  let upper = false;
  for (let k = 0; k < length; k++) {
    const c = v.charCodeAt(k);
    if ((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66)) continue;
    if (c >= 0x41 && c <= 0x46) upper = true;
    else throw wrongType(path, `${length} hex digits`, v);
  }
  return upper ? v.toLowerCase() : v;
}

/** An integer given as a JSON number or a decimal string; NEEDS_NUMBER_TEXT when a number lost digits. */
function toInteger(v: unknown): bigint | undefined {
  if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) return BigInt(v);
    if (Number.isInteger(v)) throw NEEDS_NUMBER_TEXT;
    return undefined;
  }
  if (typeof v === 'string') return parseJsonInteger(v);
  if (v instanceof JsonNumberText) return parseJsonInteger(v.text);
  return undefined;
}

const MAX_UINT64 = 2n ** 64n - 1n;
const MIN_INT64 = -(2n ** 63n);
const MAX_INT64 = 2n ** 63n - 1n;

function readUint64(v: unknown, path: string): bigint {
  if (v == null) return 0n;
  const n = toInteger(v);
  if (n === undefined || n < 0n || n > MAX_UINT64) throw wrongType(path, 'an unsigned 64-bit integer', v);
  return n;
}

function readInt64(v: unknown, path: string): bigint {
  const n = toInteger(v);
  if (n === undefined || n < MIN_INT64 || n > MAX_INT64) throw wrongType(path, 'a 64-bit integer', v);
  return n;
}

function readUint32(v: unknown, path: string): number {
  if (v == null) return 0;
  if (typeof v === 'number') {
    if (Number.isInteger(v) && v >= 0 && v <= 0xffffffff) return v;
    throw wrongType(path, 'an unsigned 32-bit integer', v);
  }
  const n = toInteger(v);
  if (n === undefined || n < 0n || n > 0xffffffffn) throw wrongType(path, 'an unsigned 32-bit integer', v);
  return Number(n);
}

/** OTLP/JSON enums are integers only; `max` is the highest value the model knows. */
function readEnum(v: unknown, max: number, path: string): number {
  if (v == null) return 0;
  const n = typeof v === 'number' ? v : v instanceof JsonNumberText ? Number(v.text) : NaN;
  if (!Number.isInteger(n) || n < 0 || n > max) throw wrongType(path, `an integer from 0 to ${max}`, v);
  return n;
}

function readDouble(v: unknown, path: string): number {
  if (typeof v === 'number') return v;
  if (v instanceof JsonNumberText) return Number(v.text);
  if (typeof v === 'string') {
    if (v === 'NaN') return NaN;
    if (v === 'Infinity') return Infinity;
    if (v === '-Infinity') return -Infinity;
    if (JSON_NUMBER.test(v)) return Number(v);
  }
  throw wrongType(path, 'a number', v);
}

const JSON_NUMBER = /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Standard or URL-safe base64, padded or not, as protobuf JSON parsers accept. */
function readBytes(v: unknown, path: string): Uint8Array {
  if (typeof v !== 'string' || !BASE64.test(v)) throw wrongType(path, 'base64', v);
  return new Uint8Array(Buffer.from(v, 'base64'));
}

// ---- ExportTraceServiceResponse and google.rpc.Status

/**
 * An OTLP/JSON `ExportTraceServiceResponse`: `{}` on full success, else
 * `{"partialSuccess":{"rejectedSpans":"2","errorMessage":"…"}}` (int64 as a decimal string).
 */
export function encodeOtlpJsonResponse(partial?: { rejectedSpans: number; errorMessage: string }): string {
  if (partial === undefined || (partial.rejectedSpans === 0 && partial.errorMessage === '')) return '{}';
  const fields: string[] = [];
  if (partial.rejectedSpans !== 0) fields.push('"rejectedSpans":"' + partial.rejectedSpans + '"');
  if (partial.errorMessage !== '') fields.push('"errorMessage":' + quoteJson(partial.errorMessage));
  return '{"partialSuccess":{' + fields.join(',') + '}}';
}

/** The partial success of an OTLP/JSON response; undefined when there is none (or it is empty). */
export function decodeOtlpJsonResponse(body: string | Buffer): { rejectedSpans: number; errorMessage: string } | undefined {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  if (text.trim() === '') return undefined;
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (e) {
    throw new OtlpDecodeError('', `Malformed JSON: ${(e as Error).message}`);
  }
  if (!isObject(root)) throw wrongType('', 'a JSON object (ExportTraceServiceResponse)', root);
  const p = root.partialSuccess;
  if (p == null) return undefined;
  if (!isObject(p)) throw wrongType('.partialSuccess', 'an object', p);
  const rejected = p.rejectedSpans == null ? 0n : readInt64(p.rejectedSpans, '.partialSuccess.rejectedSpans');
  const errorMessage = readString(p.errorMessage, '.partialSuccess.errorMessage');
  if (rejected === 0n && errorMessage === '') return undefined;
  return { rejectedSpans: Number(rejected), errorMessage };
}

/**
 * A `google.rpc.Status` in protobuf JSON, as OTLP/HTTP answers a failed JSON request:
 * `{"code":14,"message":"…"}`. Details are left out: over HTTP, Retry-After carries the delay.
 */
export function encodeJsonRpcStatus(code: number, message: string): string {
  const fields: string[] = [];
  if (code !== 0) fields.push('"code":' + code);
  if (message !== '') fields.push('"message":' + quoteJson(message));
  return '{' + fields.join(',') + '}';
}

/** The code and message of a JSON `google.rpc.Status`; undefined when the body is not one. */
export function decodeJsonRpcStatus(body: string): { code: number; message: string } | undefined {
  let root: unknown;
  try {
    root = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (!isObject(root)) return undefined;
  const code = typeof root.code === 'number' ? root.code : 0;
  const message = typeof root.message === 'string' ? root.message : '';
  return code === 0 && message === '' ? undefined : { code, message };
}
