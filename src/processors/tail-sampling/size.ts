/**
 * An estimate of the heap a span keeps alive, for `max_memory_mib`. It is computed once per span as it
 * arrives, from V8's usual layouts (object headers and 8-byte fields, one-byte strings of 16 bytes plus
 * their length, heap BigInts of 24 bytes); the benchmark compares the sum with the process RSS.
 * Resources and scopes are shared between spans and not counted; keys of attribute maps are mostly
 * internalized (shared) strings, so only their slot is counted.
 */
import type { AnyValue, Attributes, Endpoint, Span } from '../../model/span.js';

/** The Span object (27 fields) and its two heap BigInt times. */
const SPAN_OBJECT = 16 + 27 * 8 + 2 * 24;
/** A trace held while undecided: its record, its Map entry and its span array header. */
export const TRACE_OVERHEAD = 200;

const str = (s: string) => (s.length === 0 ? 0 : 24 + s.length);

export function estimateSpanBytes(sp: Span): number {
  let n = SPAN_OBJECT + str(sp.traceId) + str(sp.spanId) + str(sp.parentSpanId) + str(sp.name) + str(sp.traceState);
  n += attributesBytes(sp.attributes);
  const events = sp.events;
  if (events.length > 0) {
    n += 16 + events.length * 8;
    for (let i = 0; i < events.length; i++) n += 56 + str(events[i].name) + attributesBytes(events[i].attributes);
  }
  const links = sp.links;
  if (links.length > 0) {
    n += 16 + links.length * 8;
    for (let i = 0; i < links.length; i++) {
      const l = links[i];
      n += 72 + str(l.traceId) + str(l.spanId) + str(l.traceState) + attributesBytes(l.attributes);
    }
  }
  if (sp.localEndpoint !== undefined) n += endpointBytes(sp.localEndpoint);
  if (sp.remoteEndpoint !== undefined) n += endpointBytes(sp.remoteEndpoint);
  if (sp.status.message !== '') n += 32 + str(sp.status.message);
  return n;
}

function endpointBytes(e: Endpoint): number {
  return 48 + str(e.serviceName) + str(e.ipv4) + str(e.ipv6);
}

function attributesBytes(a: Attributes): number {
  let n = 32;
  for (const k in a) n += 24 + valueBytes(a[k]);
  return n;
}

function valueBytes(v: AnyValue): number {
  switch (typeof v) {
    case 'string':
      return str(v);
    case 'bigint':
      return 24;
    case 'number':
      return 16;
    case 'boolean':
      return 0;
    default:
      break;
  }
  if (v === null) return 0;
  if (v instanceof Uint8Array) return 96 + v.byteLength;
  if (Array.isArray(v)) {
    let n = 16 + v.length * 8;
    for (const x of v) n += valueBytes(x);
    return n;
  }
  return attributesBytes(v);
}
