/**
 * The memory limiter's state machine, apart from timers and the process so that tests drive it with a
 * memory reader of their own.
 *
 * Every `check()` reads memory use. From the soft limit on, data is refused (retryably) until a check
 * finds use below it again. Above the hard limit, and while soft-limited, a full GC is forced when the
 * runtime exposes one, at most once per the configured interval; memory is read again after it. Unlike
 * the Collector, which forces one GC when it enters the soft-limited state, the soft-limited GC repeats:
 * a Node process that refuses data allocates little, and V8 collects (and frees the Buffers that garbage
 * holds) only when it allocates, so without it memory could stay just above the soft limit.
 */
import type { Logger } from 'pino';
import { RefusedError } from '../../component/types.js';
import type { MemoryLimits } from './config.js';

export type LimiterState = 'normal' | 'soft_limited' | 'hard_limited';

export interface LimiterOptions {
  limits: MemoryLimits;
  /** Memory in use, in bytes. */
  readMemory: () => number;
  /** A full garbage collection; `undefined` where the runtime has none. */
  gc: (() => void) | undefined;
  minGcIntervalSoftMs: number;
  minGcIntervalHardMs: number;
  /** The Retry-After hint of refusals. */
  retryAfterMs: number;
  logger: Logger;
  /** Milliseconds, for the GC intervals and the refusal period; tests pass their own clock. */
  now?: () => number;
}

const MIB = 1024 * 1024;
const mib = (bytes: number) => Math.round((bytes / MIB) * 10) / 10;

export class MemoryLimiter {
  private refusal: RefusedError | undefined;
  private used = 0;
  private lastGcAt = -Infinity;
  private gcCount = 0;
  private limitedSince = 0;
  /** Refused while limited; logged with the count when the limit clears. */
  private refusedRequests = 0;
  private refusedSpans = 0;
  private readonly now: () => number;

  constructor(private readonly opts: LimiterOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** Memory in use at the last check (after a forced GC, if one ran). */
  get usedBytes(): number {
    return this.used;
  }

  get state(): LimiterState {
    if (this.refusal === undefined) return 'normal';
    return this.used >= this.opts.limits.hardBytes ? 'hard_limited' : 'soft_limited';
  }

  /** Forced GCs so far. */
  get forcedGcs(): number {
    return this.gcCount;
  }

  /** Measures memory use and updates the refusal state; logs when the state changes. */
  check(): void {
    const { limits, gc } = this.opts;
    let used = this.opts.readMemory();
    if (gc !== undefined && used >= limits.softBytes) {
      const interval = used >= limits.hardBytes ? this.opts.minGcIntervalHardMs : this.opts.minGcIntervalSoftMs;
      if (this.now() - this.lastGcAt >= interval) used = this.collect(gc, used);
    }
    this.used = used;
    const wasRefusing = this.refusal !== undefined;
    if (used >= limits.softBytes) {
      this.refusal = new RefusedError(
        `memory use ${mib(used)} MiB is above the soft limit of ${mib(limits.softBytes)} MiB; retry later`,
        true,
        this.opts.retryAfterMs,
        'memory_limit',
      );
      if (!wasRefusing) {
        this.limitedSince = this.now();
        this.opts.logger.warn(
          { usedMiB: mib(used), softLimitMiB: mib(limits.softBytes), hardLimitMiB: mib(limits.hardBytes), forcedGc: gc !== undefined },
          'memory use is above the soft limit: refusing data',
        );
      }
    } else if (wasRefusing) {
      this.refusal = undefined;
      this.opts.logger.info(
        { usedMiB: mib(used), softLimitMiB: mib(limits.softBytes), ms: this.now() - this.limitedSince, refusedRequests: this.refusedRequests, refusedSpans: this.refusedSpans },
        'memory use is back under the soft limit: accepting data again',
      );
      this.refusedRequests = 0;
      this.refusedSpans = 0;
    }
  }

  /**
   * Forces a GC and reads memory again. V8 returns freed pages to the system in the background, so much of
   * what a GC frees shows up only at the next check.
   */
  private collect(gc: () => void, before: number): number {
    const t0 = performance.now();
    gc();
    this.gcCount++;
    this.lastGcAt = this.now();
    const after = this.opts.readMemory();
    this.opts.logger.debug({ beforeMiB: mib(before), afterMiB: mib(after), ms: Math.round(performance.now() - t0) }, 'forced a garbage collection');
    return after;
  }

  /**
   * Early refusal of a request, before it is read or decoded: refused while limited, whatever its size
   * (the soft limit already keeps the headroom for what is in flight).
   */
  admit(): RefusedError | undefined {
    if (this.refusal !== undefined) this.refusedRequests++;
    return this.refusal;
  }

  /** The refusal for a batch of `spans` spans, while limited. */
  refuse(spans: number): RefusedError | undefined {
    if (this.refusal !== undefined) this.refusedSpans += spans;
    return this.refusal;
  }
}
