/**
 * The `memory_limiter` processor: measures the process's memory every `check_interval` and, from the soft
 * limit on, refuses data with a retryable error (reason `memory_limit`), so that receivers answer 503 with
 * Retry-After (HTTP) or UNAVAILABLE with RetryInfo (gRPC) and senders retry later. It answers early
 * refusal (`admit`), so receivers refuse before reading or decoding a body. Put it first in a pipeline.
 *
 * What is measured is the resident set size, not the V8 heap: request bodies, decompression buffers and
 * socket buffers live outside the heap (Buffers, external memory), and RSS is what a container's memory
 * limit and the OOM killer count. `process.memoryUsage.rss()` is one cheap read, unlike the full
 * `process.memoryUsage()`.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { defineProcessor } from '../../component/types.js';
import { throwIfInvalid } from '../common/config-problems.js';
import { limitsOf, memoryLimiterConfig, validateMemoryLimiterConfig } from './config.js';
import { MemoryLimiter } from './limiter.js';
import { availableMemory } from './total-memory.js';

/**
 * A full garbage collection: `global.gc` when node runs with --expose-gc, else the same function taken
 * from a fresh context after turning the flag on (V8 installs `gc` in contexts created after that; the
 * main context stays as it was). Forced GCs are what lets memory fall again while data is refused: V8
 * collects the old generation only when the program allocates, and a process that refuses data hardly
 * does (measured: without them the soak test's daemon stayed above the soft limit for good).
 */
function fullGc(): () => void {
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') return () => void exposed();
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  return () => gc();
}

const MIB = 1024 * 1024;

export const memoryLimiterProcessor = defineProcessor({
  type: 'memory_limiter',
  stability: 'alpha',
  description: 'Refuses data (retryably, before decoding where it can) while the process RSS is above a soft limit; forces GC above the hard limit.',
  mutatesData: false,
  config: memoryLimiterConfig,
  validate: validateMemoryLimiterConfig,
  create(cfg, context) {
    throwIfInvalid(context.id, validateMemoryLimiterConfig(cfg));
    let total: ReturnType<typeof availableMemory> | undefined;
    const limits = limitsOf(cfg, () => (total ??= availableMemory()).bytes);
    let gc: (() => void) | undefined;
    const logger = context.logger.child({ pipeline: context.pipeline });
    const limiter = new MemoryLimiter({
      limits,
      readMemory: process.memoryUsage.rss,
      // Taken at start, not at creation: `spanline validate` creates components too.
      gc: () => gc?.(),
      minGcIntervalSoftMs: cfg.min_gc_interval_when_soft_limited,
      minGcIntervalHardMs: cfg.min_gc_interval_when_hard_limited,
      retryAfterMs: Math.max(1_000, cfg.check_interval),
      logger,
    });

    const labels = { processor: context.id, pipeline: context.pipeline };
    const used = context.metrics.gauge('spanline_memory_limiter_memory_bytes', 'Resident set size at the last check of a memory_limiter.', ['processor', 'pipeline']);
    const limit = context.metrics.gauge('spanline_memory_limiter_limit_bytes', 'Soft and hard limits of a memory_limiter, in bytes.', ['processor', 'pipeline', 'limit']);
    const refusing = context.metrics.gauge('spanline_memory_limiter_refusing', '1 while a memory_limiter refuses data (memory above its soft limit), else 0.', ['processor', 'pipeline']);
    const forcedGcs = context.metrics.counter('spanline_memory_limiter_forced_gcs_total', 'Full garbage collections a memory_limiter forced.', ['processor', 'pipeline']);

    let timer: NodeJS.Timeout | undefined;
    const check = () => {
      const gcsBefore = limiter.forcedGcs;
      limiter.check();
      used.set(labels, limiter.usedBytes);
      refusing.set(labels, limiter.state === 'normal' ? 0 : 1);
      if (limiter.forcedGcs > gcsBefore) forcedGcs.inc(labels, limiter.forcedGcs - gcsBefore);
    };

    return {
      async start() {
        gc ??= fullGc();
        limit.set({ ...labels, limit: 'soft' }, limits.softBytes);
        limit.set({ ...labels, limit: 'hard' }, limits.hardBytes);
        logger.info(
          {
            softLimitMiB: Math.round(limits.softBytes / MIB),
            hardLimitMiB: Math.round(limits.hardBytes / MIB),
            ...(total && { percentOf: total.source, totalMiB: Math.round(total.bytes / MIB) }),
            checkInterval: cfg.check_interval,
          },
          'memory limiter started',
        );
        check();
        // Checks must not keep a stopping process alive.
        timer = setInterval(check, cfg.check_interval).unref();
      },
      async shutdown() {
        if (timer !== undefined) clearInterval(timer);
        timer = undefined;
      },
      admit: () => limiter.admit(),
      process(batch) {
        const refusal = limiter.refuse(batch.length);
        if (refusal !== undefined) throw refusal;
        return batch;
      },
    };
  },
});

export { MemoryLimiter } from './limiter.js';
export { limitsOf, memoryLimiterConfig, type MemoryLimiterConfig } from './config.js';
export { availableMemory } from './total-memory.js';
