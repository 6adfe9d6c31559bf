/**
 * What one AppRole mount keeps, in its own storage view (behind the barrier):
 *
 *   salt                                 32 random bytes, made on first use
 *   role/<name>                          the role (JSON), name in lower case
 *   role_id/<hmac(role_id)>              {"name"}: finds the role at login
 *   secret_id/<name>/<hmac(secret_id)>   the secret ID's entry (JSON)
 *   accessor/<hmac(accessor)>            {"roleName", "secretIdHash"}
 *
 * hmac is HMAC-SHA256 under the salt, hex: neither a secret ID nor a role
 * ID is a storage key, and a secret ID is stored nowhere, only its hash.
 * Multi-key changes are one transaction, so an entry and its accessor come
 * and go together. Read-modify-write steps run under a per-key lock in this
 * process (secret ID uses, role changes); writes reach one node, the active
 * one, so that is enough.
 */
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { cidrMatcher } from '../../lib/cidr.ts';
import { BadRequestError } from '../../lib/errors.ts';
import type { Storage, TxnOp } from '../../storage/types.ts';
import { type LastUse, LastUseTracker } from '../last-use.ts';
import { KeyedLock } from '../token/cache.ts';
import type { RoleEntry } from './role.ts';
import type { SecretIdEntry, SecretIdParams } from './secret-id.ts';

const SALT_KEY = 'salt';
const ROLE_PREFIX = 'role/';
const ROLE_ID_PREFIX = 'role_id/';
const SECRET_ID_PREFIX = 'secret_id/';
const ACCESSOR_PREFIX = 'accessor/';

/** Deletes per transaction when a role and all its secret IDs go. */
const TXN_BATCH = 500;

interface AccessorIndex {
  roleName: string;
  secretIdHash: string;
}

export interface TidyReport {
  /** Secret IDs past their expiration. */
  expired: number;
  /** Secret IDs of roles that no longer exist. */
  orphaned: number;
  /** Accessor index entries that pointed at no secret ID. */
  danglingAccessors: number;
}

/** Why a secret ID did not log in; the caller answers all of them alike. */
export type SecretIdRefusal = 'unknown' | 'expired' | 'cidr';

export interface AppRoleStoreOptions {
  /** Unix milliseconds now. */
  now: () => number;
  /** Shortest time between two last-use writes for one secret ID; default 60 s. */
  lastUseIntervalMs?: number;
  /** Told when a background last-use write fails. */
  onError?: (err: unknown) => void;
}

export class AppRoleStore {
  readonly storage: Storage;
  readonly #now: () => number;
  readonly #locks = new KeyedLock();
  readonly #lastUse: LastUseTracker;
  #salt: Promise<Buffer> | undefined;

  constructor(storage: Storage, opts: AppRoleStoreOptions) {
    this.storage = storage;
    this.#now = opts.now;
    this.#lastUse = new LastUseTracker({
      intervalMs: opts.lastUseIntervalMs,
      write: (key, use) => this.#writeLastUse(key, use),
      onError: (err) => opts.onError?.(err),
    });
  }

  // --- roles -------------------------------------------------------------

  async readRole(name: string): Promise<RoleEntry | undefined> {
    return this.#readJson<RoleEntry>(ROLE_PREFIX + name);
  }

  async listRoles(): Promise<string[]> {
    return this.#keysUnder(ROLE_PREFIX);
  }

  /**
   * Runs a role's read-modify-write (and the issue of its secret IDs)
   * alone, so a role being deleted cannot get a secret ID after its sweep.
   */
  withRole<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.#locks.run(`role:${name}`, fn);
  }

  /**
   * Stores a role (call within `withRole`) and keeps the role ID index in
   * step; a role ID held by another role is refused.
   */
  async writeRole(role: RoleEntry, previous: RoleEntry | undefined): Promise<void> {
    // Role ID changes of all roles go one at a time: two roles cannot both
    // check a custom ID as free and then both take it.
    await this.#locks.run('role-ids', async () => {
      const ops: TxnOp[] = [{ op: 'put', key: ROLE_PREFIX + role.name, value: json(role) }];
      if (!previous || previous.roleId !== role.roleId) {
        const indexKey = ROLE_ID_PREFIX + (await this.#hash(role.roleId));
        const holder = await this.#readJson<{ name: string }>(indexKey);
        if (holder && holder.name !== role.name) {
          const other = await this.readRole(holder.name);
          // An index left by a role that has since changed its ID is stale, not a holder.
          if (other && other.roleId === role.roleId) {
            throw new BadRequestError('role_id already in use');
          }
        }
        ops.push({ op: 'put', key: indexKey, value: json({ name: role.name }) });
        if (previous) {
          ops.push({ op: 'delete', key: ROLE_ID_PREFIX + (await this.#hash(previous.roleId)) });
        }
      }
      await this.storage.transaction(ops);
    });
  }

  /** Deletes a role with every secret ID it issued (call within `withRole`). */
  async deleteRole(role: RoleEntry): Promise<void> {
    await this.#deleteAllSecretIds(role.name);
    await this.#locks.run('role-ids', async () => {
      await this.storage.transaction([
        { op: 'delete', key: ROLE_PREFIX + role.name },
        { op: 'delete', key: ROLE_ID_PREFIX + (await this.#hash(role.roleId)) },
      ]);
    });
  }

  /** The role a login's role ID names, or undefined; compared in constant time. */
  async roleByRoleId(roleId: string): Promise<RoleEntry | undefined> {
    const hash = await this.#hash(roleId);
    const index = await this.#readJson<{ name: string }>(ROLE_ID_PREFIX + hash);
    if (!index) return undefined;
    const role = await this.readRole(index.name);
    if (!role || !sameHash(await this.#hash(role.roleId), hash)) return undefined;
    return role;
  }

  // --- secret IDs ----------------------------------------------------------

  /**
   * Issues a secret ID (call within `withRole`): a UUID, or `custom` when
   * given. Returns the secret ID, which is stored nowhere.
   */
  async createSecretId(
    role: RoleEntry,
    params: SecretIdParams,
    custom?: string,
  ): Promise<{ secretId: string; entry: SecretIdEntry }> {
    const secretId = custom ?? randomUUID();
    const accessor = randomUUID();
    const nowMs = this.#now();
    const entry: SecretIdEntry = {
      secretIdHash: await this.#hash(secretId),
      accessor,
      accessorHash: await this.#hash(accessor),
      roleName: role.name,
      metadata: params.metadata,
      cidrList: params.cidrList,
      tokenBoundCidrs: params.tokenBoundCidrs,
      numUses: params.numUses,
      ttlSeconds: params.ttlSeconds,
      creationTimeMs: nowMs,
      expirationTimeMs: params.ttlSeconds > 0 ? nowMs + params.ttlSeconds * 1000 : 0,
      lastUpdatedTimeMs: nowMs,
    };
    const key = secretIdKey(role.name, entry.secretIdHash);
    await this.#locks.run(key, async () => {
      if (custom !== undefined && (await this.storage.get(key))) {
        throw new BadRequestError('SecretID is already registered');
      }
      const index: AccessorIndex = { roleName: role.name, secretIdHash: entry.secretIdHash };
      await this.storage.transaction([
        { op: 'put', key, value: json(entry) },
        { op: 'put', key: ACCESSOR_PREFIX + entry.accessorHash, value: json(index) },
      ]);
    });
    return { secretId, entry };
  }

  /** The entry of a secret ID of `roleName`, by its value; undefined when unknown. */
  async readSecretId(roleName: string, secretId: string): Promise<SecretIdEntry | undefined> {
    const hash = await this.#hash(secretId);
    const entry = await this.#readJson<SecretIdEntry>(secretIdKey(roleName, hash));
    return entry && sameHash(entry.secretIdHash, hash) ? entry : undefined;
  }

  /** The entry behind an accessor, if it belongs to `roleName`. */
  async readByAccessor(roleName: string, accessor: string): Promise<SecretIdEntry | undefined> {
    const index = await this.#readJson<AccessorIndex>(
      ACCESSOR_PREFIX + (await this.#hash(accessor)),
    );
    if (!index || index.roleName !== roleName) return undefined;
    return this.#readJson<SecretIdEntry>(secretIdKey(roleName, index.secretIdHash));
  }

  /** Accessors of every secret ID of a role (`LIST role/:name/secret-id`). */
  async listAccessors(roleName: string): Promise<string[]> {
    const out: string[] = [];
    for (const hash of await this.#keysUnder(`${SECRET_ID_PREFIX}${roleName}/`)) {
      const entry = await this.#readJson<SecretIdEntry>(secretIdKey(roleName, hash));
      if (entry) out.push(entry.accessor);
    }
    return out.sort();
  }

  /** Deletes a secret ID and its accessor; a missing one is a no-op. */
  async destroySecretId(entry: SecretIdEntry): Promise<void> {
    const key = secretIdKey(entry.roleName, entry.secretIdHash);
    await this.#locks.run(key, () => this.#deleteEntry(key, entry));
  }

  /**
   * Spends one login of a secret ID, alone on this secret ID: of two logins
   * racing for the last use, exactly one gets it. An expired secret ID is
   * deleted; one used from outside its `cidr_list` is left untouched.
   * Returns the entry as it was before this use, or why it was refused.
   */
  async useSecretId(
    roleName: string,
    secretId: string,
    remoteAddr: string,
  ): Promise<SecretIdEntry | SecretIdRefusal> {
    const hash = await this.#hash(secretId);
    const key = secretIdKey(roleName, hash);
    return this.#locks.run(key, async () => {
      const entry = await this.#readJson<SecretIdEntry>(key);
      if (!entry || !sameHash(entry.secretIdHash, hash)) return 'unknown';
      const nowMs = this.#now();
      if (entry.expirationTimeMs !== 0 && entry.expirationTimeMs <= nowMs) {
        await this.#deleteEntry(key, entry);
        return 'expired';
      }
      if (!cidrMatcher(entry.cidrList)(remoteAddr)) return 'cidr';

      if (entry.numUses === 1) {
        await this.#deleteEntry(key, entry);
        return entry;
      }
      if (entry.numUses > 1) {
        const spent = { ...entry, numUses: entry.numUses - 1, lastUpdatedTimeMs: nowMs };
        await this.storage.put(key, json(spent));
      }
      this.#lastUse.record(key, { timeMs: nowMs, addr: remoteAddr });
      return entry;
    });
  }

  /** A login not yet written to the entry, for lookups. */
  unflushedUse(entry: SecretIdEntry): LastUse | undefined {
    return this.#lastUse.unflushed(secretIdKey(entry.roleName, entry.secretIdHash));
  }

  /** Writes every noted last use now (before a seal, and in tests). */
  async flushLastUse(): Promise<void> {
    await this.#lastUse.flush();
  }

  /** Stops the background flush; the store must not be used afterwards. */
  close(): void {
    this.#lastUse.close();
  }

  /**
   * Vault's `tidy/secret-id`: deletes expired secret IDs, those of roles
   * that no longer exist, and accessor entries that point at nothing. Reads
   * everything; meant for the background, not the request path.
   */
  async tidy(): Promise<TidyReport> {
    const report: TidyReport = { expired: 0, orphaned: 0, danglingAccessors: 0 };
    for (const folder of await this.storage.list(SECRET_ID_PREFIX)) {
      if (!folder.endsWith('/')) continue;
      const roleName = folder.slice(0, -1);
      // Under the role's lock: a role created meanwhile under the same name
      // cannot issue a secret ID that this sweep then takes for an orphan.
      await this.withRole(roleName, async () => {
        const roleExists = (await this.readRole(roleName)) !== undefined;
        for (const hash of await this.#keysUnder(SECRET_ID_PREFIX + folder)) {
          const key = secretIdKey(roleName, hash);
          await this.#locks.run(key, async () => {
            const entry = await this.#readJson<SecretIdEntry>(key);
            if (!entry) return;
            if (!roleExists) {
              await this.#deleteEntry(key, entry);
              report.orphaned++;
            } else if (entry.expirationTimeMs !== 0 && entry.expirationTimeMs <= this.#now()) {
              await this.#deleteEntry(key, entry);
              report.expired++;
            }
          });
        }
      });
    }
    for (const accessorHash of await this.#keysUnder(ACCESSOR_PREFIX)) {
      const index = await this.#readJson<AccessorIndex>(ACCESSOR_PREFIX + accessorHash);
      const target = index ? secretIdKey(index.roleName, index.secretIdHash) : undefined;
      await this.#locks.run(target ?? accessorHash, async () => {
        const entry = target ? await this.#readJson<SecretIdEntry>(target) : undefined;
        if (entry && entry.accessorHash === accessorHash) return;
        await this.storage.delete(ACCESSOR_PREFIX + accessorHash);
        report.danglingAccessors++;
      });
    }
    return report;
  }

  // --- internals -----------------------------------------------------------

  async #deleteEntry(key: string, entry: SecretIdEntry): Promise<void> {
    await this.storage.transaction([
      { op: 'delete', key },
      { op: 'delete', key: ACCESSOR_PREFIX + entry.accessorHash },
    ]);
    this.#lastUse.forget(key);
  }

  async #deleteAllSecretIds(roleName: string): Promise<void> {
    const folder = `${SECRET_ID_PREFIX}${roleName}/`;
    const hashes = await this.#keysUnder(folder);
    for (let i = 0; i < hashes.length; i += TXN_BATCH / 2) {
      const ops: TxnOp[] = [];
      for (const hash of hashes.slice(i, i + TXN_BATCH / 2)) {
        const entry = await this.#readJson<SecretIdEntry>(folder + hash);
        ops.push({ op: 'delete', key: folder + hash });
        if (entry) ops.push({ op: 'delete', key: ACCESSOR_PREFIX + entry.accessorHash });
        this.#lastUse.forget(folder + hash);
      }
      await this.storage.transaction(ops);
    }
  }

  /** The background write of one secret ID's last use; a deleted one is skipped. */
  async #writeLastUse(key: string, use: LastUse): Promise<void> {
    await this.#locks.run(key, async () => {
      const entry = await this.#readJson<SecretIdEntry>(key);
      if (!entry || (entry.lastUsedTimeMs ?? 0) >= use.timeMs) return;
      await this.storage.put(
        key,
        json({ ...entry, lastUsedTimeMs: use.timeMs, lastUsedAddr: use.addr }),
      );
    });
  }

  async #hash(value: string): Promise<string> {
    const salt = await this.#loadSalt();
    return createHmac('sha256', salt).update(value).digest('hex');
  }

  /**
   * The mount's salt, made on first use. Logins and writes reach only the
   * active node, so two nodes cannot both make one for the same mount.
   */
  #loadSalt(): Promise<Buffer> {
    this.#salt ??= (async () => {
      let salt = await this.storage.get(SALT_KEY);
      if (!salt) {
        salt = randomBytes(32);
        await this.storage.put(SALT_KEY, salt);
      }
      return salt;
    })().catch((err: unknown) => {
      this.#salt = undefined;
      throw err;
    });
    return this.#salt;
  }

  async #readJson<T>(key: string): Promise<T | undefined> {
    const raw = await this.storage.get(key);
    return raw ? (JSON.parse(raw.toString('utf8')) as T) : undefined;
  }

  async #keysUnder(prefix: string): Promise<string[]> {
    return (await this.storage.list(prefix)).filter((name) => !name.endsWith('/'));
  }
}

function secretIdKey(roleName: string, secretIdHash: string): string {
  return `${SECRET_ID_PREFIX}${roleName}/${secretIdHash}`;
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value));
}

/** Constant-time equality of two hex HMACs. */
function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && x.length > 0 && timingSafeEqual(x, y);
}
