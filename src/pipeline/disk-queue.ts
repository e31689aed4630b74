/**
 * The on-disk log under a persistent sending queue (`sending_queue.storage`).
 *
 * Records go into append-only segment files `<first sequence number>.seg`. A record is
 *   u32 payload length | u32 CRC-32 of the payload | u32 span count | payload
 * and `append` resolves only after the bytes are written and fdatasync'ed: appends that arrive while a
 * sync is running are written together in the next one (group commit), so durability costs one sync per
 * burst, not per batch.
 *
 * Delivered records are listed in `<segment>.ack` (their byte offsets, u32 each) without a sync: a crash
 * of the process keeps them (the kernel still has the pages), a crash of the machine may lose the last
 * ones and so deliver those records again — at least once, never lost. A segment whose every record is
 * acknowledged, and that is no longer written to, is deleted with its ack file.
 *
 * On open, segments are scanned: a torn record at the end of the last segment (the process died while
 * writing it, so it was never acknowledged to a sender) is cut off; records not in the ack file are
 * pending again, in their original order.
 */
import { closeSync, fdatasync, fsyncSync, ftruncateSync, mkdirSync, openSync, read, readdirSync, readFileSync, unlinkSync, writev, writeSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { crc32 } from 'node:zlib';

const writevAsync = promisify(writev);
const fdatasyncAsync = promisify(fdatasync);
const readAsync = promisify(read);

const HEADER = 12;

export interface RecordRef {
  readonly segment: Segment;
  readonly offset: number;
  readonly length: number;
  readonly spans: number;
}

class Segment {
  /** Records written and not yet acknowledged. */
  pending = 0;
  /** Bytes in the file. */
  size = 0;
  sealed = false;
  ackFd = -1;
  constructor(
    readonly base: string,
    readonly path: string,
    readonly fd: number,
  ) {}
}

export interface DiskQueueOptions {
  /** A segment is closed for writing once it reaches this size. */
  readonly segmentBytes: number;
}

export interface Recovered {
  readonly records: RecordRef[];
  /** Bytes of a torn record cut from the end of the log. */
  readonly truncatedBytes: number;
}

export class DiskQueue {
  private readonly segments: Segment[] = [];
  private writing: Segment | undefined;
  private nextBase = 0;
  /** Bytes of unacknowledged records on disk. */
  private live = 0;
  private queued: { payload: Buffer; spans: number; resolve: (r: RecordRef) => void; reject: (e: unknown) => void }[] = [];
  private flushing: Promise<void> | undefined;
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly options: DiskQueueOptions,
  ) {}

  /** Opens (creating) the directory and recovers what a previous process left. */
  static open(dir: string, options: DiskQueueOptions): { queue: DiskQueue; recovered: Recovered } {
    mkdirSync(dir, { recursive: true });
    const q = new DiskQueue(dir, options);
    const bases = readdirSync(dir)
      .filter((f) => /^\d{20}\.seg$/.test(f))
      .map((f) => f.slice(0, 20))
      .sort();
    const records: RecordRef[] = [];
    let truncatedBytes = 0;
    for (let i = 0; i < bases.length; i++) {
      const base = bases[i];
      const path = join(dir, `${base}.seg`);
      const fd = openSync(path, 'r+');
      const seg = new Segment(base, path, fd);
      const data = readFileSync(path);
      const acked = readAcks(join(dir, `${base}.ack`));
      let pos = 0;
      while (pos + HEADER <= data.length) {
        const length = data.readUInt32LE(pos);
        const sum = data.readUInt32LE(pos + 4);
        const spans = data.readUInt32LE(pos + 8);
        if (pos + HEADER + length > data.length || crc32(data.subarray(pos + HEADER, pos + HEADER + length)) !== sum) break;
        if (!acked.has(pos)) {
          records.push({ segment: seg, offset: pos, length, spans });
          seg.pending++;
          q.live += HEADER + length;
        }
        pos += HEADER + length;
      }
      if (pos < data.length) {
        // Only the tail of the log can be torn; a bad record elsewhere means the file was damaged, and
        // what follows it cannot be trusted either. Both are cut and reported.
        truncatedBytes += data.length - pos;
        ftruncateSync(fd, pos);
        fsyncSync(fd);
      }
      seg.size = pos;
      seg.sealed = true;
      q.segments.push(seg);
      q.nextBase = Math.max(q.nextBase, Number(base) + 1);
      if (seg.pending === 0) q.remove(seg);
    }
    return { queue: q, recovered: { records, truncatedBytes } };
  }

  /** Bytes of records not yet acknowledged. */
  get bytes(): number {
    return this.live;
  }

  /** Appends a record; resolves once it is durable. */
  append(payload: Buffer, spans: number): Promise<RecordRef> {
    if (this.closed) return Promise.reject(new Error('persistent queue is closed'));
    this.live += HEADER + payload.length;
    return new Promise<RecordRef>((resolve, reject) => {
      this.queued.push({ payload, spans, resolve, reject });
      if (this.flushing === undefined) this.flushing = this.flushLoop();
    });
  }

  private async flushLoop(): Promise<void> {
    // Let appends from the same turn of the event loop join this write.
    await new Promise<void>((r) => setImmediate(r));
    while (this.queued.length > 0) {
      const group = this.queued;
      this.queued = [];
      try {
        const refs = await this.writeGroup(group);
        for (let i = 0; i < group.length; i++) group[i].resolve(refs[i]);
      } catch (e) {
        for (const g of group) {
          this.live -= HEADER + g.payload.length;
          g.reject(e);
        }
      }
    }
    this.flushing = undefined;
  }

  private async writeGroup(group: { payload: Buffer; spans: number }[]): Promise<RecordRef[]> {
    const refs: RecordRef[] = [];
    const buffers: Buffer[] = [];
    let seg = this.segmentForWrite();
    const flush = async () => {
      if (buffers.length === 0) return;
      await writevAsync(seg.fd, buffers);
      await fdatasyncAsync(seg.fd);
      buffers.length = 0;
    };
    for (const g of group) {
      if (seg.size > 0 && seg.size + HEADER + g.payload.length > this.options.segmentBytes) {
        await flush();
        seg.sealed = true;
        if (seg.pending === 0) this.remove(seg);
        seg = this.segmentForWrite();
      }
      const header = Buffer.allocUnsafe(HEADER);
      header.writeUInt32LE(g.payload.length, 0);
      header.writeUInt32LE(crc32(g.payload), 4);
      header.writeUInt32LE(g.spans, 8);
      buffers.push(header, g.payload);
      refs.push({ segment: seg, offset: seg.size, length: g.payload.length, spans: g.spans });
      seg.size += HEADER + g.payload.length;
      seg.pending++;
    }
    await flush();
    return refs;
  }

  private segmentForWrite(): Segment {
    if (this.writing && !this.writing.sealed) return this.writing;
    const base = String(this.nextBase++).padStart(20, '0');
    const path = join(this.dir, `${base}.seg`);
    const fd = openSync(path, 'a+');
    // The new file's directory entry must survive a crash too.
    const dirFd = openSync(this.dir, 'r');
    try {
      fsyncSync(dirFd);
    } finally {
      closeSync(dirFd);
    }
    const seg = new Segment(base, path, fd);
    this.segments.push(seg);
    this.writing = seg;
    return seg;
  }

  /** Reads a record's payload back. */
  async read(ref: RecordRef): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(ref.length);
    const { bytesRead } = await readAsync(ref.segment.fd, buf, 0, ref.length, ref.offset + HEADER);
    if (bytesRead !== ref.length) throw new Error(`persistent queue: short read in ${ref.segment.path} at ${ref.offset}`);
    return buf;
  }

  /** Marks a record delivered (or given up on); it will not be delivered again after a restart. */
  ack(ref: RecordRef): void {
    const seg = ref.segment;
    this.live -= HEADER + ref.length;
    seg.pending--;
    if (seg.pending === 0 && seg.sealed) {
      this.remove(seg);
      return;
    }
    if (seg.ackFd < 0) seg.ackFd = openSync(join(this.dir, `${seg.base}.ack`), 'a');
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32LE(ref.offset, 0);
    writeSync(seg.ackFd, b);
  }

  private remove(seg: Segment): void {
    const i = this.segments.indexOf(seg);
    if (i >= 0) this.segments.splice(i, 1);
    if (this.writing === seg) this.writing = undefined;
    closeSync(seg.fd);
    if (seg.ackFd >= 0) closeSync(seg.ackFd);
    unlinkSync(seg.path);
    try {
      unlinkSync(join(this.dir, `${seg.base}.ack`));
    } catch {
      // no ack file: every record was acknowledged before the segment was sealed
    }
  }

  /** Waits for writes in progress, then closes files. What is not acknowledged stays for the next start. */
  async close(): Promise<void> {
    while (this.flushing) await this.flushing;
    this.closed = true;
    for (const seg of this.segments) {
      closeSync(seg.fd);
      if (seg.ackFd >= 0) closeSync(seg.ackFd);
    }
    this.segments.length = 0;
  }
}

function readAcks(path: string): Set<number> {
  const out = new Set<number>();
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch {
    return out;
  }
  for (let i = 0; i + 4 <= data.length; i += 4) out.add(data.readUInt32LE(i));
  return out;
}
