/**
 * Zipkin v1 JSON (`POST /api/v1/spans`): a JSON list of v1 spans, read as Zipkin's `V1JsonSpanReader`
 * reads it and converted to the span model by zipkin-v1.ts. Errors are worded as the v2 JSON decoder
 * words them (zipkin-json.ts): `span[<index>]<path>: <Zipkin's problem>`.
 *
 * What is read: `traceId` (1 to 32 lower-hex chars: the low 64 bits, and the high 64 bits of a 32-char
 * id), `id` and `parentId` (the low 64 bits), `name`, `timestamp`, `duration`, `annotations`
 * (`timestamp`, `value`, `endpoint`), `binaryAnnotations` (`key`, `value`, `endpoint`; a string value is
 * a tag, `true` on `ca`/`sa`/`ma` with an endpoint an address, other values are ignored) and `debug`.
 * Unknown keys and null values are skipped.
 */
import type { Endpoint, Span } from '../model/span.js';
import { jsonTokenName } from './json-text.js';
import { decodeEndpoint, decodeZipkinJsonList, fail, isObject, readFlag, readMicros, readString } from './zipkin-json.js';
import { ZipkinDecodeContext, ZipkinDecodeError } from './zipkin-normalize.js';
import { V1Span, V1SpanConverter, type V1Annotation, type V1BinaryAnnotation } from './zipkin-v1.js';

/** Decodes a Zipkin v1 JSON list. An empty body or list is an empty list, as in Zipkin. */
export function decodeZipkinV1Json(body: Buffer | string): Span[] {
  const v1 = readPlainV1Json(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
  return v1 !== undefined ? convertV1Spans(v1) : decodeZipkinV1JsonTree(body);
}

/**
 * What Zipkin's collector does with a body posted as v1 JSON: undefined when the body holds one of
 * Zipkin's markers of v2 JSON (`Endpoint"` or `"tags"`, anywhere in the text, as its
 * `testForUnexpectedFormat` finds them), else {@link decodeZipkinV1Json}. The markers are looked for
 * while the body is read, instead of in two passes over it before.
 */
export function decodeZipkinV1JsonUnlessV2(body: Buffer): Span[] | undefined {
  const v1 = readPlainV1Json(body);
  if (v1 !== undefined) return SCANNER.v2Marker ? undefined : convertV1Spans(v1);
  if (body.includes(ENDPOINT_MARKER) || body.includes(TAGS_MARKER)) return undefined;
  return decodeZipkinV1JsonTree(body);
}

/** Zipkin's markers of v2 JSON (`SpanBytesDecoderDetector`, `testForUnexpectedFormat`). */
const ENDPOINT_MARKER = Buffer.from('Endpoint"');
const TAGS_MARKER = Buffer.from('"tags"');

/**
 * {@link decodeZipkinV1Json} through `JSON.parse`, for any body: the reference that the direct reader
 * ({@link V1JsonScanner}) must agree with, answer for answer (test/codecs/zipkin-v1-json.test.ts).
 */
export function decodeZipkinV1JsonTree(body: Buffer | string): Span[] {
  return decodeZipkinJsonList(body, decodeSpanList);
}

function decodeSpanList(root: unknown): Span[] {
  if (!Array.isArray(root)) throw new ZipkinDecodeError('Expected a JSON array of spans');
  const converter = new V1SpanConverter(new ZipkinDecodeContext());
  const endpoints = new EndpointReader();
  const out: Span[] = [];
  for (let i = 0; i < root.length; i++) {
    const v1 = readV1Span(root[i], i, endpoints);
    const problem = v1.finish();
    if (problem !== undefined) throw fail(i, '', problem);
    converter.convert(v1, out);
  }
  return out;
}

/** The spans read by {@link V1JsonScanner}, checked and converted in order as decodeSpanList does. */
function convertV1Spans(spans: V1Span[]): Span[] {
  const converter = new V1SpanConverter(new ZipkinDecodeContext());
  const out: Span[] = [];
  for (let i = 0; i < spans.length; i++) {
    const v1 = spans[i];
    const problem = v1.finish();
    if (problem !== undefined) throw fail(i, '', problem);
    converter.convert(v1, out);
  }
  return out;
}

const ZEROS = '0000000000000000';

function isLowerHex(s: string, from: number, to: number): boolean {
  for (let k = from; k < to; k++) {
    const c = s.charCodeAt(k);
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) return false;
  }
  return true;
}

/**
 * The low 64 bits of a 1 to 32 char lower-hex id, as 16 lower-hex chars (Zipkin's
 * `lowerHexToUnsignedLong`: only the last 16 chars are read).
 */
function v1Id(text: string, i: number, path: string): string {
  const len = text.length;
  const begin = len > 16 ? len - 16 : 0;
  if (len < 1 || len > 32 || !isLowerHex(text, begin, len)) {
    throw fail(i, path, `${text} should be a 1 to 32 character lower-hex string with no prefix`);
  }
  const low = begin === 0 ? text : text.slice(begin);
  return low.length === 16 ? low : ZEROS.slice(low.length) + low;
}

function readV1Span(v: unknown, i: number, endpoints: EndpointReader): V1Span {
  if (!isObject(v)) throw fail(i, '', `Expected BEGIN_OBJECT but was ${jsonTokenName(v)}`);
  const s = new V1Span();

  // Zipkin reads traceId and id even when null (and fails); every other null field is skipped.
  const rawTraceId = v.traceId;
  if (rawTraceId !== undefined) {
    const traceId = readString(rawTraceId, i, '.traceId');
    if (traceId.length === 32) {
      if (!isLowerHex(traceId, 0, 16)) throw fail(i, '.traceId', `${traceId} should be a 1 to 32 character lower-hex string with no prefix`);
      s.traceIdHigh = traceId.slice(0, 16);
    }
    s.traceId = v1Id(traceId, i, '.traceId');
  }
  const rawId = v.id;
  if (rawId !== undefined) s.id = v1Id(readString(rawId, i, '.id'), i, '.id');

  const rawParentId = v.parentId;
  if (rawParentId != null) s.parentId = v1Id(readString(rawParentId, i, '.parentId'), i, '.parentId');
  const rawName = v.name;
  if (rawName != null) s.name = readString(rawName, i, '.name').toLowerCase();
  const rawTimestamp = v.timestamp;
  if (rawTimestamp != null) s.timestamp = readMicros(rawTimestamp, i, '.timestamp');
  const rawDuration = v.duration;
  if (rawDuration != null) s.duration = readMicros(rawDuration, i, '.duration');
  const rawAnnotations = v.annotations;
  if (rawAnnotations != null) s.annotations = readAnnotations(rawAnnotations, i, endpoints);
  const rawBinaryAnnotations = v.binaryAnnotations;
  if (rawBinaryAnnotations != null) s.binaryAnnotations = readBinaryAnnotations(rawBinaryAnnotations, i, endpoints);
  s.debug = readFlag(v.debug, i, '.debug');
  return s;
}

function readAnnotations(v: unknown, i: number, endpoints: EndpointReader): V1Annotation[] {
  if (!Array.isArray(v)) throw fail(i, '.annotations', `Expected BEGIN_ARRAY but was ${jsonTokenName(v)}`);
  const out: V1Annotation[] = new Array(v.length);
  for (let j = 0; j < v.length; j++) {
    const a: unknown = v[j];
    const path = `.annotations[${j}]`;
    if (!isObject(a)) throw fail(i, path, `Expected BEGIN_OBJECT but was ${jsonTokenName(a)}`);
    const rawTimestamp = a.timestamp;
    const rawValue = a.value;
    const rawEndpoint = a.endpoint;
    const timestamp = rawTimestamp === undefined ? undefined : readMicros(rawTimestamp, i, path + '.timestamp');
    const value = rawValue === undefined ? undefined : readString(rawValue, i, path + '.value');
    const endpoint = rawEndpoint == null ? undefined : endpoints.read(rawEndpoint, i, path + '.endpoint');
    if (timestamp === undefined || value === undefined) throw fail(i, path, 'Incomplete annotation');
    out[j] = { timestamp, value, endpoint };
  }
  return out;
}

function readBinaryAnnotations(v: unknown, i: number, endpoints: EndpointReader): V1BinaryAnnotation[] {
  if (!Array.isArray(v)) throw fail(i, '.binaryAnnotations', `Expected BEGIN_ARRAY but was ${jsonTokenName(v)}`);
  const out: V1BinaryAnnotation[] = [];
  for (let j = 0; j < v.length; j++) {
    const b: unknown = v[j];
    const path = `.binaryAnnotations[${j}]`;
    if (!isObject(b)) throw fail(i, path, `Expected BEGIN_OBJECT but was ${jsonTokenName(b)}`);
    const rawKey = b.key;
    const key = rawKey == null ? undefined : readString(rawKey, i, path + '.key');
    const value = b.value;
    const rawEndpoint = b.endpoint;
    const endpoint = rawEndpoint == null ? undefined : endpoints.read(rawEndpoint, i, path + '.endpoint');
    if (key === undefined) throw fail(i, path, 'No key');
    if (typeof value === 'string') {
      out.push({ key, value, endpoint });
    } else if (value === true && endpoint !== undefined && (key === 'sa' || key === 'ca' || key === 'ma')) {
      out.push({ key, value: undefined, endpoint });
    }
    // Numbers, objects and other booleans are ignored, as Zipkin ignores them.
  }
  return out;
}

/**
 * v1 repeats the local endpoint on every annotation and binary annotation: an endpoint with the same
 * JSON values as the one before is the same (immutable) endpoint, read once.
 */
class EndpointReader {
  private serviceName: unknown = undefined;
  private ipv4: unknown = undefined;
  private ipv6: unknown = undefined;
  private port: unknown = undefined;
  private last: Endpoint | undefined = undefined;
  private valid = false;

  read(v: unknown, i: number, path: string): Endpoint | undefined {
    if (isObject(v)) {
      const { serviceName, ipv4, ipv6, port } = v;
      if (this.valid && serviceName === this.serviceName && ipv4 === this.ipv4 && ipv6 === this.ipv6 && port === this.port) return this.last;
      this.last = decodeEndpoint(v, i, path);
      this.serviceName = serviceName;
      this.ipv4 = ipv4;
      this.ipv6 = ipv6;
      this.port = port;
      this.valid = true;
      return this.last;
    }
    return decodeEndpoint(v, i, path);
  }
}

// ---- the direct reader

/**
 * Thrown inside {@link V1JsonScanner} for anything it does not read itself; the caller then reads the
 * body again with `JSON.parse` and the reader above, which give every answer (and every error) their
 * exact form.
 */
const NOT_PLAIN: unique symbol = Symbol('not plain v1 JSON');

const EMPTY = Buffer.alloc(0);

/**
 * Strings that repeat across spans and requests (tag keys, short tag values, annotation values, names,
 * service names), by a hash of their bytes: a hit costs a hash and a compare instead of a new string,
 * and the spans of a batch share them. A slot holds the last string that hashed to it.
 */
const SHARED_STRINGS: string[] = new Array<string>(4096).fill('');
const SHARED_MAX_LENGTH = 40;

function sharedString(b: Buffer, start: number, end: number): string {
  let h = end - start;
  for (let k = start; k < end; k++) h = (Math.imul(h, 31) + b[k]) | 0;
  const slot = (h ^ (h >>> 12)) & 4095;
  const s = SHARED_STRINGS[slot];
  const length = end - start;
  if (s.length === length) {
    let m = 0;
    while (m < length && s.charCodeAt(m) === b[start + m]) m++;
    if (m === length) return s;
  }
  const created = LATIN1_SLICE.call(b, start, end);
  SHARED_STRINGS[slot] = created;
  return created;
}

type Slice = (this: Buffer, start: number, end: number) => string;
const LATIN1_SLICE = (Buffer.prototype as unknown as { latin1Slice: Slice }).latin1Slice;

const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const MINUS = 0x2d;
const BACKSLASH = 0x5c;

// Keys, one bit each, so that a span's keys seen so far are a mask.
const K_TRACE_ID = 1 << 0;
const K_ID = 1 << 1;
const K_PARENT_ID = 1 << 2;
const K_NAME = 1 << 3;
const K_TIMESTAMP = 1 << 4;
const K_DURATION = 1 << 5;
const K_ANNOTATIONS = 1 << 6;
const K_BINARY_ANNOTATIONS = 1 << 7;
const K_DEBUG = 1 << 8;
const K_VALUE = 1 << 9;
const K_ENDPOINT = 1 << 10;
const K_KEY = 1 << 11;
const K_SERVICE_NAME = 1 << 12;
const K_IPV4 = 1 << 13;
const K_IPV6 = 1 << 14;
const K_PORT = 1 << 15;

const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const KEY_NAMES: [number, Uint8Array][] = [
  [K_TRACE_ID, ascii('traceId')],
  [K_ID, ascii('id')],
  [K_PARENT_ID, ascii('parentId')],
  [K_NAME, ascii('name')],
  [K_TIMESTAMP, ascii('timestamp')],
  [K_DURATION, ascii('duration')],
  [K_ANNOTATIONS, ascii('annotations')],
  [K_BINARY_ANNOTATIONS, ascii('binaryAnnotations')],
  [K_DEBUG, ascii('debug')],
  [K_VALUE, ascii('value')],
  [K_ENDPOINT, ascii('endpoint')],
  [K_KEY, ascii('key')],
  [K_SERVICE_NAME, ascii('serviceName')],
  [K_IPV4, ascii('ipv4')],
  [K_IPV6, ascii('ipv6')],
  [K_PORT, ascii('port')],
];

/** The keys by a hash of their length and first and last bytes, in which no two collide. */
const keySlot = (length: number, first: number, last: number): number => (length ^ (first << 3) ^ (last << 1)) & 1023;
const KEY_BITS = new Int32Array(1024);
const KEY_TEXTS: Uint8Array[] = new Array<Uint8Array>(1024).fill(new Uint8Array(0));
for (const [bit, text] of KEY_NAMES) {
  const slot = keySlot(text.length, text[0], text[text.length - 1]);
  if (KEY_BITS[slot] !== 0) throw new Error(`v1 JSON keys collide in slot ${slot}`);
  KEY_BITS[slot] = bit;
  KEY_TEXTS[slot] = text;
}

/**
 * Reads the plain v1 JSON that clients write (zipkin-js, Brave's v1 encoder) straight from the bytes
 * into {@link V1Span}s, without the `JSON.parse` tree: every byte is read once, the endpoint repeated on
 * each annotation is compared as bytes with the one before and decoded once. It reads JSON as `JSON.parse`
 * does and each value as the reader above does (with the same functions), and leaves with
 * {@link NOT_PLAIN} at anything else: a string with an escape or a non-ASCII byte, a number that is not
 * a safe integer, a key it does not know or that repeats, a value of an unusual type, malformed JSON,
 * any error. Not reentrant; one per call.
 */
class V1JsonScanner {
  private b: Buffer = EMPTY;
  private p = 0;
  /** The last endpoint object: its bytes `[endpointStart, endpointEnd)` and what they decode to. */
  private endpointStart = 0;
  private endpointEnd = 0;
  private endpoint: Endpoint | undefined = undefined;
  /**
   * Whether a string value ends with `Endpoint` or is `tags`: in JSON without escapes, exactly when the
   * body holds Zipkin's v2 markers `Endpoint"` or `"tags"` (a `"` after `t` can only close a string,
   * and one before `t` can only open one).
   */
  v2Marker = false;

  /** Drops the body, which the caller may not keep. */
  release(): void {
    this.b = EMPTY;
  }

  /** The spans of a list, or throws. */
  read(b: Buffer): V1Span[] {
    this.b = b;
    this.p = 0;
    this.endpointEnd = this.endpointStart = 0;
    this.endpoint = undefined;
    this.v2Marker = false;
    const out: V1Span[] = [];
    this.ws();
    if (b[this.p++] !== LBRACKET) throw NOT_PLAIN;
    this.ws();
    if (b[this.p] === RBRACKET) {
      this.p++;
    } else {
      for (;;) {
        out.push(this.span());
        this.ws();
        const c = b[this.p++];
        if (c === COMMA) continue;
        if (c === RBRACKET) break;
        throw NOT_PLAIN;
      }
    }
    this.ws();
    if (this.p !== b.length) throw NOT_PLAIN;
    return out;
  }

  private ws(): void {
    const b = this.b;
    let p = this.p;
    for (;;) {
      const c = b[p];
      if (c > 0x20 || (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09)) break;
      p++;
    }
    this.p = p;
  }

  /** After whitespace: the end of a member (`,` then whitespace: true) or of the object (`}`: false). */
  private more(): boolean {
    this.ws();
    const c = this.b[this.p++];
    if (c === COMMA) return true;
    if (c === RBRACE) return false;
    throw NOT_PLAIN;
  }

  /** `{` and whitespace; false when the object is empty. */
  private open(): boolean {
    const b = this.b;
    this.ws();
    if (b[this.p++] !== LBRACE) throw NOT_PLAIN;
    this.ws();
    if (b[this.p] === RBRACE) {
      this.p++;
      return false;
    }
    return true;
  }

  /** The end of the string whose opening quote is at `p` (the index of its closing quote). */
  private stringEnd(): number {
    const b = this.b;
    let p = this.p;
    if (b[p++] !== QUOTE) throw NOT_PLAIN;
    for (;;) {
      const c = b[p];
      if (c === QUOTE) return p;
      // Escapes, control characters (and the end of the body), non-ASCII.
      if (c === BACKSLASH || !(c >= 0x20 && c < 0x80)) throw NOT_PLAIN;
      p++;
    }
  }

  /** A key, its colon and the whitespace after it: one of the K_ bits. */
  private key(): number {
    const b = this.b;
    this.ws();
    const start = this.p + 1;
    const end = this.stringEnd();
    this.p = end + 1;
    this.ws();
    if (b[this.p++] !== COLON) throw NOT_PLAIN;
    this.ws();
    const length = end - start;
    if (length === 0) throw NOT_PLAIN;
    const slot = keySlot(length, b[start], b[end - 1]);
    const name = KEY_TEXTS[slot];
    if (name.length !== length) throw NOT_PLAIN;
    for (let m = 0; m < length; m++) if (b[start + m] !== name[m]) throw NOT_PLAIN;
    return KEY_BITS[slot];
  }

  /** A string value; `shared` for one that repeats across spans (see {@link SHARED_STRINGS}). */
  private string(shared: boolean): string {
    const start = this.p + 1;
    const end = this.stringEnd();
    this.p = end + 1;
    const b = this.b;
    const length = end - start;
    if (length >= 8) {
      if (b[end - 1] === 0x74 && b[end - 8] === 0x45 && LATIN1_SLICE.call(b, end - 8, end) === 'Endpoint') this.v2Marker = true;
    } else if (length === 4 && b[start] === 0x74 && b[start + 1] === 0x61 && b[start + 2] === 0x67 && b[start + 3] === 0x73) {
      this.v2Marker = true;
    }
    return shared && length <= SHARED_MAX_LENGTH ? sharedString(b, start, end) : LATIN1_SLICE.call(b, start, end);
  }

  /** A string value, or undefined for null. */
  private stringOrNull(shared: boolean): string | undefined {
    if (this.b[this.p] === QUOTE) return this.string(shared);
    this.literal(NULL);
    return undefined;
  }

  private literal(text: Uint8Array): void {
    const b = this.b;
    const p = this.p;
    for (let k = 0; k < text.length; k++) if (b[p + k] !== text[k]) throw NOT_PLAIN;
    this.p = p + text.length;
  }

  /** True, false, or undefined for null. */
  private flag(): boolean | undefined {
    const c = this.b[this.p];
    if (c === 0x74) {
      this.literal(TRUE);
      return true;
    }
    if (c === 0x66) {
      this.literal(FALSE);
      return false;
    }
    this.literal(NULL);
    return undefined;
  }

  /** A JSON integer that is a safe integer (what JSON.parse reads exactly). */
  private integer(): number {
    const b = this.b;
    let p = this.p;
    const negative = b[p] === MINUS;
    if (negative) p++;
    const first = p;
    let n = 0;
    for (;;) {
      const d = b[p] - 0x30;
      if (!(d >= 0 && d <= 9)) break;
      n = n * 10 + d;
      p++;
    }
    const digits = p - first;
    // No digits, a leading zero, a fraction or exponent, or more than JSON.parse reads exactly.
    if (digits === 0 || digits > 16 || (digits > 1 && b[first] === 0x30) || b[p] === 0x2e || b[p] === 0x65 || b[p] === 0x45 || !Number.isSafeInteger(n)) {
      throw NOT_PLAIN;
    }
    this.p = p;
    return negative ? -n : n;
  }

  /** A time or duration: as readMicros reads it; undefined for null. */
  private micros(i: number, path: string): bigint | undefined {
    const c = this.b[this.p];
    if (c === QUOTE) return readMicros(this.string(false), i, path);
    if (c === 0x6e) {
      this.literal(NULL);
      return undefined;
    }
    return BigInt(this.integer());
  }

  private span(): V1Span {
    const s = new V1Span();
    if (!this.open()) return s;
    let seen = 0;
    do {
      const k = this.key();
      if ((seen & k) !== 0) throw NOT_PLAIN;
      seen |= k;
      switch (k) {
        case K_TRACE_ID: {
          // As readV1Span: a 32-char id gives the high half, and v1Id the low one.
          const traceId = this.stringOrNull(false);
          if (traceId === undefined) throw NOT_PLAIN;
          if (traceId.length === 32) {
            if (!isLowerHex(traceId, 0, 16)) throw NOT_PLAIN;
            s.traceIdHigh = traceId.slice(0, 16);
          }
          s.traceId = v1Id(traceId, 0, '');
          break;
        }
        case K_ID: {
          const id = this.stringOrNull(false);
          if (id === undefined) throw NOT_PLAIN;
          s.id = v1Id(id, 0, '');
          break;
        }
        case K_PARENT_ID: {
          const parentId = this.stringOrNull(false);
          if (parentId !== undefined) s.parentId = v1Id(parentId, 0, '');
          break;
        }
        case K_NAME: {
          const name = this.stringOrNull(true);
          if (name !== undefined) s.name = name.toLowerCase();
          break;
        }
        case K_TIMESTAMP: {
          const t = this.micros(0, '');
          if (t !== undefined) s.timestamp = t;
          break;
        }
        case K_DURATION: {
          const d = this.micros(0, '');
          if (d !== undefined) s.duration = d;
          break;
        }
        case K_ANNOTATIONS:
          if (this.b[this.p] === LBRACKET) this.annotations(s.annotations);
          else this.literal(NULL);
          break;
        case K_BINARY_ANNOTATIONS:
          if (this.b[this.p] === LBRACKET) this.binaryAnnotations(s.binaryAnnotations);
          else this.literal(NULL);
          break;
        case K_DEBUG:
          s.debug = this.flag() === true;
          break;
        default:
          throw NOT_PLAIN;
      }
    } while (this.more());
    return s;
  }

  /** `[` at p: the items, then p after `]`. */
  private list(): boolean {
    this.p++;
    this.ws();
    if (this.b[this.p] === RBRACKET) {
      this.p++;
      return false;
    }
    return true;
  }

  /** After an item: whether another follows. */
  private next(): boolean {
    this.ws();
    const c = this.b[this.p++];
    if (c === COMMA) return true;
    if (c === RBRACKET) return false;
    throw NOT_PLAIN;
  }

  private annotations(out: V1Annotation[]): void {
    if (!this.list()) return;
    do {
      let timestamp: bigint | undefined;
      let value: string | undefined;
      let endpoint: Endpoint | undefined;
      let seen = 0;
      if (this.open()) {
        do {
          const k = this.key();
          if ((seen & k) !== 0) throw NOT_PLAIN;
          seen |= k;
          if (k === K_TIMESTAMP) timestamp = this.micros(0, '');
          else if (k === K_VALUE) value = this.stringOrNull(true);
          else if (k === K_ENDPOINT) endpoint = this.endpointOrNull();
          else throw NOT_PLAIN;
        } while (this.more());
      }
      // A null timestamp or value is an error, as a missing one.
      if (timestamp === undefined || value === undefined) throw NOT_PLAIN;
      out.push({ timestamp, value, endpoint });
    } while (this.next());
  }

  private binaryAnnotations(out: V1BinaryAnnotation[]): void {
    if (!this.list()) return;
    do {
      let key: string | undefined;
      let value: string | boolean | undefined;
      let endpoint: Endpoint | undefined;
      let seen = 0;
      if (this.open()) {
        do {
          const k = this.key();
          if ((seen & k) !== 0) throw NOT_PLAIN;
          seen |= k;
          if (k === K_KEY) {
            key = this.stringOrNull(true);
          } else if (k === K_VALUE) {
            const c = this.b[this.p];
            if (c === QUOTE) value = this.string(true);
            else if (c === MINUS || (c >= 0x30 && c <= 0x39)) this.integer(); // ignored, as by readBinaryAnnotations
            else value = this.flag();
          } else if (k === K_ENDPOINT) {
            endpoint = this.endpointOrNull();
          } else {
            throw NOT_PLAIN;
          }
        } while (this.more());
      }
      if (key === undefined) throw NOT_PLAIN;
      // As readBinaryAnnotations.
      if (typeof value === 'string') {
        out.push({ key, value, endpoint });
      } else if (value === true && endpoint !== undefined && (key === 'sa' || key === 'ca' || key === 'ma')) {
        out.push({ key, value: undefined, endpoint });
      }
    } while (this.next());
  }

  /** An endpoint (undefined when empty or null); the same bytes as the one before are its endpoint. */
  private endpointOrNull(): Endpoint | undefined {
    const b = this.b;
    const start = this.p;
    const c = b[start];
    if (c !== LBRACE) {
      this.literal(NULL);
      return undefined;
    }
    const lastStart = this.endpointStart;
    const length = this.endpointEnd - lastStart;
    // memcmp: faster than a loop over the ~50 bytes of a typical endpoint.
    if (length > 0 && start + length <= b.length && b.compare(b, lastStart, lastStart + length, start, start + length) === 0) {
      this.p = start + length;
      return this.endpoint;
    }
    // The raw values, duplicates overwriting as in JSON.parse, then decodeEndpoint as the reader does.
    const raw: { serviceName?: string | null; ipv4?: string | null; ipv6?: string | null; port?: number | null } = {};
    if (this.open()) {
      do {
        const k = this.key();
        if (k === K_SERVICE_NAME) raw.serviceName = this.stringOrNull(true) ?? null;
        else if (k === K_IPV4) raw.ipv4 = this.stringOrNull(false) ?? null;
        else if (k === K_IPV6) raw.ipv6 = this.stringOrNull(false) ?? null;
        else if (k === K_PORT) raw.port = b[this.p] === 0x6e ? (this.literal(NULL), null) : this.integer();
        else throw NOT_PLAIN;
      } while (this.more());
    }
    const endpoint = decodeEndpoint(raw, 0, '');
    this.endpointStart = start;
    this.endpointEnd = this.p;
    this.endpoint = endpoint;
    return endpoint;
  }
}

const NULL = ascii('null');
const TRUE = ascii('true');
const FALSE = ascii('false');

const SCANNER = new V1JsonScanner();

/** The v1 spans of `body` read by {@link V1JsonScanner}, or undefined when it does not read them. */
function readPlainV1Json(body: Buffer): V1Span[] | undefined {
  try {
    return SCANNER.read(body);
  } catch {
    return undefined;
  } finally {
    SCANNER.release();
  }
}

/** Whether {@link V1JsonScanner} reads `body` itself (else decoding goes through `JSON.parse`); for tests. */
export function readsPlainV1Json(body: Buffer): boolean {
  return readPlainV1Json(body) !== undefined;
}
