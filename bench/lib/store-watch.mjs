/**
 * The store-side view of a run: how many spans have reached the store (rows or documents), sampled
 * while the load runs and until the store stops growing. This, not the rate a target accepts into its
 * queue, is the sustained rate of a store sink: a target may answer 202 long before (or without ever)
 * writing a span.
 *
 * Samples are taken one at a time (the next starts when the last answered, at most one per
 * `intervalMs`); each is stamped with the midpoint of its query, since the count is of some moment
 * during it.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

export class StoreWatch {
  /** @param {{count(): Promise<number>, close(): Promise<void>}} counter  a sink's `storedCounter(workDir)` */
  constructor(counter, intervalMs = 1000) {
    this.counter = counter;
    this.intervalMs = intervalMs;
    /** {t: performance.now() ms, n: spans stored} */
    this.samples = [];
    this.errors = 0;
    this.lastError = undefined;
    this.stopped = false;
    this.loop = this.run();
  }

  async run() {
    while (!this.stopped) {
      const t0 = performance.now();
      try {
        const n = await this.counter.count();
        this.samples.push({ t: (t0 + performance.now()) / 2, n });
      } catch (e) {
        // A count can fail while the target creates its tables or indices; the next one will tell.
        this.errors++;
        this.lastError = String(e?.message ?? e);
      }
      const wait = this.intervalMs - (performance.now() - t0);
      if (wait > 0) await sleep(wait);
    }
  }

  last() {
    return this.samples.at(-1)?.n ?? 0;
  }

  /**
   * Resolves once `expected` spans are stored, or the count has not grown for `quietMs` (spans the
   * target lost never arrive), or after `timeoutMs`.
   */
  async settle(expected, { quietMs = 8000, timeoutMs = 300_000 } = {}) {
    const t0 = performance.now();
    let lastN = -1;
    let lastGrowth = t0;
    for (;;) {
      const n = this.last();
      if (n !== lastN) {
        lastN = n;
        lastGrowth = performance.now();
      }
      if (n >= expected) return { ms: Math.round(performance.now() - t0), timedOut: false, stalled: false };
      if (performance.now() - lastGrowth > quietMs) return { ms: Math.round(performance.now() - t0), timedOut: false, stalled: true };
      if (performance.now() - t0 > timeoutMs) return { ms: Math.round(performance.now() - t0), timedOut: true, stalled: false };
      await sleep(250);
    }
  }

  async stop() {
    this.stopped = true;
    await this.loop;
    await this.counter.close();
  }

  /** Spans stored at `t` (performance.now() ms), linear between samples. */
  at(t) {
    const s = this.samples;
    if (s.length === 0) return 0;
    if (t <= s[0].t) return s[0].n;
    for (let i = 1; i < s.length; i++) {
      if (s[i].t >= t) return s[i - 1].n + ((s[i].n - s[i - 1].n) * (t - s[i - 1].t)) / (s[i].t - s[i - 1].t);
    }
    return s.at(-1).n;
  }

  /**
   * Figures for a run whose load started at `loadStart` and was measured from `measureStart` to
   * `loadEnd` (performance.now() ms).
   */
  summary({ loadStart, measureStart, loadEnd }) {
    const s = this.samples;
    const final = this.last();
    const firstFinal = s.find((x) => x.n === final);
    const allStoredS = firstFinal ? (firstFinal.t - loadStart) / 1000 : undefined;
    // Per-interval rates within the measured phase (first differences of the samples).
    const rates = [];
    for (let i = 1; i < s.length; i++) {
      if (s[i - 1].t >= measureStart && s[i].t <= loadEnd) rates.push(((s[i].n - s[i - 1].n) * 1000) / (s[i].t - s[i - 1].t));
    }
    rates.sort((a, b) => a - b);
    const pct = (p) => (rates.length ? rates[Math.min(rates.length - 1, Math.floor(p * rates.length))] : undefined);
    return {
      storedSpans: final,
      measuredStoredSpansPerSec: ((this.at(loadEnd) - this.at(measureStart)) * 1000) / (loadEnd - measureStart),
      // Everything stored over the time from the start of the load to the sample that first saw it all.
      overallStoredSpansPerSec: allStoredS ? final / allStoredS : undefined,
      allStoredAfterLoadS: firstFinal ? Math.max(0, (firstFinal.t - loadEnd) / 1000) : undefined,
      intervalRate: { min: rates[0], p10: pct(0.1), p50: pct(0.5), max: rates.at(-1) },
      samples: s.map((x) => ({ s: +((x.t - loadStart) / 1000).toFixed(3), n: x.n })),
      countErrors: this.errors,
      lastCountError: this.lastError,
    };
  }
}

/** The pid of the first process whose command line contains every one of `needles` (the store's server). */
export function findPid(needles) {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'latin1').replaceAll('\0', ' ');
    } catch {
      continue;
    }
    if (needles.every((n) => cmdline.includes(n))) return Number(entry);
  }
  return undefined;
}
