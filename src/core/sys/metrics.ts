/**
 * `GET sys/metrics`: the registry's current values in Vault's JSON shape, or
 * Prometheus' text format with `?format=prometheus` (or an `Accept` header
 * asking for OpenMetrics, which Prometheus' scraper sends, as Vault does).
 * Through the logical router it needs a token with `read` on `sys/metrics`;
 * a listener with `unauthenticated_metrics_access` serves the same answer
 * without one, even while sealed (http/server.ts), so a sealed node can
 * still report `keep_core_unsealed 0`.
 */
import type { PathSpec } from '../../framework/backend.ts';
import type { LogicalResponse } from '../../framework/types.ts';
import type { MetricsRegistry } from '../metrics.ts';

const TEXT = 'text/plain; charset=utf-8';

export type MetricsAnswer = NonNullable<LogicalResponse['raw']>;

/** `format` as given (`prometheus`, or '' / undefined for JSON), and the request's Accept header. */
export async function renderMetrics(
  metrics: MetricsRegistry,
  request: { format?: string; accept?: string | string[] },
): Promise<MetricsAnswer> {
  let format = request.format ?? '';
  const accept = [request.accept ?? []].flat().join(',');
  if (format === '' && accept.includes('application/openmetrics-text')) format = 'prometheus';

  const exposition = metrics.exposition;
  if (!exposition) {
    return { status: 400, contentType: TEXT, body: 'telemetry is not running on this server' };
  }
  if (format === 'prometheus') {
    if (!exposition.prometheus) {
      return { status: 400, contentType: TEXT, body: 'prometheus is not enabled' };
    }
    const body = await exposition.prometheus.render();
    return { status: 200, contentType: exposition.prometheus.contentType, body };
  }
  if (format !== '' && format !== 'json') {
    return { status: 400, contentType: TEXT, body: `metric response format "${format}" unknown` };
  }
  return {
    status: 200,
    contentType: 'application/json',
    body: Buffer.from(JSON.stringify(exposition.json())),
  };
}

export function metricsPaths(metrics: MetricsRegistry): PathSpec[] {
  return [
    {
      pattern: 'metrics',
      fields: { format: { type: 'string' } },
      synopsis: "The server's metrics, as JSON or in Prometheus' text format.",
      operations: {
        read: async (req, f) => ({
          raw: await renderMetrics(metrics, {
            format: f.string('format'),
            accept: req.headers.accept,
          }),
        }),
      },
    },
  ];
}
