import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { pino } from 'pino';
import { RefusedError, type Lifecycle, type SpanConsumer } from '../../src/component/types.js';
import type { Context } from '../../src/config/schema.js';
import { newResource, Span, type SpanBatch } from '../../src/model/span.js';
import { estimateBatchBytes, estimateSpanBytes } from '../../src/model/span-size.js';
import { batchProcessor, type BatchConfig } from '../../src/processors/batch/index.js';
import { SelfMetrics } from '../../src/telemetry/metrics.js';

/** `count` spans with ids `${prefix}0`, `${prefix}1`, … */
function spans(prefix: string, count: number): SpanBatch {
  const resource = newResource({ 'service.name': 'svc' });
  return Array.from({ length: count }, (_, i) => {
    const s = new Span(resource);
    s.traceId = 't'.repeat(32);
    s.spanId = `${prefix}${i}`;
    return s;
  });
}

const ids = (batch: SpanBatch) => batch.map((s) => s.spanId);

/** A downstream of our own interface: records every attempt; scripted outcomes, optionally slow. */
class FakeDownstream implements SpanConsumer {
  readonly attempts: string[][] = [];
  readonly accepted: string[][] = [];
  /** Outcomes of the next attempts, in order; once empty, attempts succeed (or `always` applies). */
  readonly script: Error[] = [];
  always: Error | undefined;
  /** Each attempt takes this long (fake timers). */
  delayMs = 0;

  async consume(batch: SpanBatch): Promise<void> {
    this.attempts.push(ids(batch));
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    const failure = this.script.shift() ?? this.always;
    if (failure) throw failure;
    this.accepted.push(ids(batch));
  }

  acceptedIds(): string[] {
    return this.accepted.flat();
  }
}

function configOf(raw: Record<string, unknown>): BatchConfig {
  const ctx: Context = { issues: [] };
  const cfg = batchProcessor.config.check(raw, [], ctx);
  if (cfg === undefined) throw new Error(ctx.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '));
  return cfg;
}

function setup(raw: Record<string, unknown>, next: SpanConsumer = new FakeDownstream()) {
  const dropped: { count: number; reason: string }[] = [];
  const processor = batchProcessor.create(configOf(raw), {
    id: 'batch',
    logger: pino({ level: 'silent' }),
    metrics: new SelfMetrics(),
    configDir: '.',
    pipeline: 'traces',
    next,
    dropped: (count, reason) => dropped.push({ count, reason }),
  });
  if (!('consume' in processor)) throw new Error('batch must take over the flow with consume()');
  const batcher = processor as SpanConsumer & Required<Pick<Lifecycle, 'shutdown'>> & { bufferedSpans: number };
  const droppedCount = (reason: string) => dropped.filter((d) => d.reason === reason).reduce((n, d) => n + d.count, 0);
  return { batcher, dropped, droppedCount };
}

/** Lets pending promise callbacks run and moves the fake clock. */
const advance = (ms = 0) => vi.advanceTimersByTimeAsync(ms);

const neverAborts = () => new AbortController().signal;

beforeEach(() => {
  vi.useFakeTimers();
});

afterEach(() => {
  vi.useRealTimers();
});

describe('batch processor: config', () => {
  it('has the documented defaults', () => {
    expect(configOf({})).toEqual({
      send_batch_size: 8192,
      send_batch_max_size: 0,
      timeout: 200,
      max_buffered_spans: 100_000,
      max_buffered_bytes: 128 * 1024 * 1024,
      wait_for_result: false,
    });
    expect(configOf({ timeout: '1s' }).timeout).toBe(1000);
  });

  it.each([
    [{ send_batch_max_size: 100 }, ['send_batch_max_size'], 'send_batch_max_size (100) must be at least send_batch_size (8192) or 0'],
    [{ send_batch_size: 10, max_buffered_spans: 5 }, ['max_buffered_spans'], 'max_buffered_spans (5) must be at least send_batch_size (10)'],
  ])('rejects %j across keys', (raw, path, message) => {
    const cfg = configOf(raw);
    expect(batchProcessor.validate!(cfg)).toEqual([{ path, message: expect.stringContaining(message) }]);
    expect(() => setup(raw)).toThrow(message);
  });

  it('accepts a max size equal to the batch size, or 0', () => {
    expect(batchProcessor.validate!(configOf({ send_batch_size: 5, send_batch_max_size: 5 }))).toEqual([]);
    expect(batchProcessor.validate!(configOf({ send_batch_size: 5, send_batch_max_size: 0 }))).toEqual([]);
  });
});

describe('batch processor', () => {
  it('sends when the buffered count reaches send_batch_size, as a trigger and not a cap', async () => {
    const next = new FakeDownstream();
    const { batcher } = setup({ send_batch_size: 3, timeout: '10s' }, next);
    await batcher.consume(spans('a', 2));
    await advance();
    expect(next.attempts).toEqual([]);
    await batcher.consume(spans('b', 2));
    await advance();
    expect(next.accepted).toEqual([['a0', 'a1', 'b0', 'b1']]);
    expect(batcher.bufferedSpans).toBe(0);
  });

  it('sends a partial batch when the timeout has passed since its first span', async () => {
    const next = new FakeDownstream();
    const { batcher } = setup({ send_batch_size: 100, timeout: '200ms' }, next);
    await batcher.consume(spans('a', 2));
    await advance(150);
    await batcher.consume(spans('b', 1));
    await advance(49);
    expect(next.attempts).toEqual([]);
    await advance(1);
    expect(next.accepted).toEqual([['a0', 'a1', 'b0']]);

    // The next batch's clock starts with its own first span.
    await advance(50);
    await batcher.consume(spans('c', 1));
    await advance(199);
    expect(next.accepted).toHaveLength(1);
    await advance(1);
    expect(next.accepted).toEqual([['a0', 'a1', 'b0'], ['c0']]);
  });

  it('splits batches at send_batch_max_size; the remainder waits for size or timeout', async () => {
    const next = new FakeDownstream();
    const { batcher } = setup({ send_batch_size: 4, send_batch_max_size: 4, timeout: '200ms' }, next);
    await batcher.consume(spans('a', 10));
    await advance();
    expect(next.accepted).toEqual([
      ['a0', 'a1', 'a2', 'a3'],
      ['a4', 'a5', 'a6', 'a7'],
    ]);
    await advance(200);
    expect(next.accepted[2]).toEqual(['a8', 'a9']);
  });

  it('with timeout 0 sends at once, only splitting by the max size', async () => {
    const next = new FakeDownstream();
    const { batcher } = setup({ send_batch_size: 3, send_batch_max_size: 3, timeout: 0 }, next);
    await batcher.consume(spans('a', 7));
    await advance();
    expect(next.accepted).toEqual([['a0', 'a1', 'a2'], ['a3', 'a4', 'a5'], ['a6']]);
  });

  it('keeps span order across calls, splits and a slow downstream, without blocking consume()', async () => {
    const next = new FakeDownstream();
    next.delayMs = 50;
    const { batcher } = setup({ send_batch_size: 3, send_batch_max_size: 4, timeout: '20ms' }, next);
    const sent: string[] = [];
    for (const [prefix, n] of [['a', 2], ['b', 5], ['c', 1], ['d', 9], ['e', 1], ['f', 3]] as const) {
      const batch = spans(prefix, n);
      sent.push(...ids(batch));
      // Resolves while the downstream is still busy with an earlier batch.
      await batcher.consume(batch);
      await advance(7);
    }
    await advance(2_000);
    expect(next.acceptedIds()).toEqual(sent);
    expect(next.accepted.every((b) => b.length <= 4)).toBe(true);
    expect(next.attempts).toEqual(next.accepted);
  });

  it('retries a batch refused retryably, with backoff from the hint, and loses nothing', async () => {
    const next = new FakeDownstream();
    next.script.push(
      new RefusedError('over the memory limit', true, 0, 'memory_limit'),
      new RefusedError('over the memory limit', true, 300, 'memory_limit'),
    );
    const { batcher, dropped } = setup({ send_batch_size: 2, timeout: '10s' }, next);
    await batcher.consume(spans('a', 2));
    await advance();
    expect(next.attempts).toHaveLength(1);
    // Arrives during the retry: must go after the held batch.
    await batcher.consume(spans('b', 2));
    await advance(99);
    expect(next.attempts).toHaveLength(1);
    await advance(1); // first wait: 100ms (no hint)
    expect(next.attempts).toHaveLength(2);
    await advance(299);
    expect(next.attempts).toHaveLength(2);
    await advance(1); // second wait: the 300ms hint beats doubling to 200ms
    expect(next.attempts).toEqual([['a0', 'a1'], ['a0', 'a1'], ['a0', 'a1'], ['b0', 'b1']]);
    expect(next.accepted).toEqual([['a0', 'a1'], ['b0', 'b1']]);
    expect(dropped).toEqual([]);
    expect(batcher.bufferedSpans).toBe(0);
  });

  it('while downstream says it is full, waits for room without attempts, asking again within 10 ms', async () => {
    const next = new (class extends FakeDownstream {
      full: RefusedError | undefined = new RefusedError('exporter queue is full', true, 1_000, 'queue_full');
      readonly asked: number[] = [];
      admit(): RefusedError | undefined {
        this.asked.push(Date.now());
        return this.full;
      }
    })();
    const { batcher, dropped } = setup({ send_batch_size: 2, timeout: '10s' }, next);
    await batcher.consume(spans('a', 2));
    await advance(1_000);
    // Asked after 2, 4, 8, then every 10 ms; never tried while full, so nothing is lost or doubled.
    expect(next.attempts).toEqual([]);
    const gaps = next.asked.slice(1).map((t, i) => t - next.asked[i]);
    expect(gaps.slice(0, 5)).toEqual([2, 4, 8, 10, 10]);
    expect(Math.max(...gaps)).toBe(10);
    await batcher.consume(spans('b', 2));
    next.full = undefined;
    await advance(10);
    expect(next.accepted).toEqual([['a0', 'a1'], ['b0', 'b1']]);
    expect(dropped).toEqual([]);
  });

  it('waits for room, not for Retry-After, when the queue has room but not for this batch', async () => {
    // admit() sees a queue short of full and says nothing; consume() refuses the batch that does not fit.
    const next = new FakeDownstream();
    const queueFull = () => new RefusedError('exporter queue is full (49000/50000 spans)', true, 1_000, 'queue_full');
    next.script.push(queueFull(), queueFull(), queueFull());
    const { batcher, dropped } = setup({ send_batch_size: 2, timeout: '10s' }, next);
    await batcher.consume(spans('a', 2));
    await advance(2 + 4 + 8);
    expect(next.attempts).toHaveLength(4);
    expect(next.accepted).toEqual([['a0', 'a1']]);
    expect(dropped).toEqual([]);
  });

  it('caps the backoff at 5s', async () => {
    const next = new FakeDownstream();
    next.always = new RefusedError('down', true, 0);
    const { batcher } = setup({ send_batch_size: 1, timeout: 0 }, next);
    await batcher.consume(spans('a', 1));
    // 100, 200, 400, 800, 1600, 3200→… waits; after that each wait is 5000.
    await advance(100 + 200 + 400 + 800 + 1600 + 3200);
    const before = next.attempts.length;
    await advance(4_999);
    expect(next.attempts.length).toBe(before);
    await advance(1);
    expect(next.attempts.length).toBe(before + 1);
  });

  it('refuses retryably with batch_buffer_full when held spans, retried ones included, would pass the bound', async () => {
    const next = new FakeDownstream();
    next.always = new RefusedError('down', true, 0);
    const { batcher } = setup({ send_batch_size: 2, max_buffered_spans: 5, timeout: '10s' }, next);
    await batcher.consume(spans('a', 2)); // cut, being retried
    await batcher.consume(spans('b', 2)); // cut, waiting behind it
    await advance();
    expect(batcher.bufferedSpans).toBe(4);

    const refusal = await batcher.consume(spans('c', 2)).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(RefusedError);
    expect(refusal).toMatchObject({ retryable: true, reason: 'batch_buffer_full' });
    expect((refusal as RefusedError).retryAfterMs).toBeGreaterThan(0);
    await expect(batcher.consume(spans('d', 1))).resolves.toBeUndefined(); // still fits

    next.always = undefined;
    await advance(10_000);
    expect(next.acceptedIds()).toEqual(['a0', 'a1', 'b0', 'b1', 'd0']);
    await expect(batcher.consume(spans('c', 2))).resolves.toBeUndefined();
  });

  it('is bounded in bytes as well: large spans are refused before the span bound is reached', async () => {
    const next = new FakeDownstream();
    next.always = new RefusedError('down', true, 0);
    const { batcher } = setup({ send_batch_size: 2, max_buffered_spans: 1000, max_buffered_bytes: '64KiB', timeout: '10s' }, next);
    const big = (tag: string) => spans(tag, 2).map((sp) => ((sp.attributes.blob = 'x'.repeat(12_000)), sp));
    await batcher.consume(big('a')); // ~25 KB, cut and being retried
    await batcher.consume(big('b')); // ~50 KB held
    const refusal = await batcher.consume(big('c')).catch((e: unknown) => e);
    expect(refusal).toMatchObject({ retryable: true, reason: 'batch_buffer_full' });
    expect((refusal as RefusedError).message).toMatch(/buffer is full \(\d+\/65536 bytes\)/);
    expect(batcher.bufferedSpans).toBe(4);
    await expect(batcher.consume(spans('d', 1))).resolves.toBeUndefined(); // a small span still fits

    next.always = undefined;
    await advance(10_000);
    expect(next.acceptedIds()).toEqual(['a0', 'a1', 'b0', 'b1', 'd0']);
    await expect(batcher.consume(big('c'))).resolves.toBeUndefined(); // room again once sent
  });

  it('hands downstream the byte estimate of the spans each batch holds, also when a sender\'s batch is split', async () => {
    // The exporter queue bounds queue_bytes by estimateBatchBytes of what it is given: a share by span
    // count would count the one large span as a tenth in every piece.
    const seen: { estimate: number; ofSpans: number }[] = [];
    const next: SpanConsumer = {
      async consume(batch) {
        seen.push({ estimate: estimateBatchBytes(batch), ofSpans: batch.reduce((n, sp) => n + estimateSpanBytes(sp), 0) });
      },
    };
    const { batcher } = setup({ send_batch_size: 3, send_batch_max_size: 3, timeout: '10s' }, next);
    const mixed = spans('a', 10);
    mixed[0].attributes.blob = 'x'.repeat(100_000);
    await batcher.consume(spans('w', 1));
    await batcher.consume(spans('v', 1)); // whole senders' batches, then pieces of `mixed`
    await batcher.consume(mixed);
    await batcher.consume(spans('u', 1));
    await batcher.consume(spans('t', 2)); // two whole batches in one
    await advance(10_000);
    expect(seen).toHaveLength(5);
    for (const s of seen) expect(s.estimate).toBe(s.ofSpans);
  });

  it('drops a batch refused permanently, counting it with reason downstream_permanent, and goes on', async () => {
    const next = new FakeDownstream();
    next.script.push(new RefusedError('bad data', false), new TypeError('a bug downstream'));
    const { batcher, dropped } = setup({ send_batch_size: 2, timeout: '10s' }, next);
    await batcher.consume(spans('a', 2));
    await batcher.consume(spans('b', 2));
    await batcher.consume(spans('c', 2));
    await advance(10_000);
    expect(next.attempts).toEqual([['a0', 'a1'], ['b0', 'b1'], ['c0', 'c1']]);
    expect(next.accepted).toEqual([['c0', 'c1']]);
    expect(dropped).toEqual([
      { count: 2, reason: 'downstream_permanent' },
      { count: 2, reason: 'downstream_permanent' },
    ]);
  });

  it('flushes everything it holds on shutdown, then refuses new data', async () => {
    const next = new FakeDownstream();
    const { batcher, dropped } = setup({ send_batch_size: 100, send_batch_max_size: 100, timeout: '1m' }, next);
    await batcher.consume(spans('a', 3));
    await batcher.consume(spans('b', 2));
    await batcher.shutdown(neverAborts());
    expect(next.accepted).toEqual([['a0', 'a1', 'a2', 'b0', 'b1']]);
    expect(dropped).toEqual([]);
    await expect(batcher.consume(spans('c', 1))).rejects.toMatchObject({ retryable: true, reason: 'shutting_down' });
    await expect(batcher.shutdown(neverAborts())).resolves.toBeUndefined();
  });

  it('on shutdown retries retryable refusals until the deadline, then counts what is left as shutdown', async () => {
    const next = new FakeDownstream();
    next.script.push(new RefusedError('busy', true, 0));
    const { batcher, dropped } = setup({ send_batch_size: 2, send_batch_max_size: 2, timeout: '1m' }, next);
    await batcher.consume(spans('a', 2)); // refused once, then accepted on retry during shutdown
    await batcher.consume(spans('b', 1));
    const deadline = new AbortController();
    const stopped = batcher.shutdown(deadline.signal);
    await advance(100);
    await stopped;
    expect(next.accepted).toEqual([['a0', 'a1'], ['b0']]);
    expect(dropped).toEqual([]);

    const stuck = new FakeDownstream();
    stuck.always = new RefusedError('down', true, 0);
    const second = setup({ send_batch_size: 2, send_batch_max_size: 2, timeout: '1m' }, stuck);
    await second.batcher.consume(spans('c', 5));
    const deadline2 = new AbortController();
    let done = false;
    const stopped2 = second.batcher.shutdown(deadline2.signal).then(() => (done = true));
    await advance(3_000);
    expect(done).toBe(false);
    expect(stuck.attempts.every((a) => a.join() === 'c0,c1')).toBe(true);
    deadline2.abort();
    await stopped2;
    await advance();
    expect(second.droppedCount('shutdown')).toBe(5);
    expect(second.dropped.every((d) => d.reason === 'shutdown')).toBe(true);
    expect(second.batcher.bufferedSpans).toBe(0);
  });

  describe('with wait_for_result', () => {
    it('resolves each sender once the batch holding its spans was accepted downstream', async () => {
      const next = new FakeDownstream();
      const { batcher } = setup({ send_batch_size: 3, timeout: '200ms', wait_for_result: true }, next);
      let aDone = false;
      const a = batcher.consume(spans('a', 2)).then(() => (aDone = true));
      await advance();
      expect(aDone).toBe(false);
      const b = batcher.consume(spans('b', 2));
      await Promise.all([a, b]);
      expect(next.accepted).toEqual([['a0', 'a1', 'b0', 'b1']]);
    });

    it('resolves a sender whose spans were split only when every piece was accepted', async () => {
      const next = new FakeDownstream();
      next.delayMs = 10;
      const { batcher } = setup({ send_batch_size: 2, send_batch_max_size: 2, timeout: '200ms', wait_for_result: true }, next);
      let done = false;
      const a = batcher.consume(spans('a', 5)).then(() => (done = true));
      await advance(25);
      expect(next.accepted).toEqual([['a0', 'a1'], ['a2', 'a3']]);
      expect(done).toBe(false);
      await advance(200);
      await a;
      expect(next.acceptedIds()).toEqual(['a0', 'a1', 'a2', 'a3', 'a4']);
    });

    it('rejects with the downstream error and does not retry or count it: the sender owns the spans again', async () => {
      const next = new FakeDownstream();
      const permanentError = new RefusedError('bad data', false);
      const retryableError = new RefusedError('queue full', true, 700, 'queue_full');
      next.script.push(permanentError, retryableError);
      const { batcher, dropped } = setup({ send_batch_size: 2, timeout: '200ms', wait_for_result: true }, next);
      await expect(batcher.consume(spans('a', 2))).rejects.toBe(permanentError);
      await expect(batcher.consume(spans('b', 2))).rejects.toBe(retryableError);
      await advance(10_000);
      expect(next.attempts).toEqual([['a0', 'a1'], ['b0', 'b1']]);
      expect(dropped).toEqual([]);
      expect(batcher.bufferedSpans).toBe(0);
    });

    it('withdraws the rest of a refused sender\'s spans, so that its retry sends none twice', async () => {
      const next = new FakeDownstream();
      const refusal = new RefusedError('queue full', true, 0, 'queue_full');
      next.script.push(refusal);
      const { batcher } = setup({ send_batch_size: 3, send_batch_max_size: 3, timeout: '200ms', wait_for_result: true }, next);
      const a = batcher.consume(spans('a', 2)).catch((e: unknown) => e);
      const b = batcher.consume(spans('b', 5)).catch((e: unknown) => e);
      const c = batcher.consume(spans('c', 1)).then(() => 'accepted');
      // Cut: [a0 a1 b0] [b1 b2 b3]; filling: b4 c0.
      expect(await a).toBe(refusal);
      expect(await b).toBe(refusal);
      await advance(200);
      expect(await c).toBe('accepted');
      expect(next.attempts).toEqual([['a0', 'a1', 'b0'], ['c0']]);
      expect(batcher.bufferedSpans).toBe(0);
    });

    it('refuses waiting senders retryably when the shutdown deadline passes', async () => {
      // Downstream refusals go back to senders at once, so what misses the deadline is what queues behind a
      // send that hangs.
      const hung: SpanConsumer = { consume: () => new Promise<void>(() => undefined) };
      const { batcher, dropped } = setup({ send_batch_size: 2, send_batch_max_size: 2, timeout: '1m', wait_for_result: true }, hung);
      void batcher.consume(spans('a', 2)); // in flight, never settles
      const second = batcher.consume(spans('b', 1)).catch((e: unknown) => e);
      const deadline = new AbortController();
      const stopped = batcher.shutdown(deadline.signal);
      await advance(1_000);
      deadline.abort();
      await stopped;
      expect(await second).toMatchObject({ retryable: true, reason: 'shutting_down' });
      expect(dropped).toEqual([]);
    });
  });
});
