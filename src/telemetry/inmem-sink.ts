/**
 * The in-memory sink behind `GET sys/metrics` (JSON), shaped like Vault's
 * (go-metrics' InmemSink): values are aggregated per 10-second interval and
 * six intervals are kept; the answer shows the last finished interval, or
 * the running one when it is the only one. Counters therefore show what
 * happened in ten seconds, not since start, exactly as Vault's do, and a
 * gauge shows only if it was set in that interval (the telemetry loop sets
 * the core gauges every second for that reason).
 */
import type { Labels, MetricSink } from '../core/metrics.ts';

const INTERVAL_MS = 10_000;
const RETAIN_MS = 60_000;

interface GaugeValue {
  name: string;
  labels: Labels;
  value: number;
}

interface Aggregate {
  name: string;
  labels: Labels;
  count: number;
  sum: number;
  sumSq: number;
  min: number;
  max: number;
}

interface Interval {
  startMs: number;
  gauges: Map<string, GaugeValue>;
  counters: Map<string, Aggregate>;
  samples: Map<string, Aggregate>;
}

export class InmemSink implements MetricSink {
  readonly #intervals: Interval[] = [];
  readonly #now: () => number;

  constructor(opts: { now?: () => number } = {}) {
    this.#now = opts.now ?? Date.now;
  }

  counter(name: string, value: number, labels?: Labels): void {
    ingest(this.#current().counters, name, value, labels);
  }

  gauge(name: string, value: number, labels?: Labels): void {
    this.#current().gauges.set(key(name, labels), { name, labels: labels ?? {}, value });
  }

  timing(name: string, ms: number, labels?: Labels): void {
    ingest(this.#current().samples, name, ms, labels);
  }

  /** Vault's `sys/metrics` JSON for the interval described above. */
  display(): Record<string, unknown> {
    this.#current();
    const n = this.#intervals.length;
    const interval = this.#intervals[n === 1 ? 0 : n - 2]!;
    return {
      Timestamp: goTime(interval.startMs),
      Gauges: sorted(interval.gauges).map((g) => ({
        Name: g.name,
        Value: g.value,
        Labels: g.labels,
      })),
      Points: [],
      Counters: sorted(interval.counters).map(render),
      Samples: sorted(interval.samples).map(render),
    };
  }

  #current(): Interval {
    const now = this.#now();
    const startMs = now - (now % INTERVAL_MS);
    const last = this.#intervals[this.#intervals.length - 1];
    if (last?.startMs === startMs) return last;

    const interval: Interval = {
      startMs,
      gauges: new Map(),
      counters: new Map(),
      samples: new Map(),
    };
    this.#intervals.push(interval);
    while (this.#intervals[0]!.startMs <= now - RETAIN_MS) this.#intervals.shift();
    return interval;
  }
}

function ingest(into: Map<string, Aggregate>, name: string, value: number, labels?: Labels) {
  const k = key(name, labels);
  let agg = into.get(k);
  if (!agg) {
    agg = { name, labels: labels ?? {}, count: 0, sum: 0, sumSq: 0, min: value, max: value };
    into.set(k, agg);
  }
  agg.count += 1;
  agg.sum += value;
  agg.sumSq += value * value;
  agg.min = Math.min(agg.min, value);
  agg.max = Math.max(agg.max, value);
}

function render(agg: Aggregate): Record<string, unknown> {
  const mean = agg.count === 0 ? 0 : agg.sum / agg.count;
  // go-metrics' sample standard deviation.
  const div = agg.count * (agg.count - 1);
  const stddev = div === 0 ? 0 : Math.sqrt((agg.count * agg.sumSq - agg.sum ** 2) / div);
  return {
    Name: agg.name,
    Count: agg.count,
    Rate: agg.sum / (INTERVAL_MS / 1000),
    Sum: agg.sum,
    Min: agg.min,
    Max: agg.max,
    Mean: mean,
    Stddev: stddev,
    Labels: agg.labels,
  };
}

function sorted<T extends { name: string }>(values: Map<string, T>): T[] {
  return [...values.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, v]) => v);
}

function key(name: string, labels?: Labels): string {
  if (!labels) return name;
  let out = name;
  for (const k of Object.keys(labels).sort()) out += `;${k}=${labels[k]}`;
  return out;
}

/** Go's `time.Time.String()` in UTC, as Vault prints the interval: `2024-05-01 19:59:50 +0000 UTC`. */
function goTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19).replace('T', ' ')} +0000 UTC`;
}
