/**
 * Optional in-process probe, preloaded into the daemon with `node --import` (bench/run.mjs --probe;
 * also with --profile). It changes no daemon code: it measures the event loop delay (how long ready
 * work waited because the loop was busy — what a request's latency suffers) and GC pauses.
 *
 * Each SIGUSR2 closes a phase (its stats are kept and the counters reset); exit closes the last one and
 * writes every phase as JSON to $SPANLINE_BENCH_PROBE. run.mjs signals at the end of the warm-up and
 * at the end of the load, so the phases are: warm-up, measured, drain+shutdown.
 *
 * Every 250 ms it also samples the process's memory; each phase keeps the sample with the highest RSS,
 * split into V8's heap spaces (committed MB) and what lies outside the heap, to tell what the peak is.
 */
import { writeFileSync } from 'node:fs';
import { constants, monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';

const out = process.env.SPANLINE_BENCH_PROBE;
const KINDS = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

if (out) {
  const eld = monitorEventLoopDelay({ resolution: 5 });
  eld.enable();
  let gc = {};
  let started = performance.now();
  const phases = [];
  let peak;
  const MB = (b) => Math.round(b / 2 ** 20);
  const sample = () => {
    const m = process.memoryUsage();
    if (peak && m.rss <= peak.rss) return;
    const spaces = {};
    for (const sp of getHeapSpaceStatistics()) spaces[sp.space_name.replace(/_space$/, '')] = MB(sp.space_size);
    peak = { rss: m.rss, rssMB: MB(m.rss), heapCommittedMB: MB(m.heapTotal), heapUsedMB: MB(m.heapUsed), externalMB: MB(m.external), arrayBuffersMB: MB(m.arrayBuffers), spaces };
  };
  setInterval(sample, 250).unref();
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      const kind = KINDS[e.detail?.kind] ?? String(e.detail?.kind);
      const g = (gc[kind] ??= { count: 0, totalMs: 0, maxMs: 0 });
      g.count++;
      g.totalMs += e.duration;
      if (e.duration > g.maxMs) g.maxMs = e.duration;
    }
  });
  obs.observe({ entryTypes: ['gc'] });
  const ms = (ns) => Math.round(ns / 1e4) / 100;
  const close = () => {
    const wallMs = performance.now() - started;
    for (const g of Object.values(gc)) g.totalMs = Math.round(g.totalMs * 10) / 10;
    phases.push({
      wallMs: Math.round(wallMs),
      eventLoopDelayMs: { p50: ms(eld.percentile(50)), p90: ms(eld.percentile(90)), p99: ms(eld.percentile(99)), max: ms(eld.max), mean: ms(eld.mean) },
      gc,
      gcShare: Math.round((Object.values(gc).reduce((s, g) => s + g.totalMs, 0) / wallMs) * 1000) / 1000,
      heapUsedMB: Math.round(process.memoryUsage().heapUsed / 2 ** 20),
      peakMemory: peak && { ...peak, rss: undefined },
    });
    peak = undefined;
    eld.reset();
    gc = {};
    started = performance.now();
  };
  process.on('SIGUSR2', close);
  process.on('exit', () => {
    obs.disconnect();
    close();
    writeFileSync(out, JSON.stringify(phases));
  });
}
