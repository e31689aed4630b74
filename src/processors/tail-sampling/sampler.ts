/**
 * The tail sampler: holds each trace's spans until `decision_wait` after its first span, decides it with
 * the policies, and sends sampled traces on.
 *
 * - **Holding.** Spans are grouped by trace id as references (nothing is copied). Traces wait in a FIFO
 *   in arrival order, which is also deadline order (every trace waits the same time), so the decision
 *   loop only looks at the head: no scan of all traces per tick. One timer is set for the head's
 *   deadline (plus a few ms to decide neighbours together). The policies' per-span tests run as each span
 *   arrives, while it is in the CPU cache (`SpanChecks`), so that a decision reads one summary per trace.
 * - **Bounds.** At most `num_traces` undecided traces, and `max_memory_mib` of estimated memory for the
 *   undecided traces and the sampled spans waiting for downstream (the outbox) together: the outbox may
 *   hold an eighth of it, the undecided traces the rest. Going past the traces' share **decides** the
 *   oldest trace early on the spans it has (counted as forced), instead of evicting it undecided as the
 *   Collector does. A full outbox refuses senders (below).
 * - **Late spans.** Decided trace ids are remembered (`decision_cache`, first in, first out); a span of a remembered
 *   trace follows its decision at once and is counted as late.
 * - **Downstream.** Sampled spans leave in decision order through one sender, which asks downstream's
 *   early refusal (`admit`) before each batch, so that a full downstream costs a check instead of an
 *   attempt. A retryable refusal (or a full downstream) is retried with a short backoff (10 ms doubling
 *   to 100 ms) for up to `downstream_retry_max_elapsed`, then dropped and counted. A permanent refusal
 *   drops the batch at once, counted and logged.
 * - **Backpressure.** While the outbox is full, new spans are refused retryably. The outbox is small
 *   (downstream buffers more), so refusals come and go with it: while decisions outpace downstream,
 *   senders get the CPU that exporting leaves over instead of none until the whole backlog is gone
 *   (which, `decision_wait` later, left nothing to decide and downstream idle).
 * - **Shutdown.** Pending traces are decided at once on what they have, and sampled spans are sent
 *   downstream before shutdown resolves (or counted as dropped at its deadline).
 */
import type { Logger } from 'pino';
import type { Counter, Gauge } from 'prom-client';
import { isRefused, RefusedError, type SpanConsumer } from '../../component/types.js';
import type { Span, SpanBatch } from '../../model/span.js';
import type { SelfMetrics } from '../../telemetry/metrics.js';
import type { TailSamplingConfig } from './config.js';
import { buildPolicy, decide, Decision, DECISION_KINDS, RecentIds, SpanChecks, type Policy, type TraceSummary, type TraceView } from './policies.js';
import { estimateSpanBytes, rememberBatchBytes } from '../../model/span-size.js';
import { Fifo } from '../common/fifo.js';
import { DelayHistogram, type DelaySeries } from './delay-histogram.js';

/**
 * Backoff while downstream refuses. Downstream is in-process (a processor or the exporter queues), so it
 * usually has room again within milliseconds: waiting as a remote sender would (its Retry-After hint, a
 * second or more), or doubling up to a second, leaves downstream idle while sampled spans pile up here.
 * Hints are therefore ignored, and the wait stays short; a full downstream is seen with `admit`, which
 * costs nothing, so polling it often is cheap.
 */
const FIRST_RETRY_MS = 10;
const MAX_RETRY_MS = 100;
/** The outbox's share of `max_memory_mib` (the undecided traces have the rest). */
const OUTBOX_SHARE = 1 / 8;
/** Retry-After for senders refused while downstream refuses. */
const FULL_RETRY_MS = 1_000;
/** Traces decided in one turn of the event loop at most, so that receivers keep being served. */
const MAX_DECISIONS_PER_TURN = 1_024;
/**
 * Sampled spans per batch handed downstream at most (whole traces; a larger trace goes alone). A round of
 * decisions holds thousands of spans; in one batch, the batch processor would cut it at its
 * `send_batch_size`, and a cut batch split from a sender's loses its byte estimate, so the exporter queue
 * walked those spans again, cold in the CPU caches by then. Smaller batches are taken whole.
 */
const RELEASE_BATCH_SPANS = 512;
const MIB = 1024 * 1024;

export type DecisionTrigger = 'decision_wait' | 'num_traces' | 'max_memory' | 'shutdown';

const DECISION_LABEL = ['not_sampled', 'sampled', 'invert_sampled', 'invert_not_sampled', 'dropped'] as const;

/** A trace's own memory while undecided, besides its spans: its record, its Map entry and its span array. */
const TRACE_OVERHEAD = 200;

/** A trace waiting for its decision, and what the span checks found in it so far (its own summary). */
class PendingTrace implements TraceView, TraceSummary {
  readonly spans: Span[] = [];
  bytes = TRACE_OVERHEAD;
  decided = false;
  matched = 0;
  minStart = 0n;
  maxEnd = 0n;
  readonly summary: TraceSummary | undefined;
  constructor(
    readonly traceId: string,
    readonly deadlineMs: number,
    summarized: boolean,
  ) {
    this.summary = summarized ? this : undefined;
  }
}

/** Sampled spans on their way downstream. */
interface Outgoing {
  readonly spans: SpanBatch;
  readonly bytes: number;
  /** When downstream first refused this batch; 0 while it has not. */
  firstRefusedMs: number;
}

/** What one round of decisions produced: spans to send and counts to publish. */
class Round {
  /** Sampled traces' span arrays and late spans, flattened into batches when sent. */
  readonly parts: Span[][] = [];
  /** The estimated bytes of each part. */
  readonly partBytes: number[] = [];
  spanCount = 0;
  notSampledSpans = 0;
  droppedSpans = 0;
  /** [trigger][decision 0 not sampled, 1 sampled, 2 dropped] traces. */
  readonly traces = new Map<DecisionTrigger, [number, number, number]>();

  count(trigger: DecisionTrigger, kind: 0 | 1 | 2): void {
    let c = this.traces.get(trigger);
    if (c === undefined) this.traces.set(trigger, (c = [0, 0, 0]));
    c[kind]++;
  }
}

export interface SamplerContext {
  readonly id: string;
  readonly pipeline: string;
  readonly next: SpanConsumer;
  readonly logger: Logger;
  readonly metrics: SelfMetrics;
  dropped(count: number, reason: string): void;
}

export class TailSampler implements SpanConsumer {
  private readonly policies: Policy[];
  private readonly checks = new SpanChecks();
  /**
   * Every trace by id: undecided ones, and remembered decisions (`true` sampled, `false` not), so that a
   * span needs one lookup to find where it goes. Decisions leave through the decision caches' rings.
   */
  private readonly traces = new Map<string, PendingTrace | boolean>();
  private pendingCount = 0;
  /** Undecided traces in arrival (= deadline) order; decided ones are skipped when they reach the head. */
  private readonly order = new Fifo<PendingTrace>();
  private pendingBytes = 0;
  private readonly sampledIds: RecentIds;
  private readonly notSampledIds: RecentIds;
  /** Undecided traces' share of `max_memory_mib`: beyond it the oldest trace is decided early. */
  private readonly maxBytes: number;
  /** The outbox's share: senders are refused while it is full. */
  private readonly maxOutBytes: number;
  private readonly coalesceMs: number;
  private readonly policyCounts: Float64Array;

  private readonly outbox = new Fifo<Outgoing>();
  /** Bytes in the outbox and the batch being sent. */
  private outBytes = 0;
  private sending = false;
  private sender: Promise<void> = Promise.resolve();
  /** Current backoff while downstream refuses; 0 while it accepts. */
  private retryDelayMs = 0;
  private lastErrorLogged = '';

  private timer: NodeJS.Timeout | undefined;
  private accepting = true;
  private readonly deadline = new AbortController();
  private stopped: Promise<void> | undefined;

  private readonly m: {
    decided: Counter<'processor' | 'pipeline' | 'decision' | 'trigger'>;
    forced: Counter<'processor' | 'pipeline' | 'reason'>;
    policy: Counter<'processor' | 'pipeline' | 'policy' | 'decision'>;
    late: Counter<'processor' | 'pipeline' | 'decision'>;
    refusals: Counter<'processor' | 'pipeline' | 'reason'>;
    pendingTraces: Gauge<'processor' | 'pipeline'>;
    memory: Gauge<'processor' | 'pipeline'>;
  };
  private readonly labels: { processor: string; pipeline: string };
  private readonly delay: DelaySeries;

  constructor(
    private readonly cfg: TailSamplingConfig,
    private readonly ctx: SamplerContext,
  ) {
    const clock = () => Date.now();
    this.policies = cfg.policies.map((p) => buildPolicy(p, clock, this.checks));
    this.policyCounts = new Float64Array(this.policies.length * DECISION_KINDS);
    const forget = (id: string) => this.traces.delete(id);
    this.sampledIds = new RecentIds(cfg.decision_cache.sampled_cache_size || cfg.num_traces, forget);
    this.notSampledIds = new RecentIds(cfg.decision_cache.non_sampled_cache_size || cfg.num_traces, forget);
    this.maxOutBytes = Math.floor(cfg.max_memory_mib * MIB * OUTBOX_SHARE);
    this.maxBytes = cfg.max_memory_mib * MIB - this.maxOutBytes;
    this.coalesceMs = Math.min(100, Math.max(1, Math.floor(cfg.decision_wait / 20)));
    this.labels = { processor: ctx.id, pipeline: ctx.pipeline };
    const mx = ctx.metrics;
    this.m = {
      decided: mx.counter('spanline_tail_sampling_traces_decided_total', 'Traces decided, by final decision and what triggered the decision.', [
        'processor',
        'pipeline',
        'decision',
        'trigger',
      ]),
      forced: mx.counter(
        'spanline_tail_sampling_forced_decisions_total',
        'Traces decided before decision_wait because num_traces or max_memory_mib was reached.',
        ['processor', 'pipeline', 'reason'],
      ),
      policy: mx.counter('spanline_tail_sampling_policy_decisions_total', "Each policy's own decision per trace evaluated.", [
        'processor',
        'pipeline',
        'policy',
        'decision',
      ]),
      late: mx.counter('spanline_tail_sampling_late_spans_total', "Spans that arrived after their trace's decision and followed it.", [
        'processor',
        'pipeline',
        'decision',
      ]),
      refusals: mx.counter('spanline_tail_sampling_downstream_refusals_total', 'Attempts to send sampled spans that downstream refused.', [
        'processor',
        'pipeline',
        'reason',
      ]),
      pendingTraces: mx.gauge('spanline_tail_sampling_pending_traces', 'Traces waiting for their decision.', ['processor', 'pipeline']),
      memory: mx.gauge(
        'spanline_tail_sampling_memory_bytes',
        'Estimated memory of undecided traces and sampled spans waiting for downstream.',
        ['processor', 'pipeline'],
      ),
    };
    this.delay = DelayHistogram.of(mx.registry).series(this.labels);
  }

  /** Undecided traces (for tests and diagnostics). */
  get pendingTraceCount(): number {
    return this.pendingCount;
  }

  /** Estimated bytes of undecided traces: what `max_memory_mib` bounds by deciding early. */
  get undecidedBytes(): number {
    return this.pendingBytes;
  }

  /** Estimated bytes held: undecided traces and sampled spans not yet accepted downstream. */
  get heldBytes(): number {
    return this.pendingBytes + this.outBytes;
  }

  /**
   * Early refusal, before a request is decoded: the refusal `consume` would answer now. Downstream is not
   * asked: spans held here go there only after their decision.
   */
  admit(): RefusedError | undefined {
    return this.refusal();
  }

  private refusal(): RefusedError | undefined {
    if (!this.accepting) return new RefusedError('tail_sampling processor is shutting down', true, FULL_RETRY_MS, 'shutting_down');
    // Backpressure: while downstream refuses sampled spans, or is slower than the decisions (a blocking
    // queue, an export without a queue), the outbox fills; taking more would only grow a backlog downstream
    // cannot take, so senders keep their spans instead (as the batch processor refuses when it is full).
    if (this.outBytes >= this.maxOutBytes) {
      return new RefusedError(
        `tail_sampling: downstream is not taking sampled spans (${Math.round(this.heldBytes / MIB)} MiB held); retry later`,
        true,
        FULL_RETRY_MS,
        'tail_sampling_backpressure',
      );
    }
    return undefined;
  }

  /** Resolves once the spans are held (or sent on, for late spans of sampled traces). */
  async consume(batch: SpanBatch): Promise<void> {
    const refused = this.refusal();
    if (refused !== undefined) throw refused;
    const now = Date.now();
    const deadline = now + this.cfg.decision_wait;
    const round = new Round();
    const checks = this.checks;
    let lateSampled: Span[] | undefined;
    let lateSampledBytes = 0;
    let lateNotSampled = 0;
    let lastId: string | undefined;
    let last: PendingTrace | undefined;
    // 0: pending (`last`), 1: late and sampled, 2: late and not sampled.
    let lastKind = 0;
    let created = false;
    for (let i = 0; i < batch.length; i++) {
      const sp = batch[i];
      const raw = sp.traceId;
      if (raw !== lastId || (lastKind === 0 && last!.decided)) {
        lastId = raw;
        const id = traceKey(raw);
        const known = this.traces.get(id);
        if (typeof known === 'object') {
          last = known;
          lastKind = 0;
        } else if (known !== undefined) lastKind = known ? 1 : 2;
        else {
          last = new PendingTrace(id, deadline, checks.active);
          this.traces.set(id, last);
          this.pendingCount++;
          this.order.push(last);
          this.pendingBytes += TRACE_OVERHEAD;
          lastKind = 0;
          created = true;
        }
      }
      if (lastKind === 0) {
        const bytes = estimateSpanBytes(sp);
        last!.spans.push(sp);
        if (checks.active) checks.observe(last!, sp);
        last!.bytes += bytes;
        this.pendingBytes += bytes;
        if (this.pendingCount > this.cfg.num_traces || this.pendingBytes > this.maxBytes) this.enforceBounds(round);
      } else if (lastKind === 1) {
        (lateSampled ??= []).push(sp);
        lateSampledBytes += estimateSpanBytes(sp);
      } else {
        lateNotSampled++;
      }
    }
    if (lateSampled !== undefined) {
      this.m.late.inc({ ...this.labels, decision: 'sampled' }, lateSampled.length);
      round.parts.push(lateSampled);
      round.partBytes.push(lateSampledBytes);
      round.spanCount += lateSampled.length;
    }
    if (lateNotSampled > 0) {
      this.m.late.inc({ ...this.labels, decision: 'not_sampled' }, lateNotSampled);
      round.notSampledSpans += lateNotSampled;
    }
    this.publish(round);
    if (created) this.schedule(false);
  }

  /**
   * Stops accepting, decides every pending trace on what it has, and sends sampled spans downstream,
   * retrying retryable refusals until `signal` aborts; what is left then is counted as dropped
   * (`shutdown`). Idempotent.
   */
  shutdown(signal: AbortSignal): Promise<void> {
    this.stopped ??= this.stop(signal);
    return this.stopped;
  }

  private async stop(signal: AbortSignal): Promise<void> {
    this.accepting = false;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const round = new Round();
    for (let t = this.order.shift(); t !== undefined; t = this.order.shift()) {
      if (!t.decided) this.decideTrace(t, 'shutdown', round);
    }
    this.publish(round);
    const onDeadline = () => this.deadline.abort();
    if (signal.aborted) onDeadline();
    else signal.addEventListener('abort', onDeadline, { once: true });
    try {
      await Promise.race([this.drained(), abortion(this.deadline.signal)]);
    } finally {
      signal.removeEventListener('abort', onDeadline);
    }
    // Past the deadline: batches not yet attempted are given up now; the one in flight is settled by its attempt.
    for (const b of this.outbox.takeAll()) {
      this.outBytes -= b.bytes;
      this.ctx.dropped(b.spans.length, 'shutdown');
    }
    this.updateGauges();
  }

  /** Resolves when the sender has nothing left. */
  private async drained(): Promise<void> {
    while (this.sending || this.outbox.size > 0) {
      this.startSending();
      await this.sender;
    }
  }

  /**
   * Decides oldest traces until both bounds hold again. Only undecided bytes count here: deciding moves a
   * sampled trace's bytes to the outbox, so counting those would decide every trace at once. Sampled
   * spans that downstream refuses are bounded by refusing senders instead (see `refusal`).
   */
  private enforceBounds(round: Round): void {
    for (;;) {
      const overCount = this.pendingCount > this.cfg.num_traces;
      if (!overCount && this.pendingBytes <= this.maxBytes) return;
      const t = this.oldestPending();
      if (t === undefined) return;
      // Counted as forced when the round is published (its trigger says why).
      this.decideTrace(t, overCount ? 'num_traces' : 'max_memory', round);
    }
  }

  private oldestPending(): PendingTrace | undefined {
    for (let t = this.order.peek(); t !== undefined; t = this.order.peek()) {
      if (!t.decided) return t;
      this.order.shift();
    }
    return undefined;
  }

  private decideTrace(t: PendingTrace, trigger: DecisionTrigger, round: Round): void {
    t.decided = true;
    this.pendingCount--;
    this.pendingBytes -= t.bytes;
    const d = decide(this.policies, t, this.cfg.sample_on_first_match, this.policyCounts);
    if (d === Decision.Sampled) {
      this.remember(t.traceId, true);
      round.parts.push(t.spans);
      round.partBytes.push(t.bytes - TRACE_OVERHEAD);
      round.spanCount += t.spans.length;
      round.count(trigger, 1);
    } else {
      this.remember(t.traceId, false);
      if (d === Decision.Dropped) {
        round.droppedSpans += t.spans.length;
        round.count(trigger, 2);
      } else {
        round.notSampledSpans += t.spans.length;
        round.count(trigger, 0);
      }
    }
  }

  /** Keeps a decision for late spans (while its cache has room), or forgets the trace. */
  private remember(id: string, sampled: boolean): void {
    const cache = sampled ? this.sampledIds : this.notSampledIds;
    if (cache.capacity > 0) {
      this.traces.set(id, sampled);
      cache.add(id);
    } else this.traces.delete(id);
  }

  /** The decision loop: decides every trace whose deadline has passed, oldest first. */
  private readonly tick = (): void => {
    this.timer = undefined;
    const now = Date.now();
    const round = new Round();
    let n = 0;
    for (let t = this.oldestPending(); t !== undefined && n < MAX_DECISIONS_PER_TURN; t = this.oldestPending()) {
      if (t.deadlineMs > now) break;
      this.order.shift();
      this.decideTrace(t, 'decision_wait', round);
      this.delay.observe((now - t.deadlineMs) / 1000);
      n++;
    }
    this.publish(round);
    this.schedule(n >= MAX_DECISIONS_PER_TURN);
  };

  /** Sets the timer for the oldest pending trace's deadline (or the next turn, to continue a long round). */
  private schedule(continueNow: boolean): void {
    if (this.timer !== undefined || !this.accepting) return;
    const head = this.oldestPending();
    if (head === undefined) return;
    const delay = continueNow ? 0 : Math.max(0, head.deadlineMs - Date.now()) + this.coalesceMs;
    this.timer = setTimeout(this.tick, delay);
  }

  /** Sends a round's sampled spans, counts its drops and decisions. */
  private publish(round: Round): void {
    if (round.spanCount > 0) {
      const { parts, partBytes } = round;
      let from = 0;
      let count = 0;
      let bytes = 0;
      for (let i = 0; i < parts.length; i++) {
        const n = parts[i].length;
        if (count > 0 && count + n > RELEASE_BATCH_SPANS) {
          this.release(parts, from, i, count, bytes);
          from = i;
          count = 0;
          bytes = 0;
        }
        count += n;
        bytes += partBytes[i];
      }
      this.release(parts, from, parts.length, count, bytes);
      this.startSending();
    }
    if (round.notSampledSpans > 0) this.ctx.dropped(round.notSampledSpans, 'not_sampled');
    if (round.droppedSpans > 0) this.ctx.dropped(round.droppedSpans, 'drop_policy');
    for (const [trigger, c] of round.traces) {
      if (trigger === 'num_traces' || trigger === 'max_memory') this.m.forced.inc({ ...this.labels, reason: trigger }, c[0] + c[1] + c[2]);
      if (c[0] > 0) this.m.decided.inc({ ...this.labels, decision: 'not_sampled', trigger }, c[0]);
      if (c[1] > 0) this.m.decided.inc({ ...this.labels, decision: 'sampled', trigger }, c[1]);
      if (c[2] > 0) this.m.decided.inc({ ...this.labels, decision: 'dropped', trigger }, c[2]);
    }
    if (round.traces.size > 0) this.publishPolicyCounts();
    this.updateGauges();
  }

  /** Queues `parts[from..to)` (`count` spans, `bytes` estimated) as one batch for downstream. */
  private release(parts: Span[][], from: number, to: number, count: number, bytes: number): void {
    const spans = flatten(parts, from, to, count);
    // Downstream bounds its buffers in bytes too: the estimate made as the spans arrived saves it walking
    // them again now that they are cold in the CPU caches.
    rememberBatchBytes(spans, bytes);
    this.outbox.push({ spans, bytes, firstRefusedMs: 0 });
    this.outBytes += bytes;
  }

  private publishPolicyCounts(): void {
    const counts = this.policyCounts;
    for (let i = 0; i < this.policies.length; i++) {
      for (let d = 0; d < DECISION_KINDS; d++) {
        const c = counts[i * DECISION_KINDS + d];
        if (c === 0) continue;
        this.m.policy.inc({ ...this.labels, policy: this.policies[i].name, decision: DECISION_LABEL[d] }, c);
        counts[i * DECISION_KINDS + d] = 0;
      }
    }
  }

  private updateGauges(): void {
    this.m.pendingTraces.set(this.labels, this.pendingCount);
    this.m.memory.set(this.labels, this.heldBytes);
  }

  private startSending(): void {
    if (this.sending || this.outbox.size === 0) return;
    // sendAll handles downstream errors itself; this only keeps a bug from becoming an unhandled rejection.
    this.sender = this.sendAll().catch((err: unknown) => this.ctx.logger.error({ err }, 'tail_sampling sender failed'));
  }

  /** The single sender: hands sampled batches downstream in order until none is left. */
  private async sendAll(): Promise<void> {
    this.sending = true;
    try {
      for (let b = this.outbox.shift(); b !== undefined; b = this.outbox.shift()) {
        await this.deliver(b);
        this.outBytes -= b.bytes;
        this.updateGauges();
      }
    } finally {
      this.sending = false;
    }
  }

  /**
   * Sends one batch until accepted, refused for good, retried for too long, or past the shutdown deadline.
   * A full downstream (its early refusal) is waited for like a retryable refusal, and counted once per
   * batch rather than once per check.
   */
  private async deliver(b: Outgoing): Promise<void> {
    let heldBack = false;
    for (;;) {
      if (this.deadline.signal.aborted) return this.ctx.dropped(b.spans.length, 'shutdown');
      let refusal: RefusedError | undefined = this.ctx.next.admit?.(undefined);
      if (refusal === undefined || !refusal.retryable) {
        try {
          await this.ctx.next.consume(b.spans);
          this.retryDelayMs = 0;
          return;
        } catch (e) {
          const refused = isRefused(e);
          this.m.refusals.inc({ ...this.labels, reason: refused ? e.reason : 'error' });
          if (!refused || !e.retryable) {
            this.logDownstreamError(e, b.spans.length, 'downstream refused sampled spans permanently; dropped');
            return this.ctx.dropped(b.spans.length, 'downstream_permanent');
          }
          refusal = e;
        }
      } else if (!heldBack) {
        heldBack = true;
        this.m.refusals.inc({ ...this.labels, reason: refusal.reason });
      }
      const now = Date.now();
      if (b.firstRefusedMs === 0) b.firstRefusedMs = now;
      const maxElapsed = this.cfg.downstream_retry_max_elapsed;
      if (maxElapsed > 0 && now - b.firstRefusedMs >= maxElapsed) {
        this.logDownstreamError(refusal, b.spans.length, 'downstream kept refusing sampled spans; dropped after downstream_retry_max_elapsed');
        return this.ctx.dropped(b.spans.length, 'downstream_retries_exhausted');
      }
      this.retryDelayMs = this.retryDelayMs === 0 ? FIRST_RETRY_MS : Math.min(MAX_RETRY_MS, this.retryDelayMs * 2);
      this.ctx.logger.debug({ err: refusal, count: b.spans.length, waitMs: this.retryDelayMs }, 'downstream refused sampled spans, will retry');
      await backoff(this.retryDelayMs, this.deadline.signal);
    }
  }

  /** Logs a downstream error's cause once per distinct message; counts go to `dropped`. */
  private logDownstreamError(error: unknown, count: number, message: string): void {
    const text = error instanceof Error ? error.message : String(error);
    if (text === this.lastErrorLogged) return;
    this.lastErrorLogged = text;
    this.ctx.logger.warn({ err: error, count }, message);
  }
}

function flatten(parts: Span[][], from: number, to: number, count: number): SpanBatch {
  if (to - from === 1) return parts[from];
  const out: Span[] = new Array(count);
  let k = 0;
  for (let j = from; j < to; j++) {
    const p = parts[j];
    for (let i = 0; i < p.length; i++) out[k++] = p[i];
  }
  return out;
}

/**
 * One key per trace whatever its id's width: Zipkin writes a 128-bit id whose high half is zero as 64
 * bits, OTLP pads a 64-bit id to 128, so both forms of one trace must meet in one entry.
 */
function traceKey(traceId: string): string {
  return traceId.length === 32 ? traceId : traceId.padStart(32, '0');
}

/** Waits `ms`, or less if `signal` aborts. Uses the global timers, so tests can fake them. */
function backoff(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

function abortion(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}
