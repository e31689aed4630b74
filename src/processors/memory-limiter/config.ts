import { s, type InferShape, type Path } from '../../config/schema.js';

const MIB = 1024 * 1024;

export const memoryLimiterConfig = s.object({
  check_interval: s
    .duration()
    .atLeast(1)
    .default(1_000)
    .describe('How often memory use (the process RSS) is measured; the refusal state changes only then.'),
  limit_mib: s
    .int()
    .range(1)
    .optional()
    .describe('Hard limit, in MiB of RSS. Set this or `limit_percentage`; this wins when both are set.'),
  spike_limit_mib: s
    .int()
    .range(0)
    .optional()
    .describe('Headroom below `limit_mib` for growth between two checks: data is refused from `limit_mib - spike_limit_mib` on (default 20% of `limit_mib`; 0: refuse only at the hard limit).'),
  limit_percentage: s
    .int()
    .range(1, 100)
    .optional()
    .describe("Hard limit as a percentage of the container's memory limit (cgroup v2 `memory.max`, or v1 `memory.limit_in_bytes`), or of the host's total memory when there is no limit."),
  spike_limit_percentage: s
    .int()
    .range(0, 100)
    .optional()
    .describe('Headroom below `limit_percentage`, in percent of the same total (default 20% of the hard limit; 0: refuse only at the hard limit).'),
  min_gc_interval_when_soft_limited: s
    .duration()
    .default(10_000)
    .describe('Above the soft limit, force a full garbage collection at most this often. V8 collects only when the process allocates, which it hardly does while refusing: these GCs are what lets memory fall again.'),
  min_gc_interval_when_hard_limited: s
    .duration()
    .default(0)
    .describe('Above the hard limit, force a full garbage collection at most this often (0: at every check).'),
  ballast_size_mib: s
    .int()
    .optional()
    .describe('Not supported: a Go ballast has no equivalent in Node (V8 sizes its heap from live data). Remove it.'),
});

export type MemoryLimiterConfig = InferShape<typeof memoryLimiterConfig.shape>;

/** The checks that span several keys, with the Collector's rules and spanline's messages. */
export function validateMemoryLimiterConfig(cfg: MemoryLimiterConfig): { path: Path; message: string }[] {
  const problems: { path: Path; message: string }[] = [];
  if (cfg.ballast_size_mib !== undefined) {
    problems.push({
      path: ['ballast_size_mib'],
      message: 'a memory ballast is a Go garbage-collector trick with no equivalent in Node; remove ballast_size_mib and set limit_mib or limit_percentage',
    });
  }
  if (cfg.limit_mib === undefined && cfg.limit_percentage === undefined) {
    problems.push({ path: [], message: 'set limit_mib (MiB of RSS) or limit_percentage (of the container or host memory)' });
  }
  if (cfg.limit_mib !== undefined && cfg.spike_limit_mib !== undefined && cfg.spike_limit_mib >= cfg.limit_mib) {
    problems.push({ path: ['spike_limit_mib'], message: `spike_limit_mib (${cfg.spike_limit_mib}) must be smaller than limit_mib (${cfg.limit_mib})` });
  }
  if (cfg.limit_mib === undefined && cfg.spike_limit_mib !== undefined) {
    problems.push({ path: ['spike_limit_mib'], message: 'spike_limit_mib goes with limit_mib; with limit_percentage, set spike_limit_percentage' });
  }
  // limit_mib wins over the percentages, so a spike percentage beside it would be ignored without a word.
  if (cfg.limit_mib !== undefined && cfg.spike_limit_percentage !== undefined) {
    problems.push({ path: ['spike_limit_percentage'], message: 'spike_limit_percentage goes with limit_percentage; with limit_mib, set spike_limit_mib' });
  }
  if (cfg.limit_mib === undefined && cfg.limit_percentage !== undefined && cfg.spike_limit_percentage !== undefined && cfg.spike_limit_percentage >= cfg.limit_percentage) {
    problems.push({
      path: ['spike_limit_percentage'],
      message: `spike_limit_percentage (${cfg.spike_limit_percentage}) must be smaller than limit_percentage (${cfg.limit_percentage})`,
    });
  }
  if (cfg.min_gc_interval_when_soft_limited < cfg.min_gc_interval_when_hard_limited) {
    problems.push({
      path: ['min_gc_interval_when_soft_limited'],
      message: 'min_gc_interval_when_soft_limited must be at least min_gc_interval_when_hard_limited (collect more often when closer to the limit)',
    });
  }
  return problems;
}

export interface MemoryLimits {
  /** Above this, a GC is forced (when the runtime exposes one). */
  readonly hardBytes: number;
  /** From this on, data is refused. */
  readonly softBytes: number;
}

/**
 * The limits in bytes. `totalBytes` (the container's limit, else the host's memory) is read only for
 * percentages. As in the Collector, the headroom defaults to a fifth of the hard limit.
 */
export function limitsOf(cfg: MemoryLimiterConfig, totalBytes: () => number): MemoryLimits {
  let hard: number;
  let spike: number | undefined;
  if (cfg.limit_mib !== undefined) {
    hard = cfg.limit_mib * MIB;
    spike = cfg.spike_limit_mib === undefined ? undefined : cfg.spike_limit_mib * MIB;
  } else {
    const total = totalBytes();
    hard = Math.floor((total * (cfg.limit_percentage ?? 100)) / 100);
    spike = cfg.spike_limit_percentage === undefined ? undefined : Math.floor((total * cfg.spike_limit_percentage) / 100);
  }
  spike ??= Math.floor(hard / 5);
  return { hardBytes: hard, softBytes: hard - spike };
}
