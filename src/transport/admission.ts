/**
 * Early refusal at the receivers (see `SpanConsumer.admit`): the pipelines are asked before a request's
 * body is read or decoded, so that a refused request costs neither the memory of its decoded spans nor
 * the time to decode them. Requests refused this way are counted here; their spans were never decoded,
 * so the span counters do not see them.
 */
import type { ReceiverContext, RefusedError } from '../component/types.js';
import type { SelfMetrics } from '../telemetry/metrics.js';

function refusedRequests(metrics: SelfMetrics) {
  return metrics.counter(
    'spanline_receiver_refused_requests_total',
    'Requests refused before their body was read or decoded (early refusal, e.g. reason memory_limit); their spans are not counted by the span counters.',
    ['receiver', 'transport', 'reason'],
  );
}

/**
 * Asks the receiver's pipelines whether a request of `bytes` encoded bytes (`undefined`: not known) would
 * be refused now; counts it when it is. The caller answers the returned error as a refusal by `consume`.
 */
export function refuseEarly(context: ReceiverContext, transport: string, bytes: number | undefined): RefusedError | undefined {
  const refused = context.next.admit?.(bytes);
  if (refused !== undefined) refusedRequests(context.metrics).inc({ receiver: context.id, transport, reason: refused.reason });
  return refused;
}

/** The Content-Length header as a number; `undefined` when absent or not a plain decimal (chunked bodies). */
export function contentLength(header: string | string[] | undefined): number | undefined {
  if (typeof header !== 'string' || !/^\d{1,15}$/.test(header)) return undefined;
  return Number(header);
}
