/**
 * Wires the core's metrics registry to its sinks from the `telemetry` block:
 * the in-memory sink (always; `sys/metrics` JSON), Prometheus (unless its
 * retention is 0) and StatsD (when `statsd_address` is set). Like Vault's
 * metrics loop, it sets the state gauges every second, so a StatsD server,
 * the 10-second JSON intervals and Prometheus' retention all keep seeing them.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { TelemetryConfig } from '../config/server-config.ts';
import type { Core } from '../core/core.ts';
import type { MetricSink } from '../core/metrics.ts';
import { withHostname } from './hostname-sink.ts';
import { InmemSink } from './inmem-sink.ts';
import { PrometheusSink } from './prometheus-sink.ts';
import { StatsdSink } from './statsd-sink.ts';

const LOOP_INTERVAL_MS = 1000;

/**
 * Counters alerts are written against, exported at 0 from the start (see
 * `PrometheusSink.declareCounter`).
 */
const ALERTED_COUNTERS = ['keep.audit.log_request_failure', 'keep.audit.log_response_failure'];

export interface Telemetry {
  close(): Promise<void>;
}

export function startTelemetry(
  core: Core,
  config: TelemetryConfig,
  opts: { logger: Logger; storageOperations?: readonly string[]; hostname?: string },
): Telemetry {
  const { logger } = opts;
  const host = opts.hostname ?? hostname();
  const wrap = (sink: MetricSink) => (config.disableHostname ? sink : withHostname(sink, host));
  const sinks: MetricSink[] = [];

  const inmem = new InmemSink();
  sinks.push(wrap(inmem));

  let prometheus: PrometheusSink | undefined;
  if (config.prometheusRetentionSeconds > 0) {
    prometheus = new PrometheusSink({
      retentionMs: config.prometheusRetentionSeconds * 1000,
      onConflict: (name, message) => logger.warn({ metric: name }, `metric ${message}`),
    });
    for (const name of ALERTED_COUNTERS) prometheus.declareCounter(name);
    for (const operation of opts.storageOperations ?? []) {
      prometheus.declareCounter('keep.storage.error', { backend: core.storage.type, operation });
    }
    sinks.push(wrap(prometheus));
  }

  let statsd: StatsdSink | undefined;
  if (config.statsdAddress) {
    let reported = false;
    statsd = new StatsdSink(config.statsdAddress, {
      // UDP sends fail only locally (no route, bad host); say so once, not per packet.
      onError: (err) => {
        if (reported) return;
        reported = true;
        logger.warn({ err: err.message, address: config.statsdAddress }, 'statsd send failed');
      },
    });
    sinks.push(wrap(statsd));
  }

  for (const sink of sinks) core.metrics.addSink(sink);
  core.metrics.exposition = {
    json: () => inmem.display(),
    prometheus: prometheus && {
      contentType: prometheus.contentType,
      render: () => prometheus.render(),
    },
  };
  // The token store and backends record through the system view they share.
  core.system.metrics = core.metrics;

  const emitGauges = () => {
    const unsealed = core.sealed ? 0 : 1;
    core.metrics.gauge('keep.core.unsealed', unsealed);
    // A single node is the active node whenever it is unsealed; an HA node when it holds the lock.
    core.metrics.gauge('keep.core.active', core.ha ? (core.ha.active ? 1 : 0) : unsealed);
    const memory = process.memoryUsage();
    core.metrics.gauge('keep.runtime.alloc_bytes', memory.heapUsed);
    core.metrics.gauge('keep.runtime.sys_bytes', memory.rss);
  };
  emitGauges();
  const timer = setInterval(emitGauges, LOOP_INTERVAL_MS);
  timer.unref();

  logger.info(
    {
      prometheus: Boolean(prometheus),
      statsd: config.statsdAddress ?? null,
      disableHostname: config.disableHostname,
    },
    'telemetry started',
  );

  return {
    async close() {
      clearInterval(timer);
      for (const sink of sinks) core.metrics.removeSink(sink);
      await statsd?.close();
    },
  };
}
