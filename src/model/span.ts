/**
 * The one internal span model. Every receiver decodes into it and every exporter encodes from it, so it
 * must hold, without loss, what Zipkin v1/v2 and OTLP carry. See ARCHITECTURE.md for the field mapping.
 *
 * Representation choices (this is the hot path):
 * - ids are lower-case hex strings: a trace id is 16 chars (64-bit, Zipkin) or 32 chars (128-bit);
 *   a span id is 16 chars; "" means absent (no parent, no link id).
 * - times are unsigned nanoseconds since the epoch as `bigint`; `0n` means absent (a Zipkin span without
 *   timestamp or duration). `end - start` is always the duration: a Zipkin span with a duration but no
 *   timestamp has start `0n` and end = its duration.
 * - attribute values are plain JS values whose runtime type is the OTLP type: string, boolean,
 *   `bigint` (int64), `number` (double), `Uint8Array` (bytes), arrays, nested maps, `null` (empty value).
 * - resource and scope are shared objects: every span decoded from one Zipkin service or one OTLP
 *   `ResourceSpans` points at the same `Resource`, which lets encoders group by identity.
 */

export enum SpanKind {
  Unspecified = 0,
  Internal = 1,
  Server = 2,
  Client = 3,
  Producer = 4,
  Consumer = 5,
}

export enum StatusCode {
  Unset = 0,
  Ok = 1,
  Error = 2,
}

/** An OTLP AnyValue; the runtime type of the JS value is its OTLP type. */
export type AnyValue =
  | string
  | boolean
  | number
  | bigint
  | Uint8Array
  | AnyValue[]
  | KeyValueList
  | null;

/**
 * How deeply array and map values may nest. Decoders refuse deeper values, so that every encoder (they
 * recurse) can write whatever a decoder accepted; 64 is far beyond what instrumentation produces.
 */
export const MAX_VALUE_DEPTH = 64;

/** A nested map value (OTLP `kvlist_value`). Distinguished from {@link Attributes} only by its position. */
export interface KeyValueList {
  [key: string]: AnyValue;
}

/** Attributes keyed by name. Insertion order is kept and is the encoding order. */
export type Attributes = Record<string, AnyValue>;

export interface Resource {
  attributes: Attributes;
  droppedAttributesCount: number;
}

export interface InstrumentationScope {
  name: string;
  version: string;
  attributes: Attributes;
  droppedAttributesCount: number;
}

/** A Zipkin endpoint's network part. The local endpoint's service name is the resource's `service.name`. */
export interface Endpoint {
  serviceName: string;
  ipv4: string;
  ipv6: string;
  /** 0 when absent. */
  port: number;
}

export interface SpanEvent {
  timeUnixNano: bigint;
  name: string;
  attributes: Attributes;
  droppedAttributesCount: number;
}

export interface SpanLink {
  traceId: string;
  spanId: string;
  traceState: string;
  attributes: Attributes;
  droppedAttributesCount: number;
  flags: number;
}

export interface Status {
  code: StatusCode;
  message: string;
}

const EMPTY_SCOPE_ATTRIBUTES: Attributes = Object.freeze({}) as Attributes;

export const EMPTY_SCOPE: InstrumentationScope = Object.freeze({
  name: '',
  version: '',
  attributes: EMPTY_SCOPE_ATTRIBUTES,
  droppedAttributesCount: 0,
});

export const UNSET_STATUS: Status = Object.freeze({ code: StatusCode.Unset, message: '' });

/**
 * A span. A class (not an object literal) so that every span has the same hidden class; fields that are
 * rarely set still exist, with an "absent" value, for the same reason.
 */
export class Span {
  traceId = '';
  spanId = '';
  parentSpanId = '';
  name = '';
  kind: SpanKind = SpanKind.Unspecified;
  startTimeUnixNano = 0n;
  endTimeUnixNano = 0n;
  attributes: Attributes;
  droppedAttributesCount = 0;
  events: SpanEvent[];
  droppedEventsCount = 0;
  links: SpanLink[];
  droppedLinksCount = 0;
  status: Status = UNSET_STATUS;
  traceState = '';
  /** OTLP span flags (W3C trace flags in the low byte). */
  flags = 0;
  resource: Resource;
  scope: InstrumentationScope = EMPTY_SCOPE;
  /** Zipkin: this span shares its id with the client span (RPC server side in the same span). */
  shared = false;
  /** Zipkin: the sender forced sampling. */
  debug = false;
  /** Zipkin local endpoint's address; the service name lives in `resource`. */
  localEndpoint: Endpoint | undefined = undefined;
  remoteEndpoint: Endpoint | undefined = undefined;

  constructor(resource: Resource, attributes: Attributes = {}, events: SpanEvent[] = [], links: SpanLink[] = []) {
    this.resource = resource;
    this.attributes = attributes;
    this.events = events;
    this.links = links;
  }
}

/** The unit that flows through pipelines. Consumers must not mutate it unless they declare `mutatesData`. */
export type SpanBatch = Span[];

export const SERVICE_NAME = 'service.name';

/** True if the map has any key (without building a key list, as `Object.keys` would). */
export function hasKeys(map: Attributes | KeyValueList): boolean {
  for (const _ in map) return true;
  return false;
}

/**
 * The end time to write in OTLP. A span with a start but no end (a Zipkin span without duration) gets
 * end = start, as the OpenTelemetry Collector does: OTLP has no "absent", and an end of 0 would precede
 * the start. Zipkin encoders read end == start back as "no duration", so the round trip is exact.
 */
export function otlpEndTime(span: Span): bigint {
  return span.endTimeUnixNano === 0n ? span.startTimeUnixNano : span.endTimeUnixNano;
}

export function serviceNameOf(span: Span): string {
  const v = span.resource.attributes[SERVICE_NAME];
  return typeof v === 'string' ? v : '';
}

export function newResource(attributes: Attributes = {}): Resource {
  return { attributes, droppedAttributesCount: 0 };
}

/** Deep copy, for fan-out to a consumer that mutates data. Resources and scopes are copied once per batch. */
export function cloneBatch(batch: SpanBatch): SpanBatch {
  const resources = new Map<Resource, Resource>();
  const scopes = new Map<InstrumentationScope, InstrumentationScope>();
  const out: SpanBatch = new Array(batch.length);
  for (let i = 0; i < batch.length; i++) {
    const s = batch[i];
    let r = resources.get(s.resource);
    if (r === undefined) {
      r = { attributes: cloneAttributes(s.resource.attributes), droppedAttributesCount: s.resource.droppedAttributesCount };
      resources.set(s.resource, r);
    }
    let sc = scopes.get(s.scope);
    if (sc === undefined) {
      sc = s.scope === EMPTY_SCOPE ? EMPTY_SCOPE : { ...s.scope, attributes: cloneAttributes(s.scope.attributes) };
      scopes.set(s.scope, sc);
    }
    const c = new Span(
      r,
      cloneAttributes(s.attributes),
      s.events.map((e) => ({ ...e, attributes: cloneAttributes(e.attributes) })),
      s.links.map((l) => ({ ...l, attributes: cloneAttributes(l.attributes) })),
    );
    c.traceId = s.traceId;
    c.spanId = s.spanId;
    c.parentSpanId = s.parentSpanId;
    c.name = s.name;
    c.kind = s.kind;
    c.startTimeUnixNano = s.startTimeUnixNano;
    c.endTimeUnixNano = s.endTimeUnixNano;
    c.droppedAttributesCount = s.droppedAttributesCount;
    c.droppedEventsCount = s.droppedEventsCount;
    c.droppedLinksCount = s.droppedLinksCount;
    c.status = s.status;
    c.traceState = s.traceState;
    c.flags = s.flags;
    c.scope = sc;
    c.shared = s.shared;
    c.debug = s.debug;
    c.localEndpoint = s.localEndpoint && { ...s.localEndpoint };
    c.remoteEndpoint = s.remoteEndpoint && { ...s.remoteEndpoint };
    out[i] = c;
  }
  return out;
}

function cloneAttributes(a: Attributes): Attributes {
  const out: Attributes = {};
  for (const k in a) out[k] = cloneValue(a[k]);
  return out;
}

function cloneValue(v: AnyValue): AnyValue {
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Uint8Array) return v.slice();
  if (Array.isArray(v)) return v.map(cloneValue);
  return cloneAttributes(v);
}
