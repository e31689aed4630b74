/**
 * Any model span as the fields of a Zipkin v2 span: the one mapping behind every Zipkin encoder (JSON v2
 * and proto3), for spans from Zipkin and from OTLP alike. ARCHITECTURE.md ("Zipkin ↔ OTLP mapping") has
 * the table; in short:
 *
 * - a span decoded from Zipkin comes out as it came in (after Zipkin's normalisation): its tags are its
 *   attributes, and what the decoder derived from them (status, scope, trace state) is not written again;
 * - otherwise attributes become tags as text ({@link tagText}); resource attributes other than
 *   `service.name` become tags too (the span's own attributes win); status, scope, trace state, dropped
 *   counts and links become the tags the OTel specification and the OpenTelemetry Collector use, unless
 *   the tags already say them; events with attributes become annotations `"name":{json}` (the OTel
 *   specification's form); Internal and Unspecified kinds are written without kind;
 * - the endpoints are the span's `localEndpoint`/`remoteEndpoint` when set, else read from the attributes
 *   that the OTLP side writes for them (`net.host.ip`, `peer.service`, …, and the newer `network.*` and
 *   `service.peer.name`), which are then not written as tags; `zipkin.shared` / `zipkin.debug` boolean
 *   attributes set `shared` / `debug`.
 *
 * The view is filled per span into a reused object ({@link ZipkinView.fill}): encoders are synchronous,
 * so a span costs no allocation here beyond its strings.
 */
import { hasKeys, SERVICE_NAME, StatusCode, type AnyValue, type Attributes, type Resource, type Span, type Status } from '../model/span.js';
import { ZIPKIN_DEBUG, ZIPKIN_SHARED } from '../model/zipkin-attributes.js';
import { quoteJson, toBase64 } from './json-text.js';
import { normalizeIp } from './zipkin-normalize.js';
import {
  OTEL_TAG_KEYS,
  S_ERROR,
  S_LIBRARY_NAME,
  S_LIBRARY_VERSION,
  S_LOCAL_IPV6,
  S_NETWORK_LOCAL_ADDRESS,
  S_NETWORK_LOCAL_PORT,
  S_NETWORK_PEER_ADDRESS,
  S_NETWORK_PEER_PORT,
  S_NET_HOST_IP,
  S_NET_HOST_PORT,
  S_NET_PEER_IP,
  S_NET_PEER_PORT,
  S_PEER_SERVICE,
  S_REMOTE_IPV6,
  S_SCOPE_NAME,
  S_SCOPE_VERSION,
  S_SERVICE_PEER_NAME,
  S_STATUS_CODE,
  S_STATUS_DESCRIPTION,
  S_TRACESTATE,
  scopeNameFromZipkinTags,
  statusFromZipkinTags,
} from './zipkin-otel.js';

/** Tag keys for counts the span dropped (OTel specification, "mapping to non-OTLP formats"). */
export const OTEL_DROPPED_ATTRIBUTES_COUNT = 'otel.dropped_attributes_count';
export const OTEL_DROPPED_EVENTS_COUNT = 'otel.dropped_events_count';
export const OTEL_DROPPED_LINKS_COUNT = 'otel.dropped_links_count';
/** Prefix of the tags that carry links, `otlp.link.<index>`, as the OpenTelemetry Collector writes them. */
export const OTLP_LINK_PREFIX = 'otlp.link.';

/** Zipkin kinds numbered as in zipkin.proto (0 none, 1 CLIENT, 2 SERVER, 3 PRODUCER, 4 CONSUMER), by name. */
export const ZIPKIN_KIND_NAMES: readonly string[] = ['', 'CLIENT', 'SERVER', 'PRODUCER', 'CONSUMER'];
/** By model kind: Unspecified and Internal have no Zipkin kind. */
const ZIPKIN_KIND_OF: readonly number[] = [0, 0, 2, 1, 3, 4];

// Attribute keys with a meaning here, by slot: the OTel tag keys, numbered as zipkin-otel.ts numbers
// them, then the Zipkin-only flags. A span's values for them are collected first and written as tags
// last, unless used for a Zipkin field.
const S_ZIPKIN_SHARED = OTEL_TAG_KEYS.length;
const S_ZIPKIN_DEBUG = S_ZIPKIN_SHARED + 1;
const SLOT_KEYS: readonly string[] = [...OTEL_TAG_KEYS, ZIPKIN_SHARED, ZIPKIN_DEBUG];
const SLOTS = new Map<string, number>(SLOT_KEYS.map((key, slot) => [key, slot]));

/** A Zipkin v2 span's fields. Absent values are '' / 0 / 0n / false. */
export class ZipkinView {
  /** 16 or 32 lower-hex chars; a 128-bit id with a zero high half is written as 64-bit. */
  traceId = '';
  parentId = '';
  id = '';
  /** Numbered as in zipkin.proto: see {@link ZIPKIN_KIND_NAMES}. */
  kind = 0;
  name = '';
  /**
   * Set by {@link fillMicros}, for encoders that write numbers as text: `timestamp` as a number when
   * below 2^53 (0 when absent), else -1. Likewise `durationMicros` and `annotationMicros`.
   */
  timestampMicros = 0;
  durationMicros = 0;
  /** Per annotation: its µs when 0 to 2^53 - 1, else -1 (see `annotationTimestamps`). */
  readonly annotationMicros: number[] = [];
  localServiceName = '';
  localIpv4 = '';
  localIpv6 = '';
  localPort = 0;
  remoteServiceName = '';
  remoteIpv4 = '';
  remoteIpv6 = '';
  remotePort = 0;
  annotationCount = 0;
  readonly annotationValues: string[] = [];
  /** Tags in key order (UTF-16 code units, as Zipkin's TreeMap). */
  tagCount = 0;
  readonly tagKeys: string[] = [];
  readonly tagValues: string[] = [];
  debug = false;
  shared = false;

  // Per span: values of the slot keys (valid where `present` has the slot's bit) and the slots used
  // for Zipkin fields (not written as tags).
  private readonly slotValues: AnyValue[] = new Array<AnyValue>(SLOT_KEYS.length).fill(null);
  private present = 0;
  private used = 0;
  // The tags of the last resource seen: resources are shared by runs of spans.
  private lastResource: Resource | undefined = undefined;
  private resourceKeys: string[] = [];

  // The span filled in: the BigInt fields are computed from it when asked for.
  private span: Span | undefined = undefined;
  private readonly bigAnnotationTimestamps: bigint[] = [];

  // Made when first asked for after a fill.
  private bigTimestamp: bigint | undefined = undefined;
  private bigDuration: bigint | undefined = undefined;

  /** Epoch µs; 0n when absent. */
  get timestamp(): bigint {
    return (this.bigTimestamp ??= timestampOf(this.span!));
  }

  /** µs; a positive duration under 1µs is 1 (Zipkin's rule; 0 would mean absent). */
  get duration(): bigint {
    return (this.bigDuration ??= durationOf(this.span!));
  }

  /** The annotations' µs (the first `annotationCount`), in an array that the next fill reuses. */
  get annotationTimestamps(): readonly bigint[] {
    const events = this.span!.events;
    const out = this.bigAnnotationTimestamps;
    for (let k = 0; k < this.annotationCount; k++) out[k] = events[k].timeUnixNano / 1000n;
    return out;
  }

  get hasLocalEndpoint(): boolean {
    return this.localServiceName !== '' || this.localIpv4 !== '' || this.localIpv6 !== '' || this.localPort !== 0;
  }

  get hasRemoteEndpoint(): boolean {
    return this.remoteServiceName !== '' || this.remoteIpv4 !== '' || this.remoteIpv6 !== '' || this.remotePort !== 0;
  }

  /** Fills this view with `span`'s Zipkin fields. */
  fill(span: Span): this {
    this.tagCount = 0;
    this.annotationCount = 0;
    this.present = 0;
    this.used = 0;

    let traceId = span.traceId;
    // The first char settles nearly every id (startsWith alone cost a fifth of this method).
    if (traceId.length === 32 && traceId.charCodeAt(0) === 0x30 && traceId.startsWith(ZERO_HIGH_HALF)) traceId = traceId.slice(16);
    this.traceId = traceId;
    this.parentId = span.parentSpanId;
    this.id = span.spanId;
    this.kind = ZIPKIN_KIND_OF[span.kind] ?? 0;
    this.name = span.name;
    this.span = span;
    this.bigTimestamp = undefined;
    this.bigDuration = undefined;

    const attributes = span.attributes;
    for (const key in attributes) this.addAttribute(key, attributes[key]);
    const resourceKeys = this.resourceTagKeys(span.resource);
    if (resourceKeys.length > 0) {
      const ra = span.resource.attributes;
      for (let k = 0; k < resourceKeys.length; k++) {
        const key = resourceKeys[k];
        if (!Object.hasOwn(attributes, key)) this.addAttribute(key, ra[key]);
      }
    }

    this.fillLocalEndpoint(span);
    this.fillRemoteEndpoint(span);
    this.shared = this.flag(span.shared, S_ZIPKIN_SHARED);
    this.debug = this.flag(span.debug, S_ZIPKIN_DEBUG);
    this.fillStatus(span.status);
    this.fillScope(span);
    if (span.traceState !== '' && !this.has(S_TRACESTATE)) this.setSlot(S_TRACESTATE, span.traceState);

    // The slot keys not used for a Zipkin field are tags like any other.
    const unused = this.present & ~this.used;
    if (unused !== 0) {
      for (let slot = 0; slot < SLOT_KEYS.length; slot++) {
        if ((unused & (1 << slot)) !== 0) this.addTag(SLOT_KEYS[slot], tagText(this.slotValues[slot]));
      }
    }
    if (span.droppedAttributesCount !== 0) this.addTagUnlessOwn(span, OTEL_DROPPED_ATTRIBUTES_COUNT, String(span.droppedAttributesCount));
    if (span.droppedEventsCount !== 0) this.addTagUnlessOwn(span, OTEL_DROPPED_EVENTS_COUNT, String(span.droppedEventsCount));
    if (span.droppedLinksCount !== 0) this.addTagUnlessOwn(span, OTEL_DROPPED_LINKS_COUNT, String(span.droppedLinksCount));
    const links = span.links;
    for (let k = 0; k < links.length; k++) {
      const l = links[k];
      const traceId = l.traceId.length === 16 ? ZERO_HIGH_HALF + l.traceId : l.traceId;
      this.addTagUnlessOwn(span, OTLP_LINK_PREFIX + k, traceId + '|' + l.spanId + '|' + l.traceState + '|' + attributesJson(l.attributes) + '|' + l.droppedAttributesCount);
    }
    this.sortTags();

    const events = span.events;
    for (let k = 0; k < events.length; k++) {
      const e = events[k];
      this.annotationValues[k] = hasKeys(e.attributes) ? quoteJson(e.name) + ':' + attributesJson(e.attributes) : e.name;
    }
    this.annotationCount = events.length;
    return this;
  }

  /**
   * Sets `timestampMicros`, `durationMicros` and `annotationMicros` for the span filled in, with Number
   * arithmetic on 32-bit halves where the BigInt getters divide.
   */
  fillMicros(): void {
    const span = this.span!;
    const events = span.events;
    for (let k = 0; k < this.annotationCount; k++) this.annotationMicros[k] = microsOf(events[k].timeUnixNano);
    const start = span.startTimeUnixNano;
    const end = span.endTimeUnixNano;
    if (start >= 0n && end > start && end <= MAX_U64) {
      // The common case, in halves: no BigInt made.
      TIMES[0] = start;
      TIMES[1] = end;
      const startHigh = HALVES[HIGH];
      const startLow = HALVES[LOW];
      let high = HALVES[2 + HIGH] - startHigh;
      let low = HALVES[2 + LOW] - startLow;
      if (low < 0) {
        low += 4294967296;
        high--;
      }
      this.timestampMicros = microsOfHalves(startHigh, startLow);
      const duration = microsOfHalves(high, low);
      this.durationMicros = duration === 0 ? 1 : duration;
      return;
    }
    const timestamp = this.timestamp;
    this.timestampMicros = timestamp <= MAX_SAFE ? Number(timestamp) : -1;
    const duration = this.duration;
    this.durationMicros = duration <= MAX_SAFE ? Number(duration) : -1;
  }

  private addAttribute(key: string, value: AnyValue): void {
    const slot = SLOTS.get(key);
    if (slot === undefined) {
      this.addTag(key, typeof value === 'string' ? value : tagText(value));
    } else {
      this.slotValues[slot] = value;
      this.present |= 1 << slot;
    }
  }

  private addTag(key: string, value: string): void {
    const n = this.tagCount++;
    this.tagKeys[n] = key;
    this.tagValues[n] = value;
  }

  private addTagUnlessOwn(span: Span, key: string, value: string): void {
    if (Object.hasOwn(span.attributes, key) || Object.hasOwn(span.resource.attributes, key)) return;
    this.addTag(key, value);
  }

  private has(slot: number): boolean {
    return (this.present & (1 << slot)) !== 0;
  }

  private setSlot(slot: number, value: string): void {
    this.slotValues[slot] = value;
    this.present |= 1 << slot;
  }

  private use(slot: number): void {
    this.used |= 1 << slot;
  }

  /** The slot's value as tag text, undefined when absent or used. */
  private text(slot: number): string | undefined {
    const bit = 1 << slot;
    if ((this.present & bit) === 0 || (this.used & bit) !== 0) return undefined;
    const v = this.slotValues[slot];
    return typeof v === 'string' ? v : tagText(v);
  }

  /** The slot's value when it is a string, else undefined. */
  private stringAt(slot: number): string | undefined {
    if (!this.has(slot)) return undefined;
    const v = this.slotValues[slot];
    return typeof v === 'string' ? v : undefined;
  }

  private resourceTagKeys(resource: Resource): string[] {
    if (resource === this.lastResource) return this.resourceKeys;
    const keys: string[] = [];
    for (const key in resource.attributes) if (key !== SERVICE_NAME) keys.push(key);
    this.lastResource = resource;
    this.resourceKeys = keys;
    return keys;
  }

  private fillLocalEndpoint(span: Span): void {
    const sn = span.resource.attributes[SERVICE_NAME];
    this.localServiceName = typeof sn === 'string' ? sn : '';
    const ep = span.localEndpoint;
    if (ep !== undefined) {
      this.localIpv4 = ep.ipv4;
      this.localIpv6 = ep.ipv6;
      this.localPort = ep.port;
      return;
    }
    this.localIpv4 = '';
    this.localIpv6 = '';
    const ip = this.ipFrom(S_NET_HOST_IP, S_NETWORK_LOCAL_ADDRESS);
    if (ip.indexOf(':') >= 0) this.localIpv6 = ip;
    else this.localIpv4 = ip;
    const ipv6 = this.ipv6From(S_LOCAL_IPV6);
    if (ipv6 !== '') this.localIpv6 = ipv6;
    this.localPort = this.portFrom(S_NET_HOST_PORT, S_NETWORK_LOCAL_PORT);
  }

  private fillRemoteEndpoint(span: Span): void {
    const ep = span.remoteEndpoint;
    if (ep !== undefined) {
      this.remoteServiceName = ep.serviceName;
      this.remoteIpv4 = ep.ipv4;
      this.remoteIpv6 = ep.ipv6;
      this.remotePort = ep.port;
      return;
    }
    this.remoteServiceName = this.nameFrom(S_PEER_SERVICE, S_SERVICE_PEER_NAME);
    this.remoteIpv4 = '';
    this.remoteIpv6 = '';
    const ip = this.ipFrom(S_NET_PEER_IP, S_NETWORK_PEER_ADDRESS);
    if (ip.indexOf(':') >= 0) this.remoteIpv6 = ip;
    else this.remoteIpv4 = ip;
    const ipv6 = this.ipv6From(S_REMOTE_IPV6);
    if (ipv6 !== '') this.remoteIpv6 = ipv6;
    this.remotePort = this.portFrom(S_NET_PEER_PORT, S_NETWORK_PEER_PORT);
  }

  // The first of two keys (old convention, then new) with a usable value gives the field; the other key
  // is used up too when it says the same, and otherwise stays a tag.

  private nameFrom(first: number, second: number): string {
    let slot = first;
    let v = this.stringAt(first);
    if (v === undefined || v === '') {
      slot = second;
      v = this.stringAt(second);
    }
    if (v === undefined || v === '') return '';
    this.use(slot);
    if (this.stringAt(slot === first ? second : first) === v) this.use(slot === first ? second : first);
    return v;
  }

  private ipFrom(first: number, second: number): string {
    let ip = '';
    let slot = -1;
    const a = this.stringAt(first);
    if (a !== undefined) ip = normalizeIp(a);
    if (ip !== '') {
      slot = first;
    } else {
      const b = this.stringAt(second);
      if (b !== undefined) ip = normalizeIp(b);
      if (ip !== '') slot = second;
    }
    if (slot < 0) return '';
    this.use(slot);
    const other = slot === first ? second : first;
    if (this.has(other) && this.stringAt(slot) === this.stringAt(other)) this.use(other);
    return ip;
  }

  private ipv6From(slot: number): string {
    const v = this.stringAt(slot);
    if (v === undefined) return '';
    const ip = normalizeIp(v);
    if (ip.indexOf(':') < 0) return '';
    this.use(slot);
    return ip;
  }

  private portFrom(first: number, second: number): number {
    let port = this.has(first) ? portOf(this.slotValues[first]) : 0;
    let slot = first;
    if (port === 0) {
      port = this.has(second) ? portOf(this.slotValues[second]) : 0;
      slot = second;
    }
    if (port === 0) return 0;
    this.use(slot);
    const other = slot === first ? second : first;
    if (this.has(other) && portOf(this.slotValues[other]) === port) this.use(other);
    return port;
  }

  private flag(field: boolean, slot: number): boolean {
    if (!this.has(slot)) return field;
    const v = this.slotValues[slot];
    if (typeof v !== 'boolean') return field;
    this.use(slot);
    return field || v;
  }

  /**
   * Writes the status as the OTel specification maps it (`otel.status_code` OK/ERROR, `error` for an
   * error), as far as the tags do not already say it: a span whose tags say its status gets nothing
   * more, and tags present are never overwritten. `otel.status_description` is added when the other
   * tags cannot carry the message. For a span without status, an `error` tag of "false" (a boolean
   * attribute) is left out, as the specification says.
   */
  private fillStatus(status: Status): void {
    let implied = statusFromZipkinTags(this.text(S_ERROR), this.text(S_STATUS_CODE), this.text(S_STATUS_DESCRIPTION));
    if (sameStatus(implied, status)) return;
    if (status.code === StatusCode.Unset) {
      if (this.text(S_ERROR) === 'false' && !this.has(S_STATUS_CODE)) this.use(S_ERROR);
      return;
    }
    if (!this.has(S_STATUS_CODE)) this.setSlot(S_STATUS_CODE, status.code === StatusCode.Ok ? 'OK' : 'ERROR');
    if (status.code === StatusCode.Error && !this.has(S_ERROR)) this.setSlot(S_ERROR, status.message === '' ? 'true' : status.message);
    implied = statusFromZipkinTags(this.text(S_ERROR), this.text(S_STATUS_CODE), this.text(S_STATUS_DESCRIPTION));
    if (!sameStatus(implied, status) && status.message !== '' && !this.has(S_STATUS_DESCRIPTION)) {
      this.setSlot(S_STATUS_DESCRIPTION, status.message);
    }
  }

  /** `otel.scope.name` / `otel.scope.version` unless the tags already name the span's scope. */
  private fillScope(span: Span): void {
    const scope = span.scope;
    if (scope.name === '') return;
    const name = scopeNameFromZipkinTags(this.text(S_SCOPE_NAME), this.text(S_LIBRARY_NAME));
    const version = this.text(S_SCOPE_VERSION) ?? this.text(S_LIBRARY_VERSION) ?? '';
    if (name === scope.name && version === scope.version) return;
    if (!this.has(S_SCOPE_NAME)) this.setSlot(S_SCOPE_NAME, scope.name);
    if (scope.version !== '' && !this.has(S_SCOPE_VERSION)) this.setSlot(S_SCOPE_VERSION, scope.version);
  }

  /** Insertion sort of the (key, value) pairs: the tags come nearly sorted (Zipkin's are sorted). */
  private sortTags(): void {
    const keys = this.tagKeys;
    const values = this.tagValues;
    for (let k = 1; k < this.tagCount; k++) {
      const key = keys[k];
      if (keys[k - 1] <= key) continue;
      const value = values[k];
      let m = k - 1;
      while (m >= 0 && keys[m] > key) {
        keys[m + 1] = keys[m];
        values[m + 1] = values[m];
        m--;
      }
      keys[m + 1] = key;
      values[m + 1] = value;
    }
  }
}

const ZERO_HIGH_HALF = '0000000000000000';

// Times in ns are split into 32-bit halves (TIMES written, HALVES read) so that µs are computed with
// Number arithmetic: a BigInt division and conversion cost about twice as much, and allocate.
const TIMES = new BigUint64Array(2);
const HALVES = new Uint32Array(TIMES.buffer);
const LOW = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1 ? 0 : 1;
const HIGH = 1 - LOW;
const MAX_U64 = 0xffff_ffff_ffff_ffffn;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function timestampOf(span: Span): bigint {
  const timestamp = span.startTimeUnixNano / 1000n;
  return timestamp > 0n ? timestamp : 0n;
}

function durationOf(span: Span): bigint {
  const start = span.startTimeUnixNano;
  const end = span.endTimeUnixNano;
  if (end <= start) return 0n;
  const duration = (end - start) / 1000n;
  return duration > 0n ? duration : 1n;
}

/**
 * floor((high * 2^32 + low) / 1000) for 32-bit halves, or -1 when that is 2^53 or more. Exact: the high
 * quotient is below 2^21, and the rest below 1000 * 2^32, which a double holds and divides exactly
 * (floor of a quotient of integers below 2^53 cannot be rounded across an integer).
 */
function microsOfHalves(high: number, low: number): number {
  const highQuotient = Math.floor(high / 1000);
  if (highQuotient >= 2097152) return -1;
  return highQuotient * 4294967296 + Math.floor(((high - highQuotient * 1000) * 4294967296 + low) / 1000);
}

/** `ns / 1000n` as a number when `ns` is 0 to 2^64 - 1 and the quotient below 2^53, else -1. */
function microsOf(ns: bigint): number {
  if (ns < 0n || ns > MAX_U64) return -1;
  TIMES[0] = ns;
  return microsOfHalves(HALVES[HIGH], HALVES[LOW]);
}

function sameStatus(a: Status, b: Status): boolean {
  return a.code === b.code && a.message === b.message;
}

/** A port from an int, a double or a decimal string, 0 unless in 1..65535. */
function portOf(v: AnyValue): number {
  let n: number;
  if (typeof v === 'bigint') n = v > 0n && v <= 65535n ? Number(v) : 0;
  else if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && /^[0-9]{1,5}$/.test(v)) n = Number(v);
  else return 0;
  return Number.isInteger(n) && n > 0 && n <= 65535 ? n : 0;
}

/**
 * A tag value for an attribute, as the OTel specification says: strings as is; int64 and double as
 * their decimal text; booleans as `true`/`false`; bytes as base64; the empty value as ''; arrays and
 * maps as JSON.
 */
export function tagText(v: AnyValue): string {
  switch (typeof v) {
    case 'string':
      return v;
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
    case 'number':
      return String(v);
    default:
      if (v === null) return '';
      if (v instanceof Uint8Array) return toBase64(v);
      return anyValueJson(v);
  }
}

/** Attributes as a JSON object. */
export function attributesJson(a: Attributes): string {
  let out = '{';
  for (const key in a) out += (out.length > 1 ? ',' : '') + quoteJson(key) + ':' + anyValueJson(a[key]);
  return out + '}';
}

function anyValueJson(v: AnyValue): string {
  switch (typeof v) {
    case 'string':
      return quoteJson(v);
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    case 'number':
      return Number.isFinite(v) ? String(v) : quoteJson(String(v));
    default: {
      if (v === null) return 'null';
      if (v instanceof Uint8Array) return quoteJson(toBase64(v));
      if (Array.isArray(v)) {
        let out = '[';
        for (let k = 0; k < v.length; k++) out += (k > 0 ? ',' : '') + anyValueJson(v[k]);
        return out + ']';
      }
      return attributesJson(v);
    }
  }
}
