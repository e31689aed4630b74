import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { isRefused } from '../../../src/component/types.js';
import {
  availableMemory,
  limitsOf,
  MemoryLimiter,
  type MemoryLimiterConfig,
} from '../../../src/processors/memory-limiter/index.js';
import { memoryLimiterProcessor } from '../../../src/processors/memory-limiter/index.js';
import { SelfMetrics } from '../../../src/telemetry/metrics.js';
import { spans } from '../../helpers/components.js';
import { tempDir } from '../../helpers/tmp.js';
import { checkedConfig, configProblems } from '../../helpers/processors.js';

const MIB = 1024 * 1024;

const configOf = (raw: Record<string, unknown>): MemoryLimiterConfig => checkedConfig(memoryLimiterProcessor, raw);

/** The problems `spanline validate` would print for a memory_limiter config: schema first, then validate(). */
const problemsOf = (raw: Record<string, unknown>): string[] => configProblems(memoryLimiterProcessor, raw).map((p) => `${p.path}: ${p.message}`);

/** A logger whose lines the test reads. */
function recordingLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines, messages: () => lines.map((l) => l.msg) };
}

/** A limiter with a memory reading and a clock the test sets; `gc` drops memory to `afterGc` when given. */
function harness(opts: { hardMiB: number; softMiB: number; gc?: boolean; afterGcMiB?: number; softGcMs?: number; hardGcMs?: number }) {
  const state = { memory: 0, now: 0, gcs: 0 };
  const log = recordingLogger();
  const limiter = new MemoryLimiter({
    limits: { hardBytes: opts.hardMiB * MIB, softBytes: opts.softMiB * MIB },
    readMemory: () => state.memory,
    gc: opts.gc
      ? () => {
          state.gcs++;
          if (opts.afterGcMiB !== undefined) state.memory = opts.afterGcMiB * MIB;
        }
      : undefined,
    minGcIntervalSoftMs: opts.softGcMs ?? 10_000,
    minGcIntervalHardMs: opts.hardGcMs ?? 0,
    retryAfterMs: 1_000,
    logger: log.logger,
    now: () => state.now,
  });
  const at = (mib: number, nowMs = state.now) => {
    state.memory = mib * MIB;
    state.now = nowMs;
    limiter.check();
    return limiter.state;
  };
  return { limiter, state, at, log };
}

describe('memory_limiter state machine', () => {
  it('refuses from the soft limit on, also at the hard limit, and accepts again below the soft limit', () => {
    const { limiter, at } = harness({ hardMiB: 100, softMiB: 80 });
    const table: [usedMiB: number, state: string][] = [
      [10, 'normal'],
      [79.9, 'normal'],
      [80, 'soft_limited'], // the soft limit itself refuses, as the Collector's `>=`
      [95, 'soft_limited'],
      [100, 'hard_limited'],
      [150, 'hard_limited'],
      [90, 'soft_limited'], // still above soft: no recovery yet
      [79, 'normal'],
      [0, 'normal'],
    ];
    for (const [used, state] of table) {
      expect(at(used), `at ${used} MiB`).toBe(state);
      const refusal = limiter.refuse(1);
      if (state === 'normal') expect(refusal, `at ${used} MiB`).toBeUndefined();
      else {
        expect(isRefused(refusal), `at ${used} MiB`).toBe(true);
        expect(refusal!.retryable).toBe(true);
        expect(refusal!.reason).toBe('memory_limit');
        expect(refusal!.retryAfterMs).toBe(1_000);
        expect(refusal!.message).toBe(`memory use ${used} MiB is above the soft limit of 80 MiB; retry later`);
      }
      expect(limiter.admit()).toBe(refusal);
      expect(limiter.usedBytes).toBe(used * MIB);
    }
  });

  it('accepts everything before the first check', () => {
    const { limiter, state } = harness({ hardMiB: 1, softMiB: 1 });
    state.memory = 500 * MIB;
    expect(limiter.admit()).toBeUndefined();
    expect(limiter.refuse(10)).toBeUndefined();
  });

  it('logs once when it starts refusing and once, with the counts, when it stops', () => {
    const { limiter, at, log } = harness({ hardMiB: 100, softMiB: 80 });
    at(50, 0);
    at(85, 1_000);
    at(120, 2_000);
    limiter.admit();
    limiter.admit();
    limiter.refuse(7);
    at(90, 3_000);
    limiter.refuse(3);
    at(40, 4_500);
    at(30, 5_500);
    const warnOrInfo = log.lines.filter((l) => (l.level as number) >= 30);
    expect(warnOrInfo.map((l) => l.msg)).toEqual([
      'memory use is above the soft limit: refusing data',
      'memory use is back under the soft limit: accepting data again',
    ]);
    expect(warnOrInfo[0]).toMatchObject({ usedMiB: 85, softLimitMiB: 80, hardLimitMiB: 100, forcedGc: false });
    expect(warnOrInfo[1]).toMatchObject({ usedMiB: 40, ms: 3_500, refusedRequests: 2, refusedSpans: 10 });
    // Counts restart with the next limited period.
    at(81, 6_000);
    limiter.refuse(4);
    at(1, 7_000);
    expect(log.lines.at(-1)).toMatchObject({ refusedRequests: 0, refusedSpans: 4 });
  });

  it('forces a GC above the hard limit at every check (interval 0) and reads memory again after it', () => {
    const { limiter, at, state } = harness({ hardMiB: 100, softMiB: 80, gc: true, afterGcMiB: 60, softGcMs: 10_000, hardGcMs: 0 });
    expect(at(120, 0)).toBe('normal'); // the GC brought it to 60
    expect(state.gcs).toBe(1);
    expect(limiter.usedBytes).toBe(60 * MIB);
    expect(at(130, 100)).toBe('normal');
    expect(state.gcs).toBe(2);
    expect(limiter.forcedGcs).toBe(2);
  });

  it('forces GCs while soft-limited at most once per min_gc_interval_when_soft_limited, and none below the soft limit', () => {
    // The GC frees nothing: memory stays where the test puts it.
    const { at, state } = harness({ hardMiB: 100, softMiB: 80, gc: true, softGcMs: 10_000, hardGcMs: 1_000 });
    const table: [nowMs: number, usedMiB: number, gcsAfter: number][] = [
      [0, 50, 0], // below soft: never
      [1_000, 85, 1], // entering the soft-limited state
      [2_000, 85, 1],
      [10_999, 85, 1],
      [11_000, 85, 2], // 10 s after the last one
      [11_500, 120, 2], // hard limit, but the last GC was 500 ms ago (hard interval 1 s)
      [12_000, 120, 3],
      [13_000, 120, 4],
      [14_000, 90, 4], // back to soft: 10 s interval again
      [24_000, 90, 5],
      [30_000, 10, 5],
    ];
    for (const [now, used, gcs] of table) {
      at(used, now);
      expect(state.gcs, `at t=${now} ms, ${used} MiB`).toBe(gcs);
    }
  });

  it('without an exposed GC it only refuses, and says so when it starts refusing', () => {
    const { at, log } = harness({ hardMiB: 100, softMiB: 80 });
    expect(at(500)).toBe('hard_limited');
    expect(log.lines.find((l) => l.msg === 'memory use is above the soft limit: refusing data')).toMatchObject({ forcedGc: false });
    expect(log.messages()).not.toContain('forced a garbage collection');
  });
});

describe('memory_limiter config', () => {
  const table: [name: string, raw: Record<string, unknown>, problems: string[]][] = [
    ['a limit is required', {}, [': set limit_mib (MiB of RSS) or limit_percentage (of the container or host memory)']],
    ['limit_mib alone is enough', { limit_mib: 200 }, []],
    ['limit_percentage alone is enough', { limit_percentage: 80, spike_limit_percentage: 15 }, []],
    ['spike_limit_mib below limit_mib', { limit_mib: 200, spike_limit_mib: 200 }, ['spike_limit_mib: spike_limit_mib (200) must be smaller than limit_mib (200)']],
    [
      'spike_limit_percentage below limit_percentage',
      { limit_percentage: 50, spike_limit_percentage: 50 },
      ['spike_limit_percentage: spike_limit_percentage (50) must be smaller than limit_percentage (50)'],
    ],
    [
      'spike_limit_mib needs limit_mib',
      { limit_percentage: 50, spike_limit_mib: 10 },
      ['spike_limit_mib: spike_limit_mib goes with limit_mib; with limit_percentage, set spike_limit_percentage'],
    ],
    [
      'spike_limit_percentage does not go with limit_mib, which would ignore it',
      { limit_mib: 100, spike_limit_percentage: 10 },
      ['spike_limit_percentage: spike_limit_percentage goes with limit_percentage; with limit_mib, set spike_limit_mib'],
    ],
    ['percentages are 1..100', { limit_percentage: 101 }, ['limit_percentage: must be between 1 and 100, got 101']],
    ['check_interval must be positive', { limit_mib: 10, check_interval: '0s' }, ['check_interval: must be at least 1ms, got "0s"']],
    [
      'GC intervals: soft at least hard',
      { limit_mib: 10, min_gc_interval_when_soft_limited: '1s', min_gc_interval_when_hard_limited: '5s' },
      ['min_gc_interval_when_soft_limited: min_gc_interval_when_soft_limited must be at least min_gc_interval_when_hard_limited (collect more often when closer to the limit)'],
    ],
    [
      'a Go ballast has no meaning in Node',
      { limit_mib: 10, ballast_size_mib: 100 },
      ['ballast_size_mib: a memory ballast is a Go garbage-collector trick with no equivalent in Node; remove ballast_size_mib and set limit_mib or limit_percentage'],
    ],
    ['unknown keys are errors', { limit_mib: 10, limit_mb: 10 }, ['limit_mb: unknown key "limit_mb" (did you mean "limit_mib"?)']],
  ];
  it.each(table)('%s', (_name, raw, problems) => {
    expect(problemsOf(raw)).toEqual(problems);
  });

  it('has the defaults documented: 1 s checks, GC every 10 s soft-limited, every check hard-limited', () => {
    expect(configOf({ limit_mib: 10 })).toEqual({
      check_interval: 1_000,
      limit_mib: 10,
      min_gc_interval_when_soft_limited: 10_000,
      min_gc_interval_when_hard_limited: 0,
    });
  });

  const limits: [name: string, raw: Record<string, unknown>, totalMiB: number, hardMiB: number, softMiB: number][] = [
    ['limit_mib, default spike 20%', { limit_mib: 200 }, 1000, 200, 160],
    ['limit_mib and spike_limit_mib', { limit_mib: 200, spike_limit_mib: 50 }, 1000, 200, 150],
    ['spike 0: refuse only at the hard limit', { limit_mib: 200, spike_limit_mib: 0 }, 1000, 200, 200],
    ['percentages of the total', { limit_percentage: 80, spike_limit_percentage: 15 }, 1000, 800, 650],
    ['percentage, default spike 20% of the limit', { limit_percentage: 50 }, 1000, 500, 400],
    ['limit_mib wins over limit_percentage', { limit_mib: 100, limit_percentage: 50 }, 1000, 100, 80],
  ];
  it.each(limits)('limits: %s', (_name, raw, totalMiB, hardMiB, softMiB) => {
    let totalRead = false;
    const l = limitsOf(configOf(raw), () => {
      totalRead = true;
      return totalMiB * MIB;
    });
    expect(l).toEqual({ hardBytes: hardMiB * MIB, softBytes: softMiB * MIB });
    // The total is read only for percentages.
    expect(totalRead).toBe(raw.limit_mib === undefined);
  });
});

describe('available memory', () => {
  /** A directory laid out like `/` with the given files. */
  function root(files: Record<string, string>): string {
    const dir = tempDir('spanline-cgroup-');
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    return dir;
  }
  const HOST = 16 * 1024 * MIB;
  const table: [name: string, files: Record<string, string>, bytes: number, source: string][] = [
    [
      'cgroup v2 in a container (own namespace)',
      { 'proc/self/cgroup': '0::/\n', 'sys/fs/cgroup/memory.max': '536870912\n' },
      512 * MIB,
      '/sys/fs/cgroup/memory.max',
    ],
    ['cgroup v2 without a limit', { 'proc/self/cgroup': '0::/\n', 'sys/fs/cgroup/memory.max': 'max\n' }, HOST, 'total memory'],
    [
      'cgroup v2, the limit on an ancestor binds',
      {
        'proc/self/cgroup': '0::/system.slice/spanline.service\n',
        'sys/fs/cgroup/system.slice/spanline.service/memory.max': 'max\n',
        'sys/fs/cgroup/system.slice/memory.max': '1073741824\n',
      },
      1024 * MIB,
      '/sys/fs/cgroup/system.slice/memory.max',
    ],
    [
      'cgroup v2, the smallest of own and ancestor',
      {
        'proc/self/cgroup': '0::/a/b\n',
        'sys/fs/cgroup/a/b/memory.max': '268435456\n',
        'sys/fs/cgroup/a/memory.max': '1073741824\n',
      },
      256 * MIB,
      '/sys/fs/cgroup/a/b/memory.max',
    ],
    [
      'cgroup v1 (a hybrid host: v2 has no memory controller)',
      {
        'proc/self/cgroup': '4:memory:/docker/abc\n0::/\n',
        'sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes': '209715200\n',
        'sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712\n',
      },
      200 * MIB,
      '/sys/fs/cgroup/memory/docker/abc/memory.limit_in_bytes',
    ],
    [
      'cgroup v1, own path not mounted: the mount root is the container',
      { 'proc/self/cgroup': '5:cpuacct,memory:/kubepods/pod1/c1\n', 'sys/fs/cgroup/memory/memory.limit_in_bytes': '314572800\n' },
      300 * MIB,
      '/sys/fs/cgroup/memory/memory.limit_in_bytes',
    ],
    [
      'cgroup v1 without a limit',
      { 'proc/self/cgroup': '4:memory:/\n', 'sys/fs/cgroup/memory/memory.limit_in_bytes': '9223372036854771712\n' },
      HOST,
      'total memory',
    ],
    ['a limit above the host memory is no limit', { 'proc/self/cgroup': '0::/\n', 'sys/fs/cgroup/memory.max': String(64 * 1024 * MIB) }, HOST, 'total memory'],
    ['no cgroup files (not Linux)', {}, HOST, 'total memory'],
  ];
  it.each(table)('%s', (_name, files, bytes, source) => {
    expect(availableMemory(root(files), HOST)).toEqual({ bytes, source });
  });
});

describe('memory_limiter processor', () => {
  it('refuses batches and early admission with the reason memory_limit, exports its state as metrics', async () => {
    const metrics = new SelfMetrics();
    const processor = memoryLimiterProcessor.create(configOf({ limit_mib: 1, check_interval: '1h' }), {
      id: 'memory_limiter',
      logger: pino({ level: 'silent' }),
      metrics,
      configDir: '.',
      pipeline: 'traces',
      durableDownstream: false,
      next: { consume: async () => undefined },
      dropped: () => undefined,
    });
    if (!('process' in processor)) throw new Error('memory_limiter should be a process-style processor');
    const batch = spans('a', 'b');
    // Before start (no check yet) it passes data through.
    expect(processor.process(batch)).toBe(batch);
    await processor.start!();
    try {
      // Any Node process uses more than 1 MiB of RSS.
      expect(() => processor.process(batch)).toThrow(/memory use .* MiB is above the soft limit of 0.8 MiB; retry later/);
      const refusal = processor.admit!(10);
      expect(refusal).toMatchObject({ retryable: true, reason: 'memory_limit', retryAfterMs: 3_600_000 });
      const text = await metrics.text();
      expect(text).toMatch(/spanline_memory_limiter_refusing\{processor="memory_limiter",pipeline="traces"\} 1/);
      expect(text).toContain(`spanline_memory_limiter_limit_bytes{processor="memory_limiter",pipeline="traces",limit="hard"} ${MIB}`);
      expect(text).toContain(`spanline_memory_limiter_limit_bytes{processor="memory_limiter",pipeline="traces",limit="soft"} ${MIB - Math.floor(MIB / 5)}`);
      const used = Number(/spanline_memory_limiter_memory_bytes\{[^}]*\} (\d+)/.exec(text)?.[1]);
      expect(used).toBeGreaterThan(10 * MIB);
    } finally {
      await processor.shutdown!(AbortSignal.abort());
    }
  });
});
