/**
 * An exporter with prepareRequest(): the sending queue prepares each batch once, lets its spans go, and
 * makes every attempt with the prepared request. Spans therefore do not stay in memory while their
 * bytes are written or retried (at full load in `npm run bench` that was ~6,300 spans, copied by every
 * young-generation GC).
 */
import pino from 'pino';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { permanent, retryable, SUCCESS, type Exporter, type ExportResult, type PreparedRequest } from '../../src/component/types.js';
import { s } from '../../src/config/schema.js';
import { newResource, Span, type SpanBatch } from '../../src/model/span.js';
import { exporterHelperShape, SendingQueue } from '../../src/pipeline/exporter-queue.js';
import { SelfMetrics } from '../../src/telemetry/metrics.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const helper = s.object(exporterHelperShape());
const configOf = (raw: object) => helper.check(raw, [], { issues: [] } as never)!;
const retryFast = { initial_interval: '1ms', max_interval: '2ms', randomization_factor: 0 };

const batchOf = (n: number): SpanBatch => Array.from({ length: n }, () => new Span(newResource()));

/**
 * Prepares a batch as its span count; each attempt answers the next of `answers` (success once they run
 * out) and may wait for `gate` first. Records every call.
 */
class Preparing implements Exporter {
  prepared: number[] = [];
  attempts: number[] = [];
  exported: number[] = [];
  gate: Promise<void> = Promise.resolve();
  constructor(private readonly answers: ExportResult[] = []) {}
  async prepareRequest(batch: SpanBatch): Promise<PreparedRequest> {
    if (batch.length === 13) throw new Error('cannot encode 13 spans');
    const n = batch.length;
    this.prepared.push(n);
    return {
      send: async () => {
        this.attempts.push(n);
        await this.gate;
        return this.answers.shift() ?? SUCCESS;
      },
    };
  }
  async export(batch: SpanBatch): Promise<ExportResult> {
    this.exported.push(batch.length);
    return SUCCESS;
  }
}

async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !done(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(done()).toBe(true);
}

function queue(exporter: Exporter, raw: object, metrics = new SelfMetrics()): SendingQueue {
  const q = new SendingQueue('file', exporter, configOf(raw), metrics, pino({ level: 'silent' }));
  q.start();
  return q;
}

/** Queues one batch from a function of its own, so that the caller's frame does not hold it. */
async function queueOne(q: SendingQueue, n: number): Promise<WeakRef<SpanBatch>> {
  const batch = batchOf(n);
  await q.consume(batch);
  return new WeakRef(batch);
}

describe('prepared requests', () => {
  it('prepares a batch once and retries the prepared request, not the spans', async () => {
    const exporter = new Preparing([retryable(new Error('busy')), retryable(new Error('busy'))]);
    const metrics = new SelfMetrics();
    const q = queue(exporter, { retry_on_failure: retryFast }, metrics);
    await q.consume(batchOf(3));
    await until(() => exporter.attempts.length === 3);
    expect(exporter.prepared).toEqual([3]);
    expect(exporter.attempts).toEqual([3, 3, 3]);
    expect(exporter.exported).toEqual([]);
    await q.shutdown(new AbortController().signal);
    const text = await metrics.text();
    expect(text).toMatch(/spanline_exporter_sent_spans_total\{exporter="file"\} 3/);
    expect(text).toMatch(/spanline_exporter_retries_total\{exporter="file"\} 2/);
  });

  it('lets go of the spans while the prepared request is being sent', async () => {
    const exporter = new Preparing();
    let open!: () => void;
    exporter.gate = new Promise((r) => (open = r));
    const q = queue(exporter, {});
    const ref = await queueOne(q, 5);
    await until(() => exporter.attempts.length === 1);
    await new Promise((r) => setImmediate(r));
    gc();
    // The attempt is still waiting: only the prepared request may be alive, not the batch.
    expect(ref.deref()).toBeUndefined();
    open();
    await q.shutdown(new AbortController().signal);
    expect(exporter.attempts).toEqual([5]);
  });

  it('drops a batch that cannot be prepared as a permanent failure, and goes on with the next', async () => {
    const exporter = new Preparing();
    const metrics = new SelfMetrics();
    const q = queue(exporter, { sending_queue: { num_consumers: 1 } }, metrics);
    await q.consume(batchOf(13));
    await q.consume(batchOf(2));
    await until(() => exporter.attempts.length === 1);
    await q.shutdown(new AbortController().signal);
    expect(exporter.attempts).toEqual([2]);
    const text = await metrics.text();
    expect(text).toMatch(/spanline_exporter_send_failed_spans_total\{exporter="file",reason="permanent"\} 13/);
    expect(text).toMatch(/spanline_exporter_sent_spans_total\{exporter="file"\} 2/);
    expect(text).toMatch(/spanline_exporter_queue_size\{exporter="file"\} 0/);
  });

  it('counts a permanent answer to a prepared request as failed', async () => {
    const exporter = new Preparing([permanent(new Error('400 bad request'))]);
    const metrics = new SelfMetrics();
    const q = queue(exporter, {}, metrics);
    await q.consume(batchOf(4));
    await until(() => exporter.attempts.length === 1);
    await q.shutdown(new AbortController().signal);
    expect(await metrics.text()).toMatch(/spanline_exporter_send_failed_spans_total\{exporter="file",reason="permanent"\} 4/);
  });

  it('uses export() when the queue is disabled', async () => {
    const exporter = new Preparing();
    const q = queue(exporter, { sending_queue: { enabled: false } });
    await q.consume(batchOf(2));
    expect(exporter.exported).toEqual([2]);
    expect(exporter.prepared).toEqual([]);
  });
});
