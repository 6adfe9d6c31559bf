/**
 * The server configuration file, in Vault's shape (HCL or JSON), so an
 * operator's existing Vault config mostly carries over:
 *
 *   storage "sqlite" { path = "./keep-data" }
 *   listener "tcp" { address = "127.0.0.1:8200"  tls_disable = true }
 *   config_listener "tcp" { address = "127.0.0.1:8500" }
 *   default_lease_ttl = "768h"
 *
 * Unknown keys are warnings, not failures, as a Vault config may hold keys
 * Keep has no use for; a known key with a wrong type or value is an error
 * naming the key.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { extname } from 'node:path';
import { parseDuration } from '../lib/duration.ts';
import { loadHcl } from '../lib/hcl.ts';

export interface ListenerConfig {
  type: 'tcp';
  /** `host:port` to bind. Vault's default: `127.0.0.1:8200`. */
  address: string;
  clusterAddress?: string;
  tlsDisable: boolean;
  /** Set whenever `tlsDisable` is false (the parser refuses TLS without both files). */
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** Addresses and CIDRs whose `X-Forwarded-For` header is trusted. Empty: none. */
  xForwardedForAuthorizedAddrs: string[];
  /**
   * Largest request body in bytes: 32 MiB unless set. Vault reads a negative
   * value as "no limit", stored here as `Number.MAX_SAFE_INTEGER`.
   */
  maxRequestSize: number;
  /** `telemetry { unauthenticated_metrics_access }`: serve `sys/metrics` without a token here. */
  telemetry: { unauthenticatedMetricsAccess: boolean };
  /** `tls_pki_mount`, `tls_pki_role`, `tls_pki_common_name`: the listener issues its own certificate. */
  tlsPki?: { mount: string; role: string; commonName: string };
}

/** The top-level `telemetry { }` block; what a server without one runs with is below. */
export interface TelemetryConfig {
  /** `host:port` of a StatsD server to send every metric to over UDP. */
  statsdAddress?: string;
  /** How long Prometheus series live after their last update; 0 turns Prometheus off. */
  prometheusRetentionSeconds: number;
  /** Vault puts the host name into gauge names unless this is true. */
  disableHostname: boolean;
}

/**
 * The Consul KV face (`config_listener "tcp"`), Keep's own addition. Besides
 * `address`, Consul's own limits under their Consul names, and the config
 * store's change-history retention; each is absent unless set.
 */
export interface ConfigListenerConfig {
  type: 'tcp';
  address: string;
  /** `kv_max_value_size` in bytes (Consul's default 512 KiB). */
  kvMaxValueSize?: number;
  /** `txn_max_req_len` in bytes (Consul's default 512 KiB). */
  txnMaxReqLen?: number;
  /** `session_ttl_min` in seconds (Consul's default 10s). */
  sessionTtlMinSeconds?: number;
  /** `history_max_entries`: changes kept per key (0: all). */
  historyMaxEntries?: number;
  /** `history_max_age` in seconds (0: forever). */
  historyMaxAgeSeconds?: number;
  /** `history_hash_prefixes`: keys whose history keeps value hashes, not values. */
  historyHashPrefixes?: string[];
}

export interface ServerConfig {
  /** `storage "<type>" { ... }`; the options are passed to the backend as written. */
  storage: { type: string; options: Record<string, unknown> };
  listeners: ListenerConfig[];
  /** Absent when the file has no `config_listener` block: no Consul KV face. */
  configListener?: ConfigListenerConfig;
  apiAddr?: string;
  clusterAddr?: string;
  /** HA standbys answer 307 to the active node's `api_addr` instead of forwarding requests. */
  disableClustering?: boolean;
  ui: boolean;
  /** One of trace, debug, info, warn, error (Vault's `warning`/`err` are mapped). */
  logLevel: string;
  defaultLeaseTtlSeconds: number;
  maxLeaseTtlSeconds: number;
  /** Absent when the file has no `telemetry` block: `DEFAULT_TELEMETRY` applies. */
  telemetry?: TelemetryConfig;
  /** Kept as written (blocks flattened to objects) for the backup feature to read. */
  backup?: Record<string, unknown>;
}

export interface ParsedServerConfig {
  config: ServerConfig;
  /** One line per ignored or ineffective key, for the server to log at start-up. */
  warnings: string[];
}

const DEFAULT_API_ADDRESS = '127.0.0.1:8200';
const DEFAULT_CONFIG_ADDRESS = '127.0.0.1:8500';
const DEFAULT_LEASE_TTL_SECONDS = 768 * 3600;
const DEFAULT_MAX_REQUEST_SIZE = 32 * 1024 * 1024;
/** Vault's default `prometheus_retention_time`. */
const DEFAULT_PROMETHEUS_RETENTION_SECONDS = 24 * 3600;

/**
 * Telemetry with no `telemetry` block. Vault leaves Prometheus off then;
 * Keep serves it, since a scrape still needs a token (or a listener's
 * `unauthenticated_metrics_access`) and costs nothing until asked for.
 */
export const DEFAULT_TELEMETRY: TelemetryConfig = {
  prometheusRetentionSeconds: DEFAULT_PROMETHEUS_RETENTION_SECONDS,
  disableHostname: false,
};

const LOG_LEVELS: Record<string, string> = {
  trace: 'trace',
  debug: 'debug',
  info: 'info',
  warn: 'warn',
  warning: 'warn',
  err: 'error',
  error: 'error',
};

/** What a server runs with when given no config file (see DESIGN.md). */
export function defaultServerConfig(): ServerConfig {
  return {
    storage: { type: 'sqlite', options: { path: './keep-data' } },
    listeners: [
      {
        type: 'tcp',
        address: DEFAULT_API_ADDRESS,
        tlsDisable: true,
        xForwardedForAuthorizedAddrs: [],
        maxRequestSize: DEFAULT_MAX_REQUEST_SIZE,
        telemetry: { unauthenticatedMetricsAccess: false },
      },
    ],
    configListener: { type: 'tcp', address: DEFAULT_CONFIG_ADDRESS },
    ui: true,
    logLevel: 'info',
    defaultLeaseTtlSeconds: DEFAULT_LEASE_TTL_SECONDS,
    maxLeaseTtlSeconds: DEFAULT_LEASE_TTL_SECONDS,
  };
}

/** Reads a config file: JSON when it ends in `.json`, HCL otherwise. */
export function loadServerConfig(file: string): ParsedServerConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    throw new Error(`cannot read configuration file ${JSON.stringify(file)}: ${reason}`);
  }

  const format = extname(file).toLowerCase() === '.json' ? 'json' : 'hcl';
  try {
    return parseServerConfig(text, format);
  } catch (err) {
    throw new Error(`${file}: ${(err as Error).message}`);
  }
}

/** Parses config text. Throws an `Error` naming the key at fault. */
export function parseServerConfig(text: string, format: 'hcl' | 'json'): ParsedServerConfig {
  const root = decode(text, format);
  const warnings: string[] = [];
  const top = new Section(root, '', warnings);

  const storage = parseStorage(top);
  const listeners = top
    .blocks('listener')
    .map(({ label, body }) => parseListener(label, body, warnings));
  if (listeners.length === 0) {
    throw new Error(
      'at least one listener is required, e.g. listener "tcp" { address = "127.0.0.1:8200" }',
    );
  }
  const configListener = parseConfigListener(top, warnings);

  const defaultTtl = top.duration('default_lease_ttl') || DEFAULT_LEASE_TTL_SECONDS;
  const maxTtl = top.duration('max_lease_ttl') || DEFAULT_LEASE_TTL_SECONDS;
  if (defaultTtl > maxTtl) {
    throw new Error(
      `"default_lease_ttl" (${defaultTtl}s) cannot be greater than "max_lease_ttl" (${maxTtl}s)`,
    );
  }

  const config: ServerConfig = {
    storage,
    listeners,
    ui: top.boolean('ui') ?? false,
    logLevel: parseLogLevel(top.string('log_level')),
    defaultLeaseTtlSeconds: defaultTtl,
    maxLeaseTtlSeconds: maxTtl,
  };
  if (configListener) config.configListener = configListener;
  const apiAddr = top.url('api_addr');
  if (apiAddr !== undefined) config.apiAddr = apiAddr;
  const clusterAddr = top.url('cluster_addr');
  if (clusterAddr !== undefined) config.clusterAddr = clusterAddr;
  const disableClustering = top.boolean('disable_clustering');
  if (disableClustering !== undefined) config.disableClustering = disableClustering;
  const telemetry = parseTelemetry(top, warnings);
  if (telemetry) config.telemetry = telemetry;
  const backup = top.rawBlock('backup');
  if (backup) config.backup = backup;

  if (top.boolean('disable_mlock') !== undefined) {
    warnings.push('"disable_mlock" has no effect: Node.js cannot lock memory, so Keep never does');
  }

  top.warnUnknown();
  return { config, warnings };
}

function parseStorage(top: Section): ServerConfig['storage'] {
  // `backend` is Vault's older name for `storage`.
  const blocks = [...top.blocks('storage'), ...top.blocks('backend')];
  if (blocks.length === 0) {
    throw new Error('a storage block is required, e.g. storage "sqlite" { path = "./keep-data" }');
  }
  if (blocks.length > 1) throw new Error('only one storage block is allowed');

  const { label, body } = blocks[0]!;
  return { type: label, options: flatten(body) as Record<string, unknown> };
}

function parseListener(label: string, body: Record<string, unknown>, warnings: string[]) {
  if (label !== 'tcp') {
    throw new Error(`listener type ${JSON.stringify(label)} is not supported; use listener "tcp"`);
  }
  const section = new Section(body, ' in listener "tcp"', warnings);

  const tlsDisable = section.boolean('tls_disable') ?? false;
  const tlsCertFile = section.string('tls_cert_file');
  const tlsKeyFile = section.string('tls_key_file');
  const pki = ['tls_pki_mount', 'tls_pki_role', 'tls_pki_common_name'].map((k) =>
    section.string(k),
  );
  if (pki.some((v) => v !== undefined) && pki.some((v) => v === undefined)) {
    throw new Error(
      'listener "tcp" needs all of "tls_pki_mount", "tls_pki_role" and "tls_pki_common_name", or none',
    );
  }
  const tlsPki =
    pki[0] === undefined ? undefined : { mount: pki[0], role: pki[1]!, commonName: pki[2]! };
  if (tlsPki && tlsDisable)
    throw new Error('listener "tcp": "tls_pki_mount" needs TLS; remove "tls_disable"');
  const oneFile = (tlsCertFile === undefined) !== (tlsKeyFile === undefined);
  if ((!tlsDisable && !tlsPki && tlsCertFile === undefined) || (!tlsDisable && oneFile)) {
    throw new Error(
      'listener "tcp" needs "tls_cert_file" and "tls_key_file" unless "tls_disable" is true ' +
        '(with "tls_pki_mount" the files are optional, but both or neither)',
    );
  }

  const maxRequestSize = section.integer('max_request_size') ?? 0;
  const telemetryBody = section.rawBlock('telemetry', { flattened: false });
  const telemetry = new Section(telemetryBody ?? {}, ' in listener "tcp" telemetry', warnings);

  const listener: ListenerConfig = {
    type: 'tcp',
    address: section.address('address') ?? DEFAULT_API_ADDRESS,
    tlsDisable,
    xForwardedForAuthorizedAddrs: section.cidrList('x_forwarded_for_authorized_addrs'),
    maxRequestSize:
      maxRequestSize === 0
        ? DEFAULT_MAX_REQUEST_SIZE
        : maxRequestSize < 0
          ? Number.MAX_SAFE_INTEGER
          : maxRequestSize,
    telemetry: {
      unauthenticatedMetricsAccess: telemetry.boolean('unauthenticated_metrics_access') ?? false,
    },
  };
  const clusterAddress = section.address('cluster_address');
  if (clusterAddress !== undefined) listener.clusterAddress = clusterAddress;
  if (tlsCertFile !== undefined) listener.tlsCertFile = tlsCertFile;
  if (tlsKeyFile !== undefined) listener.tlsKeyFile = tlsKeyFile;
  if (tlsPki) listener.tlsPki = tlsPki;

  telemetry.warnUnknown();
  section.warnUnknown();
  return listener;
}

function parseTelemetry(top: Section, warnings: string[]): TelemetryConfig | undefined {
  const body = top.rawBlock('telemetry', { flattened: false });
  if (body === undefined) return undefined;

  const section = new Section(body, ' in telemetry', warnings);
  const retention = section.optionalDuration('prometheus_retention_time');
  const telemetry: TelemetryConfig = {
    prometheusRetentionSeconds: retention ?? DEFAULT_PROMETHEUS_RETENTION_SECONDS,
    disableHostname: section.boolean('disable_hostname') ?? false,
  };
  const statsd = section.address('statsd_address');
  if (statsd !== undefined) telemetry.statsdAddress = statsd;
  section.warnUnknown();
  return telemetry;
}

function parseConfigListener(top: Section, warnings: string[]): ConfigListenerConfig | undefined {
  const blocks = top.blocks('config_listener');
  if (blocks.length === 0) return undefined;
  if (blocks.length > 1) throw new Error('only one config_listener block is allowed');

  const { label, body } = blocks[0]!;
  if (label !== 'tcp') {
    throw new Error(
      `config_listener type ${JSON.stringify(label)} is not supported; use config_listener "tcp"`,
    );
  }
  const section = new Section(body, ' in config_listener "tcp"', warnings);
  const address = section.address('address') ?? DEFAULT_CONFIG_ADDRESS;
  const listener: ConfigListenerConfig = { type: 'tcp', address };
  const positive = (key: string) => {
    const n = section.integer(key);
    if (n !== undefined && n < 1) throw new Error(`"${key}" in config_listener must be at least 1`);
    return n;
  };
  const kvMax = positive('kv_max_value_size');
  if (kvMax !== undefined) listener.kvMaxValueSize = kvMax;
  const txnMax = positive('txn_max_req_len');
  if (txnMax !== undefined) listener.txnMaxReqLen = txnMax;
  const ttlMin = section.optionalDuration('session_ttl_min');
  if (ttlMin !== undefined) listener.sessionTtlMinSeconds = ttlMin;
  const maxEntries = section.integer('history_max_entries');
  if (maxEntries !== undefined) listener.historyMaxEntries = Math.max(0, maxEntries);
  const maxAge = section.optionalDuration('history_max_age');
  if (maxAge !== undefined) listener.historyMaxAgeSeconds = maxAge;
  const hashPrefixes = section.stringList('history_hash_prefixes');
  if (hashPrefixes !== undefined) listener.historyHashPrefixes = hashPrefixes;
  section.warnUnknown();
  return listener;
}

export function parseLogLevel(value: string | undefined, what = '"log_level"'): string {
  if (value === undefined) return 'info';
  const level = LOG_LEVELS[value.trim().toLowerCase()];
  if (level === undefined || !Object.hasOwn(LOG_LEVELS, value.trim().toLowerCase())) {
    throw new Error(
      `invalid value for ${what}: ${JSON.stringify(value)} (use trace, debug, info, warn or error)`,
    );
  }
  return level;
}

/**
 * One block's keys, read through typed accessors. Each accessor marks its
 * key as known, so whatever is left over is warned about at the end.
 */
class Section {
  readonly #body: Record<string, unknown>;
  readonly #where: string;
  readonly #warnings: string[];
  readonly #read = new Set<string>();

  constructor(body: Record<string, unknown>, where: string, warnings: string[]) {
    this.#body = body;
    this.#where = where;
    this.#warnings = warnings;
  }

  #take(key: string): unknown {
    this.#read.add(key);
    return Object.hasOwn(this.#body, key) ? this.#body[key] : undefined;
  }

  #invalid(key: string, expected: string, value: unknown): Error {
    return new Error(
      `invalid value for ${JSON.stringify(key)}${this.#where}: expected ${expected}, ` +
        `got ${JSON.stringify(value)}`,
    );
  }

  string(key: string): string | undefined {
    const value = this.#take(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw this.#invalid(key, 'a string', value);
    return value;
  }

  /** Vault takes Go's boolean spellings (`"true"`, `"1"`, `"F"`, …) where it takes a boolean. */
  boolean(key: string): boolean | undefined {
    const value = this.#take(key);
    if (value === undefined) return undefined;
    if (typeof value === 'boolean') return value;
    if (value === 1 || value === 0) return value === 1;
    if (typeof value === 'string') {
      if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(value)) return true;
      if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(value)) return false;
    }
    throw this.#invalid(key, 'a boolean (true or false)', value);
  }

  /** A whole number, or a string holding one. */
  integer(key: string): number | undefined {
    const value = this.#take(key);
    if (value === undefined) return undefined;
    if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
    if (typeof value === 'string' && /^[+-]?\d+$/.test(value.trim())) {
      const parsed = Number(value.trim());
      if (Number.isSafeInteger(parsed)) return parsed;
    }
    throw this.#invalid(key, 'a whole number', value);
  }

  /** Seconds from `"768h"`, `"30m"` or a number of seconds; 0 when absent. */
  duration(key: string): number {
    const value = this.#take(key);
    if (value === undefined) return 0;
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw this.#invalid(key, 'a duration such as "768h"', value);
    }
    try {
      return parseDuration(value);
    } catch (err) {
      throw new Error(
        `invalid value for ${JSON.stringify(key)}${this.#where}: ${(err as Error).message}`,
      );
    }
  }

  /** Like `duration`, but undefined when absent, so an explicit 0 can mean "off". */
  optionalDuration(key: string): number | undefined {
    const present = Object.hasOwn(this.#body, key);
    const seconds = this.duration(key);
    return present ? seconds : undefined;
  }

  /** `host:port`, port 0–65535, IPv6 hosts in brackets. */
  address(key: string): string | undefined {
    const value = this.string(key);
    if (value === undefined) return undefined;
    const m = /^(\[[^\]]+\]|[^:[\]]*):(\d{1,5})$/.exec(value);
    if (!m || Number(m[2]) > 65535) throw this.#invalid(key, 'host:port', value);
    return value;
  }

  /** A list of strings (a single string counts as a list of one). */
  stringList(key: string): string[] | undefined {
    const value = this.#take(key);
    if (value === undefined) return undefined;
    const list = Array.isArray(value) ? value : [value];
    if (list.some((v) => typeof v !== 'string'))
      throw this.#invalid(key, 'a list of strings', value);
    return list as string[];
  }

  /** An http(s) URL such as `https://keep.example.com:8200`. */
  url(key: string): string | undefined {
    const value = this.string(key);
    if (value === undefined) return undefined;
    let protocol = '';
    try {
      protocol = new URL(value).protocol;
    } catch {
      // reported below
    }
    if (protocol !== 'http:' && protocol !== 'https:') {
      throw this.#invalid(key, 'an http:// or https:// URL', value);
    }
    return value;
  }

  /** Vault takes a comma-separated string or a list; each entry an IP address or CIDR. */
  cidrList(key: string): string[] {
    const value = this.#take(key);
    if (value === undefined) return [];
    let entries: unknown[];
    if (typeof value === 'string') entries = value.split(',').map((s) => s.trim());
    else if (Array.isArray(value))
      entries = value.map((v) => (typeof v === 'string' ? v.trim() : v));
    else throw this.#invalid(key, 'a comma-separated string or a list of CIDRs', value);

    for (const entry of entries) {
      if (typeof entry !== 'string' || !isCidr(entry)) {
        throw this.#invalid(key, 'IP addresses or CIDRs such as "10.0.0.0/8"', entry);
      }
    }
    return entries as string[];
  }

  /** Label-keyed blocks: `listener "tcp" { }` → [{ label: "tcp", body }], in file order. */
  blocks(key: string): { label: string; body: Record<string, unknown> }[] {
    const value = this.#take(key);
    if (value === undefined) return [];

    const example = `${key} "<type>" { ... }`;
    const out: { label: string; body: Record<string, unknown> }[] = [];
    for (const item of asList(value)) {
      if (!isPlainObject(item)) throw new Error(`"${key}" must be a block: ${example}`);
      for (const [label, bodies] of Object.entries(item)) {
        for (const body of asList(bodies)) {
          if (!isPlainObject(body)) {
            throw new Error(`"${key}" needs a type label: ${example}`);
          }
          out.push({ label, body });
        }
      }
    }
    return out;
  }

  /** An unlabelled block such as `telemetry { ... }`, at most once. */
  rawBlock(key: string, opts = { flattened: true }): Record<string, unknown> | undefined {
    const value = this.#take(key);
    if (value === undefined) return undefined;

    const items = asList(value);
    if (items.length !== 1 || !isPlainObject(items[0])) {
      throw new Error(`"${key}"${this.#where} must be a single block: ${key} { ... }`);
    }
    return opts.flattened ? (flatten(items[0]) as Record<string, unknown>) : items[0];
  }

  warnUnknown(): void {
    for (const key of Object.keys(this.#body)) {
      if (!this.#read.has(key)) {
        this.#warnings.push(`unknown configuration key ${JSON.stringify(key)}${this.#where}`);
      }
    }
  }
}

function isCidr(entry: string): boolean {
  const [address, bits, ...rest] = entry.split('/');
  if (rest.length > 0 || address === undefined) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

/**
 * HCL1 decodes every block (and, for JSON input, every object) as a list of
 * objects. Turn one-element lists of objects back into objects so raw
 * sections read naturally; repeated blocks stay lists.
 */
function flatten(value: unknown): unknown {
  if (Array.isArray(value)) {
    if (value.length === 1 && isPlainObject(value[0])) return flatten(value[0]);
    return value.map(flatten);
  }
  if (isPlainObject(value)) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, flatten(v)]));
  }
  return value;
}

function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function decode(text: string, format: 'hcl' | 'json'): Record<string, unknown> {
  if (format === 'json') {
    // HCL1's JSON reader tolerates unbalanced braces and drops malformed
    // sections silently; a config must not lose a listener to a typo.
    try {
      JSON.parse(text);
    } catch (err) {
      throw new Error(`invalid JSON: ${(err as Error).message}`);
    }
    if (!text.trimStart().startsWith('{')) throw new Error('invalid JSON: expected an object');
  }

  let out: string;
  try {
    out = loadHcl()(text);
  } catch {
    throw new Error(`the configuration could not be read as ${format.toUpperCase()}`);
  }
  // Errors come back as a string such as "unable to parse JSON: At 3:5: …".
  if (!out.startsWith('{')) {
    throw new Error(`syntax error: ${out.replace(/^unable to (parse|print) JSON: /, '')}`);
  }
  return JSON.parse(out) as Record<string, unknown>;
}
