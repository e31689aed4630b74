import { describe, expect, it } from 'vitest';
import { Histogram, Registry } from 'prom-client';
import { DelayHistogram } from '../../../src/processors/tail-sampling/delay-histogram.js';

const NAME = 'spanline_tail_sampling_decision_delay_seconds';
const SAMPLES: [string, number[]][] = [
  ['a', [0, 0.01, 0.011, 0.05, 0.2, 0.25, 0.9, 1, 1.5, 4.9, 7, 29.99, 30, 31, 1000]],
  ['b', [0.003, 0.003, 2]],
];

describe('tail_sampling decision delay histogram', () => {
  it("exposes the same text as prom-client's histogram with the same buckets and observations, one series per processor", async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const reference = new Histogram({
      name: NAME,
      help: 'How long after decision_wait a trace was decided (decisions on time are well under 1 s).',
      labelNames: ['processor', 'pipeline'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers: [theirs],
    });
    for (const [processor, values] of SAMPLES) {
      // each processor asks for the registry's histogram: one metric, one series per processor
      const series = DelayHistogram.of(ours).series({ processor, pipeline: 'traces' });
      for (const v of values) {
        series.observe(v);
        reference.observe({ processor, pipeline: 'traces' }, v);
      }
    }
    expect(ours.getSingleMetric(NAME)).toBe(DelayHistogram.of(ours));
    expect(await ours.metrics()).toBe(await theirs.metrics());
    // as JSON too, but for prom-client's empty exemplar fields
    const withoutExemplars = (ms: Awaited<ReturnType<Registry['getMetricsAsJSON']>>) =>
      ms.map((m) => ({ ...m, values: (m.values as { labels: object; value: number; metricName?: string }[]).map(({ labels, value, metricName }) => ({ labels, value, metricName })) }));
    expect(withoutExemplars(await ours.getMetricsAsJSON())).toEqual(withoutExemplars(await theirs.getMetricsAsJSON()));
  });

  it('keeps a series for the same labels, and reset zeroes it', async () => {
    const registry = new Registry();
    const h = DelayHistogram.of(registry);
    const s = h.series({ processor: 'p', pipeline: 'x' });
    expect(h.series({ processor: 'p', pipeline: 'x' })).toBe(s);
    s.observe(0.2);
    registry.resetMetrics();
    s.observe(3);
    const values = (await h.get()).values;
    expect(values.find((v) => v.metricName === `${NAME}_count`)!.value).toBe(1);
    expect(values.find((v) => v.metricName === `${NAME}_sum`)!.value).toBe(3);
    expect(values.find((v) => v.metricName === `${NAME}_bucket` && v.labels.le === 0.25)!.value).toBe(0);
    expect(values.find((v) => v.metricName === `${NAME}_bucket` && v.labels.le === 5)!.value).toBe(1);
  });
});
