/**
 * `spanline_tail_sampling_decision_delay_seconds`: a Prometheus histogram observed once per trace decided.
 * prom-client's `Histogram.observe` validates and hashes its labels on every call, which cost more than
 * the rest of a trace's decision; here each processor's series is resolved once (`series`), so that an
 * observation is a bucket search and three additions. It is registered in the same registry and read
 * there as prom-client's own metrics are (`get`), in the same shape as prom-client's histogram.
 */
import type { Metric, Registry } from 'prom-client';

const NAME = 'spanline_tail_sampling_decision_delay_seconds';
const HELP = 'How long after decision_wait a trace was decided (decisions on time are well under 1 s).';
const BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30];

type Labels = { processor: string; pipeline: string };

/** A sample as prom-client's registry reads it from a metric's `get()`. */
interface Sample {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

/** One processor's series: per-bucket counts (not cumulative), sum and count. */
export class DelaySeries {
  readonly counts = new Float64Array(BUCKETS.length);
  sum = 0;
  count = 0;

  constructor(readonly labels: Labels) {}

  /** Records one trace decided `seconds` after its decision_wait. */
  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    for (let i = 0; i < BUCKETS.length; i++) {
      if (seconds <= BUCKETS[i]) {
        this.counts[i]++;
        return;
      }
    }
  }
}

export class DelayHistogram {
  readonly name = NAME;
  readonly help = HELP;
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly all = new Map<string, DelaySeries>();

  /** The histogram of `registry`, registered on first use; every tail_sampling processor shares it. */
  static of(registry: Registry): DelayHistogram {
    const existing = registry.getSingleMetric(NAME) as unknown;
    if (existing instanceof DelayHistogram) return existing;
    const h = new DelayHistogram();
    registry.registerMetric(h as unknown as Metric);
    return h;
  }

  /** The series of one processor (the same one for the same labels). */
  series(labels: Labels): DelaySeries {
    const key = `${labels.processor}\u0000${labels.pipeline}`;
    let s = this.all.get(key);
    if (s === undefined) this.all.set(key, (s = new DelaySeries(labels)));
    return s;
  }

  get(): Promise<{ name: string; help: string; type: string; values: Sample[]; aggregator: string }> {
    const values: Sample[] = [];
    for (const s of this.all.values()) {
      let acc = 0;
      for (let i = 0; i < BUCKETS.length; i++) {
        acc += s.counts[i];
        values.push({ labels: { le: BUCKETS[i], ...s.labels }, value: acc, metricName: `${NAME}_bucket` });
      }
      values.push({ labels: { le: '+Inf', ...s.labels }, value: s.count, metricName: `${NAME}_bucket` });
      values.push({ labels: { ...s.labels }, value: s.sum, metricName: `${NAME}_sum` });
      values.push({ labels: { ...s.labels }, value: s.count, metricName: `${NAME}_count` });
    }
    return Promise.resolve({ name: NAME, help: HELP, type: this.type, values, aggregator: this.aggregator });
  }

  reset(): void {
    for (const s of this.all.values()) {
      s.counts.fill(0);
      s.sum = 0;
      s.count = 0;
    }
  }
}
