/**
 * An estimate of the heap a span holds, for byte bounds on queues and buffers. It counts what grows with
 * the data (strings, attributes, events, links) plus a fixed overhead per object, close enough to V8's
 * layout to keep a bound meaningful; it is not an exact measure. The resource and scope are shared by
 * many spans and are not counted.
 */
import type { AnyValue, Attributes, Span, SpanBatch } from './span.js';

/** The span object with its id strings, bigint times and status; test/model/span-size.test.ts checks the sum against V8. */
const SPAN_OVERHEAD = 480;
const EVENT_OVERHEAD = 96;
const LINK_OVERHEAD = 160;
/** A property in a dictionary-mode object plus the key string's header. */
const ENTRY_OVERHEAD = 64;
const STRING_OVERHEAD = 16;

export function estimateSpanBytes(s: Span): number {
  // Status messages (exception text) and trace states are free-form and may be long, like the name.
  let n = SPAN_OVERHEAD + s.name.length + s.traceState.length + s.status.message.length + attributesBytes(s.attributes);
  for (let i = 0; i < s.events.length; i++) {
    const e = s.events[i];
    n += EVENT_OVERHEAD + e.name.length + attributesBytes(e.attributes);
  }
  for (let i = 0; i < s.links.length; i++) n += LINK_OVERHEAD + s.links[i].traceState.length + attributesBytes(s.links[i].attributes);
  return n;
}

const batchBytes = new WeakMap<SpanBatch, number>();

/** The estimate for a whole batch, remembered per batch object (fan-out asks once per exporter). */
export function estimateBatchBytes(batch: SpanBatch): number {
  let n = batchBytes.get(batch);
  if (n === undefined) {
    n = 0;
    for (let i = 0; i < batch.length; i++) n += estimateSpanBytes(batch[i]);
    batchBytes.set(batch, n);
  }
  return n;
}

/**
 * Records the estimate of a batch assembled from spans already estimated (the batch processor's cut
 * batches), so that consumers downstream take it from here instead of walking the spans again, which by
 * then have gone cold in the CPU caches.
 */
export function rememberBatchBytes(batch: SpanBatch, bytes: number): void {
  batchBytes.set(batch, bytes);
}

function attributesBytes(a: Attributes): number {
  let n = 0;
  for (const k in a) n += ENTRY_OVERHEAD + k.length + valueBytes(a[k]);
  return n;
}

function valueBytes(v: AnyValue): number {
  switch (typeof v) {
    case 'string':
      return STRING_OVERHEAD + v.length;
    case 'bigint':
      return 24;
    case 'number':
    case 'boolean':
      return 0;
  }
  if (v === null) return 0;
  if (v instanceof Uint8Array) return 96 + v.length;
  if (Array.isArray(v)) {
    let n = 16 + 8 * v.length;
    for (let i = 0; i < v.length; i++) n += valueBytes(v[i]);
    return n;
  }
  return 32 + attributesBytes(v);
}
