import type { Registry } from "prom-client";

/** One label set's buckets: `observe` is a short scan and three additions, no allocation, no hashing. */
export class HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(
    readonly labels: Readonly<Record<string, string>>,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  /** Records one value (in the histogram's unit). */
  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]) i++;
    if (i < bounds.length) this.counts[i]++;
    this.sum += value;
    this.count++;
  }
}

interface Sample {
  metricName: string;
  labels: Record<string, string | number>;
  value: number;
}

/**
 * A Prometheus histogram whose per-request cost is an array increment: prom-client's own `observe` hashes
 * the label set on every call (about a microsecond each, several per request). The series are made once
 * per label set by the caller and kept; the registry renders them at scrape time in the usual
 * `_bucket{le=…}` / `_sum` / `_count` form.
 */
export class BucketHistogram {
  readonly type = "histogram";
  readonly aggregator = "sum";
  private readonly series: HistogramSeries[] = [];

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    private readonly bounds: readonly number[],
  ) {
    // prom-client's registry takes any object with this shape (name, help, type, aggregator, get)
    registry.registerMetric(this as unknown as Parameters<Registry["registerMetric"]>[0]);
  }

  /** A new series for one label set (keep it: each call adds another). */
  createSeries(labels: Record<string, string>): HistogramSeries {
    const s = new HistogramSeries(labels, this.bounds);
    this.series.push(s);
    return s;
  }

  /** The samples of every series, as prom-client's registry reads a metric. */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    const values: Sample[] = [];
    const bucket = `${this.name}_bucket`;
    for (const s of this.series) {
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        acc += s.counts[i];
        values.push({ metricName: bucket, labels: { ...s.labels, le: this.bounds[i] }, value: acc });
      }
      values.push({ metricName: bucket, labels: { ...s.labels, le: "+Inf" }, value: s.count });
      values.push({ metricName: `${this.name}_sum`, labels: { ...s.labels }, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: { ...s.labels }, value: s.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
