/**
 * Every exporter sits behind its own bounded sending queue, so a slow or failing exporter never blocks
 * another exporter or pipeline. The queue owns retry (exponential backoff with jitter), the per-attempt
 * timeout, the metrics and the drain on shutdown; an exporter only sends one batch and classifies the
 * outcome (see ExportResult).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { s, type InferShape } from '../config/schema.js';
import type { Exporter, ExportResult, SpanConsumer } from '../component/types.js';
import { RefusedError } from '../component/types.js';
import type { SpanBatch } from '../model/span.js';
import type { SelfMetrics } from '../telemetry/metrics.js';
import { CountedLog } from '../telemetry/logger.js';

/** The keys the framework adds to every exporter's config, as the Collector's exporterhelper does. */
export function exporterHelperShape() {
  return {
    sending_queue: s
      .object({
        enabled: s.boolean().default(true).describe('Queue batches and acknowledge them once queued. When false, the sender waits until the batch is exported.'),
        queue_size: s.int().range(1).default(50_000).describe('Capacity in spans.'),
        num_consumers: s.int().range(1, 1000).default(4).describe('Batches sent concurrently.'),
        block_on_overflow: s.boolean().default(false).describe('When full, wait for room instead of refusing (receivers then answer 503 only after waiting).'),
      })
      .describe('The bounded in-memory queue in front of the exporter.'),
    retry_on_failure: s
      .object({
        enabled: s.boolean().default(true).describe('Retry retryable failures.'),
        initial_interval: s.duration().default(5_000).describe('Wait before the first retry.'),
        max_interval: s.duration().default(30_000).describe('Upper bound of the wait between retries.'),
        max_elapsed_time: s.duration().default(300_000).describe('Give up on a batch after this long (0: never).'),
        multiplier: s.number().range(1).default(1.5).describe('Growth of the wait between retries.'),
        randomization_factor: s.number().range(0, 1).default(0.5).describe('Jitter: each wait is randomized by ± this fraction.'),
      })
      .describe('Retry with exponential backoff.'),
    timeout: s.duration().atLeast(1).default(5_000).describe('Deadline of one export attempt.'),
  };
}

export type ExporterHelperConfig = InferShape<ReturnType<typeof exporterHelperShape>>;

interface Waiter {
  count: number;
  resolve: () => void;
}

export class SendingQueue implements SpanConsumer {
  private readonly batches: SpanBatch[] = [];
  private head = 0;
  /** Spans queued plus spans being sent. */
  private size = 0;
  private readonly waitingForRoom: Waiter[] = [];
  private readonly wakeConsumers: (() => void)[] = [];
  private readonly consumers: Promise<void>[] = [];
  private accepting = true;
  private stopping = false;
  /** Aborted when the shutdown deadline passes: in-flight attempts and backoff waits end at once. */
  private readonly force = new AbortController();
  private readonly failures: CountedLog;
  private readonly shutdownLoss: CountedLog;
  private readonly labels: { exporter: string };

  constructor(
    readonly id: string,
    private readonly exporter: Exporter,
    private readonly config: ExporterHelperConfig,
    private readonly metrics: SelfMetrics,
    private readonly logger: Logger,
  ) {
    this.labels = { exporter: id };
    this.failures = new CountedLog(logger, 'spans dropped by exporter');
    this.shutdownLoss = new CountedLog(logger, 'spans not delivered before the shutdown deadline', 0);
    metrics.exporterQueueCapacity.set(this.labels, config.sending_queue.enabled ? config.sending_queue.queue_size : 0);
    metrics.exporterQueueSize.set(this.labels, 0);
  }

  start(): void {
    if (!this.config.sending_queue.enabled) return;
    for (let i = 0; i < this.config.sending_queue.num_consumers; i++) this.consumers.push(this.runConsumer());
  }

  get blocksWhenFull(): boolean {
    return this.config.sending_queue.block_on_overflow;
  }

  /** True if a batch of `count` spans would be accepted now without waiting. */
  hasRoomFor(count: number): boolean {
    if (!this.accepting) return false;
    if (!this.config.sending_queue.enabled) return true;
    return this.size === 0 || this.size + count <= this.config.sending_queue.queue_size;
  }

  async consume(batch: SpanBatch): Promise<void> {
    if (!this.accepting) throw new RefusedError(`exporter ${this.id} is shutting down`, true, 1000, 'shutting_down');
    const n = batch.length;
    if (n === 0) return;
    if (!this.config.sending_queue.enabled) return this.sendWithoutQueue(batch);
    if (!this.hasRoomFor(n)) {
      if (!this.config.sending_queue.block_on_overflow) {
        this.metrics.exporterEnqueueFailed.inc(this.labels, n);
        throw new RefusedError(`exporter ${this.id} queue is full (${this.size}/${this.config.sending_queue.queue_size} spans)`, true, 1000, 'queue_full');
      }
      await new Promise<void>((resolve) => this.waitingForRoom.push({ count: n, resolve }));
      if (!this.accepting) throw new RefusedError(`exporter ${this.id} is shutting down`, true, 1000, 'shutting_down');
    }
    this.enqueue(batch);
  }

  /** Enqueues without checking room; callers check `hasRoomFor` first (fan-out does, for all exporters at once). */
  enqueue(batch: SpanBatch): void {
    this.batches.push(batch);
    this.size += batch.length;
    this.metrics.exporterQueueSize.set(this.labels, this.size);
    const wake = this.wakeConsumers.shift();
    if (wake) wake();
  }

  private take(): SpanBatch | undefined {
    if (this.head === this.batches.length) return undefined;
    const b = this.batches[this.head];
    this.batches[this.head++] = undefined as unknown as SpanBatch;
    if (this.head > 1024 && this.head * 2 > this.batches.length) {
      this.batches.splice(0, this.head);
      this.head = 0;
    }
    return b;
  }

  private release(count: number): void {
    this.size -= count;
    this.metrics.exporterQueueSize.set(this.labels, this.size);
    const w = this.waitingForRoom[0];
    if (w !== undefined && (this.size === 0 || this.size + w.count <= this.config.sending_queue.queue_size)) {
      this.waitingForRoom.shift();
      w.resolve();
    }
  }

  private async runConsumer(): Promise<void> {
    for (;;) {
      const batch = this.take();
      if (batch === undefined) {
        if (this.stopping) return;
        await new Promise<void>((resolve) => this.wakeConsumers.push(resolve));
        continue;
      }
      await this.send(batch);
      this.release(batch.length);
    }
  }

  private async sendWithoutQueue(batch: SpanBatch): Promise<void> {
    this.size += batch.length;
    try {
      const outcome = await this.send(batch);
      if (outcome !== 'sent') throw new RefusedError(`exporter ${this.id} failed: ${outcome}`, outcome !== 'permanent', 1000, outcome);
    } finally {
      this.size -= batch.length;
    }
  }

  /** Sends with retries until success, a permanent error, the retry budget, or the shutdown deadline. */
  private async send(batch: SpanBatch): Promise<'sent' | 'permanent' | 'retries_exhausted' | 'shutdown'> {
    const retry = this.config.retry_on_failure;
    const started = Date.now();
    let interval = retry.initial_interval;
    let pending = batch;
    for (;;) {
      if (this.force.signal.aborted) return this.drop(pending, 'shutdown');
      const result = await this.attempt(pending);
      if (result.code === 'success') {
        this.metrics.exporterSent.inc(this.labels, pending.length);
        return 'sent';
      }
      if (result.code === 'permanent') {
        this.logger.debug({ err: result.error }, 'permanent export error');
        return this.drop(pending, 'permanent', result.error);
      }
      const next = result.retry ?? pending;
      // What the exporter did deliver counts as sent.
      if (next.length < pending.length) this.metrics.exporterSent.inc(this.labels, pending.length - next.length);
      pending = next;
      if (pending.length === 0) return 'sent';
      if (!retry.enabled) return this.drop(pending, 'retries_exhausted', result.error);
      const jitter = 1 + retry.randomization_factor * (2 * Math.random() - 1);
      const wait = Math.max(interval * jitter, result.retryAfterMs ?? 0);
      if (retry.max_elapsed_time > 0 && Date.now() + wait - started > retry.max_elapsed_time) {
        return this.drop(pending, 'retries_exhausted', result.error);
      }
      this.metrics.exporterRetries.inc(this.labels);
      this.logger.debug({ err: result.error, waitMs: Math.round(wait) }, 'export failed, will retry');
      interval = Math.min(interval * retry.multiplier, retry.max_interval);
      try {
        await sleep(wait, undefined, { signal: this.force.signal });
      } catch {
        return this.drop(pending, 'shutdown');
      }
    }
  }

  private async attempt(batch: SpanBatch): Promise<ExportResult> {
    const timeout = AbortSignal.timeout(this.config.timeout);
    const signal = AbortSignal.any([timeout, this.force.signal]);
    const t0 = performance.now();
    let result: ExportResult;
    try {
      result = await new Promise<ExportResult>((resolve, reject) => {
        const onAbort = () => resolve({ code: 'retryable', error: new Error(this.force.signal.aborted ? 'shutdown deadline passed' : `export timed out after ${this.config.timeout}ms`) });
        signal.addEventListener('abort', onAbort, { once: true });
        this.exporter.export(batch, signal).then(
          (r) => {
            signal.removeEventListener('abort', onAbort);
            resolve(r);
          },
          (e: unknown) => {
            signal.removeEventListener('abort', onAbort);
            reject(e);
          },
        );
      });
    } catch (e) {
      // An exporter should classify its errors; an unexpected throw is treated as transient.
      result = { code: 'retryable', error: e instanceof Error ? e : new Error(String(e)) };
    }
    this.metrics.exportDuration.observe({ exporter: this.id, outcome: result.code }, (performance.now() - t0) / 1000);
    return result;
  }

  private drop(batch: SpanBatch, reason: 'permanent' | 'retries_exhausted' | 'shutdown', error?: Error) {
    this.metrics.exporterFailed.inc({ exporter: this.id, reason }, batch.length);
    if (reason === 'shutdown') this.shutdownLoss.add(batch.length, reason);
    else {
      if (error) this.logger.warn({ err: error, reason, count: batch.length }, 'export failed');
      this.failures.add(batch.length, reason);
    }
    return reason;
  }

  /**
   * Stops accepting, then sends what is queued until it is empty or `signal` aborts (the deadline). What
   * cannot be sent by then is counted as failed with reason `shutdown` and logged with its count.
   */
  async shutdown(signal: AbortSignal): Promise<void> {
    this.accepting = false;
    for (const w of this.waitingForRoom.splice(0)) w.resolve();
    this.stopping = true;
    for (const wake of this.wakeConsumers.splice(0)) wake();
    const onDeadline = () => this.force.abort();
    if (signal.aborted) onDeadline();
    else signal.addEventListener('abort', onDeadline, { once: true });
    await Promise.all(this.consumers);
    signal.removeEventListener('abort', onDeadline);
    // Consumers only return once the queue is empty, but a consumer that is aborted returns after
    // dropping its batch; nothing else can be left. Count leftovers defensively.
    let rest = 0;
    for (let b = this.take(); b !== undefined; b = this.take()) rest += b.length;
    if (rest > 0) this.drop(new Array(rest), 'shutdown');
    this.failures.close();
    this.shutdownLoss.close();
  }
}
