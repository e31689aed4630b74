import { appendFileSync, closeSync, openSync, readdirSync, statSync, symlinkSync, truncateSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { RefusedError, type Exporter, type ExportResult } from '../../src/component/types.js';
import { s } from '../../src/config/schema.js';
import { newResource, Span, type SpanBatch } from '../../src/model/span.js';
import { DiskQueue } from '../../src/pipeline/disk-queue.js';
import { exporterHelperShape, SendingQueue, type ExporterHelperConfig } from '../../src/pipeline/exporter-queue.js';
import { SelfMetrics } from '../../src/telemetry/metrics.js';
import { tempDir } from '../helpers/tmp.js';

const logger = pino({ level: 'silent' });

function batchOf(n: number, tag: string): SpanBatch {
  const resource = newResource({ 'service.name': 'svc' });
  return Array.from({ length: n }, (_, i) => {
    const sp = new Span(resource, { tag, i: BigInt(i) });
    sp.traceId = (tag.length.toString(16) + i.toString(16)).padStart(32, '0');
    sp.spanId = (i + 1).toString(16).padStart(16, '0');
    sp.name = `${tag}-${i}`;
    sp.startTimeUnixNano = 1_700_000_000_000_000_000n + BigInt(i);
    sp.shared = i % 2 === 0;
    return sp;
  });
}

function helperConfig(over: { sending_queue?: Record<string, unknown>; retry_on_failure?: Record<string, unknown>; timeout?: number }): ExporterHelperConfig {
  const issues: { path: unknown; message: string }[] = [];
  const cfg = s.object(exporterHelperShape()).check(over, [], { issues } as never);
  if (!cfg || issues.length) throw new Error(JSON.stringify(issues));
  return cfg;
}

/** An exporter whose behaviour the test switches: down (retryable errors) or up (records what it got). */
class Switchable implements Exporter {
  up = false;
  readonly received: SpanBatch[] = [];
  async export(batch: SpanBatch): Promise<ExportResult> {
    if (!this.up) return { code: 'retryable', error: new Error('backend down') };
    this.received.push(batch);
    return { code: 'success' };
  }
}

const payload = (i: number) => Buffer.from(`record ${i} `.repeat(1 + (i % 7)));

describe('DiskQueue', () => {
  it('recovers exactly the records not acknowledged, in order', async () => {
    const dir = tempDir();
    const { queue } = DiskQueue.open(dir, { segmentBytes: 1024 });
    const refs = [];
    for (let i = 0; i < 40; i++) refs.push(await queue.append(payload(i), i + 1));
    const acked = new Set([0, 1, 2, 5, 17, 39]);
    for (const i of acked) queue.ack(refs[i]);
    await queue.close();

    const { queue: again, recovered } = DiskQueue.open(dir, { segmentBytes: 1024 });
    expect(recovered.truncatedBytes).toBe(0);
    const want = [...Array(40).keys()].filter((i) => !acked.has(i));
    expect(recovered.records.map((r) => r.spans)).toEqual(want.map((i) => i + 1));
    for (let k = 0; k < want.length; k++) expect(await again.read(recovered.records[k])).toEqual(payload(want[k]));
    await again.close();
  });

  it('appends made in one turn share one write, and each resolves durable', async () => {
    const dir = tempDir();
    const { queue } = DiskQueue.open(dir, { segmentBytes: 1 << 20 });
    const refs = await Promise.all([...Array(100).keys()].map((i) => queue.append(payload(i), 1)));
    expect(new Set(refs.map((r) => r.segment)).size).toBe(1);
    const seg = readdirSync(dir).find((f) => f.endsWith('.seg'))!;
    expect(statSync(join(dir, seg)).size).toBe(refs.reduce((n, r) => n + 12 + r.length, 0));
    await queue.close();
  });

  it('cuts a torn record at the end and keeps the ones before it', async () => {
    const dir = tempDir();
    const { queue } = DiskQueue.open(dir, { segmentBytes: 1 << 20 });
    for (let i = 0; i < 5; i++) await queue.append(payload(i), 1);
    await queue.close();
    const seg = join(dir, readdirSync(dir).find((f) => f.endsWith('.seg'))!);
    const size = statSync(seg).size;
    truncateSync(seg, size - 3); // the last record loses its tail, as when the process dies mid-write
    appendFileSync(seg, Buffer.alloc(0));
    const { queue: again, recovered } = DiskQueue.open(dir, { segmentBytes: 1 << 20 });
    expect(recovered.records).toHaveLength(4);
    expect(recovered.truncatedBytes).toBe(12 + payload(4).length - 3);
    expect(statSync(seg).size).toBe(size - 12 - payload(4).length);
    for (let i = 0; i < 4; i++) expect(await again.read(recovered.records[i])).toEqual(payload(i));
    await again.close();
  });

  it('deletes a segment once all its records are acknowledged and it is full', async () => {
    const dir = tempDir();
    const { queue } = DiskQueue.open(dir, { segmentBytes: 200 });
    const refs = [];
    for (let i = 0; i < 30; i++) refs.push(await queue.append(payload(i), 1));
    const segments = () => readdirSync(dir).filter((f) => f.endsWith('.seg')).length;
    expect(segments()).toBeGreaterThan(5);
    for (const r of refs) queue.ack(r);
    expect(segments()).toBe(1); // only the segment still being written
    expect(queue.bytes).toBe(0);
    await queue.close();
    const { recovered } = DiskQueue.open(dir, { segmentBytes: 200 });
    expect(recovered.records).toHaveLength(0);
  });

  it('a failed write rejects its appends and leaves the file for a new segment, so offsets stay true', async () => {
    const dir = tempDir();
    const { queue } = DiskQueue.open(dir, { segmentBytes: 1 << 20 });
    // The first segment is a device on which every write fails with ENOSPC, as on a full disk.
    symlinkSync('/dev/full', join(dir, `${'0'.padStart(20, '0')}.seg`));
    const failed = await queue.append(payload(0), 1).catch((e: unknown) => e);
    expect((failed as NodeJS.ErrnoException).code).toBe('ENOSPC');
    expect(queue.bytes).toBe(0);
    // Nothing in it awaits delivery, so it is gone, and writing goes on in a fresh file.
    expect(readdirSync(dir).some((f) => f.startsWith('0'.padStart(20, '0')))).toBe(false);
    const refs = [await queue.append(payload(1), 1), await queue.append(payload(2), 2)];
    expect(refs.map((r) => r.offset)).toEqual([0, 12 + payload(1).length]);
    expect(await queue.read(refs[1])).toEqual(payload(2));
    for (const r of refs) queue.ack(r);
    expect(queue.bytes).toBe(0);
    await queue.close();
  });

  it('cuts a torn entry of an ack file, so that later acknowledgements stay aligned', async () => {
    const dir = tempDir();
    const { queue } = DiskQueue.open(dir, { segmentBytes: 1 << 20 });
    const refs = [];
    for (let i = 0; i < 3; i++) refs.push(await queue.append(payload(i), i + 1));
    queue.ack(refs[0]);
    await queue.close();
    const ackFile = join(dir, readdirSync(dir).find((f) => f.endsWith('.ack'))!);
    appendFileSync(ackFile, Buffer.from([7, 7])); // the machine crashed in the middle of an entry

    const second = DiskQueue.open(dir, { segmentBytes: 1 << 20 });
    expect(second.recovered.records.map((r) => r.spans)).toEqual([2, 3]);
    second.queue.ack(second.recovered.records[0]);
    await second.queue.close();

    const third = DiskQueue.open(dir, { segmentBytes: 1 << 20 });
    expect(third.recovered.records.map((r) => r.spans)).toEqual([3]);
    await third.queue.close();
  });

  it('refuses to read back a record whose bytes changed on disk', async () => {
    const dir = tempDir();
    const { queue } = DiskQueue.open(dir, { segmentBytes: 1 << 20 });
    const ref = await queue.append(payload(3), 1);
    const seg = join(dir, readdirSync(dir).find((f) => f.endsWith('.seg'))!);
    const fd = openSync(seg, 'r+');
    writeSync(fd, Buffer.from('X'), 0, 1, 12 + 2);
    closeSync(fd);
    await expect(queue.read(ref)).rejects.toThrow(/damaged record/);
    await queue.close();
  });
});

describe('SendingQueue with storage', () => {
  const config = (dir: string) =>
    helperConfig({
      sending_queue: { storage: dir, num_consumers: 2 },
      retry_on_failure: { initial_interval: '10ms', max_interval: '20ms', max_elapsed_time: '0s' },
    });

  it('keeps undelivered spans across a restart and delivers them exactly', async () => {
    const dir = tempDir();
    const down = new Switchable();
    const metrics = new SelfMetrics();
    const q1 = new SendingQueue('zipkin/a', down, config(dir), metrics, logger);
    q1.start();
    const sent = [batchOf(3, 'one'), batchOf(5, 'two'), batchOf(1, 'three')];
    for (const b of sent) await q1.consume(b);
    // Acknowledged means on disk: the records are there before the exporter ever succeeded.
    const { queue: peek, recovered } = DiskQueue.open(q1.storageDir!, { segmentBytes: 1 << 24 });
    expect(recovered.records.map((r) => r.spans)).toEqual([3, 5, 1]);
    await peek.close();
    await q1.shutdown(AbortSignal.timeout(100));
    expect(await metrics.text()).not.toMatch(/spanline_exporter_send_failed_spans_total\{[^}]*reason="shutdown"/);

    const up = new Switchable();
    up.up = true;
    const q2 = new SendingQueue('zipkin/a', up, config(dir), new SelfMetrics(), logger);
    q2.start();
    await q2.shutdown(AbortSignal.timeout(5_000));
    expect(up.received.flat()).toEqual(sent.flat());

    // Delivered spans are gone from disk: a third start has nothing to send.
    const third = new Switchable();
    third.up = true;
    const q3 = new SendingQueue('zipkin/a', third, config(dir), new SelfMetrics(), logger);
    q3.start();
    await q3.shutdown(AbortSignal.timeout(1_000));
    expect(third.received).toHaveLength(0);
  });

  it('a sender waiting for room goes on when the write that held the room fails', async () => {
    const dir = tempDir();
    const cfg = helperConfig({ sending_queue: { storage: dir, queue_size: 10, block_on_overflow: true }, retry_on_failure: { initial_interval: '1s' } });
    const q = new SendingQueue('file', new Switchable(), cfg, new SelfMetrics(), logger);
    q.start();
    // The first segment fails every write (ENOSPC), as a full disk does.
    symlinkSync('/dev/full', join(q.storageDir!, `${'0'.padStart(20, '0')}.seg`));
    const first = q.consume(batchOf(10, 'a'));
    const waiting = q.consume(batchOf(5, 'b')); // no room while the first batch holds it
    await expect(first).rejects.toThrow(/could not write its persistent queue/);
    await waiting; // the room is free again and the next segment is a real file
    const { queue: peek, recovered } = DiskQueue.open(q.storageDir!, { segmentBytes: 1 << 24 });
    expect(recovered.records.map((r) => r.spans)).toEqual([5]);
    await peek.close();
    await q.shutdown(AbortSignal.timeout(10));
  });

  it('refuses a batch it cannot encode permanently, not as a storage error to retry forever', async () => {
    const dir = tempDir();
    const cfg = helperConfig({ sending_queue: { storage: dir } });
    const q = new SendingQueue('file', new Switchable(), cfg, new SelfMetrics(), logger);
    q.start();
    const batch = batchOf(2, 'far');
    batch[1].endTimeUnixNano = 2n ** 64n; // beyond the model's u64 nanoseconds
    await expect(q.consume(batch)).rejects.toMatchObject({ retryable: false, reason: 'unencodable' });
    await q.consume(batchOf(1, 'next')); // the queue goes on
    await q.shutdown(AbortSignal.timeout(10));
  });

  it('past the shutdown deadline leaves batches on disk without reading them back', async () => {
    const dir = tempDir();
    // queue_bytes 1: no batch is kept in memory, each must be read back from disk to be sent.
    const cfg = helperConfig({ sending_queue: { storage: dir, num_consumers: 1, queue_bytes: 1 }, retry_on_failure: { initial_interval: '10s' } });
    const metrics = new SelfMetrics();
    const q = new SendingQueue('file', new Switchable(), cfg, metrics, logger);
    q.start();
    for (const tag of ['a', 'b', 'c']) await q.consume(batchOf(2, tag));
    // The consumer waits to retry the first batch. Damage the last record: reading it back would fail
    // and be counted as unreadable.
    const seg = join(q.storageDir!, readdirSync(q.storageDir!).find((f) => f.endsWith('.seg'))!);
    const fd = openSync(seg, 'r+');
    writeSync(fd, Buffer.from('X'), 0, 1, statSync(seg).size - 1);
    closeSync(fd);
    const deadline = new AbortController();
    deadline.abort();
    await q.shutdown(deadline.signal);
    expect(await metrics.text()).not.toMatch(/spanline_exporter_send_failed_spans_total\{[^}]*reason="unreadable"/);
  });

  it('refuses a second exporter of the same process whose id names the same directory', async () => {
    const dir = tempDir();
    const q1 = new SendingQueue('otlp/a b', new Switchable(), config(dir), new SelfMetrics(), logger);
    const q2 = new SendingQueue('otlp/a_b', new Switchable(), config(dir), new SelfMetrics(), logger);
    expect(q2.storageDir).toBe(q1.storageDir);
    q1.start();
    expect(() => q2.start()).toThrow(/in use by exporter otlp\/a b/);
    await q1.shutdown(AbortSignal.timeout(10));
    q2.start(); // free once the first has stopped
    await q2.shutdown(AbortSignal.timeout(10));
  });

  it('refuses a second process on the same directory', async () => {
    const dir = tempDir();
    const q1 = new SendingQueue('otlp', new Switchable(), config(dir), new SelfMetrics(), logger);
    q1.start();
    const q2 = new SendingQueue('otlp', new Switchable(), config(dir), new SelfMetrics(), logger);
    // The lock holds our own pid; another process would see it alive. Simulate by a foreign live pid.
    await q1.shutdown(AbortSignal.timeout(10));
    appendFileSync(join(q1.storageDir!, 'LOCK'), String(process.ppid));
    expect(() => q2.start()).toThrow(/in use by process/);
  });

  it('is bounded on disk and refuses, retryably, when full', async () => {
    const dir = tempDir();
    const cfg = helperConfig({ sending_queue: { storage: dir, storage_bytes: 2000 }, retry_on_failure: { initial_interval: '1s' } });
    const q = new SendingQueue('file', new Switchable(), cfg, new SelfMetrics(), logger);
    q.start();
    await q.consume(batchOf(20, 'a')); // an empty queue takes any batch
    const err = await q.consume(batchOf(20, 'b')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefusedError);
    expect((err as RefusedError).retryable).toBe(true);
    expect((err as RefusedError).message).toMatch(/bytes on disk/);
    await q.shutdown(AbortSignal.timeout(10));
  });
});

describe('SendingQueue in memory', () => {
  it('is bounded in bytes as well as spans', async () => {
    const cfg = helperConfig({ sending_queue: { queue_size: 1_000_000, queue_bytes: 64 * 1024 } });
    const q = new SendingQueue('debug', new Switchable(), cfg, new SelfMetrics(), logger);
    q.start();
    const big = batchOf(10, 'x'.repeat(2000));
    for (const sp of big) sp.attributes.blob = 'y'.repeat(10_000);
    await q.consume(big);
    const err = await q.consume(batchOf(10, 'z')).catch((e: unknown) => e);
    expect((err as RefusedError).message).toMatch(/queue is full \(\d+\/65536 bytes\)/);
    await q.shutdown(AbortSignal.timeout(10));
  });
});
