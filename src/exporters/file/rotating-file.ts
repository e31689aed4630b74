import { mkdirSync } from 'node:fs';
import { open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * An append-only file that rotates by size: `path` is renamed to `path.1`, `path.1` to `path.2`, … and
 * the oldest beyond `maxBackups` is deleted. Writes are serialized; a write never straddles two files.
 */
export class RotatingFile {
  private handle: FileHandle | undefined;
  private size = 0;
  private tail: Promise<void> = Promise.resolve();

  constructor(
    readonly path: string,
    /** 0: never rotate. */
    private readonly maxBytes: number,
    private readonly maxBackups: number,
  ) {}

  async open(): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true });
    this.handle = await open(this.path, 'a');
    this.size = (await stat(this.path)).size;
  }

  /**
   * Appends `data` (one write, never split across files; chunks are written in order as one piece);
   * resolves once the OS has it. Serialized.
   */
  write(data: string | Buffer | readonly Buffer[]): Promise<void> {
    const bufs = typeof data === 'string' ? [Buffer.from(data, 'utf8')] : Buffer.isBuffer(data) ? [data] : data;
    const run = this.tail.then(() => this.append(bufs));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async append(bufs: readonly Buffer[]): Promise<void> {
    if (!this.handle) throw new Error(`${this.path} is not open`);
    let total = 0;
    for (const b of bufs) total += b.length;
    if (this.maxBytes > 0 && this.size > 0 && this.size + total > this.maxBytes) await this.rotate();
    let pending = bufs;
    let left = total;
    while (left > 0) {
      const { bytesWritten } = await this.handle.writev(pending);
      left -= bytesWritten;
      if (left > 0) pending = afterBytes(pending, bytesWritten);
    }
    this.size += total;
  }

  private async rotate(): Promise<void> {
    await this.handle!.close();
    this.handle = undefined;
    if (this.maxBackups === 0) await rm(this.path, { force: true });
    else {
      await rm(`${this.path}.${this.maxBackups}`, { force: true });
      for (let i = this.maxBackups - 1; i >= 1; i--) await rename(`${this.path}.${i}`, `${this.path}.${i + 1}`).catch(ignoreMissing);
      await rename(this.path, `${this.path}.1`);
    }
    this.handle = await open(this.path, 'a');
    this.size = 0;
  }

  /** Waits for pending writes, flushes to disk and closes. */
  async close(): Promise<void> {
    await this.tail;
    const h = this.handle;
    this.handle = undefined;
    if (h) {
      await h.sync().catch(() => undefined);
      await h.close();
    }
  }
}

/** What is left of `bufs` after its first `n` bytes (a short write). */
function afterBytes(bufs: readonly Buffer[], n: number): Buffer[] {
  let k = 0;
  while (k < bufs.length && n >= bufs[k].length) n -= bufs[k++].length;
  const rest = bufs.slice(k);
  if (n > 0) rest[0] = rest[0].subarray(n);
  return rest;
}

function ignoreMissing(e: NodeJS.ErrnoException): void {
  if (e.code !== 'ENOENT') throw e;
}
