/**
 * Starting a server: read the config (or the embedded default), open the
 * storage, build the core and its listeners. `-dev` makes an in-memory server
 * that is initialised and unsealed with one key share, KV v2 at `secret/`.
 */
import { readFileSync } from 'node:fs';
import type { Server as TlsServer } from 'node:tls';
import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import {
  DEFAULT_TELEMETRY,
  defaultServerConfig,
  type ServerConfig,
} from '../config/server-config.ts';
import { type RunningConfigStore, startConfigStore } from '../config-store/service.ts';
import { Core } from '../core/core.ts';
import { buildApiServer } from '../http/server.ts';
import { createLogger } from '../lib/logger.ts';
import { startBackups } from '../snapshot/start.ts';
import { openStorage } from '../storage/index.ts';
import { startTelemetry } from '../telemetry/setup.ts';
import { authMethods, secretEngines } from './backends.ts';
import { MeteredStorage, STORAGE_OPERATIONS } from './metered-storage.ts';
import {
  bootstrapCertificate,
  type ListenerCertRenewer,
  startListenerCertRenewer,
} from './pki-listener.ts';

export interface RunningServer {
  core: Core;
  /** `http://127.0.0.1:8200` or `https://...`, with the real port. */
  address: string;
  /** Set in dev mode only: the single unseal key (base64) and the root token. */
  dev?: { unsealKey: string; rootToken: string };
  close(): Promise<void>;
}

export interface StartOptions {
  config: ServerConfig;
  dev?: { rootTokenId?: string };
  logger?: Logger;
}

export async function startServer(opts: StartOptions): Promise<RunningServer> {
  const { config } = opts;
  const logger = opts.logger ?? createLogger({ level: config.logLevel });
  const storage = new MeteredStorage(
    await openStorage(config.storage.type, config.storage.options),
  );
  const core = new Core({
    storage,
    logger,
    defaultLeaseTtlSeconds: config.defaultLeaseTtlSeconds,
    maxLeaseTtlSeconds: config.maxLeaseTtlSeconds,
    secretFactories: secretEngines(),
    authFactories: authMethods(),
    apiAddr: config.apiAddr,
  });
  const telemetry = startTelemetry(core, config.telemetry ?? DEFAULT_TELEMETRY, {
    logger,
    storageOperations: STORAGE_OPERATIONS,
  });
  storage.metrics = core.metrics;

  let dev: RunningServer['dev'];
  if (opts.dev) {
    const { keys, rootToken } = await core.initialize({
      secretShares: 1,
      secretThreshold: 1,
      rootTokenId: opts.dev.rootTokenId,
    });
    await core.unseal(keys[0]);
    await core.unsealed.router.mount('secret', {
      path: 'secret',
      type: 'kv',
      options: { version: '2' },
      description: 'key/value secret storage',
    });
    dev = { unsealKey: keys[0].toString('base64'), rootToken };
  }

  const apps: FastifyInstance[] = [];
  let configStore: RunningConfigStore | undefined;
  let backups: ReturnType<typeof startBackups> | undefined;
  const renewers: ListenerCertRenewer[] = [];
  let address = '';
  try {
    for (const listener of config.listeners) {
      const tls = await listenerTls(listener, logger);
      const app = buildApiServer(core, {
        tls,
        maxRequestBytes: listener.maxRequestSize,
        unauthenticatedMetricsAccess: listener.telemetry.unauthenticatedMetricsAccess,
        trustedProxies: listener.xForwardedForAuthorizedAddrs,
        haRedirect: config.disableClustering,
      });
      const { host, port } = splitAddress(listener.address);
      await app.listen({ host, port });
      apps.push(app);
      const bound = app.server.address();
      const realPort = typeof bound === 'object' && bound ? bound.port : port;
      const shown = host.includes(':') ? `[${host}]` : host;
      address ||= `${tls ? 'https' : 'http'}://${shown}:${realPort}`;
      // HA: what this node advertises to the others (api_addr, else where it listens).
      if (apps.length === 1) {
        const clusterAddr =
          config.clusterAddr ??
          (listener.clusterAddress ? `https://${listener.clusterAddress}` : undefined);
        core.ha?.setAddresses(config.apiAddr ?? address, clusterAddr);
      }
      logger.info({ address: listener.address, port: realPort, tls: Boolean(tls) }, 'listening');
      if (listener.tlsPki && tls) {
        renewers.push(
          startListenerCertRenewer({
            core,
            server: app.server as unknown as TlsServer,
            config: listener.tlsPki,
            logger,
            fallback: tls,
          }),
        );
      }
    }
    // The Consul KV face, on its own listener (config_listener "tcp").
    // Scheduled snapshots (`backup`), also taken on demand through the Consul face.
    if (config.backup) backups = startBackups(core, config.backup, logger);
    if (config.configListener) {
      configStore = await startConfigStore(core, config.configListener, logger, { backups });
    }
  } catch (err) {
    for (const r of renewers) r.stop();
    backups?.stop();
    await Promise.allSettled(apps.map((a) => a.close()));
    await telemetry.close();
    await storage.close();
    throw err;
  }

  return {
    core,
    address,
    dev,
    async close() {
      for (const r of renewers) r.stop();
      backups?.stop();
      // An active HA node hands the lock over first, so a standby takes over at once.
      await core.ha?.stop().catch(() => {});
      await configStore?.close();
      await Promise.allSettled(apps.map((a) => closeWithin(a, 10_000)));
      if (!core.sealed || !core.barrier.sealed) await core.sealNow();
      await telemetry.close();
      await storage.close();
    },
  };
}

/**
 * Closes a listener, waiting up to `ms` for requests in flight; then drops every
 * connection still open (keep-alive clients, standbys forwarding to this node).
 */
async function closeWithin(app: FastifyInstance, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      app.server.closeAllConnections();
      resolve();
    }, ms);
  });
  await Promise.race([app.close(), late]);
  clearTimeout(timer);
}

/**
 * The listener's TLS material: its files; with `tls_pki_mount` and no files,
 * a self-signed bootstrap certificate until the PKI mount issues one.
 */
async function listenerTls(
  listener: ServerConfig['listeners'][number],
  logger: Logger,
): Promise<{ cert: Buffer; key: Buffer } | undefined> {
  if (listener.tlsDisable) return undefined;
  if (listener.tlsCertFile !== undefined) {
    return { cert: readFileSync(listener.tlsCertFile), key: readFileSync(listener.tlsKeyFile!) };
  }
  const boot = await bootstrapCertificate(listener.tlsPki!.commonName);
  logger.warn(
    { address: listener.address, fingerprint: boot.fingerprint },
    'serving a self-signed bootstrap certificate until the pki mount issues the listener certificate',
  );
  return { cert: Buffer.from(boot.cert), key: Buffer.from(boot.key) };
}

export function splitAddress(address: string): { host: string; port: number } {
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(address);
  if (!m) throw new Error(`invalid listener address "${address}": expected host:port`);
  const port = Number(m[2]);
  if (port > 65535) throw new Error(`invalid listener address "${address}": port out of range`);
  return { host: m[1] || '0.0.0.0', port };
}

export { defaultServerConfig };
