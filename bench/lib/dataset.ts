/**
 * Data directories for the bench, made in this process with Keep's own
 * classes: a Core over SQLite is initialised (one key share) and unsealed,
 * mounts and policies are created through the mount router and the policy
 * store, and secrets are written straight through the barrier in KV v2's
 * storage layout (`meta/<path>`, `ver/<path>/<n>` under the mount's view),
 * in batched transactions: no HTTP, so 100k or 1M secrets take seconds.
 */
import { join } from 'node:path';
import { Core } from '../../src/core/core.ts';
import type { MountEntry } from '../../src/core/mounts.ts';
import { StorageView } from '../../src/core/storage-view.ts';
import {
  addVersion,
  emptyKey,
  type KvConfig,
  metaKey,
  versionKey,
} from '../../src/engines/kv/v2-store.ts';
import { encodeJson } from '../../src/engines/kv/wire-format.ts';
import { createLogger } from '../../src/lib/logger.ts';
import { authMethods, secretEngines } from '../../src/server/backends.ts';
import { SqliteStorage } from '../../src/storage/sqlite.ts';
import type { TxnOp } from '../../src/storage/types.ts';

/** The policy the bench token holds: 20 rules, one of which grants the bench paths. */
export const BENCH_POLICY = 'bench-reader';
export const SECRET_PREFIX = 'bench/k';

export function benchPolicyHcl(): string {
  const rules: string[] = [];
  for (let i = 0; i < 8; i++) {
    rules.push(`path "secret/data/team-${i}/*" {\n  capabilities = ["read", "list"]\n}`);
  }
  for (let i = 0; i < 6; i++) {
    rules.push(`path "kv-0${i + 1}/data/+/config" {\n  capabilities = ["read"]\n}`);
  }
  rules.push('path "secret/data/admin/*" {\n  capabilities = ["deny"]\n}');
  rules.push('path "secret/metadata/team-*" {\n  capabilities = ["list"]\n}');
  rules.push('path "sys/mounts" {\n  capabilities = ["read"]\n}');
  rules.push('path "auth/token/lookup-self" {\n  capabilities = ["read"]\n}');
  rules.push('path "secret/data/bench/*" {\n  capabilities = ["create", "read", "update"]\n}');
  rules.push('path "secret/metadata/bench/*" {\n  capabilities = ["list", "read"]\n}');
  if (rules.length !== 20) throw new Error('the bench policy must have 20 rules');
  return rules.join('\n\n');
}

export interface Dataset {
  dir: string;
  /** The single unseal key share, base64. */
  unsealKey: string;
  rootToken: string;
  secrets: number;
  policies: number;
  /** Mounts made here (kv v2), besides the built-in cubbyhole, sys and token. */
  mounts: number;
  secretMountUuid: string;
}

const KV_CONFIG: KvConfig = { maxVersions: 0, casRequired: false, deleteVersionAfterSeconds: 0 };

function newCore(dir: string): { core: Core; storage: SqliteStorage } {
  const storage = SqliteStorage.open(join(dir, 'data', 'keep.db'));
  const core = new Core({
    storage,
    logger: createLogger({ level: 'warn' }),
    defaultLeaseTtlSeconds: 768 * 3600,
    maxLeaseTtlSeconds: 768 * 3600,
    secretFactories: secretEngines(),
    authFactories: authMethods(),
  });
  return { core, storage };
}

/**
 * Initialises a data directory with `mounts` KV v2 mounts (`secret/` and
 * `kv-01/`…) and `policies` ACL policies of 5 rules each, plus the bench policy.
 */
export async function createDataset(
  dir: string,
  opts: { policies: number; mounts: number },
): Promise<Dataset> {
  const { core, storage } = newCore(dir);
  try {
    const { keys, rootToken } = await core.initialize({ secretShares: 1, secretThreshold: 1 });
    await core.unseal(keys[0]!);
    const { router, policies } = core.unsealed;
    let secretMount: MountEntry | undefined;
    for (let i = 0; i < opts.mounts; i++) {
      const path = i === 0 ? 'secret' : `kv-${String(i).padStart(2, '0')}`;
      const entry = await router.mount('secret', {
        path,
        type: 'kv',
        options: { version: '2' },
      });
      if (i === 0) secretMount = entry;
    }
    await policies.put(BENCH_POLICY, benchPolicyHcl());
    for (let i = 0; i < opts.policies; i++) {
      const n = String(i).padStart(4, '0');
      const hcl = [
        `path "secret/data/app-${n}/*" { capabilities = ["read", "list"] }`,
        `path "secret/metadata/app-${n}/*" { capabilities = ["list"] }`,
        `path "kv-01/data/app-${n}/+/config" { capabilities = ["read"] }`,
        `path "secret/data/app-${n}/admin" { capabilities = ["deny"] }`,
        `path "auth/token/lookup-self" { capabilities = ["read"] }`,
      ].join('\n');
      await policies.put(`app-${n}`, hcl);
    }
    return {
      dir,
      unsealKey: keys[0]!.toString('base64'),
      rootToken,
      secrets: 0,
      policies: opts.policies + 1,
      mounts: opts.mounts,
      secretMountUuid: secretMount!.uuid,
    };
  } finally {
    if (!core.sealed) await core.sealNow();
    await storage.close();
  }
}

/**
 * Writes secrets `secret/bench/k<from>` … `k<to - 1>` (one version each)
 * through the barrier, 1000 secrets per storage transaction.
 */
export async function addSecrets(ds: Dataset, to: number): Promise<void> {
  if (to <= ds.secrets) return;
  const { core, storage } = newCore(ds.dir);
  try {
    await core.barrier.unseal(Buffer.from(ds.unsealKey, 'base64'));
    const view = new StorageView(core.barrier, `logical/${ds.secretMountUuid}/`);
    const now = Date.now();
    const actor = { display_name: 'bench-seed', accessor: '', remote_addr: '' };
    const batch = 1000;
    for (let start = ds.secrets; start < to; start += batch) {
      const ops: TxnOp[] = [];
      for (let i = start; i < Math.min(to, start + batch); i++) {
        const path = `${SECRET_PREFIX}${i}`;
        const key = emptyKey(now);
        const { number } = addVersion(
          key,
          { createdMs: now, deletionMs: null, destroyed: false, createdBy: actor },
          KV_CONFIG,
        );
        ops.push({ op: 'put', key: metaKey(path), value: encodeJson(key) });
        ops.push({
          op: 'put',
          key: versionKey(path, number),
          value: encodeJson({ value: `bench-value-${i}`, owner: 'bench' }),
        });
      }
      await view.transaction(ops);
    }
    ds.secrets = to;
  } finally {
    core.barrier.seal();
    await storage.close();
  }
}
