/**
 * The batch processor's buffer and its sender.
 *
 * Spans fill the current batch; the batch is cut when it reaches `send_batch_size` or when `timeout` has
 * passed since its first span, in pieces of at most `send_batch_max_size`. Cut batches wait in order and
 * one sender hands them to the next consumer one at a time, so spans leave in the order they came.
 *
 * Unlike the Collector's batch processor, downstream errors are not swallowed: a retryable refusal keeps
 * the batch at the head and retries it with backoff while the buffer fills and upstream is refused
 * (backpressure); a permanent refusal drops the batch and counts it. Everything held — the batch being
 * filled, cut batches and the one being sent — counts against `max_buffered_spans`.
 */
import type { Logger } from 'pino';
import { isRefused, RefusedError, type SpanConsumer } from '../../component/types.js';
import type { Span, SpanBatch } from '../../model/span.js';
import { estimateBatchBytes, rememberBatchBytes } from '../../model/span-size.js';
import { Fifo } from '../common/fifo.js';
import type { BatchConfig } from './config.js';

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;
/**
 * While downstream says it is full (its early refusal, `admit`), or refuses a batch for want of room in
 * its queue (`queue_full`), it is asked again after 2 ms, doubling up to 10 ms: asking costs nothing, and
 * every millisecond waited after the queue has room leaves its consumers idle. Honouring the queue's
 * Retry-After (meant for remote senders, 1 s) left the daemon idle while the buffer filled and receivers
 * refused (BENCHMARKS.md).
 */
const FIRST_FULL_POLL_MS = 2;
const MAX_FULL_POLL_MS = 10;
/** Retry-After for a refused sender, at least (the buffer is full of fresh data). */
const BUFFER_FULL_RETRY_MS = 1_000;

/** One waiting sender (`wait_for_result`): settles when all its spans were accepted downstream, or one failed. */
class Receipt {
  settled = false;
  constructor(
    private unaccepted: number,
    private readonly resolve: () => void,
    private readonly reject: (error: unknown) => void,
  ) {}

  accepted(count: number): void {
    this.unaccepted -= count;
    if (this.unaccepted === 0 && !this.settled) {
      this.settled = true;
      this.resolve();
    }
  }

  failed(error: unknown): void {
    if (this.settled) return;
    this.settled = true;
    this.reject(error);
  }
}

/** Spans `[from, to)` of one consume() call's batch; a range, so that splitting a batch copies nothing. */
interface Part {
  readonly spans: SpanBatch;
  readonly from: number;
  readonly to: number;
  readonly receipt: Receipt | undefined;
  /** Estimated heap of these spans (a split part gets its share by span count). */
  readonly bytes: number;
}

/** A batch cut from the buffer. Kept as parts until sent, so that a failed sender's spans can be withdrawn. */
interface CutBatch {
  parts: Part[];
  count: number;
  bytes: number;
}

export interface BatcherContext {
  readonly next: SpanConsumer;
  readonly logger: Logger;
  /** Counts and logs spans given up on, by reason. */
  dropped(count: number, reason: string): void;
  /** A persistent queue downstream: acknowledge senders only once accepted there (as `wait_for_result`). */
  readonly durableDownstream?: boolean;
}

export class SpanBatcher implements SpanConsumer {
  /** The batch being filled. */
  private filling: Part[] = [];
  private fillingCount = 0;
  private timer: NodeJS.Timeout | undefined;
  /** Cut batches, oldest first, not yet handed to the sender. */
  private readonly ready = new Fifo<CutBatch>();
  /** Spans being filled, ready and being sent: what `max_buffered_spans` bounds. */
  private held = 0;
  /** The estimated heap of the spans held: what `max_buffered_bytes` bounds. */
  private heldBytes = 0;
  private sending = false;
  private sender: Promise<void> = Promise.resolve();
  /** The current backoff while downstream refuses; 0 while it accepts. */
  private retryDelayMs = 0;
  private accepting = true;
  /** Aborted at the shutdown deadline: backoff waits end and no further attempt is made. */
  private readonly deadline = new AbortController();
  private stopped: Promise<void> | undefined;
  private lastErrorLogged = '';
  private readonly maxSize: number;
  private readonly waitForResult: boolean;

  constructor(
    private readonly cfg: BatchConfig,
    private readonly context: BatcherContext,
  ) {
    this.maxSize = cfg.send_batch_max_size === 0 ? Infinity : cfg.send_batch_max_size;
    this.waitForResult = cfg.wait_for_result || context.durableDownstream === true;
  }

  /** Spans held now (for tests and diagnostics). */
  get bufferedSpans(): number {
    return this.held;
  }

  /**
   * Early refusal: the batcher holds data, so it answers for what is downstream of it. A full buffer or a
   * shutdown refuses before the request is decoded; otherwise the batch would be taken.
   */
  admit(): RefusedError | undefined {
    if (!this.accepting) return new RefusedError('batch processor is shutting down', true, BUFFER_FULL_RETRY_MS, 'shutting_down');
    if (this.held === 0 || (this.held < this.cfg.max_buffered_spans && this.heldBytes < this.cfg.max_buffered_bytes)) return undefined;
    return new RefusedError(
      `batch processor buffer is full (${this.fullness()})`,
      true,
      this.senderRetryAfterMs(),
      'batch_buffer_full',
    );
  }

  /** Retry-After for a sender refused because the buffer is full: the current backoff, at least 1 s. */
  private senderRetryAfterMs(): number {
    return Math.max(BUFFER_FULL_RETRY_MS, this.retryDelayMs);
  }

  /** Which bound a batch of `incoming` spans hits, for the refusal's message. */
  private fullness(incoming = 0): string {
    if (this.held + incoming > this.cfg.max_buffered_spans || this.held >= this.cfg.max_buffered_spans) return `${this.held}/${this.cfg.max_buffered_spans} spans`;
    return `${this.heldBytes}/${this.cfg.max_buffered_bytes} bytes`;
  }

  /**
   * Resolves once the spans are buffered, or with `wait_for_result` once they were accepted downstream
   * (rejecting with the downstream error instead). Refuses, retryably, when the buffer is full.
   */
  async consume(batch: SpanBatch): Promise<void> {
    if (!this.accepting) throw new RefusedError('batch processor is shutting down', true, BUFFER_FULL_RETRY_MS, 'shutting_down');
    const n = batch.length;
    if (n === 0) return;
    const bytes = estimateBatchBytes(batch);
    // An empty buffer takes any batch, so that one larger than the bound is not refused forever.
    if (this.held > 0 && (this.held + n > this.cfg.max_buffered_spans || this.heldBytes + bytes > this.cfg.max_buffered_bytes)) {
      throw new RefusedError(
        `batch processor buffer is full (${this.fullness(n)})`,
        true,
        this.senderRetryAfterMs(),
        'batch_buffer_full',
      );
    }
    let receipt: Receipt | undefined;
    const result = this.waitForResult
      ? new Promise<void>((resolve, reject) => {
          receipt = new Receipt(n, resolve, reject);
        })
      : undefined;
    this.filling.push({ spans: batch, from: 0, to: n, receipt, bytes });
    this.fillingCount += n;
    this.held += n;
    this.heldBytes += bytes;
    this.cutFull();
    return result;
  }

  /**
   * Stops accepting and sends everything held, retrying retryable refusals until `signal` aborts; what is
   * left then is counted as dropped (`shutdown`), or refused to its waiting senders. Idempotent.
   */
  shutdown(signal: AbortSignal): Promise<void> {
    this.stopped ??= this.stop(signal);
    return this.stopped;
  }

  private async stop(signal: AbortSignal): Promise<void> {
    this.accepting = false;
    this.cutAll();
    const onDeadline = () => this.deadline.abort();
    if (signal.aborted) onDeadline();
    else signal.addEventListener('abort', onDeadline, { once: true });
    try {
      await Promise.race([this.sender, abortion(this.deadline.signal)]);
    } finally {
      signal.removeEventListener('abort', onDeadline);
    }
    // Past the deadline, batches not yet attempted are given up now; the one in flight, if any, is
    // settled by its own attempt.
    for (const b of this.ready.takeAll()) {
      this.held -= b.count;
      this.heldBytes -= b.bytes;
      this.abandon(b);
    }
  }

  /** Cuts batches while the current one has reached the size trigger (with timeout 0, always). */
  private cutFull(): void {
    const trigger = this.cfg.timeout === 0 ? 1 : this.cfg.send_batch_size;
    let cut = false;
    while (this.fillingCount >= trigger) {
      this.cut(Math.min(this.fillingCount, this.maxSize));
      cut = true;
    }
    // A remainder left by a cut came with the call that triggered it, so its timeout starts now.
    if (this.fillingCount === 0) this.clearTimer();
    else if (cut || this.timer === undefined) this.startTimer();
    if (cut) this.startSending();
  }

  private cutAll(): void {
    this.clearTimer();
    while (this.fillingCount > 0) this.cut(Math.min(this.fillingCount, this.maxSize));
    this.startSending();
  }

  /** Moves the first `count` spans being filled into a cut batch. */
  private cut(count: number): void {
    const parts: Part[] = [];
    let need = count;
    let bytes = 0;
    let i = 0;
    while (need > 0) {
      const p = this.filling[i];
      const size = p.to - p.from;
      if (size <= need) {
        parts.push(p);
        bytes += p.bytes;
        need -= size;
        i++;
      } else {
        const share = Math.round((p.bytes * need) / size);
        parts.push({ spans: p.spans, from: p.from, to: p.from + need, receipt: p.receipt, bytes: share });
        this.filling[i] = { spans: p.spans, from: p.from + need, to: p.to, receipt: p.receipt, bytes: p.bytes - share };
        bytes += share;
        need = 0;
      }
    }
    this.filling.splice(0, i);
    this.fillingCount -= count;
    this.ready.push({ parts, count, bytes });
  }

  private startTimer(): void {
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.cutAll();
    }, this.cfg.timeout);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private startSending(): void {
    if (this.sending || this.ready.size === 0) return;
    // sendReady handles downstream errors itself; this only keeps a bug from becoming an unhandled rejection.
    this.sender = this.sendReady().catch((err: unknown) => this.context.logger.error({ err }, 'batch sender failed'));
  }

  /** The single sender: hands cut batches downstream in order until none is left. */
  private async sendReady(): Promise<void> {
    this.sending = true;
    try {
      for (let b = this.ready.shift(); b !== undefined; b = this.ready.shift()) {
        await this.deliver(b);
        this.held -= b.count;
        this.heldBytes -= b.bytes;
      }
    } finally {
      this.sending = false;
    }
  }

  /**
   * Sends one batch until it is accepted, refused for good, or the shutdown deadline passes. Never throws.
   * While downstream says it is full, the batch waits for room without an attempt (polling `admit`);
   * other retryable refusals back off exponentially from downstream's hint.
   */
  private async deliver(b: CutBatch): Promise<void> {
    const spans = flatten(b);
    let fullPollMs = 0;
    for (;;) {
      if (this.deadline.signal.aborted) return this.abandon(b);
      // With wait_for_result the senders decide what a refusal means, so they get the attempt's answer.
      const full = this.waitForResult ? undefined : this.context.next.admit?.(undefined);
      if (full !== undefined && full.retryable) {
        fullPollMs = fullPollMs === 0 ? FIRST_FULL_POLL_MS : Math.min(MAX_FULL_POLL_MS, fullPollMs * 2);
        await backoff(fullPollMs, this.deadline.signal);
        continue;
      }
      try {
        await this.context.next.consume(spans);
        this.retryDelayMs = 0;
        for (const p of b.parts) p.receipt?.accepted(p.to - p.from);
        return;
      } catch (e) {
        if (this.waitForResult) {
          // The senders still own their spans: they get the error and decide, so nothing is retried or counted here.
          return this.refuse(b, e);
        }
        const retryable = isRefused(e) && e.retryable;
        if (!retryable) {
          this.logDownstreamError(e, b.count);
          return this.context.dropped(b.count, 'downstream_permanent');
        }
        if (e.reason === 'queue_full') {
          // `admit` saw room, but not for this batch (a queue short of full): wait for room as above.
          // Its Retry-After of 1 s, honoured here, left the queue empty and the daemon idle for most of it.
          fullPollMs = fullPollMs === 0 ? FIRST_FULL_POLL_MS : Math.min(MAX_FULL_POLL_MS, fullPollMs * 2);
          await backoff(fullPollMs, this.deadline.signal);
          continue;
        }
        const hint = e.retryAfterMs > 0 ? e.retryAfterMs : FIRST_RETRY_MS;
        this.retryDelayMs = Math.min(MAX_RETRY_MS, this.retryDelayMs === 0 ? hint : Math.max(this.retryDelayMs * 2, hint));
        this.context.logger.debug({ err: e, count: b.count, waitMs: this.retryDelayMs }, 'downstream refused a batch, will retry');
        await backoff(this.retryDelayMs, this.deadline.signal);
      }
    }
  }

  /** Gives up on a batch at the shutdown deadline. */
  private abandon(b: CutBatch): void {
    if (this.waitForResult) {
      this.refuse(b, new RefusedError('batch processor shut down before the spans were sent', true, BUFFER_FULL_RETRY_MS, 'shutting_down'));
    } else {
      this.context.dropped(b.count, 'shutdown');
    }
  }

  /**
   * Rejects the senders waiting on a batch. Their other spans still held are withdrawn, so that when a
   * sender retries, none of its spans goes downstream twice.
   */
  private refuse(b: CutBatch, error: unknown): void {
    const failed = new Set<Receipt>();
    for (const p of b.parts) {
      if (p.receipt !== undefined && !p.receipt.settled) {
        p.receipt.failed(error);
        failed.add(p.receipt);
      }
    }
    if (failed.size === 0) return;
    const keep = (p: Part) => p.receipt === undefined || !failed.has(p.receipt);
    for (const r of this.ready.takeAll()) {
      const parts = r.parts.filter(keep);
      const count = countOf(parts);
      const bytes = bytesOf(parts);
      this.held -= r.count - count;
      this.heldBytes -= r.bytes - bytes;
      if (count > 0) this.ready.push({ parts, count, bytes });
    }
    const fillingBytes = bytesOf(this.filling);
    this.filling = this.filling.filter(keep);
    const fillingCount = countOf(this.filling);
    this.held -= this.fillingCount - fillingCount;
    this.heldBytes -= fillingBytes - bytesOf(this.filling);
    this.fillingCount = fillingCount;
    if (fillingCount === 0) this.clearTimer();
  }

  /** Logs a permanent downstream error's cause once per distinct message; the count goes to `dropped`. */
  private logDownstreamError(error: unknown, count: number): void {
    const message = error instanceof Error ? error.message : String(error);
    if (message === this.lastErrorLogged) return;
    this.lastErrorLogged = message;
    this.context.logger.warn({ err: error, count }, 'downstream refused a batch permanently');
  }
}

function countOf(parts: readonly Part[]): number {
  let n = 0;
  for (const p of parts) n += p.to - p.from;
  return n;
}

function bytesOf(parts: readonly Part[]): number {
  let n = 0;
  for (const p of parts) n += p.bytes;
  return n;
}

/**
 * The spans of a cut batch as one array; the sender's own array when the batch is exactly that. When
 * every part is a sender's whole batch, the parts' estimates are those of their spans and the array's
 * estimate is remembered for the exporter queue; a split part's share is by span count only (one large
 * span among many small ones would be counted in every piece), so the queue estimates such a batch
 * from its spans, as it would any other.
 */
function flatten(b: CutBatch): SpanBatch {
  if (b.parts.length === 1) {
    const p = b.parts[0];
    if (p.from === 0 && p.to === p.spans.length) return p.spans;
  }
  const out: Span[] = new Array(b.count);
  let k = 0;
  let whole = true;
  for (const p of b.parts) {
    if (p.from !== 0 || p.to !== p.spans.length) whole = false;
    for (let i = p.from; i < p.to; i++) out[k++] = p.spans[i];
  }
  if (whole) rememberBatchBytes(out, b.bytes);
  return out;
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
