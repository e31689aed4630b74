/**
 * Zipkin v1 Thrift (`POST /api/v1/spans` with `Content-Type: application/x-thrift`): a TBinaryProtocol
 * `list<Span>` of zipkinCore.thrift (openzipkin/zipkin-api), read as Zipkin's `V1ThriftSpanReader`
 * reads it and converted to the span model by zipkin-v1.ts. Errors are Zipkin's:
 * `Truncated: length 8 > bytes available 2 reading List<Span> from TBinary`.
 *
 * Wire: big-endian, no message envelope. A list is one byte of element type (ignored) and an i32 count;
 * a struct is fields (one byte TType, an i16 id, the value) up to a STOP byte; strings and binaries are
 * an i32 length and bytes. A field is read only when both its type and id match; any other is skipped.
 *
 * | struct | field | id | type |
 * | --- | --- | --- | --- |
 * | Span | trace_id, name, id, parent_id | 1, 3, 4, 5 | i64, string, i64, i64 |
 * | Span | annotations, binary_annotations | 6, 8 | list<struct> |
 * | Span | debug, timestamp, duration, trace_id_high | 9, 10, 11, 12 | bool, i64, i64, i64 |
 * | Annotation | timestamp, value, host | 1, 2, 3 | i64, string, struct |
 * | BinaryAnnotation | key, value, annotation_type, host | 1, 2, 3, 4 | string, binary, i32, struct |
 * | Endpoint | ipv4, port, service_name, ipv6 | 1, 2, 3, 4 | i32, i16, string, binary |
 *
 * Binary annotations of type STRING (6) are tags; of type BOOL (0) with the value 0x01, an endpoint and
 * the key `ca`, `sa` or `ma` they are addresses; every other type is dropped, as Zipkin drops it.
 * Annotations with timestamp 0 or without value are dropped.
 */
import type { Endpoint, Span } from '../model/span.js';
import { ZipkinDecodeContext, ZipkinDecodeError, hexSlice, ipFromBytes, isEmptyEndpoint, utf8Slice } from './zipkin-normalize.js';
import { V1Span, V1SpanConverter } from './zipkin-v1.js';

const T_STOP = 0;
const T_BOOL = 2;
const T_BYTE = 3;
const T_DOUBLE = 4;
const T_I16 = 6;
const T_I32 = 8;
const T_I64 = 10;
const T_STRING = 11;
const T_STRUCT = 12;
const T_MAP = 13;
const T_SET = 14;
const T_LIST = 15;

/** Nesting of unknown structs and containers skipped at most (Zipkin has no limit and overflows its stack). */
const MAX_SKIP_DEPTH = 64;

/** A problem worded as Zipkin's reader words it; the decoder appends ` reading List<Span> from TBinary`. */
class ThriftProblem extends Error {}

const MALFORMED = 'Malformed';

/** Decodes a TBinaryProtocol `list<Span>`. An empty body or list is an empty list. */
export function decodeZipkinThrift(body: Uint8Array): Span[] {
  const buf = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (buf.length === 0) return [];
  const r = new ThriftReader(buf);
  const out: Span[] = [];
  try {
    r.byte(); // the element type: Zipkin does not look at it
    const count = r.i32();
    if (count <= 0) return out;
    const converter = new V1SpanConverter(new ZipkinDecodeContext());
    for (let k = 0; k < count; k++) {
      const v1 = readSpan(r);
      const problem = v1.finish();
      if (problem !== undefined) throw new ThriftProblem(problem);
      converter.convert(v1, out);
    }
  } catch (e) {
    if (e instanceof ThriftProblem) throw new ZipkinDecodeError(`${e.message} reading List<Span> from TBinary`);
    throw e;
  }
  return out;
}

class ThriftReader {
  pos = 0;
  readonly end: number;
  // The last endpoint read and where its bytes are: v1 repeats the local endpoint on every annotation
  // and binary annotation, and the same bytes are the same (immutable) endpoint.
  lastEndpoint: Endpoint | undefined = undefined;
  lastEndpointStart = 0;
  lastEndpointEnd = 0;

  constructor(readonly buf: Buffer) {
    this.end = buf.length;
  }

  require(n: number): void {
    const available = this.end - this.pos;
    if (available < n) throw new ThriftProblem(`Truncated: length ${n} > bytes available ${available}`);
  }

  byte(): number {
    if (this.pos >= this.end) throw new ThriftProblem('Truncated: length 1 > bytes available 0');
    return this.buf[this.pos++];
  }

  i16(): number {
    this.require(2);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  i32(): number {
    this.require(4);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** An i64 as 16 lower-hex chars (ids). */
  hex64(): string {
    this.require(8);
    const s = hexSlice(this.buf, this.pos, this.pos + 8);
    this.pos += 8;
    return s;
  }

  i64(): bigint {
    this.require(8);
    const hi = this.buf.readInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    if (hi >= 0 && hi < 0x200000) return BigInt(hi * 4294967296 + lo);
    return BigInt.asIntN(64, (BigInt(hi >>> 0) << 32n) | BigInt(lo));
  }

  /** The length of a string or binary; a negative one is malformed. */
  length(): number {
    const n = this.i32();
    if (n < 0) throw new ThriftProblem(MALFORMED);
    return n;
  }

  utf8(): string {
    const n = this.length();
    this.require(n);
    const s = utf8Slice(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  /**
   * Skips a value of type `type`. Unlike Zipkin, skipping past the end is an error (Zipkin stops at the
   * end and, for a huge list of a small type, keeps looping), and so is nesting deeper than
   * {@link MAX_SKIP_DEPTH}.
   */
  skip(type: number, depth: number): void {
    if (depth > MAX_SKIP_DEPTH) throw new ThriftProblem(MALFORMED);
    switch (type) {
      case T_BOOL:
      case T_BYTE:
        this.advance(1);
        return;
      case T_I16:
        this.advance(2);
        return;
      case T_I32:
        this.advance(4);
        return;
      case T_DOUBLE:
      case T_I64:
        this.advance(8);
        return;
      case T_STRING:
        this.advance(this.length());
        return;
      case T_STRUCT:
        for (;;) {
          const t = this.byte();
          if (t === T_STOP) return;
          this.i16();
          this.skip(t, depth + 1);
        }
      case T_MAP: {
        const keyType = this.byte();
        const valueType = this.byte();
        const n = this.i32();
        if (!hasSize(keyType) && !hasSize(valueType)) return;
        for (let k = 0; k < n; k++) {
          this.skip(keyType, depth + 1);
          this.skip(valueType, depth + 1);
        }
        return;
      }
      case T_SET:
      case T_LIST: {
        const elementType = this.byte();
        const n = this.i32();
        if (!hasSize(elementType)) return;
        for (let k = 0; k < n; k++) this.skip(elementType, depth + 1);
        return;
      }
      default:
      // Types without a value (STOP, VOID, unknown) take no bytes, as in Zipkin.
    }
  }

  private advance(n: number): void {
    this.require(n);
    this.pos += n;
  }
}

/** Whether values of a TType take bytes (so that a loop over a count of them ends with the input). */
function hasSize(type: number): boolean {
  return type === T_BOOL || type === T_BYTE || type === T_DOUBLE || (type >= T_I16 && type <= T_LIST && type !== 7 && type !== 9);
}

function readSpan(r: ThriftReader): V1Span {
  const s = new V1Span();
  for (;;) {
    const type = r.byte();
    if (type === T_STOP) break;
    const id = r.i16();
    if (type === T_I64) {
      if (id === 1) s.traceId = r.hex64();
      else if (id === 4) s.id = r.hex64();
      else if (id === 5) s.parentId = r.hex64();
      else if (id === 10) s.timestamp = r.i64();
      else if (id === 11) s.duration = r.i64();
      else if (id === 12) s.traceIdHigh = r.hex64();
      else r.skip(type, 0);
    } else if (type === T_STRING && id === 3) {
      s.name = r.utf8().toLowerCase();
    } else if (type === T_LIST && id === 6) {
      r.byte(); // element type, not looked at
      const n = r.i32();
      for (let k = 0; k < n; k++) readAnnotation(r, s);
    } else if (type === T_LIST && id === 8) {
      r.byte();
      const n = r.i32();
      for (let k = 0; k < n; k++) readBinaryAnnotation(r, s);
    } else if (type === T_BOOL && id === 9) {
      s.debug = r.byte() === 1;
    } else {
      r.skip(type, 0);
    }
  }
  return s;
}

function readAnnotation(r: ThriftReader, s: V1Span): void {
  let timestamp = 0n;
  let value: string | undefined;
  let endpoint: Endpoint | undefined;
  for (;;) {
    const type = r.byte();
    if (type === T_STOP) break;
    const id = r.i16();
    if (type === T_I64 && id === 1) timestamp = r.i64();
    else if (type === T_STRING && id === 2) value = r.utf8();
    else if (type === T_STRUCT && id === 3) endpoint = readEndpoint(r);
    else r.skip(type, 0);
  }
  if (timestamp === 0n || value === undefined) return;
  s.annotations.push({ timestamp, value, endpoint });
}

function readBinaryAnnotation(r: ThriftReader, s: V1Span): void {
  let key: string | undefined;
  let value: string | undefined;
  let endpoint: Endpoint | undefined;
  let isBoolean = false;
  let isString = false;
  for (;;) {
    const type = r.byte();
    if (type === T_STOP) break;
    const id = r.i16();
    if (type === T_STRING && id === 1) {
      key = r.utf8();
    } else if (type === T_STRING && id === 2) {
      value = r.utf8();
    } else if (type === T_I32 && id === 3) {
      const annotationType = r.i32();
      if (annotationType === 0) isBoolean = true;
      else if (annotationType === 6) isString = true;
    } else if (type === T_STRUCT && id === 4) {
      endpoint = readEndpoint(r);
    } else {
      r.skip(type, 0);
    }
  }
  if (key === undefined || value === undefined) return;
  if (isString) {
    s.binaryAnnotations.push({ key, value, endpoint });
  } else if (isBoolean && value === '\u0001' && endpoint !== undefined && (key === 'sa' || key === 'ca' || key === 'ma')) {
    s.binaryAnnotations.push({ key, value: undefined, endpoint });
  }
}

/** Undefined when empty (Zipkin's v1 builders drop empty endpoints). */
function readEndpoint(r: ThriftReader): Endpoint | undefined {
  const start = r.pos;
  const length = r.lastEndpointEnd - r.lastEndpointStart;
  if (length > 0 && start + length <= r.end && r.buf.compare(r.buf, r.lastEndpointStart, r.lastEndpointEnd, start, start + length) === 0) {
    r.pos = start + length;
    return r.lastEndpoint;
  }
  const ep = parseEndpoint(r);
  r.lastEndpoint = ep;
  r.lastEndpointStart = start;
  r.lastEndpointEnd = r.pos;
  return ep;
}

function parseEndpoint(r: ThriftReader): Endpoint | undefined {
  const ep: Endpoint = { serviceName: '', ipv4: '', ipv6: '', port: 0 };
  for (;;) {
    const type = r.byte();
    if (type === T_STOP) break;
    const id = r.i16();
    if (type === T_I32 && id === 1) {
      r.require(4);
      // 0 is absent.
      if (r.buf.readInt32BE(r.pos) !== 0) ep.ipv4 = ipFromBytes(r.buf, r.pos, 4);
      r.pos += 4;
    } else if (type === T_I16 && id === 2) {
      ep.port = r.i16() & 0xffff;
    } else if (type === T_STRING && id === 3) {
      ep.serviceName = r.utf8().toLowerCase();
    } else if (type === T_STRING && id === 4) {
      // The length decides the family, as in Zipkin: an embedded IPv4 replaces the IPv4 field.
      const n = r.length();
      r.require(n);
      const ip = ipFromBytes(r.buf, r.pos, n);
      r.pos += n;
      if (ip.indexOf(':') >= 0) ep.ipv6 = ip;
      else if (ip !== '') ep.ipv4 = ip;
    } else {
      r.skip(type, 0);
    }
  }
  return isEmptyEndpoint(ep) ? undefined : ep;
}
