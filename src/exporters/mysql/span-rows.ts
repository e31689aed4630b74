/**
 * Model spans as rows of Zipkin's MySQL schema, exactly as Zipkin's `MySQLSpanConsumer` writes a v2
 * span after `V2SpanConverter` made it a v1 span: so that a stock Zipkin server (and the
 * zipkin-dependencies job) reads them back as the spans we were given. Every span goes through
 * zipkin-view.ts first, the one model → Zipkin mapping.
 *
 * Encodings (Zipkin's):
 * - ids as signed 64-bit BIGINTs: `trace_id` the low half of the trace id, `trace_id_high` the high half
 *   of a 128-bit id (else 0); `parent_id` NULL when absent;
 * - `zipkin_spans`: `name` and `remote_service_name` '' when absent or "unknown"; `debug` 1 or NULL;
 *   `start_ts` the timestamp (µs) even for a shared span; `duration` NULL for a shared span;
 * - `zipkin_annotations`: the core annotations of the span's kind (cs/cr, sr/ss, ms/ws, wr/mr) and its
 *   other annotations with `a_type` -1; tags with `a_type` 6 and the span's timestamp; `lc` with an
 *   empty value for a bare local span; the remote endpoint as an `sa`/`ca`/`ma` address (`a_type` 0,
 *   value 0x01). Endpoint columns: IPv4 as a signed INT, IPv6 as 16 bytes, the port as a signed
 *   SMALLINT, the service name ('' when unnamed); all NULL when the endpoint is absent.
 *
 * Where Zipkin would fail the whole batch, a value is shortened instead: text longer than its VARCHAR(255)
 * column, a tag value over the BLOB's 64 KiB, and (for utf8mb3 columns, Zipkin's) characters outside the
 * BMP, which become U+FFFD.
 */
import { ipv6ToBytes } from '../../codecs/zipkin-normalize.js';
import { ZipkinView } from '../../codecs/zipkin-view.js';
import type { Span } from '../../model/span.js';

/** `zipkin_spans` columns, in the order of {@link SpanRow}. */
export const SPAN_COLUMNS = ['trace_id_high', 'trace_id', 'id', 'name', 'remote_service_name', 'parent_id', 'debug', 'start_ts', 'duration'] as const;

/** `zipkin_annotations` columns, in the order of {@link AnnotationRow}. */
export const ANNOTATION_COLUMNS = [
  'trace_id_high',
  'trace_id',
  'span_id',
  'a_key',
  'a_value',
  'a_type',
  'a_timestamp',
  'endpoint_ipv4',
  'endpoint_ipv6',
  'endpoint_port',
  'endpoint_service_name',
] as const;

export type SpanRow = [
  traceIdHigh: bigint,
  traceId: bigint,
  id: bigint,
  name: string,
  remoteServiceName: string,
  parentId: bigint | null,
  debug: 1 | null,
  startTs: bigint | null,
  duration: bigint | null,
];

export type AnnotationRow = [
  traceIdHigh: bigint,
  traceId: bigint,
  spanId: bigint,
  key: string,
  value: Buffer | null,
  type: number,
  timestamp: bigint,
  ipv4: number | null,
  ipv6: Buffer | null,
  port: number | null,
  serviceName: string | null,
];

/** `a_type` values (Zipkin v1 AnnotationType, -1 for a timestamped annotation). */
export const A_TYPE_ANNOTATION = -1;
export const A_TYPE_BOOL = 0;
export const A_TYPE_STRING = 6;

/** One span's rows. `shared` decides whether `start_ts` may replace a stored one (see the writer). */
export interface SpanRows {
  span: SpanRow;
  shared: boolean;
  annotations: AnnotationRow[];
  /** Rough size of the rows as SQL text, to bound statements. */
  bytes: number;
}

const KIND_CLIENT = 1;
const KIND_SERVER = 2;
const KIND_PRODUCER = 3;
const KIND_CONSUMER = 4;

const TRUE_BYTE = Buffer.from([1]);
const EMPTY = Buffer.alloc(0);
/** VARCHAR(255) counts characters. */
const MAX_TEXT_CHARS = 255;
/** A BLOB holds 65535 bytes. */
const MAX_BLOB_BYTES = 65535;
const HEX_ID = /^[0-9a-f]{16}$/;

/** Endpoint columns of one endpoint, or all NULL. */
interface EndpointColumns {
  ipv4: number | null;
  ipv6: Buffer | null;
  port: number | null;
  serviceName: string | null;
}

const NO_ENDPOINT: EndpointColumns = Object.freeze({ ipv4: null, ipv6: null, port: null, serviceName: null });

/**
 * Converts spans to rows. One instance per exporter: it reuses a {@link ZipkinView} and is not
 * re-entrant (conversion is synchronous).
 */
export class SpanRowConverter {
  private readonly view = new ZipkinView();

  /** @param utf8mb3 replace characters outside the BMP (the columns cannot store them) */
  constructor(private readonly utf8mb3: boolean) {}

  /** The rows of `span`, or a reason why it cannot be stored (ids Zipkin would refuse). */
  convert(span: Span): SpanRows | string {
    const v = this.view.fill(span);
    const traceIdHex = v.traceId;
    if (!HEX_ID.test(v.id)) return `span id ${JSON.stringify(v.id)} is not 16 lower-hex digits`;
    if (traceIdHex.length !== 16 && traceIdHex.length !== 32) return `trace id ${JSON.stringify(traceIdHex)} is not 16 or 32 lower-hex digits`;
    const low = traceIdHex.length === 32 ? traceIdHex.slice(16) : traceIdHex;
    const high = traceIdHex.length === 32 ? traceIdHex.slice(0, 16) : '';
    if (!HEX_ID.test(low) || (high !== '' && !HEX_ID.test(high))) return `trace id ${JSON.stringify(traceIdHex)} is not lower-hex`;
    const traceId = signed64(low);
    const traceIdHigh = high === '' ? 0n : signed64(high);
    const id = signed64(v.id);
    if (traceId === 0n && traceIdHigh === 0n) return 'trace id is all zeros';
    if (id === 0n) return 'span id is all zeros';
    let parentId: bigint | null = null;
    if (v.parentId !== '' && v.parentId !== v.id && HEX_ID.test(v.parentId)) {
      parentId = signed64(v.parentId);
      if (parentId === 0n) parentId = null;
    }

    const timestamp = v.timestamp;
    const shared = v.shared;
    const name = this.text(v.name.toLowerCase());
    const local = v.hasLocalEndpoint
      ? this.endpoint(v.localServiceName, v.localIpv4, v.localIpv6, v.localPort)
      : NO_ENDPOINT;
    const remote = v.hasRemoteEndpoint
      ? this.endpoint(v.remoteServiceName, v.remoteIpv4, v.remoteIpv6, v.remotePort)
      : undefined;

    const spanRow: SpanRow = [
      traceIdHigh,
      traceId,
      id,
      name === 'unknown' ? '' : name,
      remote === undefined || remote.serviceName === 'unknown' ? '' : (remote.serviceName ?? ''),
      parentId,
      v.debug ? 1 : null,
      timestamp !== 0n ? timestamp : null,
      // A shared span's duration is the server's view of the client's RPC: Zipkin does not store it.
      !shared && v.duration !== 0n ? v.duration : null,
    ];
    let bytes = 120 + spanRow[3].length + spanRow[4].length;

    // V2SpanConverter.V1SpanMetadata: the kind, and better start/end times, from the annotations.
    let startTs = timestamp;
    let endTs = timestamp !== 0n && v.duration !== 0n ? timestamp + v.duration : 0n;
    let kind = v.kind;
    let wsTs = 0n;
    let wrTs = 0n;
    let msTs = 0n;
    let mrTs = 0n;
    const count = v.annotationCount;
    const values = v.annotationValues;
    const times = v.annotationTimestamps;
    for (let k = 0; k < count; k++) {
      const value = values[k];
      if (value.length !== 2) continue;
      const t = times[k];
      switch (value) {
        case 'cs':
          kind = KIND_CLIENT;
          if (t < startTs) startTs = t;
          break;
        case 'sr':
          kind = KIND_SERVER;
          if (t < startTs) startTs = t;
          break;
        case 'ss':
          kind = KIND_SERVER;
          if (t > endTs) endTs = t;
          break;
        case 'cr':
          kind = KIND_CLIENT;
          if (t > endTs) endTs = t;
          break;
        case 'ms':
          kind = KIND_PRODUCER;
          msTs = t;
          break;
        case 'mr':
          kind = KIND_CONSUMER;
          mrTs = t;
          break;
        case 'ws':
          wsTs = t;
          break;
        case 'wr':
          wrTs = t;
          break;
      }
    }
    let begin = '';
    let end = '';
    let addr = remote !== undefined ? 'sa' : '';
    switch (kind) {
      case KIND_CLIENT:
        addr = 'sa';
        begin = 'cs';
        end = 'cr';
        break;
      case KIND_SERVER:
        addr = 'ca';
        begin = 'sr';
        end = 'ss';
        break;
      case KIND_PRODUCER:
        addr = 'ma';
        begin = 'ms';
        end = 'ws';
        if (startTs === 0n || (msTs !== 0n && msTs < startTs)) startTs = msTs;
        if (endTs === 0n || (wsTs !== 0n && wsTs > endTs)) endTs = wsTs;
        break;
      case KIND_CONSUMER:
        addr = 'ma';
        if (startTs === 0n || (wrTs !== 0n && wrTs < startTs)) startTs = wrTs;
        if (endTs === 0n || (mrTs !== 0n && mrTs > endTs)) endTs = mrTs;
        if (endTs !== 0n || wrTs !== 0n) {
          begin = 'wr';
          end = 'mr';
        } else {
          begin = 'mr';
        }
        break;
    }
    if (remote === undefined) addr = '';

    const annotations: AnnotationRow[] = [];
    const beginAnnotation = startTs !== 0n && begin !== '';
    const endAnnotation = endTs !== 0n && end !== '';
    if (beginAnnotation) bytes += annotation(annotations, spanRow, begin, null, A_TYPE_ANNOTATION, startTs, local);
    for (let k = 0; k < count; k++) {
      const value = values[k];
      if ((beginAnnotation && value === begin) || (endAnnotation && value === end)) continue;
      bytes += annotation(annotations, spanRow, this.text(value), null, A_TYPE_ANNOTATION, times[k], local);
    }
    if (endAnnotation) bytes += annotation(annotations, spanRow, end, null, A_TYPE_ANNOTATION, endTs, local);

    const tags = v.tagCount;
    for (let k = 0; k < tags; k++) {
      bytes += annotation(annotations, spanRow, this.text(v.tagKeys[k]), blob(v.tagValues[k]), A_TYPE_STRING, timestamp, local);
    }
    // A local span with nothing else to say where it ran.
    const annotationCount = count + (beginAnnotation ? 1 : 0) + (endAnnotation ? 1 : 0);
    if (annotationCount === 0 && tags === 0 && local !== NO_ENDPOINT) {
      bytes += annotation(annotations, spanRow, 'lc', EMPTY, A_TYPE_STRING, timestamp, local);
    }
    if (addr !== '' && remote !== undefined) bytes += annotation(annotations, spanRow, addr, TRUE_BYTE, A_TYPE_BOOL, timestamp, remote);

    return { span: spanRow, shared, annotations, bytes };
  }

  private endpoint(serviceName: string, ipv4: string, ipv6: string, port: number): EndpointColumns {
    let ip4: number | null = null;
    let ip6: Buffer | null = null;
    if (ipv4 !== '') {
      const n = ipv4ToInt(ipv4);
      if (n !== 0) ip4 = n;
    }
    if (ipv6 !== '') {
      const b = Buffer.alloc(16);
      if (ipv6ToBytes(ipv6, b, 0)) ip6 = b;
    }
    return {
      ipv4: ip4,
      ipv6: ip6,
      port: port !== 0 ? (port << 16) >> 16 : null,
      serviceName: this.text(serviceName.toLowerCase()),
    };
  }

  /** Text as a VARCHAR(255) utf8 column can hold it. */
  private text(s: string): string {
    if (this.utf8mb3 && hasAstral(s)) s = s.replace(ASTRAL, '\uFFFD');
    if (s.length > MAX_TEXT_CHARS) {
      const cut = isHighSurrogate(s.charCodeAt(MAX_TEXT_CHARS - 1)) ? MAX_TEXT_CHARS - 1 : MAX_TEXT_CHARS;
      s = s.slice(0, cut);
    }
    return s;
  }
}

/** Appends one annotation row of `span`; returns its rough size as SQL text. */
function annotation(
  out: AnnotationRow[],
  span: SpanRow,
  key: string,
  value: Buffer | null,
  type: number,
  timestamp: bigint,
  ep: EndpointColumns,
): number {
  out.push([span[0], span[1], span[2], key, value, type, timestamp, ep.ipv4, ep.ipv6, ep.port, ep.serviceName]);
  return 100 + key.length + (value === null ? 0 : 2 * value.length) + (ep.serviceName === null ? 0 : ep.serviceName.length);
}

/** A 16-hex-digit id as the signed 64-bit value Zipkin stores. */
export function signed64(hex: string): bigint {
  return BigInt.asIntN(64, BigInt('0x' + hex));
}

/** The 16 hex digits of a signed 64-bit id as stored. */
export function hexOf(id: bigint): string {
  return BigInt.asUintN(64, id).toString(16).padStart(16, '0');
}

/** An IPv4 text as the signed 32-bit INT Zipkin stores (big-endian bytes); 0 when not an IPv4. */
export function ipv4ToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) return 0;
  let n = 0;
  for (let k = 0; k < 4; k++) {
    const b = Number(parts[k]);
    if (!Number.isInteger(b) || b < 0 || b > 255 || parts[k] === '') return 0;
    n = (n << 8) | b;
  }
  return n | 0;
}

const ASTRAL = /[\uD800-\uDBFF][\uDC00-\uDFFF]/g;

function hasAstral(s: string): boolean {
  for (let k = 0; k < s.length; k++) if (isHighSurrogate(s.charCodeAt(k))) return true;
  return false;
}

function isHighSurrogate(c: number): boolean {
  return c >= 0xd800 && c <= 0xdbff;
}

/** A tag value as BLOB bytes (UTF-8), cut to what the column holds. */
function blob(value: string): Buffer {
  const b = Buffer.from(value, 'utf8');
  return b.length > MAX_BLOB_BYTES ? b.subarray(0, MAX_BLOB_BYTES) : b;
}
