/** Reading the daemon's self-metrics (Prometheus text format) in tests. */

/** The text the daemon serves at /metrics on `port` (127.0.0.1). */
export async function scrapeMetrics(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(10_000) });
  if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`);
  return res.text();
}

/**
 * The value of metric `name` summed over its series whose labels include all of `labels` (other labels
 * may differ); NaN when no series matches, so that an assertion on a number fails visibly.
 */
export function sampleValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = Number.NaN;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const present = new Map<string, string>();
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) present.set(l[1], l[2]);
    if (!Object.entries(labels).every(([k, v]) => present.get(k) === v)) continue;
    sum = (Number.isNaN(sum) ? 0 : sum) + Number(m[3]);
  }
  return sum;
}
