/**
 * What the sending queue keeps alive once a batch is sent: nothing. A consumer that waits for work must
 * not hold the last batch it sent. It did: an async function's frame keeps the values of its local
 * variables across iterations of its loop, so each idle consumer held a whole batch (4 × 2,100 spans in
 * `npm run bench`, ~9 MB that every young generation GC copied again: the bulk of its pause). Nor may an
 * attempt leave its timers running: each lived on for up to twice the export timeout, long enough to be
 * moved to the old generation, where they piled up until a full GC.
 */
import pino from 'pino';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Exporter, ExportResult } from '../../src/component/types.js';
import { s } from '../../src/config/schema.js';
import { newResource, Span, type SpanBatch } from '../../src/model/span.js';
import { exporterHelperShape, SendingQueue } from '../../src/pipeline/exporter-queue.js';
import { SelfMetrics } from '../../src/telemetry/metrics.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const config = s.object(exporterHelperShape()).check({ sending_queue: { num_consumers: 2 } }, [], { issues: [] } as never)!;

class Counting implements Exporter {
  sent = 0;
  async export(batch: SpanBatch): Promise<ExportResult> {
    this.sent += batch.length;
    return { code: 'success' };
  }
}

/** Queues `n` batches from a function of its own, so that this test's frame holds none of them. */
async function sendBatches(q: SendingQueue, n: number): Promise<WeakRef<SpanBatch>[]> {
  const refs: WeakRef<SpanBatch>[] = [];
  for (let i = 0; i < n; i++) {
    const batch: SpanBatch = [new Span(newResource()), new Span(newResource())];
    refs.push(new WeakRef(batch));
    await q.consume(batch);
  }
  return refs;
}

describe('sending queue', () => {
  it('keeps no batch alive once it was sent', async () => {
    const exporter = new Counting();
    const q = new SendingQueue('file', exporter, config, new SelfMetrics(), pino({ level: 'silent' }));
    q.start();
    const refs = await sendBatches(q, 6);
    for (let i = 0; i < 50 && exporter.sent < 12; i++) await new Promise((r) => setTimeout(r, 5));
    expect(exporter.sent).toBe(12);
    await new Promise((r) => setImmediate(r));
    gc();
    expect(refs.filter((r) => r.deref() !== undefined)).toHaveLength(0);
    await q.shutdown(new AbortController().signal);
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  it('leaves no timer running once an attempt settled', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const exporter = new Counting();
    const q = new SendingQueue('file', exporter, config, new SelfMetrics(), pino({ level: 'silent' }));
    q.start();
    await sendBatches(q, 6);
    for (let i = 0; i < 50 && exporter.sent < 12; i++) await new Promise((r) => setImmediate(r));
    expect(exporter.sent).toBe(12);
    expect(vi.getTimerCount()).toBe(0);
    await q.shutdown(new AbortController().signal);
  });
});
