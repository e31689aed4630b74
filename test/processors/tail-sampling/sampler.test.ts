import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { RefusedError, type SpanConsumer } from '../../../src/component/types.js';
import { StatusCode, type SpanBatch } from '../../../src/model/span.js';
import { estimateBatchBytes, estimateSpanBytes } from '../../../src/model/span-size.js';
import { tailSamplingProcessor, type TailSampler } from '../../../src/processors/tail-sampling/index.js';
import { SelfMetrics } from '../../../src/telemetry/metrics.js';
import { waitFor } from '../../helpers/wait.js';
import { configOf, span, tid, traceSpans } from './helpers.js';

/** A downstream of our own interface: records accepted spans; scripted refusals. */
class Downstream implements SpanConsumer {
  readonly accepted: SpanBatch[] = [];
  attempts = 0;
  readonly script: Error[] = [];
  always: Error | undefined;

  async consume(batch: SpanBatch): Promise<void> {
    this.attempts++;
    const failure = this.script.shift() ?? this.always;
    if (failure) throw failure;
    this.accepted.push(batch);
  }

  ids(): string[] {
    return this.accepted.flat().map((s) => s.spanId).sort();
  }

  count(): number {
    return this.accepted.reduce((n, b) => n + b.length, 0);
  }
}

const KEEP = { name: 'keep', type: 'string_attribute', string_attribute: { key: 'keep', values: ['yes'] } };

function setup(raw: Record<string, unknown>, next = new Downstream()) {
  const dropped: Record<string, number> = {};
  const metrics = new SelfMetrics();
  const warnings: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => warnings.push(JSON.parse(line).msg as string) });
  const sampler = tailSamplingProcessor.create(configOf({ policies: [KEEP], ...raw }), {
    id: 'tail_sampling',
    logger,
    metrics,
    configDir: '.',
    pipeline: 'traces',
    next,
    durableDownstream: false,
    dropped: (count, reason) => (dropped[reason] = (dropped[reason] ?? 0) + count),
  } as Parameters<typeof tailSamplingProcessor.create>[1]) as TailSampler;
  const droppedTotal = () => Object.values(dropped).reduce((a, b) => a + b, 0);
  /** The value of a sample of `name` whose labels include all of `labels`. */
  const metric = async (name: string, labels: Record<string, string> = {}) => {
    const m = await metrics.registry.getSingleMetric(name)?.get();
    return (m?.values ?? [])
      .filter((v) => Object.entries(labels).every(([k, val]) => (v.labels as Record<string, unknown>)[k] === val))
      .reduce((n, v) => n + v.value, 0);
  };
  return { sampler, next, dropped, droppedTotal, metric, warnings };
}

const advance = (ms = 0) => vi.advanceTimersByTimeAsync(ms);
const neverAborts = () => new AbortController().signal;

describe('tail_sampling processor (fake time)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('groups out-of-order spans from many consume() calls and decides each trace decision_wait after its first span', async () => {
    const { sampler, next, dropped, metric } = setup({ decision_wait: '1s' });
    const a = tid(0xa);
    const b = tid(0xb);
    // children before the root, traces interleaved, the matching attribute on a late child
    await sampler.consume([span({ trace: a, id: 'a-child-2' }), span({ trace: b, id: 'b-child' })]);
    await advance(400);
    await sampler.consume([span({ trace: a, id: 'a-root' })]);
    await sampler.consume([span({ trace: b, id: 'b-root' })]);
    await advance(400);
    await sampler.consume([span({ trace: a, id: 'a-child-1', attrs: { keep: 'yes' } }), span({ trace: b, id: 'b-child-2' })]);
    expect(sampler.pendingTraceCount).toBe(2);
    await advance(150); // 950 ms after the first spans: not yet
    expect(next.count()).toBe(0);
    expect(sampler.pendingTraceCount).toBe(2);
    await advance(200); // decision_wait + the loop's coalescing (≤ 50 ms at 1 s)
    expect(sampler.pendingTraceCount).toBe(0);
    expect(next.ids()).toEqual(['a-child-1', 'a-child-2', 'a-root']);
    expect(dropped).toEqual({ not_sampled: 3 });
    expect(await metric('spanline_tail_sampling_traces_decided_total', { decision: 'sampled', trigger: 'decision_wait' })).toBe(1);
    expect(await metric('spanline_tail_sampling_traces_decided_total', { decision: 'not_sampled', trigger: 'decision_wait' })).toBe(1);
    expect(await metric('spanline_tail_sampling_policy_decisions_total', { policy: 'keep', decision: 'sampled' })).toBe(1);
  });

  it('treats a 64-bit trace id and its 128-bit form (zero high half) as one trace, as Zipkin and OTLP write them', async () => {
    const { sampler, next } = setup({ decision_wait: '1s' });
    await sampler.consume([span({ trace: '00000000000000ab', id: 'zipkin-root' })]);
    await sampler.consume([span({ trace: '000000000000000000000000000000ab', id: 'otlp-child', attrs: { keep: 'yes' } })]);
    expect(sampler.pendingTraceCount).toBe(1);
    await advance(1100);
    expect(next.ids()).toEqual(['otlp-child', 'zipkin-root']);
  });

  it('decides traces in arrival order, each at its own deadline, without waiting for the others', async () => {
    const { sampler, next } = setup({ decision_wait: '10s', policies: [{ name: 'all', type: 'always_sample' }] });
    for (let i = 0; i < 5; i++) {
      await sampler.consume(traceSpans(tid(i + 1), 2));
      await advance(1000);
    }
    // t = 5 s: nothing due yet
    expect(next.count()).toBe(0);
    await advance(5_100); // t = 10.1 s: the first trace (arrived at 0) is due
    expect(next.accepted.map((b) => b[0].traceId)).toEqual([tid(1)]);
    await advance(3_000);
    expect(next.accepted.map((b) => b[0].traceId)).toEqual([tid(1), tid(2), tid(3), tid(4)]);
  });

  it('sends late spans of a sampled trace at once and drops those of an unsampled one, counting both as late', async () => {
    const { sampler, next, dropped, metric } = setup({ decision_wait: '1s' });
    await sampler.consume([span({ trace: tid(1), id: 'k1', attrs: { keep: 'yes' } }), span({ trace: tid(2), id: 'd1' })]);
    await advance(1100);
    expect(next.ids()).toEqual(['k1']);
    await sampler.consume([span({ trace: tid(1), id: 'k2' }), span({ trace: tid(2), id: 'd2' }), span({ trace: tid(2), id: 'd3' })]);
    await advance();
    expect(next.ids()).toEqual(['k1', 'k2']);
    expect(sampler.pendingTraceCount).toBe(0);
    expect(dropped).toEqual({ not_sampled: 3 });
    expect(await metric('spanline_tail_sampling_late_spans_total', { decision: 'sampled' })).toBe(1);
    expect(await metric('spanline_tail_sampling_late_spans_total', { decision: 'not_sampled' })).toBe(2);
  });

  it('a late span whose decision left the cache starts a new trace, decided again', async () => {
    const { sampler, next } = setup({ decision_wait: '1s', decision_cache: { sampled_cache_size: 1 } });
    await sampler.consume([span({ trace: tid(1), id: 'a1', attrs: { keep: 'yes' } }), span({ trace: tid(2), id: 'b1', attrs: { keep: 'yes' } })]);
    await advance(1100);
    // tid(1) was pushed out of a 1-entry cache by tid(2)
    await sampler.consume([span({ trace: tid(1), id: 'a2' }), span({ trace: tid(2), id: 'b2' })]);
    await advance();
    expect(next.ids()).toEqual(['a1', 'b1', 'b2']);
    expect(sampler.pendingTraceCount).toBe(1);
    await advance(1100);
    expect(next.ids()).toEqual(['a1', 'b1', 'b2']); // a2 alone has no keep=yes
  });

  it('beyond num_traces decides the oldest trace early on what it has: nothing is lost undecided', async () => {
    const { sampler, next, droppedTotal, metric } = setup({ decision_wait: '30s', num_traces: 3 });
    let spansIn = 0;
    for (let i = 1; i <= 7; i++) {
      const batch = traceSpans(tid(i), i, i % 2 === 1 ? { keep: 'yes' } : {});
      spansIn += batch.length;
      await sampler.consume(batch);
    }
    await advance();
    expect(sampler.pendingTraceCount).toBe(3);
    expect(await metric('spanline_tail_sampling_forced_decisions_total', { reason: 'num_traces' })).toBe(4);
    // the four oldest were decided: 1 and 3 sampled
    expect(next.accepted.flat().map((s) => s.traceId)).toEqual([...Array(1).fill(tid(1)), ...Array(3).fill(tid(3))]);
    // a late span of a forced trace follows its decision
    await sampler.consume([span({ trace: tid(1), id: 'late' })]);
    spansIn++;
    await sampler.shutdown(neverAborts());
    expect(next.count() + droppedTotal()).toBe(spansIn);
    expect(next.count()).toBe(1 + 3 + 5 + 7 + 1);
  });

  it('beyond max_memory_mib decides the oldest traces early and stays within the bound', async () => {
    const { sampler, next, droppedTotal, metric } = setup({ decision_wait: '30s', max_memory_mib: 1, policies: [{ name: 'all', type: 'always_sample' }] });
    let spansIn = 0;
    let refusals = 0;
    for (let i = 1; i <= 400; i++) {
      const batch = traceSpans(tid(i), 10, { 'http.url': 'http://example.com/api/v1/orders/' + 'x'.repeat(100) });
      // forced decisions fill the outbox faster than this loop lets the sender run: a refused sender retries
      for (;;) {
        try {
          await sampler.consume(batch);
          break;
        } catch (e) {
          expect(e).toMatchObject({ retryable: true, reason: 'tail_sampling_backpressure' });
          refusals++;
          await advance();
        }
      }
      spansIn += batch.length;
      // the outbox refuses once full, so the batch that fills it may pass the bound (10 spans, < 10 KiB)
      expect(sampler.heldBytes).toBeLessThanOrEqual(1024 * 1024 + 10 * 1024);
    }
    expect(refusals).toBeLessThan(400);
    await advance();
    expect(sampler.heldBytes).toBeLessThanOrEqual(1024 * 1024);
    const forced = await metric('spanline_tail_sampling_forced_decisions_total', { reason: 'max_memory' });
    expect(forced).toBeGreaterThan(0);
    expect(sampler.pendingTraceCount).toBe(400 - forced);
    // every forced trace went downstream whole, oldest first
    expect(next.count()).toBe(forced * 10);
    expect(next.accepted.flat()[0].traceId).toBe(tid(1));
    await sampler.shutdown(neverAborts());
    expect(next.count() + droppedTotal()).toBe(spansIn);
    expect(next.count()).toBe(spansIn);
  });

  it('one trace larger than the memory bound is decided as it arrives; its later spans follow', async () => {
    const { sampler, next, metric } = setup({ decision_wait: '30s', max_memory_mib: 1 });
    const big = Array.from({ length: 3000 }, (_, i) => span({ trace: tid(9), id: `s${i}`, attrs: i === 0 ? { keep: 'yes' } : {} }));
    await sampler.consume(big);
    await advance();
    expect(await metric('spanline_tail_sampling_forced_decisions_total', { reason: 'max_memory' })).toBe(1);
    expect(next.count()).toBe(3000);
    expect(await metric('spanline_tail_sampling_late_spans_total', { decision: 'sampled' })).toBeGreaterThan(0);
    expect(sampler.heldBytes).toBe(0);
  });

  it('decides pending traces on shutdown and sends them before shutdown resolves; refuses spans afterwards', async () => {
    const { sampler, next, dropped, metric } = setup({ decision_wait: '1m' });
    await sampler.consume([span({ trace: tid(1), id: 'x', attrs: { keep: 'yes' } }), span({ trace: tid(2), id: 'y' })]);
    await sampler.shutdown(neverAborts());
    expect(next.ids()).toEqual(['x']);
    expect(dropped).toEqual({ not_sampled: 1 });
    expect(await metric('spanline_tail_sampling_traces_decided_total', { trigger: 'shutdown' })).toBe(2);
    await expect(sampler.consume([span({ trace: tid(3) })])).rejects.toMatchObject({ retryable: true, reason: 'shutting_down' });
    expect(sampler.admit()).toMatchObject({ reason: 'shutting_down' });
    await sampler.shutdown(neverAborts()); // idempotent
  });

  it('counts and logs a permanent downstream refusal, and goes on with the next traces', async () => {
    const next = new Downstream();
    next.script.push(new RefusedError('bad data', false));
    const { sampler, dropped, metric, warnings } = setup({ decision_wait: '1s', policies: [{ name: 'all', type: 'always_sample' }] }, next);
    await sampler.consume(traceSpans(tid(1), 3));
    await advance(1100);
    await sampler.consume(traceSpans(tid(2), 2));
    await advance(1100);
    expect(dropped).toEqual({ downstream_permanent: 3 });
    expect(next.count()).toBe(2);
    expect(await metric('spanline_tail_sampling_downstream_refusals_total', { reason: 'permanent' })).toBe(1);
    expect(warnings).toContain('downstream refused sampled spans permanently; dropped');
  });

  it('retries a retryable refusal with a short backoff and loses nothing; refuses senders once its outbox is full', async () => {
    const next = new Downstream();
    next.always = new RefusedError('queue full', true, 0, 'queue_full');
    const { sampler, metric } = setup({ decision_wait: '1s', max_memory_mib: 1, policies: [{ name: 'all', type: 'always_sample' }] }, next);
    expect(sampler.admit()).toBeUndefined();
    await sampler.consume(traceSpans(tid(1), 5));
    await advance(1050); // decided at 1 s + 50 ms of coalescing
    expect(next.attempts).toBe(1);
    await advance(10 + 20 + 40); // backoff 10, 20, 40 ms
    expect(next.attempts).toBe(4);
    await advance(80 + 100 + 100); // … doubling up to 100 ms
    expect(next.attempts).toBe(7);
    // while downstream refuses, decided traces fill the outbox (an eighth of max_memory_mib); then senders
    // are refused retryably, so that the backlog stops growing
    const url = { 'http.url': 'http://example.com/' + 'x'.repeat(1000) };
    let refused: unknown;
    let i = 2;
    for (; i < 1_000 && refused === undefined; i++) {
      try {
        await sampler.consume(traceSpans(tid(i), 10, url));
      } catch (e) {
        refused = e;
      }
      await advance(1_100);
    }
    expect(refused).toMatchObject({ retryable: true, reason: 'tail_sampling_backpressure' });
    expect(sampler.admit()).toMatchObject({ reason: 'tail_sampling_backpressure' });
    expect(sampler.heldBytes).toBeGreaterThanOrEqual(128 * 1024);
    expect(sampler.heldBytes).toBeLessThanOrEqual(1024 * 1024);
    expect(sampler.pendingTraceCount).toBe(0);
    next.always = undefined;
    await advance(1_000);
    expect(next.accepted[0].map((s) => s.spanId)).toEqual(traceSpans(tid(1), 5).map((s) => s.spanId));
    expect(next.count()).toBe(5 + (i - 3) * 10);
    expect(sampler.admit()).toBeUndefined();
    expect(await metric('spanline_tail_sampling_downstream_refusals_total', { reason: 'queue_full' })).toBeGreaterThanOrEqual(7);
  });

  it('waits while downstream says it is full (admit) without attempting, counting one refusal per batch', async () => {
    let full = true;
    const next = new (class extends Downstream {
      admit(): RefusedError | undefined {
        return full ? new RefusedError('buffer full', true, 1_000, 'batch_buffer_full') : undefined;
      }
    })();
    const { sampler, metric } = setup({ decision_wait: '1s', policies: [{ name: 'all', type: 'always_sample' }] }, next);
    await sampler.consume(traceSpans(tid(1), 3));
    await advance(1_050 + 2_000);
    expect(next.attempts).toBe(0);
    expect(await metric('spanline_tail_sampling_downstream_refusals_total', { reason: 'batch_buffer_full' })).toBe(1);
    full = false;
    await advance(100); // polled again within the 100 ms the backoff grows to, not after the 1 s hint
    expect(next.attempts).toBe(1);
    expect(next.count()).toBe(3);
  });

  it('takes senders again as soon as its outbox has room, before the backlog downstream is gone', async () => {
    // A downstream that takes one batch per release: slower than the decisions until released.
    const releases: (() => void)[] = [];
    const next = new (class extends Downstream {
      override async consume(batch: SpanBatch): Promise<void> {
        await new Promise<void>((r) => releases.push(r));
        await super.consume(batch);
      }
    })();
    const { sampler } = setup({ decision_wait: '1s', max_memory_mib: 1, policies: [{ name: 'all', type: 'always_sample' }] }, next);
    const url = { 'http.url': 'http://example.com/' + 'x'.repeat(1000) };
    let refused: unknown;
    for (let i = 1; i < 1_000 && refused === undefined; i++) {
      try {
        await sampler.consume(traceSpans(tid(i), 10, url));
      } catch (e) {
        refused = e;
      }
      await advance(1_100); // each trace decided alone: one outbox batch each
    }
    expect(refused).toMatchObject({ reason: 'tail_sampling_backpressure' });
    const backlog = sampler.heldBytes;
    // downstream takes one batch: the outbox is below its share again, with most of the backlog still there
    releases.shift()!();
    await advance();
    expect(sampler.admit()).toBeUndefined();
    expect(sampler.heldBytes).toBeGreaterThan(backlog / 2);
    while (releases.length > 0) {
      releases.shift()!();
      await advance();
    }
    expect(sampler.heldBytes).toBe(0);
  });

  it('bounds sampled spans waiting for a downstream that is slower than the decisions: refuses senders, loses nothing', async () => {
    // A downstream that neither accepts nor refuses (a blocking queue, an export without a queue) until released.
    let release!: () => void;
    const blocked = new Promise<void>((r) => (release = r));
    const next = new (class extends Downstream {
      override async consume(batch: SpanBatch): Promise<void> {
        await blocked;
        await super.consume(batch);
      }
    })();
    const { sampler, droppedTotal } = setup({ decision_wait: '1s', max_memory_mib: 1, policies: [{ name: 'all', type: 'always_sample' }] }, next);
    let refused: unknown;
    let spansIn = 0;
    for (let i = 1; i <= 1_000 && refused === undefined; i++) {
      try {
        await sampler.consume(traceSpans(tid(i), 10, { 'http.url': 'http://example.com/' + 'x'.repeat(100) }));
        spansIn += 10;
      } catch (e) {
        refused = e;
      }
      await advance(1_100); // decided: its spans join the outbox behind the batch downstream holds
      expect(sampler.heldBytes).toBeLessThanOrEqual(2 * 1024 * 1024);
    }
    expect(refused).toMatchObject({ retryable: true, reason: 'tail_sampling_backpressure' });
    expect(sampler.admit()).toMatchObject({ reason: 'tail_sampling_backpressure' });
    release();
    await advance();
    expect(next.count()).toBe(spansIn);
    expect(droppedTotal()).toBe(0);
    expect(sampler.heldBytes).toBe(0);
    expect(sampler.admit()).toBeUndefined();
  });

  it('drops sampled spans refused for longer than downstream_retry_max_elapsed, counted', async () => {
    const next = new Downstream();
    next.always = new RefusedError('queue full', true, 0, 'queue_full');
    const { sampler, dropped, warnings } = setup({ decision_wait: '1s', downstream_retry_max_elapsed: '10s', policies: [{ name: 'all', type: 'always_sample' }] }, next);
    await sampler.consume(traceSpans(tid(1), 4));
    await advance(1100 + 9_000);
    expect(dropped).toEqual({});
    await advance(6_000);
    expect(dropped).toEqual({ downstream_retries_exhausted: 4 });
    expect(warnings).toContain('downstream kept refusing sampled spans; dropped after downstream_retry_max_elapsed');
  });

  it('at the shutdown deadline counts what downstream did not take as dropped (shutdown)', async () => {
    const next = new Downstream();
    next.always = new RefusedError('queue full', true, 0, 'queue_full');
    const { sampler, dropped } = setup({ decision_wait: '1m', policies: [{ name: 'all', type: 'always_sample' }] }, next);
    await sampler.consume(traceSpans(tid(1), 4));
    const deadline = new AbortController();
    const done = sampler.shutdown(deadline.signal);
    await advance(2000);
    deadline.abort();
    await advance();
    await done;
    expect(dropped).toEqual({ shutdown: 4 });
  });

  it('hands downstream the byte estimate made as the spans arrived, so that downstream does not walk them again', async () => {
    const { sampler, next } = setup({ decision_wait: '1s', policies: [{ name: 'all', type: 'always_sample' }] });
    const spans = [...traceSpans(tid(1), 3), ...traceSpans(tid(2), 2)];
    const expected = spans.reduce((n, s) => n + estimateSpanBytes(s), 0);
    await sampler.consume(spans);
    // changed after it was estimated: a walk now would give another figure
    for (const s of spans) s.attributes['added.later'] = 'x'.repeat(1000);
    await advance(1_100);
    expect(next.count()).toBe(5);
    expect(next.accepted.length).toBe(1);
    expect(estimateBatchBytes(next.accepted[0])).toBe(expected);
  });

  it('hands a large round downstream in batches of whole traces (at most 512 spans, a larger trace alone), each with its estimate', async () => {
    const { sampler, next } = setup({ decision_wait: '1s', policies: [{ name: 'all', type: 'always_sample' }] });
    // 300 traces of 3 spans, then one trace of 600 spans, then 2 traces of 3: 1,506 spans in one round
    const traces = [...Array.from({ length: 300 }, (_, i) => traceSpans(tid(i + 1), 3)), traceSpans(tid(1000), 600), traceSpans(tid(1001), 3), traceSpans(tid(1002), 3)];
    const expected = traces.map((t) => t.reduce((n, s) => n + estimateSpanBytes(s), 0));
    for (const t of traces) await sampler.consume(t);
    for (const t of traces) for (const s of t) s.attributes['added.later'] = 'x'.repeat(1000);
    await advance(1_100);
    expect(next.accepted.map((b) => b.length)).toEqual([510, 390, 600, 6]);
    // in decision order, each trace whole in one batch
    expect(next.accepted.flat()).toEqual(traces.flat());
    const sum = (from: number, to: number) => expected.slice(from, to).reduce((a, b) => a + b, 0);
    expect(next.accepted.map((b) => estimateBatchBytes(b))).toEqual([sum(0, 170), sum(170, 300), sum(300, 301), sum(301, 303)]);
  });

  it('records how long after decision_wait each trace was decided', async () => {
    const { sampler, metric } = setup({ decision_wait: '2s', policies: [{ name: 'all', type: 'always_sample' }] });
    for (let i = 0; i < 50; i++) await sampler.consume(traceSpans(tid(i + 1), 1));
    await advance(2200);
    const h = await sampler['ctx'].metrics.registry.getSingleMetric('spanline_tail_sampling_decision_delay_seconds')!.get();
    const values = h.values as { metricName?: string; labels: Record<string, unknown>; value: number }[];
    const count = values.find((v) => v.metricName === 'spanline_tail_sampling_decision_delay_seconds_count')!.value;
    const underTenthSecond = values.find((v) => v.metricName === 'spanline_tail_sampling_decision_delay_seconds_bucket' && v.labels.le === 0.1)!.value;
    expect(count).toBe(50);
    expect(underTenthSecond).toBe(50);
  });
});

describe('tail_sampling processor (real time)', () => {
  it('decides on time with real timers and sends sampled traces whole', async () => {
    const { sampler, next, droppedTotal } = setup({
      decision_wait: '200ms',
      policies: [{ name: 'errors', type: 'status_code', status_code: { status_codes: ['ERROR'] } }],
    });
    const t0 = Date.now();
    let spansIn = 0;
    for (let i = 0; i < 20; i++) {
      const batch = [span({ trace: tid(i + 1), id: `r${i}` }), span({ trace: tid(i + 1), id: `c${i}`, status: i % 4 === 0 ? StatusCode.Error : StatusCode.Unset })];
      spansIn += 2;
      await sampler.consume(batch);
    }
    // No upper bound on the time: a loaded machine may run timers late. Punctuality is tested with fake
    // time above; here only that real timers fire, never early, and that the traces go on whole.
    await waitFor(() => sampler.pendingTraceCount === 0, 10_000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(200);
    expect(next.ids()).toEqual(['c0', 'c12', 'c16', 'c4', 'c8', 'r0', 'r12', 'r16', 'r4', 'r8']);
    expect(next.count() + droppedTotal()).toBe(spansIn);
    await sampler.shutdown(neverAborts());
  });
});
