/**
 * StatsD over UDP through hot-shots, in Vault's (go-metrics') plain StatsD
 * form: label values are appended to the name as further dotted parts
 * (`keep.core.response_status_code.200.2xx`) because plain StatsD has no
 * tags; hot-shots would write DogStatsD `|#k:v` tags, which it does not.
 * Lines are batched into packets of at most 1400 bytes and flushed every
 * 100 ms, go-metrics' sizes, so a busy server sends few packets.
 */
import { isIPv6 } from 'node:net';
import StatsDClient, { type StatsD } from 'hot-shots';
import type { Labels, MetricSink } from '../core/metrics.ts';

const MAX_PACKET_BYTES = 1400;
const FLUSH_INTERVAL_MS = 100;

export class StatsdSink implements MetricSink {
  readonly #client: StatsD;

  /** `address` is `host:port` (IPv6 in brackets), as Vault's `statsd_address`. */
  constructor(address: string, opts: { onError: (err: Error) => void }) {
    const { host, port } = splitHostPort(address);
    this.#client = new StatsDClient({
      host,
      port,
      protocol: 'udp',
      udpSocketOptions: { type: isIPv6(host) ? 'udp6' : 'udp4' },
      maxBufferSize: MAX_PACKET_BYTES,
      bufferFlushInterval: FLUSH_INTERVAL_MS,
      cacheDns: true,
      telegraf: false,
      errorHandler: opts.onError,
    });
  }

  counter(name: string, value: number, labels?: Labels): void {
    if (value !== 0) this.#client.increment(flatten(name, labels), value);
  }

  gauge(name: string, value: number, labels?: Labels): void {
    this.#client.gauge(flatten(name, labels), value);
  }

  timing(name: string, ms: number, labels?: Labels): void {
    this.#client.timing(flatten(name, labels), ms);
  }

  /** Sends what is buffered, then closes the socket. */
  close(): Promise<void> {
    return new Promise((resolve) => this.#client.close(() => resolve()));
  }
}

/**
 * go-metrics appends label values and replaces `:` and spaces with `_`;
 * `|`, `@`, `#` and line breaks would also break a StatsD line.
 */
function flatten(name: string, labels?: Labels): string {
  let out = name;
  if (labels) for (const value of Object.values(labels)) out += `.${value}`;
  return out.replace(/[:\s|@#]/g, '_');
}

function splitHostPort(address: string): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(address);
  if (!m || Number(m[2]) > 65535) {
    throw new Error(`invalid statsd_address ${JSON.stringify(address)}: expected host:port`);
  }
  return { host: m[1] || '127.0.0.1', port: Number(m[2]) };
}
