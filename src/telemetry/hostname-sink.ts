/**
 * Vault puts the host name into every gauge's name unless `disable_hostname`
 * is true (`vault.<host>.core.unsealed`); counters and timings keep their
 * names. Kept for operators whose StatsD dashboards match on it; Prometheus
 * users set `disable_hostname = true`, as Vault's documentation tells them.
 */
import type { Labels, MetricSink } from '../core/metrics.ts';

export function withHostname(sink: MetricSink, hostname: string): MetricSink {
  const prefix = `keep.${hostname}.`;
  return {
    counter: (name: string, value: number, labels?: Labels) => sink.counter(name, value, labels),
    timing: (name: string, ms: number, labels?: Labels) => sink.timing(name, ms, labels),
    gauge: (name: string, value: number, labels?: Labels) =>
      sink.gauge(name.startsWith('keep.') ? prefix + name.slice(5) : name, value, labels),
  };
}
