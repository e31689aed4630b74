/**
 * Reading request bodies into pooled buffers (src/transport/request-body.ts): what is borrowed, what is
 * given back and used again, and every way a body can fail (too large, shorter or longer than declared,
 * a stream error, a client gone half-way). Then the same through a real receiver: bodies bigger than a
 * socket read arrive intact side by side, and a compression bomb is stopped with 413 while the
 * receiver goes on serving.
 */
import { Agent, request as httpRequest } from 'node:http';
import { randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { SpanConsumer } from '../../src/component/types.js';
import type { SpanBatch } from '../../src/model/span.js';
import { zipkinReceiver } from '../../src/receivers/zipkin/index.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { SelfMetrics } from '../../src/telemetry/metrics.js';
import type { SpanHttpServer } from '../../src/transport/http-span-server.js';
import { BodyError, BufferPool, readBody, type BodyLimits } from '../../src/transport/request-body.js';

const KiB = 1024;

describe('BufferPool', () => {
  it('lends buffers by power-of-two size from 64 KiB and lends a given-back buffer again', () => {
    const pool = new BufferPool();
    const a = pool.borrow(70 * KiB);
    expect(a.length).toBe(128 * KiB);
    expect(pool.borrow(1).length).toBe(64 * KiB);
    pool.giveBack(a);
    expect(pool.pooledBytes).toBe(128 * KiB);
    expect(pool.borrow(100 * KiB)).toBe(a);
    expect(pool.pooledBytes).toBe(0);
  });

  it('keeps no more than its capacity, and never a buffer above 1 MiB', () => {
    const pool = new BufferPool(256 * KiB);
    const big = pool.borrow(2048 * KiB);
    expect(big.length).toBe(2048 * KiB);
    pool.giveBack(big);
    expect(pool.pooledBytes).toBe(0);
    const held = [pool.borrow(128 * KiB), pool.borrow(128 * KiB), pool.borrow(128 * KiB)];
    for (const b of held) pool.giveBack(b);
    expect(pool.pooledBytes).toBe(256 * KiB);
  });
});

/** A stream that yields `chunks` and then ends (or fails / closes, when told). */
function feed(chunks: Buffer[], end: 'end' | Error | 'close' = 'end'): PassThrough {
  const s = new PassThrough();
  setImmediate(() => {
    for (const c of chunks) s.write(c);
    if (end === 'end') s.end();
    else if (end === 'close') s.destroy();
    else s.destroy(end);
  });
  return s;
}

const limits = (over: Partial<BodyLimits> = {}): BodyLimits => ({ maxBytes: 100, tooLarge: 'too large', exactLength: undefined, ...over });

describe('readBody', () => {
  it('copies the chunks of a body of known length into a pooled buffer, which release gives back', async () => {
    const pool = new BufferPool();
    const body = await readBody(feed([Buffer.from('hello '), Buffer.from('world')]), limits({ exactLength: 11 }), pool);
    expect(body.bytes.toString()).toBe('hello world');
    expect(body.bytes.buffer.byteLength).toBe(64 * KiB);
    body.release();
    body.release();
    expect(pool.pooledBytes).toBe(64 * KiB);
    const next = await readBody(feed([Buffer.from('again')]), limits({ exactLength: 5 }), pool);
    expect(next.bytes.buffer).toBe(body.bytes.buffer);
    expect(next.bytes.toString()).toBe('again');
  });

  it('joins the chunks of a body of unknown length into a pooled buffer, and keeps a single chunk as it is', async () => {
    const pool = new BufferPool();
    const joined = await readBody(feed([Buffer.from('a'), Buffer.from('b'), Buffer.from('c')]), limits(), pool);
    expect(joined.bytes.toString()).toBe('abc');
    expect(joined.bytes.buffer.byteLength).toBe(64 * KiB);
    const one = Buffer.from('single');
    const single = await readBody(feed([one]), limits(), pool);
    expect(single.bytes).toBe(one);
    single.release();
    expect(pool.pooledBytes).toBe(0);
    const empty = await readBody(feed([]), limits({ exactLength: 0 }), pool);
    expect(empty.bytes.length).toBe(0);
  });

  it('borrows nothing up front for a declared length above 1 MiB, and still checks it', async () => {
    const pool = new BufferPool();
    const s = new PassThrough();
    const borrowed = vi.spyOn(pool, 'borrow');
    const read = readBody(s, limits({ maxBytes: 4096 * KiB, exactLength: 2048 * KiB }), pool);
    expect(borrowed).not.toHaveBeenCalled();
    s.end(Buffer.alloc(10));
    await expect(read).rejects.toMatchObject({ statusCode: 400, message: 'request body has 10 bytes, its Content-Length says 2097152' });
    const whole = await readBody(feed([Buffer.alloc(1024 * KiB, 1), Buffer.alloc(1024 * KiB, 2)]), limits({ maxBytes: 4096 * KiB, exactLength: 2048 * KiB }), pool);
    expect([whole.bytes.length, whole.bytes[0], whole.bytes[2048 * KiB - 1]]).toEqual([2048 * KiB, 1, 2]);
  });

  it.each<[string, () => PassThrough, Partial<BodyLimits>, number, string]>([
    ['more bytes than maxBytes', () => feed([Buffer.alloc(60), Buffer.alloc(60)]), {}, 413, 'too large'],
    ['more bytes than the Content-Length', () => feed([Buffer.alloc(8), Buffer.alloc(8)]), { exactLength: 10 }, 400, 'request body is longer than its Content-Length'],
    ['fewer bytes than the Content-Length', () => feed([Buffer.alloc(8)]), { exactLength: 10 }, 400, 'request body has 8 bytes, its Content-Length says 10'],
    ['a stream error, worded by describeError', () => feed([Buffer.alloc(8)], new Error('incorrect header check')), { describeError: (e) => `Cannot gunzip spans: ${e.message}` }, 400, 'Cannot gunzip spans: incorrect header check'],
    ['a stream closed before its end', () => feed([Buffer.alloc(8)], 'close'), {}, 400, 'the request ended before its body did'],
  ])('refuses %s', async (_name, stream, over, status, message) => {
    const pool = new BufferPool();
    const error = await readBody(stream(), limits(over), pool).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BodyError);
    expect(error).toMatchObject({ statusCode: status, message });
    // A buffer borrowed for the failed body went back.
    expect(pool.pooledBytes).toBe(over.exactLength === undefined ? 0 : 64 * KiB);
  });

  it('calls abandon once when a body passes maxBytes, and survives a later error of the stream', async () => {
    let abandoned = 0;
    const s = new PassThrough();
    const read = readBody(s, limits({ abandon: () => abandoned++ }), new BufferPool());
    s.write(Buffer.alloc(101));
    await expect(read).rejects.toMatchObject({ statusCode: 413 });
    s.write(Buffer.alloc(10));
    s.destroy(new Error('late'));
    await new Promise((resolve) => setImmediate(resolve));
    expect(abandoned).toBe(1);
  });
});

describe('a receiver reading bodies into pooled buffers', () => {
  let receiver: SpanHttpServer | undefined;
  afterEach(async () => {
    await receiver?.shutdown();
    receiver = undefined;
  });

  async function start(maxBodySize: string): Promise<{ base: string; batches: SpanBatch[] }> {
    const batches: SpanBatch[] = [];
    const next: SpanConsumer = { consume: async (b) => void batches.push(b) };
    const ctx = { issues: [] as { path: readonly (string | number)[]; message: string }[] };
    const cfg = zipkinReceiver.config.check({ endpoint: '127.0.0.1:0', max_request_body_size: maxBodySize }, [], ctx)!;
    receiver = zipkinReceiver.create(cfg, { id: 'zipkin', logger: createLogger('silent'), metrics: new SelfMetrics(), configDir: '.', next }) as SpanHttpServer;
    await receiver.start();
    return { base: `http://127.0.0.1:${receiver.port()}`, batches };
  }

  /** A v2 JSON list of `n` spans whose names tell the request and the span apart. */
  function spans(request: number, n: number): string {
    const list = [];
    for (let i = 0; i < n; i++) list.push({ traceId: '463ac35c9f6413ad', id: (i + 1).toString(16).padStart(16, '0'), name: `r${request}-s${i}-${'x'.repeat(200)}` });
    return JSON.stringify(list);
  }

  it('decodes each of several large bodies whole, though they share buffers', async () => {
    const r = await start('4MiB');
    const bodies = [0, 1, 2, 3, 4, 5].map((k) => spans(k, 400 + k * 100));
    expect(Buffer.byteLength(bodies[0])).toBeGreaterThan(64 * KiB);
    // Three at a time, so that bodies are read side by side and buffers go back and out again.
    for (let k = 0; k < bodies.length; k += 3) {
      const answers = await Promise.all(bodies.slice(k, k + 3).map((b) => fetch(r.base + '/api/v2/spans', { method: 'POST', body: b, headers: { 'content-type': 'application/json' } })));
      expect(answers.map((a) => a.status)).toEqual([202, 202, 202]);
    }
    expect(r.batches.map((b) => b.length).sort()).toEqual([400, 500, 600, 700, 800, 900]);
    for (let k = 0; k < bodies.length; k++) {
      const batch = r.batches.find((b) => b.length === 400 + k * 100)!;
      expect(batch.map((s) => s.name)).toEqual(JSON.parse(bodies[k]).map((s: { name: string }) => s.name));
    }
  });

  it('stops inflating a bomb at the limit with 413 while most of it is still to come, and serves the next request', async () => {
    const r = await start('1MiB');
    // 2 MiB of zeros first (the limit falls in them), then 600 KiB that does not compress: most of the
    // compressed body is still to come when the limit is reached.
    const bomb = gzipSync(Buffer.concat([Buffer.alloc(2048 * KiB), randomBytes(600 * KiB)]));
    expect(bomb.length).toBeLessThan(1024 * KiB);
    expect(bomb.length).toBeGreaterThan(600 * KiB);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const send = (body: Buffer | string, headers: Record<string, string>) =>
      new Promise<{ status: number; text: string }>((resolve, reject) => {
        const req = httpRequest(r.base + '/api/v2/spans', { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), ...headers } }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        });
        req.on('error', reject);
        req.end(body);
      });
    try {
      const refused = await send(bomb, { 'content-encoding': 'gzip' });
      expect(refused).toEqual({ status: 413, text: 'request body is larger than max_request_body_size (1048576 bytes) after decompression\n' });
      expect((await send(spans(9, 3), {})).status).toBe(202);
      expect(r.batches.map((b) => b.length)).toEqual([3]);
    } finally {
      agent.destroy();
    }
  });
});
