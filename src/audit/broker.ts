/**
 * The audit broker every request and response passes through.
 *
 * Keep fails closed: while at least one device is enabled, an entry that no
 * device could record fails the request before any secret leaves the server.
 * With several devices one success suffices, as in Vault. A broker whose last
 * entry went nowhere reports a fault, which `sys/health` turns into 531 so a
 * load balancer drains the node.
 *
 * The device table (type, options, salt) lives behind the barrier at
 * `core/audit` and is reloaded on unseal. Each device has its own salt, made
 * when it is enabled and dropped when it is disabled, as in Vault.
 */
import { randomBytes } from 'node:crypto';
import type { MetricsRegistry } from '../core/metrics.ts';
import { parseBool } from '../framework/fields.ts';
import { BadRequestError, InternalError } from '../lib/errors.ts';
import type { Storage } from '../storage/types.ts';
import { type AuditDevice, createDevice } from './devices.ts';
import { type AuditEvent, formatEntry, type HashOptions, hmacValue } from './entry.ts';

const TABLE_KEY = 'core/audit';

/** The stored description of one enabled device. */
export interface AuditTableEntry {
  path: string;
  type: string;
  description: string;
  options: Record<string, string>;
  local: boolean;
  /** The device's HMAC salt, base64. */
  salt: string;
}

interface Enabled {
  entry: AuditTableEntry;
  device: AuditDevice;
  hash: HashOptions;
  prefix: string;
  /** The device could not be opened; every write fails until it is reopened. */
  broken: boolean;
}

export interface AuditFault {
  component: 'audit';
  message: string;
  since: string;
}

/** How long a failing broker waits between probes from `sys/health`. */
const PROBE_INTERVAL_MS = 1000;

export class AuditBroker {
  readonly #devices = new Map<string, Enabled>();
  readonly #metrics: MetricsRegistry | undefined;
  #storage: Storage | undefined;
  #fault: AuditFault | undefined;
  #lastProbe = 0;
  /** Serialises enable and disable, which rewrite the stored table. */
  #tableLock: Promise<unknown> = Promise.resolve();

  readonly #onFault: ((fault: AuditFault) => void) | undefined;

  constructor(opts: { metrics?: MetricsRegistry; onFault?: (fault: AuditFault) => void } = {}) {
    this.#metrics = opts.metrics;
    this.#onFault = opts.onFault;
  }

  get enabled(): boolean {
    return this.#devices.size > 0;
  }

  /** The fault that makes this node degraded, if any. */
  get fault(): AuditFault | undefined {
    return this.#fault;
  }

  /**
   * Reads the device table and opens every device. A device that cannot be
   * opened stays in the table and fails every write, so requests fail closed
   * instead of going unaudited.
   */
  async load(storage: Storage, onError: (path: string, err: Error) => void): Promise<void> {
    this.#storage = storage;
    for (const entry of await this.#readTable()) {
      try {
        this.#devices.set(
          entry.path,
          enabledFrom(entry, await createDevice(entry.type, entry.options)),
        );
      } catch (err) {
        onError(entry.path, err as Error);
        this.#devices.set(entry.path, {
          ...enabledFrom(entry, brokenDevice(err as Error)),
          broken: true,
        });
      }
    }
  }

  /** Closes every device (on seal); the table stays in storage. */
  async unload(): Promise<void> {
    const devices = [...this.#devices.values()];
    this.#devices.clear();
    this.#storage = undefined;
    this.#fault = undefined;
    await Promise.all(devices.map((d) => d.device.close()));
  }

  list(): AuditTableEntry[] {
    return [...this.#devices.values()].map((d) => d.entry);
  }

  enable(input: Omit<AuditTableEntry, 'salt'>): Promise<void> {
    return this.#withTable(async (table) => {
      const path = normalisePath(input.path);
      if (this.#devices.has(path) || table.some((e) => e.path === path)) {
        throw new BadRequestError(`path "${path}" is already in use`);
      }
      const options = { ...input.options };
      checkCommonOptions(options);
      const device = await createDevice(input.type, options);
      const entry: AuditTableEntry = {
        ...input,
        path,
        options,
        salt: randomBytes(32).toString('base64'),
      };
      try {
        await this.#writeTable([...table, entry]);
      } catch (err) {
        await device.close();
        throw err;
      }
      this.#devices.set(path, enabledFrom(entry, device));
    });
  }

  /** Disables a device; disabling a path with no device is not an error, as in Vault. */
  disable(rawPath: string): Promise<void> {
    return this.#withTable(async (table) => {
      const path = normalisePath(rawPath);
      const enabled = this.#devices.get(path);
      await this.#writeTable(table.filter((e) => e.path !== path));
      this.#devices.delete(path);
      if (this.#devices.size === 0) this.#fault = undefined;
      await enabled?.device.close();
    });
  }

  /** `sys/audit-hash`: the HMAC a device would log for `input`. */
  hash(rawPath: string, input: string): string {
    const enabled = this.#devices.get(normalisePath(rawPath));
    if (!enabled) throw new BadRequestError(`unknown audit device "${rawPath}"`);
    return hmacValue(enabled.hash.salt, input);
  }

  /** Records one event on every device; throws when none recorded it. */
  async log(event: AuditEvent): Promise<void> {
    if (this.#devices.size === 0) return;
    const writes = [...this.#devices.values()].map((d) =>
      d.device.write(`${d.prefix}${JSON.stringify(formatEntry(event, d.hash))}\n`),
    );
    const results = await Promise.allSettled(writes);
    if (results.some((r) => r.status === 'fulfilled')) {
      this.#fault = undefined;
      return;
    }
    this.#metrics?.incr(`keep.audit.log_${event.type}_failure`);
    const first = results[0] as PromiseRejectedResult;
    if (!this.#fault) {
      this.#fault = {
        component: 'audit',
        message: `no audit device could record an entry: ${errorCode(first.reason)}`,
        since: new Date().toISOString(),
      };
      this.#onFault?.(this.#fault);
    }
    throw new InternalError('internal error: the request could not be audited');
  }

  /**
   * Called by `sys/health` while a fault stands: writes a small probe entry
   * so a node whose disk came back leaves the degraded state by itself, even
   * when the load balancer sends it no requests. At most once a second.
   */
  async probe(): Promise<void> {
    if (!this.#fault || Date.now() - this.#lastProbe < PROBE_INTERVAL_MS) return;
    this.#lastProbe = Date.now();
    const line = `${JSON.stringify({ time: new Date().toISOString(), type: 'probe' })}\n`;
    const results = await Promise.allSettled(
      [...this.#devices.values()].map((d) => d.device.write(d.prefix + line)),
    );
    if (results.some((r) => r.status === 'fulfilled')) this.#fault = undefined;
  }

  /**
   * Reopens every device's file, for log rotation on SIGHUP; a device that
   * could not be opened at unseal is tried again.
   */
  async reopen(): Promise<void> {
    await Promise.allSettled(
      [...this.#devices.values()].map(async (d) => {
        if (!d.broken) return d.device.reopen();
        const device = await createDevice(d.entry.type, d.entry.options);
        this.#devices.set(d.entry.path, enabledFrom(d.entry, device));
      }),
    );
  }

  #withTable<T>(fn: (table: AuditTableEntry[]) => Promise<T>): Promise<T> {
    const run = this.#tableLock.then(async () => fn(await this.#readTable()));
    this.#tableLock = run.catch(() => {});
    return run;
  }

  async #readTable(): Promise<AuditTableEntry[]> {
    if (!this.#storage) throw new InternalError('audit table used while sealed');
    const raw = await this.#storage.get(TABLE_KEY);
    return raw ? (JSON.parse(raw.toString('utf8')) as AuditTableEntry[]) : [];
  }

  async #writeTable(table: AuditTableEntry[]): Promise<void> {
    if (!this.#storage) throw new InternalError('audit table used while sealed');
    await this.#storage.put(TABLE_KEY, Buffer.from(JSON.stringify(table)));
  }
}

function enabledFrom(entry: AuditTableEntry, device: AuditDevice): Enabled {
  return {
    entry,
    device,
    broken: false,
    prefix: entry.options.prefix ?? '',
    hash: {
      salt: Buffer.from(entry.salt, 'base64'),
      raw: parseBool(entry.options.log_raw ?? 'false') === true,
      hmacAccessor: parseBool(entry.options.hmac_accessor ?? 'true') !== false,
    },
  };
}

function checkCommonOptions(options: Record<string, string>): void {
  for (const key of ['log_raw', 'hmac_accessor', 'elide_list_responses']) {
    if (options[key] !== undefined && parseBool(options[key]) === undefined) {
      throw new BadRequestError(`invalid value for "${key}": "${options[key]}"`);
    }
  }
  if (options.format !== undefined && options.format !== 'json') {
    throw new BadRequestError(`unsupported audit format "${options.format}": only json`);
  }
}

/** Device paths end in a slash, as `sys/audit` lists them. */
function normalisePath(path: string): string {
  const trimmed = path.replace(/^\/+|\/+$/g, '');
  if (trimmed === '' || /[^A-Za-z0-9_./-]/.test(trimmed) || trimmed.split('/').includes('..')) {
    throw new BadRequestError(`invalid audit device path "${path}"`);
  }
  return `${trimmed}/`;
}

function brokenDevice(cause: Error): AuditDevice {
  const fail = () => Promise.reject(cause);
  return { write: fail, reopen: async () => {}, close: async () => {} };
}

function errorCode(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e?.code ?? e?.message ?? 'unknown error';
}
