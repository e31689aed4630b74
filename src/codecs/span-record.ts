/**
 * spanline's own binary encoding of a span batch, for the persistent exporter queue. It is exact for the
 * whole span model (what no wire format is on its own: Zipkin has no scope or links, OTLP has no
 * `shared`), and fast to read back because it mirrors the model field by field.
 *
 * Layout (little-endian; `uv` is an unsigned LEB128 varint, `str` is `uv` byte length + UTF-8):
 *   u8 version (1)
 *   uv resource count, then per resource: attributes, uv dropped
 *   uv scope count, then per scope: str name, str version, attributes, uv dropped
 *   uv span count, then per span:
 *     str traceId, spanId, parentSpanId, name, traceState; u8 kind; u64 start, end (ns);
 *     attributes, uv dropped; uv event count + events; uv dropped; uv link count + links; uv dropped;
 *     u8 status code, str status message; u32 flags; uv resource index; uv scope index;
 *     u8 bits (1 shared, 2 debug, 4 local endpoint, 8 remote endpoint) and the endpoints present
 *   attributes: uv count, then per attribute: str key, value
 *   value: u8 tag, then by tag: null | str | (false) | (true) | i64 | f64 | uv length + bytes
 *          | uv count + values | attributes
 *   event: u64 time, str name, attributes, uv dropped
 *   link: str traceId, spanId, traceState, attributes, uv dropped, u32 flags
 *   endpoint: str serviceName, ipv4, ipv6, u16 port
 *
 * Records are written by this process and read back by a later one of possibly another version: the
 * leading version byte lets a future layout coexist with queues left on disk by this one.
 */
import {
  EMPTY_SCOPE,
  MAX_VALUE_DEPTH,
  Span,
  UNSET_STATUS,
  type AnyValue,
  type Attributes,
  type Endpoint,
  type InstrumentationScope,
  type Resource,
  type SpanBatch,
  type SpanKind,
  type StatusCode,
} from '../model/span.js';
import { setOwn } from './json-text.js';
import { utf8Slice } from './zipkin-normalize.js';

const VERSION = 1;

const T_NULL = 0;
const T_STRING = 1;
const T_FALSE = 2;
const T_TRUE = 3;
const T_INT = 4;
const T_DOUBLE = 5;
const T_BYTES = 6;
const T_ARRAY = 7;
const T_MAP = 8;

const B_SHARED = 1;
const B_DEBUG = 2;
const B_LOCAL = 4;
const B_REMOTE = 8;

export class SpanRecordError extends Error {
  override readonly name = 'SpanRecordError';
}

class Writer {
  buf: Buffer;
  pos = 0;

  constructor(initial: number) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.pos++] = v;
  }

  uv(v: number): void {
    this.room(5);
    while (v > 0x7f) {
      this.buf[this.pos++] = (v & 0x7f) | 0x80;
      v >>>= 7;
    }
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    this.room(2);
    this.pos = this.buf.writeUInt16LE(v, this.pos);
  }

  u32(v: number): void {
    this.room(4);
    this.pos = this.buf.writeUInt32LE(v >>> 0, this.pos);
  }

  u64(v: bigint): void {
    this.room(8);
    this.pos = this.buf.writeBigUInt64LE(v, this.pos);
  }

  i64(v: bigint): void {
    this.room(8);
    this.pos = this.buf.writeBigInt64LE(v, this.pos);
  }

  f64(v: number): void {
    this.room(8);
    this.pos = this.buf.writeDoubleLE(v, this.pos);
  }

  str(s: string): void {
    if (s.length === 0) return this.u8(0);
    // UTF-8 needs at most 3 bytes per UTF-16 unit; write in place after a reserved 5-byte varint when the
    // string is short enough for the length to fit one byte, else measure first.
    if (s.length < 42) {
      this.room(1 + s.length * 3);
      const n = this.buf.write(s, this.pos + 1);
      this.buf[this.pos] = n;
      this.pos += 1 + n;
      return;
    }
    const n = Buffer.byteLength(s);
    this.uv(n);
    this.room(n);
    this.pos += this.buf.write(s, this.pos, n);
  }

  bytes(b: Uint8Array): void {
    this.uv(b.length);
    this.room(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
}

/** Encodes a batch. The result is a fresh Buffer the caller owns. */
export function encodeSpanRecord(batch: SpanBatch): Buffer {
  const w = new Writer(256 + batch.length * 512);
  w.u8(VERSION);
  const resources = new Map<Resource, number>();
  const scopes = new Map<InstrumentationScope, number>();
  for (const s of batch) {
    if (!resources.has(s.resource)) resources.set(s.resource, resources.size);
    if (!scopes.has(s.scope)) scopes.set(s.scope, scopes.size);
  }
  w.uv(resources.size);
  for (const r of resources.keys()) {
    writeAttributes(w, r.attributes, 0);
    w.uv(r.droppedAttributesCount);
  }
  w.uv(scopes.size);
  for (const sc of scopes.keys()) {
    w.str(sc.name);
    w.str(sc.version);
    writeAttributes(w, sc.attributes, 0);
    w.uv(sc.droppedAttributesCount);
  }
  w.uv(batch.length);
  for (const s of batch) {
    w.str(s.traceId);
    w.str(s.spanId);
    w.str(s.parentSpanId);
    w.str(s.name);
    w.str(s.traceState);
    w.u8(s.kind);
    w.u64(s.startTimeUnixNano);
    w.u64(s.endTimeUnixNano);
    writeAttributes(w, s.attributes, 0);
    w.uv(s.droppedAttributesCount);
    w.uv(s.events.length);
    for (const e of s.events) {
      w.u64(e.timeUnixNano);
      w.str(e.name);
      writeAttributes(w, e.attributes, 0);
      w.uv(e.droppedAttributesCount);
    }
    w.uv(s.droppedEventsCount);
    w.uv(s.links.length);
    for (const l of s.links) {
      w.str(l.traceId);
      w.str(l.spanId);
      w.str(l.traceState);
      writeAttributes(w, l.attributes, 0);
      w.uv(l.droppedAttributesCount);
      w.u32(l.flags);
    }
    w.uv(s.droppedLinksCount);
    w.u8(s.status.code);
    w.str(s.status.message);
    w.u32(s.flags);
    w.uv(resources.get(s.resource)!);
    w.uv(scopes.get(s.scope)!);
    const bits = (s.shared ? B_SHARED : 0) | (s.debug ? B_DEBUG : 0) | (s.localEndpoint ? B_LOCAL : 0) | (s.remoteEndpoint ? B_REMOTE : 0);
    w.u8(bits);
    if (s.localEndpoint) writeEndpoint(w, s.localEndpoint);
    if (s.remoteEndpoint) writeEndpoint(w, s.remoteEndpoint);
  }
  return w.buf.subarray(0, w.pos);
}

function writeEndpoint(w: Writer, e: Endpoint): void {
  w.str(e.serviceName);
  w.str(e.ipv4);
  w.str(e.ipv6);
  w.u16(e.port);
}

function writeAttributes(w: Writer, a: Attributes, depth: number): void {
  let n = 0;
  for (const _ in a) n++;
  w.uv(n);
  for (const k in a) {
    w.str(k);
    writeValue(w, a[k], depth);
  }
}

function writeValue(w: Writer, v: AnyValue, depth: number): void {
  switch (typeof v) {
    case 'string':
      w.u8(T_STRING);
      return w.str(v);
    case 'boolean':
      return w.u8(v ? T_TRUE : T_FALSE);
    case 'bigint':
      w.u8(T_INT);
      return w.i64(v);
    case 'number':
      w.u8(T_DOUBLE);
      return w.f64(v);
  }
  if (v === null) return w.u8(T_NULL);
  if (v instanceof Uint8Array) {
    w.u8(T_BYTES);
    return w.bytes(v);
  }
  if (Array.isArray(v)) {
    w.u8(T_ARRAY);
    w.uv(v.length);
    for (const x of v) writeValue(w, x, depth + 1);
    return;
  }
  w.u8(T_MAP);
  writeAttributes(w, v, depth + 1);
}

class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}

  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new SpanRecordError(`record truncated at byte ${this.pos}`);
  }

  u8(): number {
    this.need(1);
    return this.buf[this.pos++];
  }

  uv(): number {
    let v = 0;
    let shift = 0;
    for (;;) {
      const b = this.u8();
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
      shift += 7;
      if (shift > 35) throw new SpanRecordError(`varint too long at byte ${this.pos}`);
    }
  }

  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16LE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32LE(this.pos);
    this.pos += 4;
    return v;
  }

  u64(): bigint {
    this.need(8);
    const v = this.buf.readBigUInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  i64(): bigint {
    this.need(8);
    const v = this.buf.readBigInt64LE(this.pos);
    this.pos += 8;
    return v;
  }

  f64(): number {
    this.need(8);
    const v = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return v;
  }

  str(): string {
    const n = this.uv();
    if (n === 0) return '';
    this.need(n);
    const s = utf8Slice(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return s;
  }

  bytes(): Uint8Array {
    const n = this.uv();
    this.need(n);
    const b = new Uint8Array(n);
    b.set(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return b;
  }

  get done(): boolean {
    return this.pos === this.buf.length;
  }
}

/** Decodes what {@link encodeSpanRecord} wrote. Throws SpanRecordError for anything else. */
export function decodeSpanRecord(buf: Buffer): SpanBatch {
  const r = new Reader(buf);
  const version = r.u8();
  if (version !== VERSION) throw new SpanRecordError(`unknown span record version ${version}`);
  const resources: Resource[] = new Array(r.uv());
  for (let i = 0; i < resources.length; i++) {
    const attributes = readAttributes(r, 0);
    resources[i] = { attributes, droppedAttributesCount: r.uv() };
  }
  const scopes: InstrumentationScope[] = new Array(r.uv());
  for (let i = 0; i < scopes.length; i++) {
    const name = r.str();
    const version = r.str();
    const attributes = readAttributes(r, 0);
    const dropped = r.uv();
    const empty = name === '' && version === '' && dropped === 0 && Object.keys(attributes).length === 0;
    scopes[i] = empty ? EMPTY_SCOPE : { name, version, attributes, droppedAttributesCount: dropped };
  }
  const count = r.uv();
  if (count > buf.length) throw new SpanRecordError(`span count ${count} exceeds the record size`);
  const batch: SpanBatch = new Array(count);
  for (let i = 0; i < count; i++) {
    const traceId = r.str();
    const spanId = r.str();
    const parentSpanId = r.str();
    const name = r.str();
    const traceState = r.str();
    const kind = r.u8() as SpanKind;
    const start = r.u64();
    const end = r.u64();
    const attributes = readAttributes(r, 0);
    const droppedAttributes = r.uv();
    const events = new Array(r.uv());
    for (let j = 0; j < events.length; j++) {
      const timeUnixNano = r.u64();
      const ename = r.str();
      const eattrs = readAttributes(r, 0);
      events[j] = { timeUnixNano, name: ename, attributes: eattrs, droppedAttributesCount: r.uv() };
    }
    const droppedEvents = r.uv();
    const links = new Array(r.uv());
    for (let j = 0; j < links.length; j++) {
      const ltrace = r.str();
      const lspan = r.str();
      const lstate = r.str();
      const lattrs = readAttributes(r, 0);
      const ldropped = r.uv();
      links[j] = { traceId: ltrace, spanId: lspan, traceState: lstate, attributes: lattrs, droppedAttributesCount: ldropped, flags: r.u32() };
    }
    const droppedLinks = r.uv();
    const code = r.u8() as StatusCode;
    const message = r.str();
    const flags = r.u32();
    const resource = resources[r.uv()];
    const scope = scopes[r.uv()];
    if (resource === undefined || scope === undefined) throw new SpanRecordError(`span ${i} refers to a missing resource or scope`);
    const bits = r.u8();
    const s = new Span(resource, attributes, events, links);
    s.traceId = traceId;
    s.spanId = spanId;
    s.parentSpanId = parentSpanId;
    s.name = name;
    s.traceState = traceState;
    s.kind = kind;
    s.startTimeUnixNano = start;
    s.endTimeUnixNano = end;
    s.droppedAttributesCount = droppedAttributes;
    s.droppedEventsCount = droppedEvents;
    s.droppedLinksCount = droppedLinks;
    s.status = code === 0 && message === '' ? UNSET_STATUS : { code, message };
    s.flags = flags;
    s.scope = scope;
    s.shared = (bits & B_SHARED) !== 0;
    s.debug = (bits & B_DEBUG) !== 0;
    if (bits & B_LOCAL) s.localEndpoint = readEndpoint(r);
    if (bits & B_REMOTE) s.remoteEndpoint = readEndpoint(r);
    batch[i] = s;
  }
  if (!r.done) throw new SpanRecordError(`${buf.length - r.pos} bytes after the last span`);
  return batch;
}

function readEndpoint(r: Reader): Endpoint {
  const serviceName = r.str();
  const ipv4 = r.str();
  const ipv6 = r.str();
  return { serviceName, ipv4, ipv6, port: r.u16() };
}

function readAttributes(r: Reader, depth: number): Attributes {
  const out: Attributes = {};
  const n = r.uv();
  for (let i = 0; i < n; i++) {
    const k = r.str();
    const v = readValue(r, depth);
    if (k === '__proto__') setOwn(out, k, v);
    else out[k] = v;
  }
  return out;
}

function readValue(r: Reader, depth: number): AnyValue {
  if (depth > MAX_VALUE_DEPTH) throw new SpanRecordError('value nested too deeply');
  const tag = r.u8();
  switch (tag) {
    case T_NULL:
      return null;
    case T_STRING:
      return r.str();
    case T_FALSE:
      return false;
    case T_TRUE:
      return true;
    case T_INT:
      return r.i64();
    case T_DOUBLE:
      return r.f64();
    case T_BYTES:
      return r.bytes();
    case T_ARRAY: {
      const n = r.uv();
      const a: AnyValue[] = [];
      for (let i = 0; i < n; i++) a.push(readValue(r, depth + 1));
      return a;
    }
    case T_MAP:
      return readAttributes(r, depth + 1);
    default:
      throw new SpanRecordError(`unknown value tag ${tag} at byte ${r.pos - 1}`);
  }
}
