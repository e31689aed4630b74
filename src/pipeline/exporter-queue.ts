/**
 * Every exporter sits behind its own bounded sending queue, so a slow or failing exporter never blocks
 * another exporter or pipeline. The queue owns retry (exponential backoff with jitter), the per-attempt
 * timeout, the metrics and the drain on shutdown; an exporter only sends one batch and classifies the
 * outcome (see ExportResult). An exporter with prepareRequest() has each batch encoded once, when it
 * leaves the queue; from then on only the prepared request is held and retried, not the spans.
 *
 * The queue is bounded in spans and in bytes. In memory, bytes are an estimate of the heap the queued
 * spans hold (src/model/span-size.ts). With `storage`, every batch is written to an on-disk log
 * (disk-queue.ts) and acknowledged to the sender only once it is durable; it leaves the log when the
 * exporter delivered it or gave up on it, so what a crash or the shutdown deadline interrupts is sent
 * after the next start. Queued batches stay in memory too while they fit in `queue_bytes`, and are read
 * back from disk otherwise.
 */
import { mkdirSync, openSync, readFileSync, unlinkSync, writeSync, closeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { s, type InferShape, type Path } from '../config/schema.js';
import type { Exporter, ExportResult, PreparedRequest, SpanConsumer } from '../component/types.js';
import { RefusedError } from '../component/types.js';
import { decodeSpanRecord, encodeSpanRecord } from '../codecs/span-record.js';
import type { SpanBatch } from '../model/span.js';
import { estimateBatchBytes } from '../model/span-size.js';
import type { SelfMetrics } from '../telemetry/metrics.js';
import { CountedLog } from '../telemetry/logger.js';
import { DiskQueue, type RecordRef } from './disk-queue.js';

/** Segment files of a persistent queue are closed for writing at this size. */
const SEGMENT_BYTES = 16 * 1024 * 1024;

/** The keys the framework adds to every exporter's config, as the Collector's exporterhelper does. */
export function exporterHelperShape() {
  return {
    sending_queue: s
      .object({
        enabled: s.boolean().default(true).describe('Queue batches and acknowledge them once queued. When false, the sender waits until the batch is exported.'),
        queue_size: s.int().range(1).default(50_000).describe('Capacity in spans.'),
        queue_bytes: s
          .byteSize()
          .default(64 * 1024 * 1024)
          .describe('Capacity in bytes of memory the queued spans hold (an estimate). With `storage`, how much of the queue is also kept in memory; the rest is read back from disk.'),
        num_consumers: s.int().range(1, 1000).default(4).describe('Batches sent concurrently.'),
        block_on_overflow: s.boolean().default(false).describe('When full, wait for room instead of refusing (receivers then answer 503 only after waiting).'),
        storage: s
          .string()
          .optional()
          .describe('Directory of a persistent queue (relative to the config file). Spans are acknowledged to the sender only once written there durably, survive a crash or restart, and are delivered after it.'),
        storage_bytes: s.byteSize().default(1024 * 1024 * 1024).describe('Capacity of the persistent queue on disk.'),
      })
      .describe('The bounded queue in front of the exporter: in memory, or on disk with `storage`.'),
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

/** The checks on the framework's keys that span several of them. */
export function validateExporterHelper(cfg: ExporterHelperConfig): { path: Path; message: string }[] {
  if (cfg.sending_queue.storage !== undefined && !cfg.sending_queue.enabled) {
    return [{ path: ['sending_queue', 'storage'], message: 'a persistent queue needs sending_queue.enabled: true' }];
  }
  return [];
}

interface Waiter {
  count: number;
  bytes: number;
  resolve: () => void;
}

/** One queued batch. `batch` is undefined when only the disk holds it. */
interface Item {
  batch: SpanBatch | undefined;
  readonly spans: number;
  /** The estimate counted against `queue_bytes` while `batch` is held in memory. */
  memBytes: number;
  readonly record: RecordRef | undefined;
}

export class SendingQueue implements SpanConsumer {
  private readonly items: Item[] = [];
  private head = 0;
  /** Spans queued plus spans being sent. */
  private size = 0;
  /** Estimated heap of the batches held in memory (queued and being sent). */
  private memBytes = 0;
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
  private disk: DiskQueue | undefined;
  private lock: StorageLock | undefined;
  /** Spans read back from disk that could not be decoded. */
  private readonly unreadable: CountedLog;
  /** Spans refused because the persistent queue could not take them (write failed, not encodable). */
  private readonly notStored: CountedLog;

  constructor(
    readonly id: string,
    private readonly exporter: Exporter,
    private readonly config: ExporterHelperConfig,
    private readonly metrics: SelfMetrics,
    private readonly logger: Logger,
    private readonly configDir = '.',
  ) {
    this.labels = { exporter: id };
    this.failures = new CountedLog(logger, 'spans dropped by exporter');
    this.shutdownLoss = new CountedLog(logger, 'spans not delivered before the shutdown deadline', 0);
    this.unreadable = new CountedLog(logger, 'spans dropped from the persistent queue: record unreadable', 0);
    this.notStored = new CountedLog(logger, 'spans refused: the persistent queue could not take them');
    metrics.exporterQueueCapacity.set(this.labels, config.sending_queue.enabled ? config.sending_queue.queue_size : 0);
    metrics.exporterQueueSize.set(this.labels, 0);
    metrics.exporterQueueBytes.set(this.labels, 0);
  }

  /** The persistent queue's directory, when there is one. */
  get storageDir(): string | undefined {
    const dir = this.config.sending_queue.storage;
    if (dir === undefined) return undefined;
    return join(resolve(this.configDir, dir), this.id.replace(/[^A-Za-z0-9_.-]/g, '_'));
  }

  /** True when a batch is acknowledged only once it is on disk. */
  get durable(): boolean {
    return this.config.sending_queue.enabled && this.config.sending_queue.storage !== undefined;
  }

  /** Opens the persistent queue (recovering what a previous run left) and starts the consumers. */
  start(): void {
    if (!this.config.sending_queue.enabled) return;
    const dir = this.storageDir;
    if (dir !== undefined) {
      mkdirSync(dir, { recursive: true });
      const lock = StorageLock.acquire(dir, this.id);
      let opened: ReturnType<typeof DiskQueue.open>;
      try {
        opened = DiskQueue.open(dir, { segmentBytes: SEGMENT_BYTES });
      } catch (e) {
        lock.release();
        throw e;
      }
      this.lock = lock;
      const { queue, recovered } = opened;
      this.disk = queue;
      for (const record of recovered.records) this.push({ batch: undefined, spans: record.spans, memBytes: 0, record });
      if (recovered.records.length > 0 || recovered.truncatedBytes > 0) {
        this.logger.info(
          { spans: this.size, batches: recovered.records.length, truncatedBytes: recovered.truncatedBytes, dir },
          'persistent queue recovered spans from a previous run; delivering them',
        );
      }
      this.metrics.exporterStorageBytes.set(this.labels, queue.bytes);
    }
    for (let i = 0; i < this.config.sending_queue.num_consumers; i++) this.consumers.push(this.runConsumer());
  }

  get blocksWhenFull(): boolean {
    return this.config.sending_queue.block_on_overflow;
  }

  /** True if `batch` would be accepted now without waiting. */
  hasRoomFor(batch: SpanBatch): boolean {
    if (!this.accepting) return false;
    if (!this.config.sending_queue.enabled) return true;
    return this.fits(batch.length, this.disk ? 0 : estimateBatchBytes(batch));
  }

  /** An empty queue takes any one batch, so that a batch larger than the queue is not refused forever. */
  private fits(spans: number, bytes: number): boolean {
    const q = this.config.sending_queue;
    if (this.size === 0) return true;
    if (this.size + spans > q.queue_size) return false;
    if (this.disk) return this.disk.bytes < q.storage_bytes;
    return this.memBytes + bytes <= q.queue_bytes;
  }

  private full(): string {
    const q = this.config.sending_queue;
    if (this.size >= q.queue_size) return `${this.size}/${q.queue_size} spans`;
    if (this.disk) return `${this.disk.bytes}/${q.storage_bytes} bytes on disk`;
    return `${this.memBytes}/${q.queue_bytes} bytes`;
  }

  /** Early refusal (SpanConsumer.admit): what consume() would answer now whatever the batch, if anything. */
  admit(): RefusedError | undefined {
    if (!this.accepting) return new RefusedError(`exporter ${this.id} is shutting down`, true, 1000, 'shutting_down');
    const q = this.config.sending_queue;
    if (!q.enabled || q.block_on_overflow || this.size === 0) return undefined;
    const full = this.size >= q.queue_size || (this.disk ? this.disk.bytes >= q.storage_bytes : this.memBytes >= q.queue_bytes);
    return full ? new RefusedError(`exporter ${this.id} queue is full (${this.full()})`, true, 1000, 'queue_full') : undefined;
  }

  async consume(batch: SpanBatch): Promise<void> {
    if (!this.accepting) throw new RefusedError(`exporter ${this.id} is shutting down`, true, 1000, 'shutting_down');
    const n = batch.length;
    if (n === 0) return;
    if (!this.config.sending_queue.enabled) return this.sendWithoutQueue(batch);
    const bytes = estimateBatchBytes(batch);
    if (!this.fits(n, this.disk ? 0 : bytes)) {
      if (!this.config.sending_queue.block_on_overflow) {
        this.metrics.exporterEnqueueFailed.inc(this.labels, n);
        throw new RefusedError(`exporter ${this.id} queue is full (${this.full()})`, true, 1000, 'queue_full');
      }
      await new Promise<void>((resolve) => this.waitingForRoom.push({ count: n, bytes: this.disk ? 0 : bytes, resolve }));
      if (!this.accepting) throw new RefusedError(`exporter ${this.id} is shutting down`, true, 1000, 'shutting_down');
    }
    if (this.disk === undefined) {
      this.push({ batch, spans: n, memBytes: bytes, record: undefined });
      return;
    }
    let payload: Buffer;
    try {
      payload = encodeSpanRecord(batch);
    } catch (e) {
      // A span outside the model's ranges (e.g. a time past 2^64 ns): no retry can write it, so the
      // sender must not be told to try again.
      this.metrics.exporterEnqueueFailed.inc(this.labels, n);
      this.notStored.add(n, `not encodable: ${(e as Error).message}`);
      throw new RefusedError(`exporter ${this.id} cannot store this batch: ${(e as Error).message}`, false, 0, 'unencodable');
    }
    // Reserve the room before the write, so that concurrent senders cannot overfill the queue.
    this.size += n;
    let record: RecordRef;
    try {
      record = await this.disk.append(payload, n);
    } catch (e) {
      this.size -= n;
      // The room this batch held is free again; a sender waiting for room must not wait for a release
      // that may never come.
      this.wakeWaiter();
      this.metrics.exporterEnqueueFailed.inc(this.labels, n);
      this.notStored.add(n, `write failed: ${(e as Error).message}`);
      throw new RefusedError(`exporter ${this.id} could not write its persistent queue: ${(e as Error).message}`, true, 1000, 'storage_error');
    } finally {
      this.metrics.exporterStorageBytes.set(this.labels, this.disk.bytes);
    }
    this.size -= n;
    const keep = this.memBytes + bytes <= this.config.sending_queue.queue_bytes;
    this.push({ batch: keep ? batch : undefined, spans: n, memBytes: keep ? bytes : 0, record });
  }

  private push(item: Item): void {
    this.items.push(item);
    this.size += item.spans;
    this.memBytes += item.memBytes;
    this.metrics.exporterQueueSize.set(this.labels, this.size);
    this.metrics.exporterQueueBytes.set(this.labels, this.memBytes);
    const wake = this.wakeConsumers.shift();
    if (wake) wake();
  }

  private take(): Item | undefined {
    if (this.head === this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined as unknown as Item;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head);
      this.head = 0;
    }
    return item;
  }

  private release(item: Item): void {
    this.size -= item.spans;
    this.memBytes -= item.memBytes;
    if (item.record !== undefined && this.disk !== undefined) {
      try {
        this.disk.ack(item.record);
      } catch (e) {
        // The record stays pending on disk and is delivered again after a restart: a duplicate, not a
        // loss. A throw here would end this consumer.
        this.logger.error({ err: e }, 'persistent queue: could not record a delivery');
      }
      this.metrics.exporterStorageBytes.set(this.labels, this.disk.bytes);
    }
    this.metrics.exporterQueueSize.set(this.labels, this.size);
    this.metrics.exporterQueueBytes.set(this.labels, this.memBytes);
    this.wakeWaiter();
  }

  /** Lets the first sender waiting for room go on, if its batch fits now. */
  private wakeWaiter(): void {
    const w = this.waitingForRoom[0];
    if (w !== undefined && this.fits(w.count, w.bytes)) {
      this.waitingForRoom.shift();
      w.resolve();
    }
  }

  /**
   * One consumer. The work on each item is done by deliver(), whose frame ends with it: variables of
   * this loop's own frame would outlive their iteration (V8 keeps them while the consumer waits for
   * the next item), and an idle consumer would keep its last batch alive, for every young-generation GC
   * to copy again (4 × 2,100 spans, ~9 MB, in `npm run bench`).
   */
  private async runConsumer(): Promise<void> {
    for (;;) {
      const item = this.take();
      if (item !== undefined) await this.deliver(item);
      else if (this.stopping) return;
      else await new Promise<void>((resolve) => this.wakeConsumers.push(resolve));
    }
  }

  private async deliver(item: Item): Promise<void> {
    if (this.force.signal.aborted && item.record !== undefined) {
      // Past the shutdown deadline a batch on disk stays there: reading it back only to skip it
      // would make shutdown as slow as the whole backlog.
      this.leaveOnDisk(item);
      return;
    }
    const request = await this.request(item);
    if (request === undefined) {
      this.release(item);
      return;
    }
    const outcome = await this.send(request);
    if (outcome === 'shutdown' && item.record !== undefined) {
      // The deadline interrupted it: it stays on disk for the next start.
      this.leaveOnDisk(item);
      return;
    }
    this.release(item);
  }

  /** Forgets an item in memory without acknowledging its record, which is delivered after the next start. */
  private leaveOnDisk(item: Item): void {
    this.size -= item.spans;
    this.memBytes -= item.memBytes;
  }

  /**
   * What the item is sent as: its spans, or the request the exporter prepared from them. A prepared
   * item lets go of its spans here, in a frame of its own, so that nothing holds them while the request
   * is sent (deliver() awaits the sending). Undefined when there is nothing to send: the record was
   * unreadable, or the batch could not be prepared (dropped, counted as permanent).
   */
  private async request(item: Item): Promise<Attempts | undefined> {
    const batch = item.batch ?? (await this.readBack(item));
    if (batch === undefined || this.exporter.prepareRequest === undefined) return batch && new SpanAttempts(this.exporter, batch);
    item.batch = undefined;
    try {
      return new PreparedAttempts(await this.exporter.prepareRequest(batch), batch.length);
    } catch (e) {
      this.drop(batch.length, 'permanent', e instanceof Error ? e : new Error(String(e)));
      return undefined;
    }
  }

  /** Reads a batch that only the disk holds; undefined (counted, logged) if the record cannot be decoded. */
  private async readBack(item: Item): Promise<SpanBatch | undefined> {
    try {
      return decodeSpanRecord(await this.disk!.read(item.record!));
    } catch (e) {
      this.logger.error({ err: e }, 'persistent queue record unreadable');
      this.metrics.exporterFailed.inc({ exporter: this.id, reason: 'unreadable' }, item.spans);
      this.unreadable.add(item.spans, 'unreadable');
      return undefined;
    }
  }

  private async sendWithoutQueue(batch: SpanBatch): Promise<void> {
    this.size += batch.length;
    try {
      const outcome = await this.send(new SpanAttempts(this.exporter, batch));
      if (outcome !== 'sent') throw new RefusedError(`exporter ${this.id} failed: ${outcome}`, outcome !== 'permanent', 1000, outcome);
    } finally {
      this.size -= batch.length;
    }
  }

  /** Sends with retries until success, a permanent error, the retry budget, or the shutdown deadline. */
  private async send(request: Attempts): Promise<'sent' | 'permanent' | 'retries_exhausted' | 'shutdown'> {
    const retry = this.config.retry_on_failure;
    const started = Date.now();
    let interval = retry.initial_interval;
    let pending = request;
    for (;;) {
      if (this.force.signal.aborted) return this.drop(pending.spans, 'shutdown');
      const result = await this.attempt(pending);
      if (result.code === 'success') {
        this.metrics.exporterSent.inc(this.labels, pending.spans);
        return 'sent';
      }
      if (result.code === 'permanent') {
        this.logger.debug({ err: result.error }, 'permanent export error');
        return this.drop(pending.spans, 'permanent', result.error);
      }
      const next = pending.rest(result);
      // What the exporter did deliver counts as sent.
      if (next.spans < pending.spans) this.metrics.exporterSent.inc(this.labels, pending.spans - next.spans);
      pending = next;
      if (pending.spans === 0) return 'sent';
      if (!retry.enabled) return this.drop(pending.spans, 'retries_exhausted', result.error);
      const jitter = 1 + retry.randomization_factor * (2 * Math.random() - 1);
      const wait = Math.max(interval * jitter, result.retryAfterMs ?? 0);
      if (retry.max_elapsed_time > 0 && Date.now() + wait - started > retry.max_elapsed_time) {
        return this.drop(pending.spans, 'retries_exhausted', result.error);
      }
      this.metrics.exporterRetries.inc(this.labels);
      this.logger.debug({ err: result.error, waitMs: Math.round(wait) }, 'export failed, will retry');
      interval = Math.min(interval * retry.multiplier, retry.max_interval);
      try {
        await sleep(wait, undefined, { signal: this.force.signal });
      } catch {
        return this.drop(pending.spans, 'shutdown');
      }
    }
  }

  /**
   * One attempt. At `timeout` the exporter's signal aborts; an exporter that honours it settles at once.
   * Its outcome is still awaited for up to another `timeout`, because an exporter that cannot stop
   * midway (a file write in progress) may complete the attempt after all: retrying at once would deliver
   * the batch twice. Only the shutdown deadline stops waiting at once.
   *
   * Plain timers, cleared when the attempt settles, rather than `AbortSignal.timeout`/`AbortSignal.any`:
   * those leave a live timer (up to 2 × `timeout`) and a weak reference on the long-lived shutdown signal
   * per attempt, which outlive young-generation GCs and pile up in the old generation until a full GC.
   */
  private async attempt(request: Attempts): Promise<ExportResult> {
    const t0 = performance.now();
    const force = this.force.signal;
    const ms = this.config.timeout;
    const asked = new AbortController();
    let timedOut = false;
    let result = await new Promise<ExportResult>((resolve) => {
      const settle = (r: ExportResult) => {
        clearTimeout(deadline);
        clearTimeout(giveUp);
        force.removeEventListener('abort', onForce);
        resolve(r);
      };
      const onForce = () => {
        asked.abort(force.reason);
        settle({ code: 'retryable', error: new Error('shutdown deadline passed') });
      };
      const deadline = setTimeout(() => {
        timedOut = true;
        asked.abort(new DOMException(`export timed out after ${ms}ms`, 'TimeoutError'));
      }, ms);
      const giveUp = setTimeout(() => settle({ code: 'retryable', error: new Error(`export timed out after ${ms}ms and did not stop when asked`) }), 2 * ms);
      force.addEventListener('abort', onForce, { once: true });
      request.attempt(asked.signal).then(
        settle,
        // An exporter should classify its errors; an unexpected throw is treated as transient.
        (e: unknown) => settle({ code: 'retryable', error: e instanceof Error ? e : new Error(String(e)) }),
      );
    });
    if (result.code === 'retryable' && timedOut && !force.aborted) {
      result = { ...result, error: new Error(`export timed out after ${ms}ms`, { cause: result.error }) };
    }
    this.metrics.exportDuration.observe({ exporter: this.id, outcome: result.code }, (performance.now() - t0) / 1000);
    return result;
  }

  private drop(spans: number, reason: 'permanent' | 'retries_exhausted' | 'shutdown', error?: Error) {
    if (reason === 'shutdown' && this.disk !== undefined) return reason; // kept on disk, not lost
    this.metrics.exporterFailed.inc({ exporter: this.id, reason }, spans);
    if (reason === 'shutdown') this.shutdownLoss.add(spans, reason);
    else {
      if (error) this.logger.warn({ err: error, reason, count: spans }, 'export failed');
      this.failures.add(spans, reason);
    }
    return reason;
  }

  /**
   * Stops accepting, then sends what is queued until it is empty or `signal` aborts (the deadline). What
   * cannot be sent by then is counted as failed with reason `shutdown` and logged with its count — or,
   * with a persistent queue, stays on disk for the next start and is logged with its count.
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
    for (let item = this.take(); item !== undefined; item = this.take()) rest += item.spans;
    if (this.disk !== undefined) {
      const kept = this.disk.bytes;
      await this.disk.close();
      this.lock?.release();
      if (kept > 0) this.logger.warn({ bytes: kept, dir: this.storageDir }, 'undelivered spans stay in the persistent queue and are sent after the next start');
    } else if (rest > 0) this.drop(rest, 'shutdown');
    this.failures.close();
    this.shutdownLoss.close();
    this.unreadable.close();
    this.notStored.close();
  }
}

/** What an item is sent as, attempt after attempt. */
interface Attempts {
  /** Spans it carries. */
  readonly spans: number;
  attempt(signal: AbortSignal): Promise<ExportResult>;
  /** What is left to send after a retryable result. */
  rest(result: ExportResult & { code: 'retryable' }): Attempts;
}

/** A batch sent with the exporter's export(); a retryable result may narrow it to some of its spans. */
class SpanAttempts implements Attempts {
  constructor(
    private readonly exporter: Exporter,
    private readonly batch: SpanBatch,
  ) {}
  get spans(): number {
    return this.batch.length;
  }
  attempt(signal: AbortSignal): Promise<ExportResult> {
    return this.exporter.export(this.batch, signal);
  }
  rest(result: ExportResult & { code: 'retryable' }): Attempts {
    return result.retry === undefined ? this : new SpanAttempts(this.exporter, result.retry);
  }
}

/** A request prepared by the exporter, sent whole every time. */
class PreparedAttempts implements Attempts {
  constructor(
    private readonly request: PreparedRequest,
    readonly spans: number,
  ) {}
  attempt(signal: AbortSignal): Promise<ExportResult> {
    return this.request.send(signal);
  }
  rest(): Attempts {
    return this;
  }
}

/**
 * One writer per persistent queue directory: two would interleave records. The lock file holds the
 * owner's pid; a lock whose process is gone (killed with -9) is taken over. Our own pid in it is no
 * sign of a stale lock: another exporter of this process may hold it (two ids can name one directory,
 * e.g. `otlp/a b` and `otlp/a_b`), so locks held here are also remembered here.
 */
class StorageLock {
  /** Lock file → the exporter holding it, in this process. */
  private static readonly held = new Map<string, string>();

  private constructor(private readonly path: string) {}

  static acquire(dir: string, id: string): StorageLock {
    const path = join(dir, 'LOCK');
    const holder = StorageLock.held.get(path);
    if (holder !== undefined) throw new Error(`exporter ${id}: persistent queue ${dir} is in use by exporter ${holder}`);
    const lock = StorageLock.take(path, dir, id);
    StorageLock.held.set(path, id);
    return lock;
  }

  private static take(path: string, dir: string, id: string): StorageLock {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, 'wx');
        try {
          writeSync(fd, String(process.pid));
        } finally {
          closeSync(fd);
        }
        return new StorageLock(path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        const pid = Number(readFileSync(path, 'utf8'));
        if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid)) {
          throw new Error(`exporter ${id}: persistent queue ${dir} is in use by process ${pid}`);
        }
        unlinkSync(path);
      }
    }
    throw new Error(`exporter ${id}: could not lock persistent queue ${dir}`);
  }

  release(): void {
    StorageLock.held.delete(this.path);
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
