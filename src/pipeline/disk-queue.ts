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
import { closeSync, fdatasync, fsyncSync, ftruncateSync, mkdirSync, openSync, read, readdirSync, readFileSync, truncateSync, unlinkSync, writev, writeSync } from 'node:fs';
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

interface Append {
  readonly payload: Buffer;
  readonly spans: number;
  readonly resolve: (r: RecordRef) => void;
  readonly reject: (e: unknown) => void;
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
  private queued: Append[] = [];
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
      let data: Buffer;
      try {
        data = readFileSync(path);
      } catch (e) {
        // The daemon does not start; the files opened so far must not stay open in a process that retries.
        closeSync(fd);
        for (const open of q.segments) closeSync(open.fd);
        throw e;
      }
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
      await this.writeGroup(group);
    }
    this.flushing = undefined;
  }

  /**
   * Writes a group, one run of records per segment, and settles each append: resolved once its run is
   * synced, rejected when its run or an earlier one failed. A segment's size and pending count change
   * only for runs that are on disk, so that offsets handed out always match the file.
   */
  private async writeGroup(group: Append[]): Promise<void> {
    let i = 0;
    while (i < group.length) {
      let seg: Segment;
      try {
        seg = this.segmentForWrite();
      } catch (e) {
        this.reject(group.slice(i), e);
        return;
      }
      const start = seg.size;
      const buffers: Buffer[] = [];
      const refs: RecordRef[] = [];
      let end = start;
      let j = i;
      for (; j < group.length; j++) {
        const { payload, spans } = group[j];
        if (end > 0 && end + HEADER + payload.length > this.options.segmentBytes) break;
        const header = Buffer.allocUnsafe(HEADER);
        header.writeUInt32LE(payload.length, 0);
        header.writeUInt32LE(crc32(payload), 4);
        header.writeUInt32LE(spans, 8);
        buffers.push(header, payload);
        refs.push({ segment: seg, offset: end, length: payload.length, spans });
        end += HEADER + payload.length;
      }
      try {
        // A regular file may take part of a write (disk full) without an error: that is a failure too.
        const { bytesWritten } = await writevAsync(seg.fd, buffers);
        if (bytesWritten !== end - start) throw new Error(`persistent queue: short write to ${seg.path} (${bytesWritten} of ${end - start} bytes)`);
        await fdatasyncAsync(seg.fd);
      } catch (e) {
        // The file may now hold part of the run. Cut it back where possible, and write nothing more to
        // it: the next run starts a new segment, and a tail that could not be cut is a torn record that
        // the next start cuts off. These appends were never acknowledged, so nothing is lost.
        try {
          ftruncateSync(seg.fd, start);
        } catch {
          // left for recovery, as above
        }
        this.seal(seg);
        this.reject(group.slice(i), e);
        return;
      }
      seg.size = end;
      seg.pending += refs.length;
      for (let k = 0; k < refs.length; k++) group[i + k].resolve(refs[k]);
      if (j < group.length) this.seal(seg);
      i = j;
    }
  }

  private reject(appends: Append[], e: unknown): void {
    for (const a of appends) {
      this.live -= HEADER + a.payload.length;
      a.reject(e);
    }
  }

  /** Closes a segment for writing; it is deleted at once if nothing in it awaits delivery. */
  private seal(seg: Segment): void {
    seg.sealed = true;
    if (this.writing === seg) this.writing = undefined;
    if (seg.pending === 0) this.remove(seg);
  }

  private segmentForWrite(): Segment {
    if (this.writing && !this.writing.sealed) return this.writing;
    const base = String(this.nextBase++).padStart(20, '0');
    const path = join(this.dir, `${base}.seg`);
    const fd = openSync(path, 'a+');
    try {
      // The new file's directory entry must survive a crash too.
      const dirFd = openSync(this.dir, 'r');
      try {
        fsyncSync(dirFd);
      } finally {
        closeSync(dirFd);
      }
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    const seg = new Segment(base, path, fd);
    this.segments.push(seg);
    this.writing = seg;
    return seg;
  }

  /** Reads a record's payload back; throws if the bytes on disk are not the record that was written. */
  async read(ref: RecordRef): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(HEADER + ref.length);
    const { bytesRead } = await readAsync(ref.segment.fd, buf, 0, buf.length, ref.offset);
    const payload = buf.subarray(HEADER);
    if (bytesRead !== buf.length || buf.readUInt32LE(0) !== ref.length || buf.readUInt32LE(4) !== crc32(payload)) {
      throw new Error(`persistent queue: damaged record in ${ref.segment.path} at ${ref.offset}`);
    }
    return payload;
  }

  /** Marks a record delivered (or given up on); it will not be delivered again after a restart. */
  ack(ref: RecordRef): void {
    // After close the descriptors are gone (their numbers may belong to other files by now); the record
    // simply stays pending for the next start.
    if (this.closed) return;
    const seg = ref.segment;
    this.live -= HEADER + ref.length;
    seg.pending--;
    // Listed even when the segment is deleted next: if the deletion fails, the list is what keeps
    // this record from being delivered again.
    if (seg.ackFd < 0) seg.ackFd = openSync(join(this.dir, `${seg.base}.ack`), 'a');
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32LE(ref.offset, 0);
    writeSync(seg.ackFd, b);
    if (seg.pending === 0 && seg.sealed) this.remove(seg);
  }

  /**
   * Deletes a segment none of whose records await delivery. Never throws: it runs inside writes and
   * acknowledgements, which must go on.
   */
  private remove(seg: Segment): void {
    const i = this.segments.indexOf(seg);
    if (i >= 0) this.segments.splice(i, 1);
    if (this.writing === seg) this.writing = undefined;
    closeSync(seg.fd);
    if (seg.ackFd >= 0) closeSync(seg.ackFd);
    try {
      unlinkSync(seg.path);
    } catch {
      // It stays with its ack file, which lists every record: the next start finds nothing pending in
      // it and deletes it then.
      return;
    }
    try {
      unlinkSync(join(this.dir, `${seg.base}.ack`));
    } catch {
      // no ack file: every record was acknowledged before the segment was sealed
    }
  }

  /** Waits for writes in progress, then closes files. What is not acknowledged stays for the next start. */
  async close(): Promise<void> {
    this.closed = true;
    while (this.flushing) await this.flushing;
    for (const seg of this.segments) {
      closeSync(seg.fd);
      if (seg.ackFd >= 0) closeSync(seg.ackFd);
    }
    this.segments.length = 0;
  }
}

/**
 * The offsets listed in an ack file. An entry torn by a crash is cut off, so that the entries appended
 * after this start stay aligned (misread, they would acknowledge records that were never delivered).
 */
function readAcks(path: string): Set<number> {
  const out = new Set<number>();
  let data: Buffer;
  try {
    data = readFileSync(path);
  } catch {
    return out;
  }
  const whole = data.length - (data.length % 4);
  if (whole < data.length) truncateSync(path, whole);
  for (let i = 0; i < whole; i += 4) out.add(data.readUInt32LE(i));
  return out;
}
