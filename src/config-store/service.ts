/**
 * Wiring the config store into a server: its storage behind the barrier
 * under `config/`, its change feed on the raw storage (watch events carry
 * keys and revisions only, never values, so the feed needs no unsealing),
 * and the Consul listener. `startConfigStore` is what run.ts calls.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { ConfigListenerConfig } from '../config/server-config.ts';
import type { Core } from '../core/core.ts';
import { StorageView } from '../core/storage-view.ts';
import { clientAddressResolver } from '../http/client-address.ts';
import type { BackupScheduler } from '../snapshot/backup.ts';
import { ChangeFeed } from './change-feed.ts';
import { type ConsulLimits, DEFAULT_LIMITS } from './consul/context.ts';
import { buildConsulServer } from './consul/server.ts';
import type { HistoryOptions } from './history.ts';
import { ConfigStore } from './store.ts';

/** The config store's folder in storage, behind the barrier. */
export const STORAGE_PREFIX = 'config/';

export interface RunningConfigStore {
  store: ConfigStore;
  /** `host:port` the Consul face listens on, with the real port. */
  address: string;
  port: number;
  close(): Promise<void>;
}

export async function startConfigStore(
  core: Core,
  listener: ConfigListenerConfig,
  logger: Logger,
  extras: { backups?: BackupScheduler } = {},
): Promise<RunningConfigStore> {
  const history: HistoryOptions = {
    maxEntriesPerKey: listener.historyMaxEntries,
    maxAgeMs: listener.historyMaxAgeSeconds && listener.historyMaxAgeSeconds * 1000,
    sensitivePrefixes: listener.historyHashPrefixes,
  };
  const limits: ConsulLimits = {
    kvMaxValueBytes: listener.kvMaxValueSize ?? DEFAULT_LIMITS.kvMaxValueBytes,
    // As in Consul, a larger value limit also raises the transaction limit.
    txnMaxRequestBytes: Math.max(
      listener.txnMaxReqLen ?? DEFAULT_LIMITS.txnMaxRequestBytes,
      listener.kvMaxValueSize ?? 0,
    ),
  };
  const store = new ConfigStore({
    storage: new StorageView(core.barrier, STORAGE_PREFIX),
    changes: new ChangeFeed(
      (prefix, onEvent) => core.storage.watch(prefix, onEvent),
      STORAGE_PREFIX,
    ),
    nodeName: hostname() || 'keep',
    sessionTtlMinNs:
      listener.sessionTtlMinSeconds === undefined ? undefined : listener.sessionTtlMinSeconds * 1e9,
    epoch: () => (core.sealed ? undefined : core.activeSince.getTime()),
    history,
    logger,
  });

  const { host, port } = splitHostPort(listener.address);
  let bound = `${host}:${port}`;
  const app = buildConsulServer({
    core,
    store,
    limits,
    logger,
    leaderAddress: () => bound,
    backups: extras.backups,
    clientAddress: clientAddressResolver([]),
  });
  try {
    await app.listen({ host, port });
  } catch (err) {
    store.close();
    await app.close().catch(() => {});
    throw listenError(listener.address, err);
  }
  const address = app.server.address();
  const realPort = typeof address === 'object' && address ? address.port : port;
  bound = `${host.includes(':') ? `[${host}]` : host}:${realPort}`;
  store.start();
  logger.info({ address: listener.address, port: realPort }, 'consul kv listening');

  return {
    store,
    address: bound,
    port: realPort,
    async close() {
      // Release blocked queries first, or closing would wait out their waits.
      store.close();
      await app.close();
    },
  };
}

function splitHostPort(address: string): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(address);
  if (!m) throw new Error(`invalid config_listener address "${address}": expected host:port`);
  return { host: m[1] || '0.0.0.0', port: Number(m[2]) };
}

function listenError(address: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE') {
    return new Error(
      `the config listener cannot use ${address}: the address is already in use ` +
        '(is a Consul agent or another Keep server running?). Choose another with ' +
        'config_listener "tcp" { address = "..." } or -dev-config-listen-address',
    );
  }
  if (code === 'EACCES') {
    return new Error(`the config listener cannot use ${address}: permission denied`);
  }
  return new Error(`the config listener cannot use ${address}: ${(err as Error).message}`);
}
