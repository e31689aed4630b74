/**
 * Polls the daemon's /metrics while the load runs and keeps the peak of some gauges (the scenario's
 * `watch` list), which the metrics read after the drain no longer show.
 */
export function watchPeaks(daemon, metricsPort, names, intervalMs = 500) {
  const peaks = Object.fromEntries(names.map((n) => [n, 0]));
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        const m = await daemon.metrics(metricsPort);
        for (const n of names) peaks[n] = Math.max(peaks[n], m.sum(n));
      } catch {
        // a missed sample (daemon busy past the request timeout) only makes the peak less precise
      }
      await new Promise((r) => setTimeout(r, intervalMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return peaks;
    },
  };
}
