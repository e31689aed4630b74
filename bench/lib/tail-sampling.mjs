/**
 * The tail-sampling benchmark scenario's processor config and figures.
 *
 * The policies are evaluated on every trace as in production (an error check, a latency threshold, a
 * route regex, a probabilistic share), and a final `always_sample` keeps every trace, so that the
 * harness's exact completeness check still holds: every accepted span must come out of the sampler
 * exactly once. `decision_wait` is 5 s: at 50 000 spans/s of the workload's traces (4.5 spans on average)
 * that is about 55 000 traces in flight.
 */
export const TAIL_SAMPLING = {
  decision_wait: '5s',
  num_traces: 200_000,
  max_memory_mib: 512,
  policies: [
    { name: 'errors', type: 'status_code', status_code: { status_codes: ['ERROR'] } },
    { name: 'slow', type: 'latency', latency: { threshold_ms: 200 } },
    { name: 'order-routes', type: 'string_attribute', string_attribute: { key: 'http.route', values: ['^/api/v[0-9]+/orders'], enabled_regex_matching: true } },
    { name: 'ten-percent', type: 'probabilistic', probabilistic: { sampling_percentage: 10 } },
    { name: 'everything', type: 'always_sample' },
  ],
};

/** Gauges sampled during the load for their peak. */
export const TAIL_SAMPLING_WATCH = ['spanline_tail_sampling_pending_traces', 'spanline_tail_sampling_memory_bytes'];

/**
 * What the run says about the sampler: peak traces in flight and estimated memory, decisions, how many
 * were decided within 1 s after decision_wait, forced decisions, late spans.
 */
export function tailSamplingFigures(metrics, peaks) {
  const delayCount = metrics.sum('spanline_tail_sampling_decision_delay_seconds_count');
  let within1s = 0;
  let within100ms = 0;
  for (const s of metrics.samples) {
    if (s.name !== 'spanline_tail_sampling_decision_delay_seconds_bucket') continue;
    if (s.labels.includes('le="1"')) within1s += s.value;
    if (s.labels.includes('le="0.1"')) within100ms += s.value;
  }
  const maxDelayBucket = (() => {
    const buckets = metrics.samples
      .filter((s) => s.name === 'spanline_tail_sampling_decision_delay_seconds_bucket')
      .map((s) => ({ le: Number(/le="([^"]+)"/.exec(s.labels)?.[1]), value: s.value }))
      .sort((a, b) => a.le - b.le);
    const all = buckets.find((b) => b.value >= delayCount);
    return all ? all.le : undefined;
  })();
  return {
    peakPendingTraces: peaks?.spanline_tail_sampling_pending_traces,
    peakEstimatedMemoryMB: peaks?.spanline_tail_sampling_memory_bytes === undefined ? undefined : Math.round(peaks.spanline_tail_sampling_memory_bytes / 1024 / 1024),
    tracesDecided: metrics.sum('spanline_tail_sampling_traces_decided_total'),
    decidedOnTimer: delayCount,
    decidedWithin100msOfDecisionWait: within100ms,
    decidedWithin1sOfDecisionWait: within1s,
    allDecidedWithin1s: delayCount > 0 && within1s === delayCount,
    maxDelayBucketSeconds: maxDelayBucket,
    forcedDecisions: metrics.sum('spanline_tail_sampling_forced_decisions_total'),
    lateSpans: metrics.sum('spanline_tail_sampling_late_spans_total'),
    downstreamRefusals: metrics.sum('spanline_tail_sampling_downstream_refusals_total'),
  };
}
