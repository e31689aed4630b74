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
