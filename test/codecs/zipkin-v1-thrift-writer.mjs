/**
 * A TBinaryProtocol writer for Zipkin v1 spans, for tests and benchmarks only (spanline decodes Thrift
 * but does not write it). `encodeV1ThriftSpan` writes a v1 JSON span object exactly as Zipkin's
 * `V1ThriftSpanWriter` writes the same v1 span: fields in its order, lists written even when empty,
 * every endpoint with ipv4, port and service name, binary annotations as STRING (6) or BOOL (0, value
 * 0x01). The tests check the sizes against Zipkin's `SpanBytesEncoderTest`.
 */

export const T = { STOP: 0, BOOL: 2, BYTE: 3, DOUBLE: 4, I16: 6, I32: 8, I64: 10, STRING: 11, STRUCT: 12, MAP: 13, SET: 14, LIST: 15 };

export class TBinaryWriter {
  constructor() {
    this.chunks = [];
  }
  bytes(b) {
    this.chunks.push(Buffer.from(b));
    return this;
  }
  byte(v) {
    return this.bytes([v & 0xff]);
  }
  /** The low 16 bits of `v` (a port above 32767 is a negative i16 on the wire, as Zipkin writes it). */
  i16(v) {
    const b = Buffer.alloc(2);
    b.writeUInt16BE(v & 0xffff);
    return this.bytes(b);
  }
  i32(v) {
    const b = Buffer.alloc(4);
    b.writeInt32BE(v);
    return this.bytes(b);
  }
  /** An i64 from a bigint or from up to 16 hex chars. */
  i64(v) {
    const b = Buffer.alloc(8);
    if (typeof v === 'string') Buffer.from(v.padStart(16, '0'), 'hex').copy(b);
    else b.writeBigInt64BE(BigInt.asIntN(64, BigInt(v)));
    return this.bytes(b);
  }
  string(s) {
    const b = Buffer.from(s, 'utf8');
    return this.i32(b.length).bytes(b);
  }
  field(type, id) {
    return this.byte(type).i16(id);
  }
  stop() {
    return this.byte(T.STOP);
  }
  listBegin(elementType, count) {
    return this.byte(elementType).i32(count);
  }
  toBuffer() {
    return Buffer.concat(this.chunks);
  }
}

/** The 4 bytes of an IPv4 text as a signed i32 (0 when absent). */
export function ipv4Int(ip) {
  if (!ip) return 0;
  const p = ip.split('.').map(Number);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) | 0;
}

/** The 16 bytes of an IPv6 text (hex groups and `::` only). */
export function ipv6Bytes(ip) {
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const hi = head ? head.split(':') : [];
  const lo = tail === undefined ? [] : tail ? tail.split(':') : [];
  const parts = [...hi, ...Array(8 - hi.length - lo.length).fill('0'), ...lo];
  const b = Buffer.alloc(16);
  parts.forEach((h, k) => b.writeUInt16BE(parseInt(h, 16), 2 * k));
  return b;
}

export function writeEndpoint(w, ep) {
  w.field(T.I32, 1).i32(ipv4Int(ep.ipv4));
  w.field(T.I16, 2).i16(ep.port ?? 0);
  w.field(T.STRING, 3).string(ep.serviceName ?? '');
  if (ep.ipv6) w.field(T.STRING, 4).i32(16).bytes(ipv6Bytes(ep.ipv6));
  return w.stop();
}

/** Writes one v1 JSON span object (as JSON.parse returns it) as a Thrift Span struct. */
export function writeV1Span(w, s) {
  const traceId = s.traceId;
  w.field(T.I64, 1).i64(traceId.slice(-16));
  w.field(T.STRING, 3).string(s.name ?? '');
  w.field(T.I64, 4).i64(s.id);
  if (s.parentId && !/^0+$/.test(s.parentId)) w.field(T.I64, 5).i64(s.parentId);
  const annotations = s.annotations ?? [];
  w.field(T.LIST, 6).listBegin(T.STRUCT, annotations.length);
  for (const a of annotations) {
    w.field(T.I64, 1).i64(BigInt(a.timestamp));
    w.field(T.STRING, 2).string(a.value);
    if (a.endpoint) writeEndpoint(w.field(T.STRUCT, 3), a.endpoint);
    w.stop();
  }
  const binaryAnnotations = s.binaryAnnotations ?? [];
  w.field(T.LIST, 8).listBegin(T.STRUCT, binaryAnnotations.length);
  for (const b of binaryAnnotations) {
    w.field(T.STRING, 1).string(b.key);
    if (typeof b.value === 'string') w.field(T.STRING, 2).string(b.value).field(T.I32, 3).i32(6);
    else w.field(T.STRING, 2).i32(1).byte(b.value ? 1 : 0).field(T.I32, 3).i32(0);
    if (b.endpoint) writeEndpoint(w.field(T.STRUCT, 4), b.endpoint);
    w.stop();
  }
  if (s.debug !== undefined) w.field(T.BOOL, 9).byte(s.debug ? 1 : 0);
  if (s.timestamp) w.field(T.I64, 10).i64(BigInt(s.timestamp));
  if (s.duration) w.field(T.I64, 11).i64(BigInt(s.duration));
  if (traceId.length === 32 && !/^0{16}/.test(traceId)) w.field(T.I64, 12).i64(traceId.slice(0, 16));
  return w.stop();
}

export function encodeV1ThriftSpan(span) {
  return writeV1Span(new TBinaryWriter(), span).toBuffer();
}

/** A `list<Span>` message, as reporters send it: 0x0C, the count, the spans. */
export function encodeV1ThriftList(spans) {
  const w = new TBinaryWriter().listBegin(T.STRUCT, spans.length);
  for (const s of spans) writeV1Span(w, s);
  return w.toBuffer();
}
