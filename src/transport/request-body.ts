/**
 * Reading request bodies into buffers that are used again. Node hands a body over in chunks of up to
 * 64 KiB, each a new ArrayBuffer; joining them into one more new Buffer per request (what fastify does)
 * doubles the ArrayBuffers a request allocates. V8 starts a scavenge whenever its young ArrayBuffers
 * reach 32 MiB, so at 100,000 spans/s those copies alone set the pace of young-generation GCs
 * (BENCHMARKS.md). Here the chunks are copied into a buffer borrowed from a small pool, and the buffer
 * goes back once the route has decoded the body.
 */
import type { Readable } from 'node:stream';

const EMPTY = Buffer.alloc(0);

/** Smallest and largest buffer the pool keeps; a larger body gets a buffer of its own. */
const MIN_POOLED = 64 * 1024;
const MAX_POOLED = 1024 * 1024;

/** Buffers of the sizes MIN_POOLED … MAX_POOLED (powers of two), kept up to `capacityBytes` in all. */
export class BufferPool {
  private readonly free: Buffer[][] = [];
  private freeBytes = 0;

  constructor(private readonly capacityBytes = 4 * 1024 * 1024) {
    for (let size = MIN_POOLED; size <= MAX_POOLED; size *= 2) this.free.push([]);
  }

  /** Bytes held by buffers that are waiting to be borrowed. */
  get pooledBytes(): number {
    return this.freeBytes;
  }

  /** A buffer of at least `n` bytes, with whatever it held before. */
  borrow(n: number): Buffer {
    if (n > MAX_POOLED) return Buffer.allocUnsafeSlow(n);
    const c = sizeClass(n);
    const buf = this.free[c].pop();
    if (buf === undefined) return Buffer.allocUnsafeSlow(MIN_POOLED << c);
    this.freeBytes -= buf.length;
    return buf;
  }

  /** Gives back a buffer from {@link borrow}, which nothing may use any more. */
  giveBack(buf: Buffer): void {
    if (buf.length > MAX_POOLED || this.freeBytes + buf.length > this.capacityBytes) return;
    this.free[sizeClass(buf.length)].push(buf);
    this.freeBytes += buf.length;
  }
}

function sizeClass(n: number): number {
  let c = 0;
  while (MIN_POOLED << c < n) c++;
  return c;
}

/** A body read whole: `bytes`, valid until {@link release}. */
export class RequestBody {
  private buf: Buffer | undefined;

  constructor(
    private readonly pool: BufferPool | undefined,
    buf: Buffer,
    readonly bytes: Buffer,
  ) {
    this.buf = buf;
  }

  /** Lets the buffer be used for another request: nothing may read `bytes` after this. Idempotent. */
  release(): void {
    const buf = this.buf;
    this.buf = undefined;
    if (buf !== undefined) this.pool?.giveBack(buf);
  }
}

/** Why a body could not be read: `statusCode` is the answer (fastify's error handler reads it). */
export class BodyError extends Error {
  constructor(
    readonly statusCode: 400 | 413 | 415,
    message: string,
  ) {
    super(message);
  }
}

export interface BodyLimits {
  /** Largest body, in the bytes `payload` yields (decompressed when it inflates). */
  maxBytes: number;
  /** Message of the 413 for a body over maxBytes. */
  tooLarge: string;
  /**
   * The Content-Length when `payload` yields exactly the bytes it counts (no Content-Encoding): the body
   * must have that length, and a buffer of that size (up to 1 MiB) is borrowed before the first chunk.
   */
  exactLength: number | undefined;
  /** Words an error of `payload` for the client (e.g. `Cannot gunzip spans: …`). */
  describeError?(e: Error): string;
  /**
   * Called once when the body is refused before its end (413): lets what feeds `payload` stop (an
   * inflater must not go on inflating). The request's own stream is left flowing, so that the rest of
   * the body is read and dropped and the answer reaches the client.
   */
  abandon?(): void;
}

/**
 * Reads `payload` to its end. Stops at the first byte past `maxBytes` (413) without reading on, so
 * that a compression bomb is never inflated whole; a stream that fails or closes early gives 400.
 */
export function readBody(payload: Readable, limits: BodyLimits, pool: BufferPool | undefined): Promise<RequestBody> {
  return new Promise((resolve, reject) => {
    const exact = limits.exactLength;
    // Borrowed up front only at a size the pool lends: a client that declares megabytes and sends
    // nothing must not hold them (its chunks are kept as they come instead).
    let buf: Buffer | undefined = exact === undefined || exact === 0 || exact > MAX_POOLED ? undefined : borrow(pool, exact);
    let chunks: Buffer[] | undefined = buf === undefined ? [] : undefined;
    let length = 0;
    let settled = false;

    const finish = (error: Error | undefined) => {
      if (settled) return;
      settled = true;
      payload.removeListener('data', onData);
      payload.removeListener('end', onEnd);
      payload.removeListener('error', onError);
      payload.removeListener('close', onClose);
      // A later error (the inflater, written to after it was stopped) must not go unhandled: that
      // would end the process.
      payload.on('error', ignore);
      if (error === undefined) {
        resolve(bodyOf(pool, buf, chunks, length));
        return;
      }
      if (buf !== undefined) pool?.giveBack(buf);
      buf = undefined;
      chunks = undefined;
      reject(error);
    };
    const onData = (chunk: Buffer | string) => {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (length + bytes.length > limits.maxBytes) {
        finish(new BodyError(413, limits.tooLarge));
        limits.abandon?.();
        return;
      }
      if (buf !== undefined) {
        // buf is borrowed only for a known length, and holds at least that.
        if (length + bytes.length > (exact ?? 0)) {
          finish(new BodyError(400, 'request body is longer than its Content-Length'));
          return;
        }
        bytes.copy(buf, length);
      } else chunks?.push(bytes);
      length += bytes.length;
    };
    const onEnd = () => {
      if (exact !== undefined && length !== exact) finish(new BodyError(400, `request body has ${length} bytes, its Content-Length says ${exact}`));
      else finish(undefined);
    };
    const onError = (e: Error) => finish(e instanceof BodyError ? e : new BodyError(400, limits.describeError?.(e) ?? e.message));
    const onClose = () => finish(new BodyError(400, 'the request ended before its body did'));

    payload.on('data', onData);
    payload.on('end', onEnd);
    payload.on('error', onError);
    payload.on('close', onClose);
    payload.resume();
  });
}

function ignore(): void {}

function borrow(pool: BufferPool | undefined, n: number): Buffer {
  return pool === undefined ? Buffer.allocUnsafeSlow(n) : pool.borrow(n);
}

function bodyOf(pool: BufferPool | undefined, buf: Buffer | undefined, chunks: Buffer[] | undefined, length: number): RequestBody {
  if (buf !== undefined) return new RequestBody(pool, buf, buf.subarray(0, length));
  const parts = chunks ?? [];
  if (length === 0) return new RequestBody(undefined, EMPTY, EMPTY);
  // One chunk is a buffer of its own (Node copies each chunk out of the socket's read buffer): no copy.
  if (parts.length === 1) return new RequestBody(undefined, parts[0], parts[0]);
  const joined = borrow(pool, length);
  let at = 0;
  for (const part of parts) at += part.copy(joined, at);
  return new RequestBody(pool, joined, joined.subarray(0, length));
}
