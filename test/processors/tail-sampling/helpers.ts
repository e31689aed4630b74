/** Spans and configs for the tail_sampling tests. */
import type { Context } from '../../../src/config/schema.js';
import { newResource, Span, StatusCode, type AnyValue, type Resource, type SpanBatch } from '../../../src/model/span.js';
import { tailSamplingConfig, type TailSamplingConfig } from '../../../src/processors/tail-sampling/index.js';

export interface SpanSpec {
  trace: string;
  id?: string;
  /** ms since an arbitrary epoch; 0 = no timestamp. */
  start?: number;
  durationMs?: number;
  status?: StatusCode;
  attrs?: Record<string, AnyValue>;
  resource?: Resource;
  traceState?: string;
}

let seq = 0;
const BASE_NS = 1_700_000_000_000_000_000n;

export function span(spec: SpanSpec): Span {
  const sp = new Span(spec.resource ?? newResource({ 'service.name': 'svc' }), { ...spec.attrs });
  sp.traceId = spec.trace;
  sp.spanId = spec.id ?? (++seq).toString(16).padStart(16, '0');
  if (spec.start !== 0) {
    const start = BASE_NS + BigInt(Math.round((spec.start ?? 0) * 1e6));
    sp.startTimeUnixNano = start;
    sp.endTimeUnixNano = start + BigInt(Math.round((spec.durationMs ?? 1) * 1e6));
  } else {
    sp.endTimeUnixNano = BigInt(Math.round((spec.durationMs ?? 1) * 1e6));
  }
  if (spec.status !== undefined) sp.status = { code: spec.status, message: '' };
  if (spec.traceState !== undefined) sp.traceState = spec.traceState;
  return sp;
}

/** `count` plain spans of one trace, ids `${trace}-0`… */
export function traceSpans(trace: string, count: number, attrs: Record<string, AnyValue> = {}): SpanBatch {
  return Array.from({ length: count }, (_, i) => span({ trace, id: `${trace}-${i}`, attrs }));
}

/** A validated config, as the loader would give it; throws with every schema problem. */
export function configOf(raw: Record<string, unknown>): TailSamplingConfig {
  const ctx: Context = { issues: [] };
  const cfg = tailSamplingConfig.check(raw, [], ctx);
  if (cfg === undefined) throw new Error(ctx.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  return cfg;
}

/** A 32-hex-digit trace id from a number. */
export const tid = (n: number) => n.toString(16).padStart(32, '0');
