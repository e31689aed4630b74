/** A growable array of numbers backed by a typed array. */
export class NumberLog {
  constructor(Type = Float64Array, capacity = 1 << 16) {
    this.Type = Type;
    this.data = new Type(capacity);
    this.length = 0;
  }

  push(v) {
    if (this.length === this.data.length) {
      const bigger = new this.Type(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = v;
  }

  /** Sets index `i`, growing as needed (new slots are 0). */
  set(i, v) {
    while (i >= this.data.length) {
      const bigger = new this.Type(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[i] = v;
    if (i >= this.length) this.length = i + 1;
  }

  view() {
    return this.data.subarray(0, this.length);
  }
}

/** p50/p90/p99/p99.9/max/mean of a set of samples (ms), nearest-rank. */
export function summarize(values) {
  const n = values.length;
  if (n === 0) return { count: 0 };
  const a = Float64Array.from(values).sort();
  const at = (q) => a[Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))];
  let sum = 0;
  for (let i = 0; i < n; i++) sum += a[i];
  return { count: n, mean: sum / n, p50: at(0.5), p90: at(0.9), p99: at(0.99), p999: at(0.999), max: a[n - 1] };
}
