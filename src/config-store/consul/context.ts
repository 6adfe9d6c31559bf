/** What every route of the Consul face works with. */
import type { FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Core } from '../../core/core.ts';
import type { BackupScheduler } from '../../snapshot/backup.ts';
import { ConsulError } from '../errors.ts';
import type { ConfigStore } from '../store.ts';

export interface ConsulLimits {
  /** Consul's `kv_max_value_size`: the largest value (PUT body or txn value). */
  kvMaxValueBytes: number;
  /** Consul's `txn_max_req_len`: the largest transaction body. */
  txnMaxRequestBytes: number;
}

/** Consul's defaults for both: Raft's suggested maximum entry size, 512 KiB. */
export const DEFAULT_LIMITS: ConsulLimits = {
  kvMaxValueBytes: 512 * 1024,
  txnMaxRequestBytes: 512 * 1024,
};

export interface FaceContext {
  core: Core;
  store: ConfigStore;
  limits: ConsulLimits;
  logger: Logger;
  /** `host:port` this listener answers on, for `/v1/status/leader`. */
  leaderAddress: () => string;
  /** The client address a request is judged by (history, bound CIDRs). */
  clientAddress: (req: FastifyRequest) => string;
  /** The server's backup schedule (`backup` stanza), for `PUT /v1/keep/backup`. */
  backups?: BackupScheduler;
  /** Jitter source for blocking waits; tests pin it. */
  random?: () => number;
}

/** 503 while sealed or before init, with a plain-text reason, as the issue asks of the face. */
export async function ensureUnsealed(core: Core): Promise<void> {
  if (core.standby) {
    // A standby has no tokens or policies loaded to judge a request by.
    throw new ConsulError(503, 'This Keep node is an HA standby: send requests to the active node');
  }
  if (!core.sealed) return;
  const initialized = await core.seal.initialized();
  throw new ConsulError(503, initialized ? 'Keep is sealed' : 'Keep is not initialized');
}
