/**
 * OTLP protobuf (`ExportTraceServiceRequest`, `ExportTraceServiceResponse`) to and from the span model,
 * plus `google.rpc.Status` with `google.rpc.RetryInfo`, which OTLP uses for errors over gRPC and HTTP.
 *
 * Written by hand over a plain byte reader and writer: the decoder goes straight from the wire into
 * `Span`s and the encoder straight from `Span`s to the wire, with no intermediate message objects.
 * Field numbers are those of opentelemetry-proto (`trace/v1/trace.proto`, `common/v1/common.proto`,
 * `resource/v1/resource.proto`, `collector/trace/v1/trace_service.proto`):
 *
 *   ExportTraceServiceRequest  1 resource_spans
 *   ResourceSpans              1 resource, 2 scope_spans, 3 schema_url
 *   Resource                   1 attributes, 2 dropped_attributes_count, 3 entity_refs
 *   ScopeSpans                 1 scope, 2 spans, 3 schema_url
 *   InstrumentationScope       1 name, 2 version, 3 attributes, 4 dropped_attributes_count
 *   Span                       1 trace_id, 2 span_id, 3 trace_state, 4 parent_span_id, 5 name, 6 kind,
 *                              7 start_time_unix_nano (fixed64), 8 end_time_unix_nano (fixed64),
 *                              9 attributes, 10 dropped_attributes_count, 11 events, 12 dropped_events_count,
 *                              13 links, 14 dropped_links_count, 15 status, 16 flags (fixed32)
 *   Span.Event                 1 time_unix_nano (fixed64), 2 name, 3 attributes, 4 dropped_attributes_count
 *   Span.Link                  1 trace_id, 2 span_id, 3 trace_state, 4 attributes, 5 dropped_attributes_count,
 *                              6 flags (fixed32)
 *   Status                     2 message, 3 code
 *   KeyValue                   1 key, 2 value;  KeyValueList / ArrayValue  1 values
 *   AnyValue (oneof)           1 string, 2 bool, 3 int (int64), 4 double, 5 array, 6 kvlist, 7 bytes
 *   ExportTraceServiceResponse 1 partial_success;  ExportTracePartialSuccess  1 rejected_spans, 2 error_message
 *
 * Decoding follows proto3: unknown fields are skipped, absent fields are defaults, a repeated singular
 * field keeps its last value, and a repeated embedded message (a second `resource`) is merged into the
 * first. What the model has no field for is dropped: `schema_url` of resources and scopes, and the
 * resource's `entity_refs` (development status). Unlike a generic protobuf parser, it rejects what the
 * model cannot hold and says where: ids that are neither empty nor 16/8 bytes, a span kind above 5, a
 * status code above 2, a known field with the wrong wire type. Strings are not checked for valid UTF-8;
 * invalid sequences become U+FFFD.
 *
 * Encoding writes fields in field-number order and leaves out default values, except that the member of
 * an AnyValue is always written (an empty string value is not an empty value). A 64-bit (16 hex) trace id
 * is left-padded with zeros to 16 bytes, as in OTLP/JSON. The Zipkin-only fields of a span are written
 * as the extra attributes `zipkinFieldsToAttributes` returns, after the span's own.
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
  type StatusCode,
} from '../model/span.js';
import { OtlpDecodeError } from './otlp-json.js';
import { groupByResourceAndScope } from './otlp-grouping.js';
import { zipkinFieldsToAttributes } from './zipkin-otlp.js';
import { setOwn } from './json-text.js';
import { NO_EVENT_ATTRIBUTES, utf8Slice } from './zipkin-normalize.js';

// ---- wire types

const VARINT = 0;
const I64 = 1;
const LEN = 2;
const SGROUP = 3;
const EGROUP = 4;
const I32 = 5;

const WIRE_TYPE_NAMES = ['varint', '64-bit', 'length-delimited', 'start group', 'end group', '32-bit', '6', '7'];

/** A tag of field `n` with wire type `t`. */
const tag = (n: number, t: number) => (n << 3) | t;

// ---- reading

/**
 * A cursor over a buffer. Every read checks against `end`, the end of the message being read; errors are
 * OtlpDecodeErrors with an empty path, which the message decoders prefix with the field they read.
 */
class Reader {
  pos = 0;
  /** The high half of the last varint read by `uint64Halves`. */
  hi = 0;
  constructor(readonly buf: Buffer) {}

  /** A varint of up to 32 bits (tags, lengths, enums, uint32; higher bits of a longer varint are dropped). */
  uint32(end: number): number {
    const buf = this.buf;
    let pos = this.pos;
    let b = buf[pos++];
    if (b < 0x80 && pos <= end) {
      this.pos = pos;
      return b;
    }
    let v = b & 0x7f;
    b = buf[pos++];
    v |= (b & 0x7f) << 7;
    if (b >= 0x80) {
      b = buf[pos++];
      v |= (b & 0x7f) << 14;
      if (b >= 0x80) {
        b = buf[pos++];
        v |= (b & 0x7f) << 21;
        if (b >= 0x80) {
          b = buf[pos++];
          v = (v | ((b & 0x0f) << 28)) >>> 0;
          // Bits past 32 (a negative int32 is sign-extended to 10 bytes) are dropped.
          for (let k = 0; b >= 0x80; k++) {
            if (k === 5) throw new OtlpDecodeError('', 'malformed varint (more than 10 bytes)');
            b = buf[pos++];
          }
        }
      }
    }
    // Reading past the buffer yields undefined, which ends the loop above; the position tells.
    if (pos > end) throw truncated();
    this.pos = pos;
    return v;
  }

  /** A 64-bit varint as two's complement halves; returns the low half, the high half is in `hi`. */
  uint64Halves(end: number): number {
    const buf = this.buf;
    let pos = this.pos;
    let lo = 0;
    let hi = 0;
    let b = 0;
    let shift = 0;
    for (; shift < 28; shift += 7) {
      b = buf[pos++];
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) break;
    }
    if (b >= 0x80) {
      b = buf[pos++];
      lo |= (b & 0x7f) << 28;
      hi = (b & 0x7f) >> 4;
      for (shift = 3; b >= 0x80; shift += 7) {
        if (shift > 31) throw new OtlpDecodeError('', 'malformed varint (more than 10 bytes)');
        b = buf[pos++];
        hi |= (b & 0x7f) << shift;
      }
    }
    if (pos > end || b === undefined) throw truncated();
    this.pos = pos;
    this.hi = hi >>> 0;
    return lo >>> 0;
  }

  int64(end: number): bigint {
    const lo = this.uint64Halves(end);
    const hi = this.hi;
    if (hi === 0) return BigInt(lo);
    if (hi === 0xffffffff && lo >= 0x80000000) return BigInt(lo - 0x100000000);
    return BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
  }

  bool(end: number): boolean {
    const lo = this.uint64Halves(end);
    return lo !== 0 || this.hi !== 0;
  }

  fixed64(end: number): bigint {
    const pos = this.pos;
    if (pos + 8 > end) throw truncated();
    this.pos = pos + 8;
    const buf = this.buf;
    const lo = buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16) | (buf[pos + 3] << 24);
    const hi = buf[pos + 4] | (buf[pos + 5] << 8) | (buf[pos + 6] << 16) | (buf[pos + 7] << 24);
    if (hi === 0) return BigInt(lo >>> 0);
    // Nanosecond times: hi < 2^21 until the year 2255, so hi * 2^32 + lo is exact as a double.
    if (hi >>> 0 < 0x200000) return BigInt((hi >>> 0) * 0x100000000 + (lo >>> 0));
    return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  }

  fixed32(end: number): number {
    const pos = this.pos;
    if (pos + 4 > end) throw truncated();
    this.pos = pos + 4;
    const buf = this.buf;
    return (buf[pos] | (buf[pos + 1] << 8) | (buf[pos + 2] << 16) | (buf[pos + 3] << 24)) >>> 0;
  }

  double(end: number): number {
    const pos = this.pos;
    if (pos + 8 > end) throw truncated();
    this.pos = pos + 8;
    return this.buf.readDoubleLE(pos);
  }

  /** The length of a length-delimited field; returns the end of its content. */
  length(end: number): number {
    const n = this.uint32(end);
    const stop = this.pos + n;
    if (stop > end) throw truncated(n, end - this.pos);
    return stop;
  }

  string(end: number): string {
    const stop = this.length(end);
    const start = this.pos;
    this.pos = stop;
    return utf8(this.buf, start, stop);
  }

  /** A string that is likely to repeat (attribute keys, names): see {@link recurringString}. */
  recurringString(end: number): string {
    const stop = this.length(end);
    const start = this.pos;
    this.pos = stop;
    return recurringString(this.buf, start, stop);
  }

  bytes(end: number): Uint8Array {
    const stop = this.length(end);
    const start = this.pos;
    this.pos = stop;
    // A copy: the request buffer must not stay referenced by spans that outlive the request.
    return new Uint8Array(this.buf.subarray(start, stop));
  }

  /** An id of exactly `size` bytes (or none), as lower-case hex. */
  id(end: number, size: number): string {
    const stop = this.length(end);
    const start = this.pos;
    this.pos = stop;
    const n = stop - start;
    if (n === size) return hex(this.buf, start, stop);
    if (n === 0) return '';
    throw new OtlpDecodeError('', `expected ${size} bytes, got ${n}`);
  }

  /** Skips a field the decoder does not read. `names` lists the message's known fields by number. */
  skip(t: number, end: number, names: readonly string[]): void {
    const field = t >>> 3;
    const wire = t & 7;
    if (field === 0) throw new OtlpDecodeError('', 'invalid field number 0');
    const known = names[field];
    // The caller's error path names the field.
    if (known !== undefined && known !== '') throw new OtlpDecodeError('', `wrong wire type ${wire} (${WIRE_TYPE_NAMES[wire]})`);
    this.skipValue(field, wire, end);
  }

  private skipValue(field: number, wire: number, end: number): void {
    switch (wire) {
      case VARINT:
        this.uint64Halves(end);
        return;
      case I64:
        if (this.pos + 8 > end) throw truncated();
        this.pos += 8;
        return;
      case LEN:
        this.pos = this.length(end);
        return;
      case SGROUP:
        // proto2 groups do not occur in OTLP, but a future or foreign field may hold one: skip it whole.
        for (;;) {
          if (this.pos >= end) throw truncated();
          const inner = this.uint32(end);
          if ((inner & 7) === EGROUP) {
            if (inner >>> 3 !== field) throw new OtlpDecodeError('', `unmatched end of group ${inner >>> 3}`);
            return;
          }
          this.skipValue(inner >>> 3, inner & 7, end);
        }
      case I32:
        if (this.pos + 4 > end) throw truncated();
        this.pos += 4;
        return;
      default:
        throw new OtlpDecodeError('', `invalid wire type ${wire}`);
    }
  }
}

function truncated(want?: number, have?: number): OtlpDecodeError {
  return new OtlpDecodeError('', want === undefined ? 'truncated message' : `truncated message (a field of ${want} bytes, ${have} left)`);
}

/**
 * Very short ASCII strings are built in JS, cheaper than crossing into C++; past ~8 chars the
 * one-char-at-a-time concatenation costs more than the call (measured: 16 chars 180 ns against 65 ns).
 */
function utf8(buf: Buffer, start: number, stop: number): string {
  const n = stop - start;
  if (n === 0) return '';
  if (n <= 8) {
    let s = '';
    for (let k = start; k < stop; k++) {
      const c = buf[k];
      if (c >= 0x80) return utf8Slice(buf, start, stop);
      s += String.fromCharCode(c);
    }
    return s;
  }
  return utf8Slice(buf, start, stop);
}

/**
 * A cache of short ASCII strings by their bytes. Attribute keys, span names and many values repeat
 * across spans and requests; returning the string made the first time saves creating it again, and V8
 * then finds an already-internalized key when it stores the attribute. A slot holds one string and is
 * replaced on a collision; a miss costs a hash, no allocation. Only ASCII strings are cached: their
 * UTF-16 units are their bytes, so a slot is checked against the bytes without a copy of them.
 */
const RECURRING_SLOTS = 4096;
const RECURRING_MAX_BYTES = 64;
const recurring: string[] = new Array<string>(RECURRING_SLOTS).fill('');

function recurringString(buf: Buffer, start: number, stop: number): string {
  const n = stop - start;
  if (n === 0 || n > RECURRING_MAX_BYTES) return utf8(buf, start, stop);
  let h = n;
  for (let k = start; k < stop; k++) h = Math.imul(h ^ buf[k], 0x01000193);
  const slot = (h ^ (h >>> 15)) & (RECURRING_SLOTS - 1);
  const cached = recurring[slot];
  if (cached.length === n) {
    let k = 0;
    while (k < n && cached.charCodeAt(k) === buf[start + k]) k++;
    if (k === n) return cached;
  }
  const s = utf8(buf, start, stop);
  // Equal lengths mean all ASCII (a multi-byte character is fewer UTF-16 units than bytes; a byte that
  // is not UTF-8 becomes U+FFFD, which never equals a byte when compared).
  if (s.length === n) recurring[slot] = s;
  return s;
}

// Char codes of a byte's two lower-hex digits.
const HEX_HIGH: readonly number[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0').charCodeAt(0));
const HEX_LOW: readonly number[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0').charCodeAt(1));

/**
 * Lower-case hex of the bytes. Ids (8 and 16 bytes) are made by one String.fromCharCode, one flat string
 * and no temporaries: measured 29 ns for 8 bytes against 64 by concatenating pairs (seven intermediate
 * strings), and 71-78 ns for 16 against 90-97 by Buffer#toString.
 */
function hex(buf: Buffer, start: number, stop: number): string {
  const n = stop - start;
  if (n === 8) return hex8(buf, start);
  if (n === 16) return hex16(buf, start);
  return buf.toString('hex', start, stop);
}

function hex8(buf: Buffer, p: number): string {
  const b0 = buf[p], b1 = buf[p + 1], b2 = buf[p + 2], b3 = buf[p + 3];
  const b4 = buf[p + 4], b5 = buf[p + 5], b6 = buf[p + 6], b7 = buf[p + 7];
  const H = HEX_HIGH;
  const L = HEX_LOW;
  return String.fromCharCode(H[b0], L[b0], H[b1], L[b1], H[b2], L[b2], H[b3], L[b3], H[b4], L[b4], H[b5], L[b5], H[b6], L[b6], H[b7], L[b7]);
}

function hex16(buf: Buffer, p: number): string {
  const b0 = buf[p], b1 = buf[p + 1], b2 = buf[p + 2], b3 = buf[p + 3];
  const b4 = buf[p + 4], b5 = buf[p + 5], b6 = buf[p + 6], b7 = buf[p + 7];
  const b8 = buf[p + 8], b9 = buf[p + 9], b10 = buf[p + 10], b11 = buf[p + 11];
  const b12 = buf[p + 12], b13 = buf[p + 13], b14 = buf[p + 14], b15 = buf[p + 15];
  const H = HEX_HIGH;
  const L = HEX_LOW;
  return String.fromCharCode(
    H[b0], L[b0], H[b1], L[b1], H[b2], L[b2], H[b3], L[b3], H[b4], L[b4], H[b5], L[b5], H[b6], L[b6], H[b7], L[b7],
    H[b8], L[b8], H[b9], L[b9], H[b10], L[b10], H[b11], L[b11], H[b12], L[b12], H[b13], L[b13], H[b14], L[b14], H[b15], L[b15],
  );
}

/** Re-throws a decode error with its path prefixed by the field it was found in. */
function within(e: unknown, names: readonly string[], field: number, index: number): unknown {
  if (!(e instanceof OtlpDecodeError)) return e;
  const name = names[field];
  let prefix = name === undefined || name === '' ? `.<field ${field}>` : `.${name}`;
  if (index >= 0) prefix += `[${index}]`;
  return new OtlpDecodeError(prefix + e.path, e.problem);
}

// Known fields of each message, by number, for error paths and wire-type checks.
const REQUEST_FIELDS = ['', 'resourceSpans'];
const RESOURCE_SPANS_FIELDS = ['', 'resource', 'scopeSpans', 'schemaUrl'];
const RESOURCE_FIELDS = ['', 'attributes', 'droppedAttributesCount', 'entityRefs'];
const SCOPE_SPANS_FIELDS = ['', 'scope', 'spans', 'schemaUrl'];
const SCOPE_FIELDS = ['', 'name', 'version', 'attributes', 'droppedAttributesCount'];
const SPAN_FIELDS = ['', 'traceId', 'spanId', 'traceState', 'parentSpanId', 'name', 'kind', 'startTimeUnixNano', 'endTimeUnixNano', 'attributes', 'droppedAttributesCount', 'events', 'droppedEventsCount', 'links', 'droppedLinksCount', 'status', 'flags'];
const EVENT_FIELDS = ['', 'timeUnixNano', 'name', 'attributes', 'droppedAttributesCount'];
const LINK_FIELDS = ['', 'traceId', 'spanId', 'traceState', 'attributes', 'droppedAttributesCount', 'flags'];
const STATUS_FIELDS = ['', '', 'message', 'code'];
const KEY_VALUE_FIELDS = ['', 'key', 'value'];
const ANY_VALUE_FIELDS = ['', 'stringValue', 'boolValue', 'intValue', 'doubleValue', 'arrayValue', 'kvlistValue', 'bytesValue'];
const VALUES_FIELDS = ['', 'values'];
const RESPONSE_FIELDS = ['', 'partialSuccess'];
const PARTIAL_SUCCESS_FIELDS = ['', 'rejectedSpans', 'errorMessage'];

function asBuffer(body: Uint8Array): Buffer {
  return Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
}

/**
 * Decodes one `ExportTraceServiceRequest`. Spans of one ResourceSpans share one Resource object, and
 * spans of one ScopeSpans one scope object (EMPTY_SCOPE when the scope is empty). Throws an
 * OtlpDecodeError whose message names the field, e.g.
 * `resourceSpans[0].scopeSpans[0].spans[2].traceId: expected 16 bytes, got 5`.
 */
export function decodeOtlpProtoRequest(body: Uint8Array): Span[] {
  const r = new Reader(asBuffer(body));
  const end = r.buf.length;
  const out: Span[] = [];
  let field = 0;
  let index = -1;
  let n = 0;
  try {
    while (r.pos < end) {
      const t = r.uint32(end);
      field = t >>> 3;
      index = -1;
      if (t === tag(1, LEN)) {
        index = n++;
        decodeResourceSpans(r, r.length(end), out);
      } else r.skip(t, end, REQUEST_FIELDS);
    }
  } catch (e) {
    throw tooDeep(within(e, REQUEST_FIELDS, field, index));
  }
  return out;
}

/** AnyValues nest; a hostile request can nest them deeper than the stack. */
function tooDeep(e: unknown): unknown {
  return e instanceof RangeError ? new OtlpDecodeError('', 'values nested too deeply') : e;
}

function decodeResourceSpans(r: Reader, end: number, out: Span[]): void {
  const resource = newResource();
  let field = 0;
  let index = -1;
  let n = 0;
  try {
    while (r.pos < end) {
      const t = r.uint32(end);
      field = t >>> 3;
      index = -1;
      switch (t) {
        case tag(1, LEN):
          decodeResource(r, r.length(end), resource);
          break;
        case tag(2, LEN):
          index = n++;
          decodeScopeSpans(r, r.length(end), resource, out);
          break;
        case tag(3, LEN):
          r.pos = r.length(end); // schema_url: no home in the model
          break;
        default:
          r.skip(t, end, RESOURCE_SPANS_FIELDS);
      }
    }
  } catch (e) {
    throw within(e, RESOURCE_SPANS_FIELDS, field, index);
  }
}

function decodeResource(r: Reader, end: number, resource: Resource): void {
  let field = 0;
  let index = -1;
  let n = 0;
  try {
    while (r.pos < end) {
      const t = r.uint32(end);
      field = t >>> 3;
      index = -1;
      switch (t) {
        case tag(1, LEN):
          index = n++;
          decodeKeyValue(r, r.length(end), resource.attributes);
          break;
        case tag(2, VARINT):
          resource.droppedAttributesCount = r.uint32(end);
          break;
        case tag(3, LEN):
          r.pos = r.length(end); // entity_refs: development status, no home in the model
          break;
        default:
          r.skip(t, end, RESOURCE_FIELDS);
      }
    }
  } catch (e) {
    throw within(e, RESOURCE_FIELDS, field, index);
  }
}

function decodeScopeSpans(r: Reader, end: number, resource: Resource, out: Span[]): void {
  const scope: InstrumentationScope = { name: '', version: '', attributes: {}, droppedAttributesCount: 0 };
  const first = out.length;
  let field = 0;
  let index = -1;
  let n = 0;
  try {
    while (r.pos < end) {
      const t = r.uint32(end);
      field = t >>> 3;
      index = -1;
      switch (t) {
        case tag(1, LEN):
          decodeScope(r, r.length(end), scope);
          break;
        case tag(2, LEN):
          index = n++;
          out.push(decodeSpan(r, r.length(end), resource, scope));
          break;
        case tag(3, LEN):
          r.pos = r.length(end); // schema_url
          break;
        default:
          r.skip(t, end, SCOPE_SPANS_FIELDS);
      }
    }
  } catch (e) {
    throw within(e, SCOPE_SPANS_FIELDS, field, index);
  }
  if (scope.name === '' && scope.version === '' && scope.droppedAttributesCount === 0 && !hasKeys(scope.attributes)) {
    for (let k = first; k < out.length; k++) out[k].scope = EMPTY_SCOPE;
  }
}

function decodeScope(r: Reader, end: number, scope: InstrumentationScope): void {
  let field = 0;
  let index = -1;
  let n = 0;
  try {
    while (r.pos < end) {
      const t = r.uint32(end);
      field = t >>> 3;
      index = -1;
      switch (t) {
        case tag(1, LEN):
          scope.name = r.string(end);
          break;
        case tag(2, LEN):
          scope.version = r.string(end);
          break;
        case tag(3, LEN):
          index = n++;
          decodeKeyValue(r, r.length(end), scope.attributes);
          break;
        case tag(4, VARINT):
          scope.droppedAttributesCount = r.uint32(end);
          break;
        default:
          r.skip(t, end, SCOPE_FIELDS);
      }
    }
  } catch (e) {
    throw within(e, SCOPE_FIELDS, field, index);
  }
}

function decodeSpan(r: Reader, end: number, resource: Resource, scope: InstrumentationScope): Span {
  const span = new Span(resource);
  span.scope = scope;
  let field = 0;
  let index = -1;
  let attributes = 0;
  let events = 0;
  let links = 0;
  try {
    while (r.pos < end) {
      const t = r.uint32(end);
      field = t >>> 3;
      index = -1;
      switch (t) {
        case tag(1, LEN):
          span.traceId = r.id(end, 16);
          break;
        case tag(2, LEN):
          span.spanId = r.id(end, 8);
          break;
        case tag(3, LEN):
          span.traceState = r.string(end);
          break;
        case tag(4, LEN):
          span.parentSpanId = r.id(end, 8);
          break;
        case tag(5, LEN):
          span.name = r.recurringString(end);
          break;
        case tag(6, VARINT):
          span.kind = enumValue(r.uint32(end), 5) as SpanKind;
          break;
        case tag(7, I64):
          span.startTimeUnixNano = r.fixed64(end);
          break;
        case tag(8, I64):
          span.endTimeUnixNano = r.fixed64(end);
          break;
        case tag(9, LEN):
          index = attributes++;
          decodeKeyValue(r, r.length(end), span.attributes);
          break;
        case tag(10, VARINT):
          span.droppedAttributesCount = r.uint32(end);
          break;
        case tag(11, LEN):
          index = events++;
          span.events.push(decodeEvent(r, r.length(end)));
          break;
        case tag(12, VARINT):
          span.droppedEventsCount = r.uint32(end);
          break;
        case tag(13, LEN):
          index = links++;
          span.links.push(decodeLink(r, r.length(end)));
          break;
        case tag(14, VARINT):
          span.droppedLinksCount = r.uint32(end);
          break;
        case tag(15, LEN):
          decodeStatus(r, r.length(end), span);
          break;
        case tag(16, I32):
          span.flags = r.fixed32(end);
          break;
        default:
          r.skip(t, end, SPAN_FIELDS);
      }
    }
  } catch (e) {
    throw within(e, SPAN_FIELDS, field, index);
  }
  return span;
}

function enumValue(v: number, max: number): number {
  if (v > max) throw new OtlpDecodeError('', `expected an integer from 0 to ${max}, got ${v}`);
  return v;
}

/** Merges into the span's status, as protobuf merges a repeated embedded message. */
function decodeStatus(r: Reader, end: number, span: Span): void {
  let message = span.status.message;
  let code: number = span.status.code;
  let field = 0;
  try {
    while (r.pos < end) {
      const t = r.uint32(end);
      field = t >>> 3;
      switch (t) {
        case tag(2, LEN):
          message = r.string(end);
          break;
        case tag(3, VARINT):
          code = enumValue(r.uint32(end), 2);
          break;
        default:
          r.skip(t, end, STATUS_FIELDS);
      }
    }
  } catch (e) {
    throw within(e, STATUS_FIELDS, field, -1);
  }
  span.status = code === 0 && message === '' ? UNSET_STATUS : { code: code as StatusCode, message };
}

/**
 * An event without attributes (most: log-like events, and every Zipkin annotation sent as OTLP) gets the
 * shared frozen empty map, as the Zipkin decoders give theirs: one object fewer per event kept alive
 * until export. A processor replaces it rather than writing into it (ARCHITECTURE.md).
 */
function decodeEvent(r: Reader, end: number): SpanEvent {
  const event: SpanEvent = { timeUnixNano: 0n, name: '', attributes: NO_EVENT_ATTRIBUTES, droppedAttributesCount: 0 };
  let field = 0;
  let index = -1;
  let n = 0;
  try {
    while (r.pos < end) {
      const t = r.uint32(end);
      field = t >>> 3;
      index = -1;
      switch (t) {
        case tag(1, I64):
          event.timeUnixNano = r.fixed64(end);
          break;
        case tag(2, LEN):
          event.name = r.recurringString(end);
          break;
        case tag(3, LEN):
          index = n++;
          if (n === 1) event.attributes = {};
          decodeKeyValue(r, r.length(end), event.attributes);
          break;
        case tag(4, VARINT):
          event.droppedAttributesCount = r.uint32(end);
          break;
        default:
          r.skip(t, end, EVENT_FIELDS);
      }
    }
  } catch (e) {
    throw within(e, EVENT_FIELDS, field, index);
  }
  return event;
}

function decodeLink(r: Reader, end: number): SpanLink {
  const link: SpanLink = { traceId: '', spanId: '', traceState: '', attributes: {}, droppedAttributesCount: 0, flags: 0 };
  let field = 0;
  let index = -1;
  let n = 0;
  try {
    while (r.pos < end) {
      const t = r.uint32(end);
      field = t >>> 3;
      index = -1;
      switch (t) {
        case tag(1, LEN):
          link.traceId = r.id(end, 16);
          break;
        case tag(2, LEN):
          link.spanId = r.id(end, 8);
          break;
        case tag(3, LEN):
          link.traceState = r.string(end);
          break;
        case tag(4, LEN):
          index = n++;
          decodeKeyValue(r, r.length(end), link.attributes);
          break;
        case tag(5, VARINT):
          link.droppedAttributesCount = r.uint32(end);
          break;
        case tag(6, I32):
          link.flags = r.fixed32(end);
          break;
        default:
          r.skip(t, end, LINK_FIELDS);
      }
    }
  } catch (e) {
    throw within(e, LINK_FIELDS, field, index);
  }
  return link;
}

/** One KeyValue into `into`; a repeated key keeps its last value (as the JSON decoder does). */
function decodeKeyValue(r: Reader, end: number, into: Attributes | KeyValueList): void {
  let key = '';
  let value: AnyValue = null;
  let field = 0;
  try {
    while (r.pos < end) {
      const t = r.uint32(end);
      field = t >>> 3;
      if (t === tag(1, LEN)) key = r.recurringString(end);
      else if (t === tag(2, LEN)) value = decodeAnyValue(r, r.length(end));
      else r.skip(t, end, KEY_VALUE_FIELDS);
    }
  } catch (e) {
    throw within(e, KEY_VALUE_FIELDS, field, -1);
  }
  if (key === '__proto__') setOwn(into, key, value);
  else into[key] = value;
}

/** Nesting of the AnyValue being decoded (decoding is synchronous, so one counter serves). */
let valueDepth = 0;

/** An AnyValue; none of its members set is the empty value (null). The last member set wins. */
function decodeAnyValue(r: Reader, end: number): AnyValue {
  let value: AnyValue = null;
  let field = 0;
  if (valueDepth >= MAX_VALUE_DEPTH) throw new OtlpDecodeError('', `values nested deeper than ${MAX_VALUE_DEPTH} levels`);
  valueDepth++;
  try {
    while (r.pos < end) {
      const t = r.uint32(end);
      field = t >>> 3;
      switch (t) {
        case tag(1, LEN):
          value = r.recurringString(end);
          break;
        case tag(2, VARINT):
          value = r.bool(end);
          break;
        case tag(3, VARINT):
          value = r.int64(end);
          break;
        case tag(4, I64):
          value = r.double(end);
          break;
        case tag(5, LEN):
          value = decodeArrayValue(r, r.length(end));
          break;
        case tag(6, LEN):
          value = decodeKeyValueList(r, r.length(end));
          break;
        case tag(7, LEN):
          value = r.bytes(end);
          break;
        default:
          r.skip(t, end, ANY_VALUE_FIELDS);
      }
    }
  } catch (e) {
    throw within(e, ANY_VALUE_FIELDS, field, -1);
  } finally {
    valueDepth--;
  }
  return value;
}

/** ArrayValue { repeated AnyValue values = 1 } */
function decodeArrayValue(r: Reader, end: number): AnyValue[] {
  const values: AnyValue[] = [];
  let field = 0;
  try {
    while (r.pos < end) {
      const t = r.uint32(end);
      field = t >>> 3;
      if (t === tag(1, LEN)) values.push(decodeAnyValue(r, r.length(end)));
      else r.skip(t, end, VALUES_FIELDS);
    }
  } catch (e) {
    throw within(e, VALUES_FIELDS, field, field === 1 ? values.length : -1);
  }
  return values;
}

/** KeyValueList { repeated KeyValue values = 1 } */
function decodeKeyValueList(r: Reader, end: number): KeyValueList {
  const map: KeyValueList = {};
  let field = 0;
  let index = -1;
  let n = 0;
  try {
    while (r.pos < end) {
      const t = r.uint32(end);
      field = t >>> 3;
      index = -1;
      if (t === tag(1, LEN)) {
        index = n++;
        decodeKeyValue(r, r.length(end), map);
      } else r.skip(t, end, VALUES_FIELDS);
    }
  } catch (e) {
    throw within(e, VALUES_FIELDS, field, index);
  }
  return map;
}

// ---- writing

/**
 * A growing buffer. Length prefixes are reserved before a message is written and fixed afterwards; when
 * the reserved size was wrong, the content is moved (rare: the guesses fit typical sizes).
 */
class Writer {
  buf: Buffer;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** A varint of a non-negative number below 2^32 (tags, lengths, uint32, enums). */
  uint32(v: number): void {
    this.ensure(5);
    const buf = this.buf;
    let pos = this.pos;
    while (v > 0x7f) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[pos++] = v;
    this.pos = pos;
  }

  /** A varint from two's complement halves (int64). */
  uint64Halves(lo: number, hi: number): void {
    this.ensure(10);
    const buf = this.buf;
    let pos = this.pos;
    while (hi !== 0) {
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    while (lo > 0x7f) {
      buf[pos++] = (lo & 0x7f) | 0x80;
      lo >>>= 7;
    }
    buf[pos++] = lo;
    this.pos = pos;
  }

  int64(v: bigint): void {
    if (v >= 0n && v <= 0xffffffffn) {
      this.uint32(Number(v));
      return;
    }
    const u = BigInt.asUintN(64, v);
    this.uint64Halves(Number(u & 0xffffffffn), Number(u >> 32n));
  }

  fixed32(v: number): void {
    this.ensure(4);
    const buf = this.buf;
    const pos = this.pos;
    buf[pos] = v;
    buf[pos + 1] = v >>> 8;
    buf[pos + 2] = v >>> 16;
    buf[pos + 3] = v >>> 24;
    this.pos = pos + 4;
  }

  fixed64(v: bigint): void {
    this.ensure(8);
    if (v <= 0x1fffffffffffffn) {
      // Exact as a double: split without bigint arithmetic.
      const n = Number(v);
      const lo = n % 0x100000000;
      this.fixed32(lo);
      this.fixed32((n - lo) / 0x100000000);
      return;
    }
    this.pos = this.buf.writeBigUInt64LE(BigInt.asUintN(64, v), this.pos);
  }

  double(v: number): void {
    this.ensure(8);
    this.pos = this.buf.writeDoubleLE(v, this.pos);
  }

  /** A string's bytes with their length prefix. */
  string(s: string): void {
    const n = s.length;
    if (n < 43) {
      // At most 126 UTF-8 bytes: the length fits one byte. ASCII is copied in JS.
      this.ensure(1 + 3 * n);
      const buf = this.buf;
      const start = this.pos + 1;
      let pos = start;
      for (let k = 0; k < n; k++) {
        const c = s.charCodeAt(k);
        if (c >= 0x80) {
          pos = start + buf.write(s, start, 'utf8');
          break;
        }
        buf[pos++] = c;
      }
      buf[start - 1] = pos - start;
      this.pos = pos;
      return;
    }
    const bytes = Buffer.byteLength(s, 'utf8');
    this.uint32(bytes);
    this.ensure(bytes);
    this.buf.write(s, this.pos, 'utf8');
    this.pos += bytes;
  }

  bytes(b: Uint8Array): void {
    this.uint32(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  /** Hex digits as bytes, with their length prefix; a 16-hex-digit trace id is padded to 16 bytes. */
  hexId(id: string, size: number): void {
    this.ensure(1 + size);
    const buf = this.buf;
    let pos = this.pos;
    buf[pos++] = size;
    for (let k = size - id.length / 2; k > 0; k--) buf[pos++] = 0;
    for (let k = 0; k < id.length; k += 2) buf[pos++] = (hexDigit(id.charCodeAt(k)) << 4) | hexDigit(id.charCodeAt(k + 1));
    this.pos = pos;
  }

  /** Reserves `guess` bytes for the length of a message that follows; returns where it starts. */
  begin(guess: number): number {
    this.ensure(guess);
    const at = this.pos;
    this.pos += guess;
    return at;
  }

  /** Writes the length of the message begun at `at`, moving it when the guess was not its size. */
  end(at: number, guess: number): void {
    const length = this.pos - at - guess;
    const size = varintSize(length);
    if (size !== guess) {
      this.ensure(size - guess);
      this.buf.copyWithin(at + size, at + guess, this.pos);
      this.pos += size - guess;
    }
    const buf = this.buf;
    let v = length;
    let pos = at;
    while (v > 0x7f) {
      buf[pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    buf[pos] = v;
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

function varintSize(v: number): number {
  return v < 0x80 ? 1 : v < 0x4000 ? 2 : v < 0x200000 ? 3 : v < 0x10000000 ? 4 : 5;
}

function hexDigit(c: number): number {
  // '0'-'9' → 0-9, 'a'-'f' → 10-15 (ids in the model are lower-case hex).
  return c <= 0x39 ? c - 0x30 : c - 0x57;
}

/**
 * One `ExportTraceServiceRequest`: spans grouped by resource object, then by scope object, each group in
 * the order first seen (as the OTLP/JSON encoder does).
 */
export function encodeOtlpProtoRequest(spans: readonly Span[]): Buffer {
  const w = new Writer(Math.max(256, spans.length * 512));
  if (spans.length === 0) return w.finish();
  for (const [resource, scopes] of groupByResourceAndScope(spans)) {
    w.uint32(tag(1, LEN));
    const rs = w.begin(3);
    w.uint32(tag(1, LEN));
    const res = w.begin(2);
    writeAttributes(w, tag(1, LEN), resource.attributes);
    if (resource.droppedAttributesCount !== 0) {
      w.uint32(tag(2, VARINT));
      w.uint32(resource.droppedAttributesCount);
    }
    w.end(res, 2);
    for (const [scope, group] of scopes) {
      w.uint32(tag(2, LEN));
      const ss = w.begin(3);
      writeScope(w, scope);
      for (let k = 0; k < group.length; k++) {
        w.uint32(tag(2, LEN));
        const sp = w.begin(2);
        writeSpan(w, group[k]);
        w.end(sp, 2);
      }
      w.end(ss, 3);
    }
    w.end(rs, 3);
  }
  return w.finish();
}

function writeScope(w: Writer, scope: InstrumentationScope): void {
  w.uint32(tag(1, LEN));
  const at = w.begin(1);
  if (scope.name !== '') {
    w.uint32(tag(1, LEN));
    w.string(scope.name);
  }
  if (scope.version !== '') {
    w.uint32(tag(2, LEN));
    w.string(scope.version);
  }
  writeAttributes(w, tag(3, LEN), scope.attributes);
  if (scope.droppedAttributesCount !== 0) {
    w.uint32(tag(4, VARINT));
    w.uint32(scope.droppedAttributesCount);
  }
  w.end(at, 1);
}

function writeSpan(w: Writer, s: Span): void {
  if (s.traceId !== '') {
    w.uint32(tag(1, LEN));
    w.hexId(s.traceId, 16);
  }
  if (s.spanId !== '') {
    w.uint32(tag(2, LEN));
    w.hexId(s.spanId, 8);
  }
  if (s.traceState !== '') {
    w.uint32(tag(3, LEN));
    w.string(s.traceState);
  }
  if (s.parentSpanId !== '') {
    w.uint32(tag(4, LEN));
    w.hexId(s.parentSpanId, 8);
  }
  if (s.name !== '') {
    w.uint32(tag(5, LEN));
    w.string(s.name);
  }
  if (s.kind !== 0) {
    w.uint32(tag(6, VARINT));
    w.uint32(s.kind);
  }
  if (s.startTimeUnixNano !== 0n) {
    w.uint32(tag(7, I64));
    w.fixed64(s.startTimeUnixNano);
  }
  const end = otlpEndTime(s);
  if (end !== 0n) {
    w.uint32(tag(8, I64));
    w.fixed64(end);
  }
  writeAttributes(w, tag(9, LEN), s.attributes);
  const zipkin = zipkinFieldsToAttributes(s);
  if (zipkin !== undefined) writeAttributes(w, tag(9, LEN), zipkin);
  if (s.droppedAttributesCount !== 0) {
    w.uint32(tag(10, VARINT));
    w.uint32(s.droppedAttributesCount);
  }
  const events = s.events;
  for (let k = 0; k < events.length; k++) {
    const e = events[k];
    w.uint32(tag(11, LEN));
    const at = w.begin(1);
    if (e.timeUnixNano !== 0n) {
      w.uint32(tag(1, I64));
      w.fixed64(e.timeUnixNano);
    }
    if (e.name !== '') {
      w.uint32(tag(2, LEN));
      w.string(e.name);
    }
    writeAttributes(w, tag(3, LEN), e.attributes);
    if (e.droppedAttributesCount !== 0) {
      w.uint32(tag(4, VARINT));
      w.uint32(e.droppedAttributesCount);
    }
    w.end(at, 1);
  }
  if (s.droppedEventsCount !== 0) {
    w.uint32(tag(12, VARINT));
    w.uint32(s.droppedEventsCount);
  }
  const links = s.links;
  for (let k = 0; k < links.length; k++) {
    const l = links[k];
    w.uint32(tag(13, LEN));
    const at = w.begin(1);
    if (l.traceId !== '') {
      w.uint32(tag(1, LEN));
      w.hexId(l.traceId, 16);
    }
    if (l.spanId !== '') {
      w.uint32(tag(2, LEN));
      w.hexId(l.spanId, 8);
    }
    if (l.traceState !== '') {
      w.uint32(tag(3, LEN));
      w.string(l.traceState);
    }
    writeAttributes(w, tag(4, LEN), l.attributes);
    if (l.droppedAttributesCount !== 0) {
      w.uint32(tag(5, VARINT));
      w.uint32(l.droppedAttributesCount);
    }
    if (l.flags !== 0) {
      w.uint32(tag(6, I32));
      w.fixed32(l.flags);
    }
    w.end(at, 1);
  }
  if (s.droppedLinksCount !== 0) {
    w.uint32(tag(14, VARINT));
    w.uint32(s.droppedLinksCount);
  }
  const status = s.status;
  if (status.code !== 0 || status.message !== '') {
    w.uint32(tag(15, LEN));
    const at = w.begin(1);
    if (status.message !== '') {
      w.uint32(tag(2, LEN));
      w.string(status.message);
    }
    if (status.code !== 0) {
      w.uint32(tag(3, VARINT));
      w.uint32(status.code);
    }
    w.end(at, 1);
  }
  if (s.flags !== 0) {
    w.uint32(tag(16, I32));
    w.fixed32(s.flags);
  }
}

/** Each attribute as a KeyValue field with tag `t`. */
function writeAttributes(w: Writer, t: number, a: Attributes | KeyValueList): void {
  for (const key in a) writeKeyValue(w, t, key, a[key]);
}

function writeKeyValue(w: Writer, t: number, key: string, value: AnyValue): void {
  w.uint32(t);
  const at = w.begin(1);
  if (key !== '') {
    w.uint32(tag(1, LEN));
    w.string(key);
  }
  w.uint32(tag(2, LEN));
  writeAnyValue(w, value);
  w.end(at, 1);
}

/** An AnyValue message with its length; the oneof member is always written, also when it is a default. */
function writeAnyValue(w: Writer, v: AnyValue): void {
  switch (typeof v) {
    case 'string': {
      if (v.length < 43) {
        // The AnyValue is at most 1 + 1 + 126 bytes: its length fits one byte after the string is written.
        const at = w.begin(1);
        w.uint32(tag(1, LEN));
        w.string(v);
        w.end(at, 1);
        return;
      }
      const at = w.begin(2);
      w.uint32(tag(1, LEN));
      w.string(v);
      w.end(at, 2);
      return;
    }
    case 'boolean':
      w.ensure(3);
      w.buf[w.pos++] = 2;
      w.buf[w.pos++] = tag(2, VARINT);
      w.buf[w.pos++] = v ? 1 : 0;
      return;
    case 'bigint': {
      const at = w.begin(1);
      w.uint32(tag(3, VARINT));
      w.int64(v);
      w.end(at, 1);
      return;
    }
    case 'number':
      w.uint32(9);
      w.uint32(tag(4, I64));
      w.double(v);
      return;
    default: {
      if (v === null) {
        w.uint32(0);
        return;
      }
      if (v instanceof Uint8Array) {
        const at = w.begin(1);
        w.uint32(tag(7, LEN));
        w.bytes(v);
        w.end(at, 1);
        return;
      }
      const at = w.begin(1);
      if (Array.isArray(v)) {
        w.uint32(tag(5, LEN));
        const inner = w.begin(1);
        for (let k = 0; k < v.length; k++) {
          w.uint32(tag(1, LEN));
          writeAnyValue(w, v[k]);
        }
        w.end(inner, 1);
      } else {
        w.uint32(tag(6, LEN));
        const inner = w.begin(1);
        writeAttributes(w, tag(1, LEN), v);
        w.end(inner, 1);
      }
      w.end(at, 1);
    }
  }
}

// ---- ExportTraceServiceResponse

/** `partial_success` of an ExportTraceServiceResponse; absent (undefined) means full success. */
export interface PartialSuccess {
  rejectedSpans: number;
  errorMessage: string;
}

/**
 * An `ExportTraceServiceResponse`. A partial success with 0 rejected spans and no message is equivalent
 * to none (OTLP) and is not written.
 */
export function encodeOtlpProtoResponse(partial?: PartialSuccess): Buffer {
  const w = new Writer(64);
  if (partial === undefined || (partial.rejectedSpans === 0 && partial.errorMessage === '')) return w.finish();
  w.uint32(tag(1, LEN));
  const at = w.begin(1);
  if (partial.rejectedSpans !== 0) {
    w.uint32(tag(1, VARINT));
    w.int64(BigInt(partial.rejectedSpans));
  }
  if (partial.errorMessage !== '') {
    w.uint32(tag(2, LEN));
    w.string(partial.errorMessage);
  }
  w.end(at, 1);
  return w.finish();
}

/** Decodes an `ExportTraceServiceResponse`; undefined when it carries no (or an empty) partial success. */
export function decodeOtlpProtoResponse(body: Uint8Array): PartialSuccess | undefined {
  const r = new Reader(asBuffer(body));
  const end = r.buf.length;
  const partial: PartialSuccess = { rejectedSpans: 0, errorMessage: '' };
  let field = 0;
  try {
    while (r.pos < end) {
      const t = r.uint32(end);
      field = t >>> 3;
      if (t !== tag(1, LEN)) {
        r.skip(t, end, RESPONSE_FIELDS);
        continue;
      }
      const stop = r.length(end);
      let inner = 0;
      try {
        while (r.pos < stop) {
          const u = r.uint32(stop);
          inner = u >>> 3;
          if (u === tag(1, VARINT)) partial.rejectedSpans = Number(r.int64(stop));
          else if (u === tag(2, LEN)) partial.errorMessage = r.string(stop);
          else r.skip(u, stop, PARTIAL_SUCCESS_FIELDS);
        }
      } catch (e) {
        throw within(e, PARTIAL_SUCCESS_FIELDS, inner, -1);
      }
    }
  } catch (e) {
    throw within(e, RESPONSE_FIELDS, field, -1);
  }
  return partial.rejectedSpans === 0 && partial.errorMessage === '' ? undefined : partial;
}

// ---- google.rpc.Status, with google.rpc.RetryInfo in its details
//
//   Status     1 code (int32), 2 message, 3 details (repeated google.protobuf.Any)
//   Any        1 type_url, 2 value (bytes)
//   RetryInfo  1 retry_delay (google.protobuf.Duration: 1 seconds (int64), 2 nanos (int32))

export const RETRY_INFO_TYPE_URL = 'type.googleapis.com/google.rpc.RetryInfo';

/** The gRPC method OTLP trace exporters call. */
export const TRACE_SERVICE_EXPORT_PATH = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';

export interface RpcStatus {
  /** A gRPC status code. */
  code: number;
  message: string;
  /** From a RetryInfo detail: how long the server asks the client to wait, in milliseconds. */
  retryDelayMs?: number;
}

/** A `google.rpc.Status`; with `retryDelayMs`, a RetryInfo detail carries it. */
export function encodeRpcStatus(status: RpcStatus): Buffer {
  const w = new Writer(64 + status.message.length * 3);
  if (status.code !== 0) {
    w.uint32(tag(1, VARINT));
    w.int64(BigInt(status.code));
  }
  if (status.message !== '') {
    w.uint32(tag(2, LEN));
    w.string(status.message);
  }
  if (status.retryDelayMs !== undefined) {
    w.uint32(tag(3, LEN));
    const any = w.begin(1);
    w.uint32(tag(1, LEN));
    w.string(RETRY_INFO_TYPE_URL);
    w.uint32(tag(2, LEN));
    const value = w.begin(1);
    w.uint32(tag(1, LEN)); // retry_delay
    const duration = w.begin(1);
    const ms = Math.max(0, Math.round(status.retryDelayMs));
    const seconds = Math.floor(ms / 1000);
    const nanos = (ms % 1000) * 1_000_000;
    if (seconds !== 0) {
      w.uint32(tag(1, VARINT));
      w.int64(BigInt(seconds));
    }
    if (nanos !== 0) {
      w.uint32(tag(2, VARINT));
      w.uint32(nanos);
    }
    w.end(duration, 1);
    w.end(value, 1);
    w.end(any, 1);
  }
  return w.finish();
}

/** Decodes a `google.rpc.Status`, reading a RetryInfo among its details. */
export function decodeRpcStatus(body: Uint8Array): RpcStatus {
  const r = new Reader(asBuffer(body));
  const end = r.buf.length;
  const status: RpcStatus = { code: 0, message: '' };
  while (r.pos < end) {
    const t = r.uint32(end);
    if (t === tag(1, VARINT)) status.code = Number(r.int64(end));
    else if (t === tag(2, LEN)) status.message = r.string(end);
    else if (t === tag(3, LEN)) {
      const stop = r.length(end);
      let typeUrl = '';
      let valueStart = 0;
      let valueEnd = 0;
      while (r.pos < stop) {
        const u = r.uint32(stop);
        if (u === tag(1, LEN)) typeUrl = r.string(stop);
        else if (u === tag(2, LEN)) {
          valueEnd = r.length(stop);
          valueStart = r.pos;
          r.pos = valueEnd;
        } else r.skip(u, stop, []);
      }
      if (typeUrl === RETRY_INFO_TYPE_URL) status.retryDelayMs = decodeRetryInfo(r, valueStart, valueEnd);
    } else r.skip(t, end, []);
  }
  return status;
}

function decodeRetryInfo(r: Reader, start: number, end: number): number {
  const saved = r.pos;
  r.pos = start;
  let ms = 0;
  while (r.pos < end) {
    const t = r.uint32(end);
    if (t !== tag(1, LEN)) {
      r.skip(t, end, []);
      continue;
    }
    const stop = r.length(end);
    let seconds = 0;
    let nanos = 0;
    while (r.pos < stop) {
      const u = r.uint32(stop);
      if (u === tag(1, VARINT)) seconds = Number(r.int64(stop));
      else if (u === tag(2, VARINT)) nanos = Number(r.int64(stop));
      else r.skip(u, stop, []);
    }
    ms = Math.max(0, seconds * 1000 + Math.round(nanos / 1e6));
  }
  r.pos = saved;
  return ms;
}
