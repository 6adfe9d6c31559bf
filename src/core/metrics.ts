/**
 * The metrics registry every part of Keep records into. Names follow Vault's
 * with `keep` in place of `vault` (`keep.core.unsealed`). Sinks (StatsD,
 * Prometheus) subscribe to the registry; with no sink, recording costs a map
 * update and nothing else.
 */
export type Labels = Record<string, string>;

export interface MetricSink {
  counter(name: string, value: number, labels?: Labels): void;
  gauge(name: string, value: number, labels?: Labels): void;
  timing(name: string, ms: number, labels?: Labels): void;
}

interface Summary {
  count: number;
  sum: number;
  max: number;
}

/**
 * What `sys/metrics` serves, set by the server's telemetry (src/telemetry/).
 * `prometheus` is absent when `prometheus_retention_time` is 0, as in Vault.
 */
export interface MetricsExposition {
  /** Vault's JSON shape: `Timestamp`, `Gauges`, `Counters`, `Samples`, `Points`. */
  json(): Record<string, unknown>;
  prometheus?: { contentType: string; render(): Promise<string> };
}

export class MetricsRegistry {
  private readonly counters = new Map<string, number>();
  private readonly gauges = new Map<string, number>();
  private readonly timings = new Map<string, Summary>();
  private readonly sinks: MetricSink[] = [];
  /** Unset until telemetry starts (unit tests build a core without it). */
  exposition: MetricsExposition | undefined;

  addSink(sink: MetricSink): void {
    this.sinks.push(sink);
  }

  removeSink(sink: MetricSink): void {
    const at = this.sinks.indexOf(sink);
    if (at !== -1) this.sinks.splice(at, 1);
  }

  incr(name: string, value = 1, labels?: Labels): void {
    const key = seriesKey(name, labels);
    this.counters.set(key, (this.counters.get(key) ?? 0) + value);
    for (const sink of this.sinks) sink.counter(name, value, labels);
  }

  gauge(name: string, value: number, labels?: Labels): void {
    this.gauges.set(seriesKey(name, labels), value);
    for (const sink of this.sinks) sink.gauge(name, value, labels);
  }

  timing(name: string, ms: number, labels?: Labels): void {
    const key = seriesKey(name, labels);
    const s = this.timings.get(key) ?? { count: 0, sum: 0, max: 0 };
    s.count += 1;
    s.sum += ms;
    s.max = Math.max(s.max, ms);
    this.timings.set(key, s);
    for (const sink of this.sinks) sink.timing(name, ms, labels);
  }

  /** A point-in-time copy, for `sys/metrics` and tests. */
  snapshot(): {
    counters: Record<string, number>;
    gauges: Record<string, number>;
    timings: Record<string, Summary>;
  } {
    return {
      counters: Object.fromEntries(this.counters),
      gauges: Object.fromEntries(this.gauges),
      timings: Object.fromEntries([...this.timings].map(([k, v]) => [k, { ...v }])),
    };
  }
}

function seriesKey(name: string, labels?: Labels): string {
  if (!labels) return name;
  const parts = Object.keys(labels)
    .sort()
    .map((k) => `${k}=${labels[k]}`);
  return `${name}{${parts.join(',')}}`;
}
