/**
 * Zipkin v2 proto3 (`POST /api/v2/spans` with `Content-Type: application/x-protobuf`): a `ListOfSpans`
 * message of zipkin.proto (openzipkin/zipkin-api), to and from the span model.
 *
 * Decoding reads the wire format directly into the model, as Zipkin's `Proto3ZipkinFields` reads it:
 * the same fields are accepted, skipped or refused, with Zipkin's messages (`Truncated: length 66 >
 * bytes available 8 reading List<Span> from proto3`), and the spans are normalized as every Zipkin
 * decoder does (zipkin-normalize.ts). Encoding writes what Zipkin's `Proto3SpanWriter` writes, for any
 * span, through zipkin-view.ts.
 *
 * Field numbers (zipkin.proto): ListOfSpans.spans 1. Span: trace_id 1, parent_id 2, id 3 (bytes), kind 4
 * (enum: CLIENT 1, SERVER 2, PRODUCER 3, CONSUMER 4), name 5, timestamp 6 (fixed64 µs), duration 7
 * (uint64 µs), local_endpoint 8, remote_endpoint 9, annotations 10, tags 11 (map<string,string>),
 * debug 12, shared 13. Endpoint: service_name 1, ipv4 2 (4 bytes), ipv6 3 (16 bytes), port 4 (int32).
 * Annotation: timestamp 1 (fixed64 µs), value 2.
 */
import { SpanKind, type Endpoint, type Span, type SpanEvent } from '../model/span.js';
import {
  NO_EVENT_ATTRIBUTES,
  ZipkinDecodeContext,
  ZipkinDecodeError,
  ZipkinSpanFields,
  hexSlice,
  ipFromBytes,
  ipv4ToBytes,
  ipv6ToBytes,
  nanosOfMicros,
  normalizeParentId,
  normalizeSpanId,
  normalizeTraceId,
  utf8Slice,
} from './zipkin-normalize.js';
import { zipkinTagGroup } from './zipkin-otel.js';
import { ZipkinView } from './zipkin-view.js';

// Keys: field number << 3 | wire type (0 varint, 1 fixed64, 2 length-delimited).
const SPAN_KEY = (1 << 3) | 2;
const TRACE_ID_KEY = (1 << 3) | 2;
const PARENT_ID_KEY = (2 << 3) | 2;
const ID_KEY = (3 << 3) | 2;
const KIND_KEY = 4 << 3;
const NAME_KEY = (5 << 3) | 2;
const TIMESTAMP_KEY = (6 << 3) | 1;
const DURATION_KEY = 7 << 3;
const LOCAL_ENDPOINT_KEY = (8 << 3) | 2;
const REMOTE_ENDPOINT_KEY = (9 << 3) | 2;
const ANNOTATION_KEY = (10 << 3) | 2;
const TAG_KEY = (11 << 3) | 2;
const DEBUG_KEY = 12 << 3;
const SHARED_KEY = 13 << 3;
const ENDPOINT_SERVICE_NAME_KEY = (1 << 3) | 2;
const ENDPOINT_IPV4_KEY = (2 << 3) | 2;
const ENDPOINT_IPV6_KEY = (3 << 3) | 2;
const ENDPOINT_PORT_KEY = 4 << 3;
const ANNOTATION_TIMESTAMP_KEY = (1 << 3) | 1;
const ANNOTATION_VALUE_KEY = (2 << 3) | 2;
const ENTRY_KEY_KEY = (1 << 3) | 2;
const ENTRY_VALUE_KEY = (2 << 3) | 2;

/** By zipkin.proto kind number. */
const KINDS: readonly SpanKind[] = [SpanKind.Unspecified, SpanKind.Client, SpanKind.Server, SpanKind.Producer, SpanKind.Consumer];

/** A problem worded as Zipkin's reader words it; the decoder appends ` reading List<Span> from proto3`. */
class Proto3Problem extends Error {}

const MALFORMED = 'Malformed';

/**
 * Decodes a `ListOfSpans`. An empty body is an empty list. As in Zipkin, each span's field key is not
 * checked (any field is read as a span), and a zero-length span makes the whole list empty.
 */
export function decodeZipkinProto3(body: Uint8Array): Span[] {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const r = new Proto3Reader(buf);
  const context = new ZipkinDecodeContext();
  const fields = new ZipkinSpanFields();
  const out: Span[] = [];
  try {
    while (r.pos < r.end) {
      r.varint32(); // the key: Zipkin does not look at it
      const length = r.length();
      if (length === 0) return [];
      r.require(length);
      fields.reset();
      readSpan(r, r.pos + length, fields);
      out.push(context.toSpan(fields));
    }
  } catch (e) {
    if (e instanceof Proto3Problem || e instanceof ZipkinDecodeError) {
      // Zipkin reports every message that mentions "Malformed" as just that.
      const problem = e.message.indexOf(MALFORMED) >= 0 ? MALFORMED : e.message;
      throw new ZipkinDecodeError(`${problem} reading List<Span> from proto3`);
    }
    throw e;
  }
  return out;
}

/** Wire-format reads with Zipkin's `ReadBuffer` bounds checks (against the whole body) and messages. */
class Proto3Reader {
  pos = 0;
  readonly end: number;

  constructor(readonly buf: Buffer) {
    this.end = buf.length;
  }

  require(n: number): void {
    const available = this.end - this.pos;
    if (available < n) throw new Proto3Problem(`Truncated: length ${n} > bytes available ${available}`);
  }

  byte(): number {
    if (this.pos >= this.end) throw new Proto3Problem(`Truncated: length 1 > bytes available 0`);
    return this.buf[this.pos++];
  }

  /** A varint read as a Java int: at most 5 bytes, the fifth holding the top 4 bits. */
  varint32(): number {
    let b = this.byte();
    if (b < 0x80) return b;
    let result = b & 0x7f;
    b = this.byte();
    if (b < 0x80) return result | (b << 7);
    result |= (b & 0x7f) << 7;
    b = this.byte();
    if (b < 0x80) return result | (b << 14);
    result |= (b & 0x7f) << 14;
    b = this.byte();
    if (b < 0x80) return result | (b << 21);
    result |= (b & 0x7f) << 21;
    b = this.byte();
    if ((b & 0xf0) !== 0) throw new Proto3Problem(`Greater than 32-bit varint at position ${this.pos - 1}`);
    return result | (b << 28);
  }

  /**
   * A varint read as a Java long (values from 2^63 are negative): a number when below 2^49, as most
   * are, so that the span's times are made with fewer BigInt operations (see ZipkinSpanFields).
   */
  varint64(): bigint | number {
    let b = this.byte();
    if (b < 0x80) return b;
    let low = b & 0x7f; // bits 0..48, exact as a double
    let high = 0n; // bits 49..63
    for (let i = 1; i < 10; i++) {
      b = this.byte();
      if (i === 9 && (b & 0xf0) !== 0) throw new Proto3Problem(`Greater than 64-bit varint at position ${this.pos - 1}`);
      if (i < 7) low += (b & 0x7f) * POW2_7[i];
      else high |= BigInt(b & 0x7f) << BigInt(7 * i);
      if (b < 0x80) break;
    }
    return high === 0n ? low : BigInt.asIntN(64, high | BigInt(low));
  }

  /** A fixed64 read as a Java long: a number when it is a safe integer ≥ 0, as times are. */
  fixed64(): bigint | number {
    this.require(8);
    const buf = this.buf;
    const p = this.pos;
    const lo = (buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24)) >>> 0;
    const hi = buf[p + 4] | (buf[p + 5] << 8) | (buf[p + 6] << 16) | (buf[p + 7] << 24);
    this.pos = p + 8;
    if (hi >= 0 && hi < 0x200000) return hi * 4294967296 + lo;
    return BigInt.asIntN(64, (BigInt(hi >>> 0) << 32n) | BigInt(lo));
  }

  /** A length prefix; a negative one (a varint above 2^31) is malformed. */
  length(): number {
    const n = this.varint32();
    if (n < 0) throw new Proto3Problem(`${MALFORMED}: negative length ${n}`);
    return n;
  }

  utf8(length: number): string {
    this.require(length);
    const s = utf8Slice(this.buf, this.pos, this.pos + length);
    this.pos += length;
    return s;
  }

  /**
   * `utf8(length)` for text that repeats (tag keys, names, service names, annotation values): a string
   * seen recently with these bytes is returned again rather than decoded anew. Such a string is already
   * internalized as a property key or hashed as a Map key, and the call into the UTF-8 decoder costs
   * more than comparing a few bytes.
   */
  recentUtf8(length: number): string {
    if (length > RECENT_MAX_BYTES) return this.utf8(length);
    this.require(length);
    const buf = this.buf;
    const p = this.pos;
    this.pos = p + length;
    const slot = (length * 7 + buf[p] * 31 + buf[p + (length >> 1)] * 17 + buf[p + length - 1] * 131) & (RECENT_STRINGS - 1);
    const recent = RECENT[slot];
    if (recent.length === length) {
      let k = 0;
      while (k < length && recent.charCodeAt(k) === buf[p + k]) k++;
      if (k === length) return recent;
    }
    const s = utf8Slice(buf, p, p + length);
    // As many chars as bytes: each char is one byte, ASCII or U+FFFD for a bad byte (which matches no
    // byte above), so a string matched above is the text of the same bytes.
    if (s.length === length) RECENT[slot] = s;
    return s;
  }

  /** An id field as lower-hex, as Zipkin's `readBytesAsHex`. */
  hex(length: number): string {
    if (length > 32) throw new Proto3Problem(`hex field greater than 32 chars long: ${length}`);
    this.require(length);
    const s = hexSlice(this.buf, this.pos, this.pos + length);
    this.pos += length;
    return s;
  }

  /** Whether the 8 bytes at `p` are zero; the caller has checked that they are in the body. */
  zeros8(p: number): boolean {
    const b = this.buf;
    return (b[p] | b[p + 1] | b[p + 2] | b[p + 3] | b[p + 4] | b[p + 5] | b[p + 6] | b[p + 7]) === 0;
  }

  /**
   * The 8 bytes here as 16 lower-hex chars, moving past them; the caller has checked that they are in
   * the body. One flat string from char codes: measured 39 ns where Buffer#hexSlice took 80.
   */
  hex8(): string {
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 8;
    const b0 = b[p], b1 = b[p + 1], b2 = b[p + 2], b3 = b[p + 3], b4 = b[p + 4], b5 = b[p + 5], b6 = b[p + 6], b7 = b[p + 7];
    const H = HEX_HIGH;
    const L = HEX_LOW;
    return String.fromCharCode(H[b0], L[b0], H[b1], L[b1], H[b2], L[b2], H[b3], L[b3], H[b4], L[b4], H[b5], L[b5], H[b6], L[b6], H[b7], L[b7]);
  }

  /** The 16 bytes here as 32 lower-hex chars, as {@link hex8}. */
  hex16(): string {
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 16;
    const b0 = b[p], b1 = b[p + 1], b2 = b[p + 2], b3 = b[p + 3], b4 = b[p + 4], b5 = b[p + 5], b6 = b[p + 6], b7 = b[p + 7];
    const b8 = b[p + 8], b9 = b[p + 9], b10 = b[p + 10], b11 = b[p + 11], b12 = b[p + 12], b13 = b[p + 13], b14 = b[p + 14], b15 = b[p + 15];
    const H = HEX_HIGH;
    const L = HEX_LOW;
    return String.fromCharCode(
      H[b0], L[b0], H[b1], L[b1], H[b2], L[b2], H[b3], L[b3], H[b4], L[b4], H[b5], L[b5], H[b6], L[b6], H[b7], L[b7],
      H[b8], L[b8], H[b9], L[b9], H[b10], L[b10], H[b11], L[b11], H[b12], L[b12], H[b13], L[b13], H[b14], L[b14], H[b15], L[b15],
    );
  }

  bool(): boolean {
    const b = this.byte();
    if (b > 1) throw new Proto3Problem(`${MALFORMED}: invalid boolean value at byte ${this.pos}`);
    return b === 1;
  }

  /** Skips a field's value as Zipkin does: past the end of the body is not an error, it just ends. */
  skip(key: number): void {
    switch (key & 7) {
      case 0:
        while (this.pos < this.end && this.buf[this.pos++] >= 0x80);
        return;
      case 1:
        this.pos = Math.min(this.end, this.pos + 8);
        return;
      case 2: {
        const length = this.length();
        this.pos = Math.min(this.end, this.pos + length);
        return;
      }
      case 5:
        this.pos = Math.min(this.end, this.pos + 4);
        return;
      default:
        throw new Proto3Problem(`${MALFORMED}: invalid wireType ${key & 7} at byte ${this.pos}`);
    }
  }
}

/** The char codes of the high and low hex digit of each byte. */
const HEX_HIGH = new Uint8Array(256);
const HEX_LOW = new Uint8Array(256);
for (let b = 0; b < 256; b++) {
  HEX_HIGH[b] = '0123456789abcdef'.charCodeAt(b >> 4);
  HEX_LOW[b] = '0123456789abcdef'.charCodeAt(b & 15);
}

/** Recent strings by a hash of their bytes (see Proto3Reader.recentUtf8); a power of 2. */
const RECENT_STRINGS = 1024;
const RECENT: string[] = new Array<string>(RECENT_STRINGS).fill('');
/** Longer text is decoded each time: it is kept alive by the cache, and compared byte by byte. */
const RECENT_MAX_BYTES = 64;

const POW2_7: readonly number[] = [1, 2 ** 7, 2 ** 14, 2 ** 21, 2 ** 28, 2 ** 35, 2 ** 42];

// Ids of 8 or 16 bytes, as tracers send them, are normalized here from the bytes, with the answers
// normalizeTraceId, normalizeSpanId and normalizeParentId give for their hex (which is lower-hex, so
// only the zeros matter): a 128-bit trace id whose high half is zero becomes 64-bit, a zero trace or
// span id is refused and a zero parent id is none. Other lengths take the general path.

function traceIdOfBytes(r: Proto3Reader, n: number): string {
  r.require(n);
  if (n === 16) {
    if (!r.zeros8(r.pos)) return r.hex16();
    r.pos += 8;
  }
  if (r.zeros8(r.pos)) throw new ZipkinDecodeError('traceId is all zeros');
  return r.hex8();
}

function spanIdOfBytes(r: Proto3Reader): string {
  r.require(8);
  if (r.zeros8(r.pos)) throw new ZipkinDecodeError('id is all zeros');
  return r.hex8();
}

/** '' for a zero parent id (a root span). */
function parentIdOfBytes(r: Proto3Reader): string {
  r.require(8);
  if (!r.zeros8(r.pos)) return r.hex8();
  r.pos += 8;
  return '';
}

/** Runs a normalizer on an id read from the wire; a zero-length id is Zipkin's `null`. */
function normalizeId(normalize: (id: string) => string, hex: string | undefined, field: string): string {
  if (hex === undefined) throw new Proto3Problem(`${field} == null`);
  return normalize(hex);
}

function readSpan(r: Proto3Reader, end: number, f: ZipkinSpanFields): void {
  let hasTraceId = false;
  let hasId = false;
  let lastTagKey = '';
  while (r.pos < end) {
    const key = r.varint32();
    switch (key) {
      case TRACE_ID_KEY: {
        const n = r.length();
        if (n === 8 || n === 16) f.traceId = traceIdOfBytes(r, n);
        else f.traceId = normalizeId(normalizeTraceId, n === 0 ? undefined : r.hex(n), 'traceId');
        hasTraceId = true;
        break;
      }
      case PARENT_ID_KEY: {
        const n = r.length();
        if (n === 8) f.parentSpanId = parentIdOfBytes(r);
        else f.parentSpanId = n === 0 ? '' : normalizeParentId(r.hex(n));
        break;
      }
      case ID_KEY: {
        const n = r.length();
        if (n === 8) f.spanId = spanIdOfBytes(r);
        else f.spanId = normalizeId(normalizeSpanId, n === 0 ? undefined : r.hex(n), 'id');
        hasId = true;
        break;
      }
      case KIND_KEY: {
        // Zipkin ignores kinds it does not know.
        const kind = r.varint32();
        if (kind > 0 && kind < KINDS.length) f.kind = KINDS[kind];
        break;
      }
      case NAME_KEY: {
        const n = r.length();
        f.name = n === 0 ? '' : r.recentUtf8(n);
        break;
      }
      case TIMESTAMP_KEY:
        f.timestamp = r.fixed64();
        break;
      case DURATION_KEY:
        f.duration = r.varint64();
        break;
      case LOCAL_ENDPOINT_KEY:
        // readEndpoint makes a new object each time: the span may keep it.
        f.localEndpoint = readEndpoint(r);
        f.localEndpointIsOwn = true;
        break;
      case REMOTE_ENDPOINT_KEY:
        f.remoteEndpoint = readEndpoint(r);
        break;
      case ANNOTATION_KEY:
        readAnnotation(r, f.events);
        break;
      case TAG_KEY: {
        const tagKey = readTag(r, f);
        if (tagKey !== undefined) {
          if (tagKey <= lastTagKey) f.tagsSorted = false;
          lastTagKey = tagKey;
        }
        break;
      }
      case DEBUG_KEY:
        if (r.bool()) f.debug = true;
        break;
      case SHARED_KEY:
        if (r.bool()) f.shared = true;
        break;
      default:
        r.skip(key);
    }
  }
  if (!hasTraceId || !hasId) throw new Proto3Problem(`Missing :${hasTraceId ? '' : ' traceId'}${hasId ? '' : ' id'}`);
}

/** Undefined for a zero-length or empty endpoint. A later endpoint field replaces an earlier one. */
function readEndpoint(r: Proto3Reader): Endpoint | undefined {
  const length = r.length();
  if (length === 0) return undefined;
  const end = r.pos + length;
  let serviceName = '';
  let ipv4 = '';
  let ipv6 = '';
  let port = 0;
  while (r.pos < end) {
    const key = r.varint32();
    switch (key) {
      case ENDPOINT_SERVICE_NAME_KEY: {
        const n = r.length();
        serviceName = n === 0 ? '' : r.recentUtf8(n).toLowerCase();
        break;
      }
      case ENDPOINT_IPV4_KEY:
      case ENDPOINT_IPV6_KEY: {
        // As in Zipkin, the length decides the family, not the field.
        const n = r.length();
        if (n === 0) break;
        r.require(n);
        const ip = ipFromBytes(r.buf, r.pos, n);
        r.pos += n;
        if (ip.indexOf(':') >= 0) ipv6 = ip;
        else if (ip !== '') ipv4 = ip;
        break;
      }
      case ENDPOINT_PORT_KEY: {
        const p = r.varint32();
        if (p > 0xffff) throw new Proto3Problem(`invalid port ${p}`);
        port = p > 0 ? p : 0;
        break;
      }
      default:
        r.skip(key);
    }
  }
  if (serviceName === '' && ipv4 === '' && ipv6 === '' && port === 0) return undefined;
  return { serviceName, ipv4, ipv6, port };
}

/** Zipkin drops an annotation without value or with timestamp 0. */
function readAnnotation(r: Proto3Reader, events: SpanEvent[]): void {
  const length = r.length();
  if (length === 0) return;
  const end = r.pos + length;
  let timestamp: bigint | number = 0;
  let value: string | undefined;
  while (r.pos < end) {
    const key = r.varint32();
    if (key === ANNOTATION_TIMESTAMP_KEY) {
      timestamp = r.fixed64();
    } else if (key === ANNOTATION_VALUE_KEY) {
      const n = r.length();
      value = n === 0 ? undefined : r.recentUtf8(n);
    } else {
      r.skip(key);
    }
  }
  if (timestamp === 0 || timestamp === 0n || value === undefined) return;
  const time = typeof timestamp === 'number' ? nanosOfMicros(timestamp) : timestamp * 1000n;
  events.push({ timeUnixNano: time, name: value, attributes: NO_EVENT_ATTRIBUTES, droppedAttributesCount: 0 });
}

/** Longer tag values (URLs, paths, ids) are seldom repeated. */
const RECENT_VALUE_BYTES = 16;

/** A map entry; a missing value is "" (Zipkin allows empty tags), a missing key drops the entry. */
function readTag(r: Proto3Reader, f: ZipkinSpanFields): string | undefined {
  const length = r.length();
  if (length === 0) return undefined;
  const end = r.pos + length;
  let key: string | undefined;
  let value = '';
  while (r.pos < end) {
    const k = r.varint32();
    if (k === ENTRY_KEY_KEY) {
      const n = r.length();
      key = n === 0 ? undefined : r.recentUtf8(n);
    } else if (k === ENTRY_VALUE_KEY) {
      const n = r.length();
      if (n !== 0) value = n <= RECENT_VALUE_BYTES ? r.recentUtf8(n) : r.utf8(n);
    } else {
      r.skip(k);
    }
  }
  if (key === undefined) return undefined;
  const attributes = f.attributes;
  if (key === '__proto__') Object.defineProperty(attributes, key, { value, writable: true, enumerable: true, configurable: true });
  else attributes[key] = value;
  f.tagGroups |= zipkinTagGroup(key);
  return key;
}

// ---- encoding

const VIEW = new ZipkinView();

/** Zipkin's `ListOfSpans` for `spans`, as Zipkin's `Proto3SpanWriter` writes it. */
export function encodeZipkinProto3(spans: Span[]): Buffer {
  const w = new Proto3Writer(256 * spans.length + 64);
  for (let k = 0; k < spans.length; k++) {
    w.byte(SPAN_KEY);
    const start = w.begin(2);
    writeSpan(w, VIEW.fill(spans[k]));
    w.end(start, 2);
  }
  return w.finish();
}

function writeSpan(w: Proto3Writer, v: ZipkinView): void {
  w.idField(TRACE_ID_KEY, v.traceId);
  w.idField(PARENT_ID_KEY, v.parentId);
  w.idField(ID_KEY, v.id);
  if (v.kind !== 0) {
    w.byte(KIND_KEY);
    w.byte(v.kind);
  }
  if (v.name !== '') w.stringField(NAME_KEY, v.name);
  if (v.timestamp !== 0n) w.fixed64Field(TIMESTAMP_KEY, v.timestamp);
  if (v.duration !== 0n) {
    w.byte(DURATION_KEY);
    w.varint64(v.duration);
  }
  if (v.hasLocalEndpoint) writeEndpoint(w, LOCAL_ENDPOINT_KEY, v.localServiceName, v.localIpv4, v.localIpv6, v.localPort);
  if (v.hasRemoteEndpoint) writeEndpoint(w, REMOTE_ENDPOINT_KEY, v.remoteServiceName, v.remoteIpv4, v.remoteIpv6, v.remotePort);
  const timestamps = v.annotationTimestamps;
  const values = v.annotationValues;
  for (let k = 0; k < v.annotationCount; k++) {
    w.byte(ANNOTATION_KEY);
    const start = w.begin(1);
    if (timestamps[k] !== 0n) w.fixed64Field(ANNOTATION_TIMESTAMP_KEY, timestamps[k]);
    w.stringField(ANNOTATION_VALUE_KEY, values[k]);
    w.end(start, 1);
  }
  const keys = v.tagKeys;
  const tagValues = v.tagValues;
  for (let k = 0; k < v.tagCount; k++) {
    w.byte(TAG_KEY);
    const start = w.begin(1);
    w.stringField(ENTRY_KEY_KEY, keys[k]);
    w.stringField(ENTRY_VALUE_KEY, tagValues[k]);
    w.end(start, 1);
  }
  if (v.debug) {
    w.byte(DEBUG_KEY);
    w.byte(1);
  }
  if (v.shared) {
    w.byte(SHARED_KEY);
    w.byte(1);
  }
}

function writeEndpoint(w: Proto3Writer, key: number, serviceName: string, ipv4: string, ipv6: string, port: number): void {
  w.byte(key);
  const start = w.begin(1);
  if (serviceName !== '') w.stringField(ENDPOINT_SERVICE_NAME_KEY, serviceName);
  if (ipv4 !== '') {
    w.ensure(6);
    const buf = w.buf;
    if (ipv4ToBytes(ipv4, buf, w.pos + 2)) {
      buf[w.pos] = ENDPOINT_IPV4_KEY;
      buf[w.pos + 1] = 4;
      w.pos += 6;
    }
  }
  if (ipv6 !== '') {
    w.ensure(18);
    const buf = w.buf;
    if (ipv6ToBytes(ipv6, buf, w.pos + 2)) {
      buf[w.pos] = ENDPOINT_IPV6_KEY;
      buf[w.pos + 1] = 16;
      w.pos += 18;
    }
  }
  if (port !== 0) {
    w.byte(ENDPOINT_PORT_KEY);
    w.varint(port);
  }
  w.end(start, 1);
}

/** A growing buffer with the few protobuf writes the spans need. */
class Proto3Writer {
  buf: Buffer;
  pos = 0;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(bigger, 0, 0, this.pos);
    this.buf = bigger;
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  varint(n: number): void {
    this.ensure(10);
    const buf = this.buf;
    while (n >= 0x80) {
      buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    buf[this.pos++] = n;
  }

  varint64(n: bigint): void {
    if (n <= 0x1fffffffffffffn) {
      this.varint(Number(n));
      return;
    }
    this.ensure(10);
    let v = BigInt.asUintN(64, n);
    while (v >= 0x80n) {
      this.buf[this.pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.buf[this.pos++] = Number(v);
  }

  fixed64Field(key: number, v: bigint): void {
    this.ensure(9);
    const buf = this.buf;
    buf[this.pos++] = key;
    if (v >= 0n && v <= 0x1fffffffffffffn) {
      const n = Number(v);
      buf.writeUInt32LE(n % 4294967296, this.pos);
      buf.writeUInt32LE(Math.floor(n / 4294967296), this.pos + 4);
    } else {
      buf.writeBigUInt64LE(BigInt.asUintN(64, v), this.pos);
    }
    this.pos += 8;
  }

  /** A hex id as bytes; nothing for ''. */
  idField(key: number, hex: string): void {
    if (hex === '') return;
    const n = hex.length >> 1;
    this.ensure(n + 2);
    const buf = this.buf;
    buf[this.pos] = key;
    // Model ids are lower-hex; `write` stops at the first char that is not, and the length says so.
    const written = buf.write(hex, this.pos + 2, n, 'hex');
    buf[this.pos + 1] = written;
    this.pos += 2 + written;
  }

  stringField(key: number, s: string): void {
    const length = s.length;
    const max = 3 * length;
    this.ensure(max + 6);
    const buf = this.buf;
    buf[this.pos++] = key;
    if (length < 0x80) {
      // Short ASCII strings (most names, keys and values) are copied here: cheaper than a call into
      // Buffer#write. The first char above 0x7f sends the string there.
      const start = this.pos + 1;
      let k = 0;
      for (; k < length; k++) {
        const c = s.charCodeAt(k);
        if (c >= 0x80) break;
        buf[start + k] = c;
      }
      if (k === length) {
        buf[this.pos] = length;
        this.pos = start + length;
        return;
      }
    }
    if (max < 0x80) {
      const n = buf.write(s, this.pos + 1, 'utf8');
      buf[this.pos] = n;
      this.pos += 1 + n;
    } else {
      const n = Buffer.byteLength(s, 'utf8');
      this.varint(n);
      this.pos += this.buf.write(s, this.pos, 'utf8');
    }
  }

  /** Reserves `reserved` bytes for the length of a message that starts here. */
  begin(reserved: number): number {
    this.ensure(reserved);
    const start = this.pos;
    this.pos += reserved;
    return start;
  }

  /** Writes the length of the message begun at `start`, moving it when the length needs other than `reserved` bytes. */
  end(start: number, reserved: number): void {
    const length = this.pos - start - reserved;
    const size = length < 0x80 ? 1 : length < 0x4000 ? 2 : length < 0x200000 ? 3 : length < 0x10000000 ? 4 : 5;
    if (size !== reserved) {
      this.ensure(size - reserved);
      this.buf.copyWithin(start + size, start + reserved, this.pos);
      this.pos += size - reserved;
    }
    let n = length;
    let p = start;
    const buf = this.buf;
    while (n >= 0x80) {
      buf[p++] = (n & 0x7f) | 0x80;
      n >>>= 7;
    }
    buf[p] = n;
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
