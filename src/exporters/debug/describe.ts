/**
 * Plain, JSON-safe views of spans for the debug exporter's log records: bigints become decimal strings and
 * bytes base64 (as in OTLP/JSON), enums their names.
 */
import {
  serviceNameOf,
  SpanKind,
  StatusCode,
  type AnyValue,
  type Attributes,
  type Endpoint,
  type Span,
  type SpanBatch,
} from '../../model/span.js';

export interface BatchSummary {
  spans: number;
  /** Distinct trace ids. */
  traces: number;
  /** Distinct service names. */
  services: number;
}

export function summarizeBatch(batch: SpanBatch): BatchSummary {
  const traces = new Set<string>();
  const services = new Set<string>();
  for (const span of batch) {
    traces.add(span.traceId);
    services.add(serviceNameOf(span));
  }
  return { spans: batch.length, traces: traces.size, services: services.size };
}

/** Milliseconds between start and end, or undefined when either time is absent. */
export function durationMs(span: Span): number | undefined {
  if (span.startTimeUnixNano === 0n || span.endTimeUnixNano === 0n || span.endTimeUnixNano < span.startTimeUnixNano) return undefined;
  return Number(span.endTimeUnixNano - span.startTimeUnixNano) / 1e6;
}

/** One line: `trace=… span=… service=… name="…" duration=1.5ms`. */
export function spanLine(span: Span): string {
  const d = durationMs(span);
  const duration = d === undefined ? '?' : `${Math.round(d * 1000) / 1000}ms`;
  return `trace=${span.traceId} span=${span.spanId} service=${serviceNameOf(span) || '?'} name=${JSON.stringify(span.name)} duration=${duration}`;
}

/** Everything the span carries. */
export function describeSpan(span: Span): Record<string, unknown> {
  return {
    traceId: span.traceId,
    spanId: span.spanId,
    parentSpanId: span.parentSpanId,
    name: span.name,
    kind: SpanKind[span.kind] ?? String(span.kind),
    service: serviceNameOf(span),
    startTimeUnixNano: span.startTimeUnixNano.toString(),
    endTimeUnixNano: span.endTimeUnixNano.toString(),
    durationMs: durationMs(span) ?? null,
    status: { code: StatusCode[span.status.code] ?? String(span.status.code), message: span.status.message },
    attributes: plainAttributes(span.attributes),
    droppedAttributesCount: span.droppedAttributesCount,
    events: span.events.map((e) => ({
      timeUnixNano: e.timeUnixNano.toString(),
      name: e.name,
      attributes: plainAttributes(e.attributes),
      droppedAttributesCount: e.droppedAttributesCount,
    })),
    droppedEventsCount: span.droppedEventsCount,
    links: span.links.map((l) => ({
      traceId: l.traceId,
      spanId: l.spanId,
      traceState: l.traceState,
      attributes: plainAttributes(l.attributes),
      droppedAttributesCount: l.droppedAttributesCount,
      flags: l.flags,
    })),
    droppedLinksCount: span.droppedLinksCount,
    traceState: span.traceState,
    flags: span.flags,
    resource: {
      attributes: plainAttributes(span.resource.attributes),
      droppedAttributesCount: span.resource.droppedAttributesCount,
    },
    scope: {
      name: span.scope.name,
      version: span.scope.version,
      attributes: plainAttributes(span.scope.attributes),
      droppedAttributesCount: span.scope.droppedAttributesCount,
    },
    shared: span.shared,
    debug: span.debug,
    localEndpoint: plainEndpoint(span.localEndpoint),
    remoteEndpoint: plainEndpoint(span.remoteEndpoint),
  };
}

function plainEndpoint(e: Endpoint | undefined): Endpoint | null {
  return e === undefined ? null : { serviceName: e.serviceName, ipv4: e.ipv4, ipv6: e.ipv6, port: e.port };
}

function plainAttributes(attributes: Attributes): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k in attributes) out[k] = plainValue(attributes[k]);
  return out;
}

function plainValue(v: AnyValue): unknown {
  if (typeof v === 'bigint') return v.toString();
  if (v === null || typeof v !== 'object') return v;
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
  if (Array.isArray(v)) return v.map(plainValue);
  return plainAttributes(v);
}
