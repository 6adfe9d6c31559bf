/**
 * Prometheus text exposition for `GET sys/metrics?format=prometheus`, built
 * on prom-client. Vault's go-metrics Prometheus sink is the model:
 *
 * - names are the dotted names with every character outside `[a-zA-Z0-9_:]`
 *   turned into `_` (`keep.route.read.secret-` → `keep_route_read_secret_`);
 * - counters stay counters (no `_total` suffix), gauges gauges, and timings
 *   (milliseconds) become summaries with quantiles 0.5, 0.9 and 0.99 over
 *   about 10 seconds, plus `_sum` and `_count`;
 * - the HELP text is the name itself;
 * - a series not updated for `prometheus_retention_time` is dropped.
 *
 * prom-client wants each family declared before use with fixed label names;
 * the registry's names are dynamic (a mount path can be part of one), so a
 * family is declared the first time its name is seen, with that call's label
 * names. A later call with other label names is a bug in the caller: missing
 * labels are exported empty and extra ones dropped rather than failing the
 * request that recorded them.
 */
import { Counter, Gauge, Registry, Summary } from 'prom-client';
import type { Labels, MetricSink } from '../core/metrics.ts';

type Kind = 'counter' | 'gauge' | 'summary';
type Metric = Counter<string> | Gauge<string> | Summary<string>;

interface Family {
  kind: Kind;
  metric: Metric;
  labelNames: string[];
  /** Last update per series (key: label values); `Infinity` for declared series. */
  touched: Map<string, { labels: Labels; atMs: number }>;
}

export interface PrometheusSinkOptions {
  /** How long a series is kept after its last update (Vault's `prometheus_retention_time`). */
  retentionMs: number;
  now?: () => number;
  /** Told once per name recorded as two different kinds; the second is ignored. */
  onConflict?: (name: string, message: string) => void;
}

export class PrometheusSink implements MetricSink {
  readonly registry = new Registry();
  readonly #families = new Map<string, Family>();
  readonly #retentionMs: number;
  readonly #now: () => number;
  readonly #onConflict: (name: string, message: string) => void;
  readonly #conflicts = new Set<string>();

  constructor(opts: PrometheusSinkOptions) {
    this.#retentionMs = opts.retentionMs;
    this.#now = opts.now ?? Date.now;
    this.#onConflict = opts.onConflict ?? (() => {});
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  counter(name: string, value: number, labels?: Labels): void {
    const f = this.#family(name, 'counter', labels);
    if (f) (f.metric as Counter<string>).inc(this.#touch(f, labels, this.#now()), value);
  }

  gauge(name: string, value: number, labels?: Labels): void {
    const f = this.#family(name, 'gauge', labels);
    if (f) (f.metric as Gauge<string>).set(this.#touch(f, labels, this.#now()), value);
  }

  timing(name: string, ms: number, labels?: Labels): void {
    const f = this.#family(name, 'summary', labels);
    if (f) (f.metric as Summary<string>).observe(this.#touch(f, labels, this.#now()), ms);
  }

  /**
   * Exports a counter at 0 before anything increments it, and keeps it past
   * the retention time: an alert on `increase()` cannot fire on a series
   * whose first sample is already the failure.
   */
  declareCounter(name: string, labels?: Labels): void {
    const f = this.#family(name, 'counter', labels);
    if (f) (f.metric as Counter<string>).inc(this.#touch(f, labels, Number.POSITIVE_INFINITY), 0);
  }

  /** The text exposition, after dropping series older than the retention time. */
  async render(): Promise<string> {
    this.#expire();
    return this.registry.metrics();
  }

  #family(name: string, kind: Kind, labels?: Labels): Family | undefined {
    const promName = promSafe(name);
    const found = this.#families.get(promName);
    if (found) {
      if (found.kind === kind) return found;
      if (!this.#conflicts.has(promName)) {
        this.#conflicts.add(promName);
        this.#onConflict(name, `recorded as ${kind} but exported as ${found.kind}`);
      }
      return undefined;
    }

    const labelNames = Object.keys(labels ?? {}).map(labelSafe);
    const config = { name: promName, help: promName, labelNames, registers: [this.registry] };
    const metric =
      kind === 'counter'
        ? new Counter(config)
        : kind === 'gauge'
          ? new Gauge(config)
          : new Summary({
              ...config,
              percentiles: [0.5, 0.9, 0.99],
              maxAgeSeconds: 10,
              // Vault's client uses 5 buckets; each is a t-digest every
              // observation goes into, and 2 measured at about half the
              // cost of 5 (1.7 against 3-5 µs). Quantiles then cover the
              // last 5 to 10 seconds instead of 8 to 10.
              ageBuckets: 2,
            });
    const family: Family = { kind, metric, labelNames, touched: new Map() };
    this.#families.set(promName, family);
    return family;
  }

  /** The family's label values for this call, and the series' update time. */
  #touch(f: Family, labels: Labels | undefined, atMs: number): Labels {
    const values: Labels = {};
    for (const name of f.labelNames) values[name] = '';
    for (const [k, v] of Object.entries(labels ?? {})) {
      const name = labelSafe(k);
      if (name in values) values[name] = v;
    }
    const key = f.labelNames.map((n) => values[n]).join('\u0000');
    const prior = f.touched.get(key);
    if (prior?.atMs !== Number.POSITIVE_INFINITY) f.touched.set(key, { labels: values, atMs });
    return values;
  }

  #expire(): void {
    const oldest = this.#now() - this.#retentionMs;
    for (const [promName, f] of this.#families) {
      for (const [key, series] of f.touched) {
        if (series.atMs >= oldest) continue;
        f.touched.delete(key);
        if (f.labelNames.length > 0) f.metric.remove(series.labels);
      }
      if (f.touched.size === 0) {
        this.registry.removeSingleMetric(promName);
        this.#families.delete(promName);
      }
    }
  }
}

/** go-metrics' rule, widened to everything Prometheus does not allow in a name. */
export function promSafe(name: string): string {
  const out = name.replace(/[^a-zA-Z0-9_:]/g, '_');
  return /^[0-9]/.test(out) ? `_${out}` : out;
}

function labelSafe(name: string): string {
  const out = name.replace(/[^a-zA-Z0-9_]/g, '_');
  return /^[0-9]/.test(out) ? `_${out}` : out;
}
