/**
 * Real OpenTelemetry SDK spans for tests: a set of spans that uses every field OTLP carries (all span
 * kinds, every attribute type the SDK allows, events, links, trace state, remote parents, status, dropped
 * counts through span limits, two resources, scopes with and without version and schema URL), and what
 * each ReadableSpan must become in the span model.
 */
import { context, SpanKind as ApiSpanKind, SpanStatusCode, trace, TraceFlags, type AttributeValue, type Attributes as ApiAttributes, type HrTime } from '@opentelemetry/api';
import { TraceState } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan, type SpanExporter, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { AnyValue, Attributes, SpanEvent, SpanLink } from '../../src/model/span.js';

export const TRACE_ID = '5b8efff798038103d269b633813fc60c';
export const REMOTE_PARENT_ID = 'eee19b7ec3c1b173';

const T0 = 1_700_000_000;
const at = (s: number, ns: number): HrTime => [T0 + s, ns];

/**
 * Records the spans into `processors` (default: an in-memory exporter, returned). The spans are made by
 * two providers (two resources) and three tracers.
 */
export function recordSdkSpans(processors?: (resource: 'checkout' | 'billing') => SpanProcessor[]): { spans: ReadableSpan[]; providers: BasicTracerProvider[] } {
  const memory = new InMemorySpanExporter();
  const make = (name: 'checkout' | 'billing', attrs: ApiAttributes) =>
    new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': name, ...attrs }),
      spanProcessors: processors?.(name) ?? [new SimpleSpanProcessor(memory)],
      spanLimits: { attributeCountLimit: 16, eventCountLimit: 3, linkCountLimit: 2 },
    });
  const checkout = make('checkout', { 'host.cpu.count': 8, 'deployment.canary': false, 'cloud.zones': ['a', 'b'] });
  const billing = make('billing', { 'service.version': '2.0.1' });

  const http = checkout.getTracer('io.spanline.http', '1.2.3', { schemaUrl: 'https://opentelemetry.io/schemas/1.24.0' });
  const db = checkout.getTracer('io.spanline.db');
  const pay = billing.getTracer('io.spanline.pay', '0.9.0');

  const remote = trace.setSpanContext(context.active(), {
    traceId: TRACE_ID,
    spanId: REMOTE_PARENT_ID,
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
    traceState: new TraceState('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE'),
  });

  const server = http.startSpan(
    'POST /cart ✓ привет',
    {
      kind: ApiSpanKind.SERVER,
      startTime: at(0, 123_456_789),
      attributes: {
        'http.method': 'POST',
        'http.status_code': 503,
        'http.ratio': 0.25,
        'retry.allowed': true,
        'empty.string': '',
        'int.zero': 0,
        'int.negative': -42,
        'int.max_safe': Number.MAX_SAFE_INTEGER,
        'double.negative': -1.5e-7,
        'tags': ['a', '', 'ü'],
        'codes': [200, 404],
        'weights': [0.5, 1.25],
        'flags': [true, false],
      },
      links: [
        {
          context: { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: TraceFlags.SAMPLED, isRemote: true, traceState: new TraceState('k=v') },
          attributes: { 'link.kind': 'follows_from', 'link.n': 3 },
        },
        { context: { traceId: '0af7651916cd43dd8448eb211c80319c', spanId: 'b7ad6b7169203331', traceFlags: TraceFlags.NONE } },
      ],
    },
    remote,
  );
  server.addEvent('exception', { 'exception.type': 'IOError', 'exception.escaped': false }, at(0, 500_000_001));
  server.addEvent('retry', at(0, 600_000_000));
  server.setStatus({ code: SpanStatusCode.ERROR, message: 'payment failed' });

  const inServer = trace.setSpan(context.active(), server);
  const query = db.startSpan('SELECT cart', { kind: ApiSpanKind.CLIENT, startTime: at(0, 200_000_000), attributes: { 'db.system': 'postgresql' } }, inServer);
  query.setStatus({ code: SpanStatusCode.OK });
  query.end(at(0, 250_000_999));

  // Over the span limits: attributes, events and links are dropped and counted.
  const busy = db.startSpan(
    'busy',
    {
      kind: ApiSpanKind.INTERNAL,
      startTime: at(0, 300_000_000),
      attributes: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`a${i}`, i])),
      links: Array.from({ length: 4 }, (_, i) => ({ context: { traceId: TRACE_ID, spanId: `00000000000000a${i}`, traceFlags: TraceFlags.SAMPLED } })),
    },
    inServer,
  );
  for (let i = 0; i < 5; i++) busy.addEvent(`e${i}`, at(0, 300_000_100 + i));
  busy.end(at(0, 310_000_000));

  const publish = pay.startSpan('publish', { kind: ApiSpanKind.PRODUCER, startTime: at(1, 1) }, inServer);
  publish.end(at(1, 2));
  const consume = pay.startSpan('consume', { kind: ApiSpanKind.CONSUMER, startTime: at(2, 0) });
  consume.end(at(2, 999_999_999));

  server.end(at(1, 987_654_321));
  return { spans: memory.getFinishedSpans(), providers: [checkout, billing] };
}

/** An SDK attribute value as the model holds it: integers are int64 (bigint), other numbers doubles. */
export function modelValue(v: AttributeValue | undefined): AnyValue {
  if (v === undefined || v === null) return null;
  if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : v;
  if (Array.isArray(v)) return v.map((x) => modelValue(x as AttributeValue));
  return v as AnyValue;
}

export function modelAttributes(a: ApiAttributes | undefined): Attributes {
  const out: Attributes = {};
  for (const [k, v] of Object.entries(a ?? {})) out[k] = modelValue(v);
  return out;
}

export function hrTimeNanos(t: HrTime): bigint {
  return BigInt(t[0]) * 1_000_000_000n + BigInt(t[1]);
}

/** OTLP span flags as otlp-transformer writes them: W3C flags, plus "has is-remote" and "is remote". */
export function otlpFlags(traceFlags: number, isRemote: boolean | undefined): number {
  return (traceFlags & 0xff) | 0x100 | (isRemote ? 0x200 : 0);
}

/** What each field of a ReadableSpan must be in the model, by model field name. */
export function expectedModelFields(r: ReadableSpan): Record<string, unknown> {
  const ctx = r.spanContext();
  return {
    traceId: ctx.traceId,
    spanId: ctx.spanId,
    parentSpanId: r.parentSpanContext?.spanId ?? '',
    traceState: ctx.traceState?.serialize() ?? '',
    flags: otlpFlags(ctx.traceFlags, r.parentSpanContext?.isRemote),
    name: r.name,
    kind: r.kind + 1,
    startTimeUnixNano: hrTimeNanos(r.startTime),
    endTimeUnixNano: hrTimeNanos(r.endTime),
    attributes: modelAttributes(r.attributes),
    droppedAttributesCount: r.droppedAttributesCount,
    events: r.events.map(
      (e): SpanEvent => ({ timeUnixNano: hrTimeNanos(e.time), name: e.name, attributes: modelAttributes(e.attributes), droppedAttributesCount: e.droppedAttributesCount ?? 0 }),
    ),
    droppedEventsCount: r.droppedEventsCount,
    links: r.links.map(
      (l): SpanLink => ({
        traceId: l.context.traceId,
        spanId: l.context.spanId,
        traceState: l.context.traceState?.serialize() ?? '',
        attributes: modelAttributes(l.attributes),
        droppedAttributesCount: l.droppedAttributesCount ?? 0,
        flags: otlpFlags(l.context.traceFlags, l.context.isRemote),
      }),
    ),
    droppedLinksCount: r.droppedLinksCount,
    status: { code: r.status.code, message: r.status.message ?? '' },
    resource: { attributes: modelAttributes(r.resource.attributes), droppedAttributesCount: 0 },
    scope: { name: r.instrumentationScope.name, version: r.instrumentationScope.version ?? '' },
  };
}

/** Sends `spans` with `exporter` and resolves with the SDK's export result code (0 success). */
export function exportWith(exporter: SpanExporter, spans: ReadableSpan[]): Promise<{ code: number; error?: Error }> {
  return new Promise((resolve) => exporter.export(spans, resolve));
}
