/**
 * The token store: creates, resolves, counts, renews and revokes tokens.
 *
 * Storage layout, in a view private to the store (behind the barrier):
 *
 *   salt                          32 random bytes, made on first use
 *   id/<hash>                     the entry (JSON); hash = HMAC-SHA256(salt, token), hex
 *   accessor/<accessorHash>       {"tokenHash", "accessor"}; accessorHash = HMAC(salt, accessor)
 *   parent/<parentHash>/<hash>    empty: lets a revocation find the children
 *
 * A token's last use (time and client address) is noted in memory on each
 * request and written into its entry by a background flush, at most once
 * per token per interval (`last-use.ts`); lookups merge the two.
 *
 * Every change that touches several keys is one transaction. Revocation marks
 * a token first (`numUses` -1, which every lookup refuses), then removes
 * children before parents, so an interrupted revocation leaves only marked
 * tokens that can no longer be used and that `tidy` or a retry finishes.
 */
import { randomBytes } from 'node:crypto';
import type { AuthResult, SystemView } from '../../framework/types.ts';
import { cidrMatcher } from '../../lib/cidr.ts';
import { BadRequestError, PermissionDeniedError } from '../../lib/errors.ts';
import type { Storage, TxnOp } from '../../storage/types.ts';
import { type LastUse, LastUseTracker } from '../last-use.ts';
import { EntryCache, KeyedLock } from './cache.ts';
import { authResultFor, freezeEntry, loginDisplayName, type TokenEntry } from './entry.ts';
import { hashSecret, newAccessor, newTokenId } from './ids.ts';
import { type CreateTokenParams, planToken, type TokenParent, type TokenPlan } from './plan.ts';
import { calculateTtl, type SystemTtls } from './ttl.ts';

export type { TokenEntry } from './entry.ts';
export type { CreateTokenParams, TokenParent } from './plan.ts';

const SALT_KEY = 'salt';
const ID_PREFIX = 'id/';
const ACCESSOR_PREFIX = 'accessor/';
const PARENT_PREFIX = 'parent/';

/** Deeper parent chains than this are refused: real trees are shallow, a cycle is corruption. */
const MAX_CHAIN_DEPTH = 64;

/**
 * Compiled `boundCidrs` per entry object. Entries are immutable and a
 * cached one is reused across requests, so each is compiled once while it
 * stays in the cache; a rewritten entry is a new object and compiles anew.
 */
const boundMatchers = new WeakMap<TokenEntry, (address: string) => boolean>();

function allowsAddress(entry: TokenEntry, address: string): boolean {
  if (!entry.boundCidrs || entry.boundCidrs.length === 0) return true;
  let matches = boundMatchers.get(entry);
  if (!matches) {
    matches = cidrMatcher(entry.boundCidrs);
    boundMatchers.set(entry, matches);
  }
  return matches(address);
}

export interface TokenStoreOptions {
  /** A barrier view private to the token store. */
  storage: Storage;
  system: SystemView;
  /** Called for every token before its entry is deleted; the core destroys the cubbyhole. */
  onRevoke?: (entry: TokenEntry) => Promise<void>;
  /** Entries kept in memory for the lookup hot path; default 10 000. */
  cacheSize?: number;
  /** Shortest time between two last-use writes for one token; default 60 s. */
  lastUseIntervalMs?: number;
}

export interface CreatedToken {
  /** The token itself: hand it to the client once, never store or log it. */
  token: string;
  entry: TokenEntry;
  warnings: string[];
}

export interface LookupOptions {
  /**
   * Also return a token whose last use is spent but whose revocation is
   * deferred to the end of the request (see `useToken`), like Vault's tainted
   * lookups; the token's own `lookup-self`/`revoke-self` need it.
   */
  includePending?: boolean;
  /**
   * The client address of a request this token is to authenticate: a token
   * bound to other networks is refused (undefined, as if unknown), and the
   * use is recorded as the token's last use.
   */
  from?: string;
}

export interface TidyReport {
  /** Expired tokens, and marked tokens whose revocation never finished. */
  revoked: number;
  /** Tokens whose parent no longer exists: revoked, since their parent's revocation was cut short. */
  stranded: number;
  /** Accessor and parent index keys that pointed at no token. */
  staleIndexes: number;
}

export class TokenStore {
  readonly #storage: Storage;
  readonly #system: SystemView;
  readonly #onRevoke: (entry: TokenEntry) => Promise<void>;
  readonly #cache: EntryCache;
  readonly #locks = new KeyedLock();
  readonly #lastUse: LastUseTracker;
  #salt: Buffer | undefined;
  #saltLoading: Promise<Buffer> | undefined;
  #unwatch: (() => void) | undefined;

  constructor(opts: TokenStoreOptions) {
    this.#storage = opts.storage;
    this.#system = opts.system;
    this.#onRevoke = opts.onRevoke ?? (async () => {});
    this.#cache = new EntryCache(opts.cacheSize ?? 10_000);
    this.#lastUse = new LastUseTracker({
      intervalMs: opts.lastUseIntervalMs,
      write: (hash, use) => this.#writeLastUse(hash, use),
    });
    // Another node sharing the storage may revoke, renew or use a token: drop
    // our copy whenever its entry changes, whoever changed it.
    this.#unwatch = this.#storage.watch(ID_PREFIX, (event) => {
      this.#cache.invalidate(event.key.slice(ID_PREFIX.length));
    });
  }

  /** The salted hash a token is stored under; also the key of its cubbyhole. */
  async hashToken(token: string): Promise<string> {
    return hashSecret(this.#salt ?? (await this.#loadSalt()), token);
  }

  /**
   * Resolves a token on the request hot path: one HMAC, then the cache. An
   * unknown, revoked, used-up or expired token, or one whose parent chain is
   * no longer valid, gives undefined; an expired one is revoked on the spot.
   */
  async lookup(token: string, opts: LookupOptions = {}): Promise<TokenEntry | undefined> {
    if (token === '') return undefined;
    return this.lookupByHash(await this.hashToken(token), opts);
  }

  async lookupByHash(hash: string, opts: LookupOptions = {}): Promise<TokenEntry | undefined> {
    const entry = await this.#resolve(hash, opts.includePending === true, 0);
    if (!entry || opts.from === undefined) return entry;
    // Vault answers a token used outside its bound CIDRs as an invalid one.
    if (!allowsAddress(entry, opts.from)) return undefined;
    this.#lastUse.record(hash, { timeMs: this.#nowMs(), addr: opts.from });
    return entry;
  }

  /** A use not yet written to the entry, for lookups (`lookupData`'s `lastUse`). */
  unflushedUse(entry: TokenEntry): LastUse | undefined {
    return this.#lastUse.unflushed(entry.hash);
  }

  /** Writes every noted last use now; the core calls it before sealing. */
  async flushLastUse(): Promise<void> {
    await this.#lastUse.flush();
  }

  async lookupAccessor(accessor: string): Promise<TokenEntry | undefined> {
    const tokenHash = await this.#tokenHashOfAccessor(accessor);
    return tokenHash === undefined ? undefined : this.#resolve(tokenHash, false, 0);
  }

  /** Every accessor in the index (`LIST auth/token/accessors`). */
  async listAccessors(): Promise<string[]> {
    const out: string[] = [];
    for (const name of await this.#storage.list(ACCESSOR_PREFIX)) {
      if (name.endsWith('/')) continue;
      const index = await this.#readAccessorIndex(name);
      if (index) out.push(index.accessor);
    }
    return out;
  }

  /** Creates a token; the rules for what `parent` may create are in `plan.ts`. */
  async create(params: CreateTokenParams, parent?: TokenParent): Promise<CreatedToken> {
    const plan = planToken(params, parent, { system: this.#system, nowMs: this.#nowMs() });
    return this.#persist(plan, params.id || newTokenId(), Boolean(params.id));
  }

  /** A root token for `sys/init` or root generation; `id` is the dev server's chosen value. */
  async createRoot(id?: string): Promise<CreatedToken> {
    return this.create({ id }, 'root-generation');
  }

  /**
   * Turns a login method's result into an orphan token (Vault's login tokens
   * have no parent), and fills `auth` in place with what the client receives.
   */
  async createFromAuth(
    auth: AuthResult,
    opts: {
      path: string;
      mountPoint?: string;
      mountAccessor?: string;
      /**
       * The issuing mount's TTLs (`sys/auth/<path>/tune`), each already
       * falling back to the system's; the system's when absent.
       */
      ttls?: SystemTtls;
    },
  ): Promise<CreatedToken> {
    const boundCidrs = (auth.boundCidrs ?? []).map((c) => c.trim());
    // Compiling checks every entry: a bad one is refused now, not on each request.
    cidrMatcher(boundCidrs);
    const params: CreateTokenParams = {
      policies: auth.policies,
      meta: auth.metadata,
      ttlSeconds: auth.ttlSeconds,
      maxTtlSeconds: auth.maxTtlSeconds,
      periodSeconds: auth.periodSeconds,
      numUses: auth.numUses,
      renewable: auth.renewable ?? true,
      noDefaultPolicy: auth.noDefaultPolicy,
      path: opts.path,
    };
    const system = opts.ttls ?? this.#system;
    const plan = planToken(params, undefined, { system, nowMs: this.#nowMs() });
    const mountPoint = opts.mountPoint ?? `${opts.path.split('/').slice(0, 2).join('/')}/`;
    plan.displayName = loginDisplayName(mountPoint, auth.displayName ?? '');
    if (boundCidrs.length > 0) plan.boundCidrs = boundCidrs;

    const created = await this.#persist(plan, newTokenId(), false);
    Object.assign(auth, authResultFor(created.entry, created.token));
    return created;
  }

  /**
   * Counts one use of a limited-use token. On the last use the token is
   * revoked, after the request that spent it (Vault lets that request
   * finish). With `deferRevocation` the token is only marked (every lookup
   * without `includePending` refuses it at once) and returned with numUses
   * -1; the caller must then `revoke` it when the request is done. Returns
   * the entry after the use, or undefined once revoked or gone.
   */
  async useToken(
    entry: TokenEntry,
    opts: { deferRevocation?: boolean } = {},
  ): Promise<TokenEntry | undefined> {
    if (entry.numUses === 0) return entry;

    const used = await this.#locks.run(entry.hash, async () => {
      const fresh = await this.#read(entry.hash);
      if (!fresh) return undefined;
      // Another request spent the last use first.
      if (fresh.numUses < 0) throw new PermissionDeniedError();
      const numUses = fresh.numUses === 1 ? -1 : fresh.numUses - 1;
      return this.#write({ ...fresh, numUses });
    });

    if (used?.numUses !== -1 || opts.deferRevocation) return used;
    await this.revoke(used);
    return undefined;
  }

  /** Renews a token by `incrementSeconds` (0: its current TTL, or its period), within its max TTLs. */
  async renew(
    entry: TokenEntry,
    incrementSeconds: number,
  ): Promise<{ entry: TokenEntry; warnings: string[] }> {
    return this.#locks.run(entry.hash, async () => {
      const fresh = await this.#read(entry.hash);
      if (!fresh || fresh.numUses < 0) throw new BadRequestError('token not found');
      if (fresh.expireTimeMs === 0 || !fresh.renewable) {
        throw new BadRequestError('lease is not renewable');
      }
      const nowMs = this.#nowMs();
      if (fresh.expireTimeMs < nowMs) throw new BadRequestError('lease expired');

      const result = calculateTtl(this.#system, {
        incrementSeconds: Math.max(0, Math.floor(incrementSeconds)),
        ttlSeconds: fresh.leaseTtlSeconds,
        periodSeconds: fresh.periodSeconds,
        maxTtlSeconds: fresh.maxTtlSeconds,
        explicitMaxTtlSeconds: fresh.explicitMaxTtlSeconds,
        startSeconds: Math.floor(fresh.creationTimeMs / 1000),
        nowSeconds: Math.floor(nowMs / 1000),
      });
      let expireTimeMs = nowMs + result.ttlSeconds * 1000;
      if (result.deadlineSeconds !== undefined) {
        expireTimeMs = Math.min(expireTimeMs, result.deadlineSeconds * 1000);
      }
      const renewed = await this.#write({
        ...fresh,
        leaseTtlSeconds: result.ttlSeconds,
        expireTimeMs,
        lastRenewalTimeMs: nowMs,
      });
      return { entry: renewed, warnings: result.warnings };
    });
  }

  /** Revokes a token and every descendant. Revoking a token that is gone is a no-op. */
  async revoke(entry: TokenEntry): Promise<void> {
    await this.#revokeTree(entry.hash);
  }

  /** Revokes a token but keeps its children, which become orphans. */
  async revokeOrphan(entry: TokenEntry): Promise<void> {
    const hash = entry.hash;
    // Children are re-parented before the parent is marked, so at no moment
    // does a child hang from a marked parent (which would make it unusable).
    await this.#orphanChildren(hash);
    const marked = await this.#markPending(hash);
    if (!marked) return;
    // Children created between the first pass and the mark.
    await this.#orphanChildren(hash);
    await this.#revokeOne(hash);
  }

  /** Revokes the token behind an accessor with its descendants; false when the accessor is unknown. */
  async revokeAccessor(accessor: string): Promise<boolean> {
    const tokenHash = await this.#tokenHashOfAccessor(accessor);
    if (tokenHash === undefined) return false;
    await this.#revokeTree(tokenHash);
    return true;
  }

  /**
   * Sweeps the whole store: revokes expired tokens (lookups only catch those
   * that are used again), finishes interrupted revocations and deletes index
   * keys that point nowhere. Reads every entry; meant for a timer or an
   * operator, not for the request path.
   */
  async tidy(): Promise<TidyReport> {
    const report: TidyReport = { revoked: 0, stranded: 0, staleIndexes: 0 };
    const nowMs = this.#nowMs();

    for (const hash of await this.#keysUnder(ID_PREFIX)) {
      const entry = await this.#read(hash);
      if (!entry) continue;
      const expired = entry.expireTimeMs !== 0 && entry.expireTimeMs < nowMs;
      if (entry.numUses < 0 || expired) {
        await this.#revokeTree(hash);
        report.revoked++;
      }
    }

    for (const folder of await this.#storage.list(PARENT_PREFIX)) {
      if (!folder.endsWith('/')) continue;
      const parentHash = folder.slice(0, -1);
      const parentExists = (await this.#read(parentHash)) !== undefined;
      for (const childHash of await this.#keysUnder(PARENT_PREFIX + folder)) {
        const child = await this.#read(childHash);
        if (!child || child.parentHash !== parentHash) {
          await this.#storage.delete(PARENT_PREFIX + folder + childHash);
          report.staleIndexes++;
        } else if (!parentExists) {
          await this.#revokeTree(childHash);
          report.stranded++;
        }
      }
    }

    for (const accessorHash of await this.#keysUnder(ACCESSOR_PREFIX)) {
      const index = await this.#readAccessorIndex(accessorHash);
      if (!index || !(await this.#read(index.tokenHash))) {
        await this.#storage.delete(ACCESSOR_PREFIX + accessorHash);
        report.staleIndexes++;
      }
    }
    return report;
  }

  /** Forgets every cached entry (on seal); storage stays the source of truth. */
  clearCache(): void {
    this.#cache.clear();
  }

  /** Stops watching storage and empties the cache; the store must not be used afterwards. */
  close(): void {
    this.#unwatch?.();
    this.#unwatch = undefined;
    this.#lastUse.close();
    this.#cache.clear();
    this.#salt = undefined;
  }

  async #resolve(
    hash: string,
    includePending: boolean,
    depth: number,
  ): Promise<TokenEntry | undefined> {
    if (depth > MAX_CHAIN_DEPTH) return undefined;
    const entry = await this.#load(hash);
    if (!entry) return undefined;
    if (entry.numUses < 0 && !includePending) return undefined;

    if (entry.expireTimeMs !== 0 && entry.expireTimeMs < this.#nowMs()) {
      await this.#revokeTree(hash);
      return undefined;
    }
    // A child is only as valid as its parent: this makes a whole tree unusable
    // the moment its root is marked, and catches a parent that expired unseen.
    if (entry.parentHash !== '') {
      const parent = await this.#resolve(entry.parentHash, false, depth + 1);
      if (!parent) return undefined;
    }
    return entry;
  }

  async #load(hash: string): Promise<TokenEntry | undefined> {
    const cached = this.#cache.get(hash);
    if (cached) return cached;
    const epoch = this.#cache.epoch;
    const entry = await this.#read(hash);
    if (entry) this.#cache.set(entry, epoch);
    return entry;
  }

  async #read(hash: string): Promise<TokenEntry | undefined> {
    if (!isHash(hash)) return undefined;
    const raw = await this.#storage.get(ID_PREFIX + hash);
    return raw ? freezeEntry(JSON.parse(raw.toString('utf8')) as TokenEntry) : undefined;
  }

  /** Stores an updated entry (no index changes) and drops the cached copy. */
  async #write(entry: TokenEntry): Promise<TokenEntry> {
    const frozen = freezeEntry({
      ...entry,
      policies: [...entry.policies],
      meta: { ...entry.meta },
      ...(entry.boundCidrs ? { boundCidrs: [...entry.boundCidrs] } : {}),
    });
    await this.#storage.put(ID_PREFIX + frozen.hash, encode(frozen));
    this.#cache.invalidate(frozen.hash);
    return frozen;
  }

  async #persist(plan: TokenPlan, token: string, customId: boolean): Promise<CreatedToken> {
    const { warnings, ...fields } = plan;
    const accessor = newAccessor();
    const entry = freezeEntry({
      ...fields,
      hash: await this.hashToken(token),
      accessor,
      accessorHash: await this.hashToken(accessor),
    });
    const ops: TxnOp[] = [
      { op: 'put', key: ID_PREFIX + entry.hash, value: encode(entry) },
      {
        op: 'put',
        key: ACCESSOR_PREFIX + entry.accessorHash,
        value: Buffer.from(JSON.stringify({ tokenHash: entry.hash, accessor })),
      },
    ];
    if (entry.parentHash !== '') {
      ops.push({ op: 'put', key: parentKey(entry.parentHash, entry.hash), value: Buffer.alloc(0) });
    }

    const write = async () => {
      if (customId && (await this.#storage.get(ID_PREFIX + entry.hash))) {
        throw new BadRequestError('cannot create a token with a duplicate ID');
      }
      await this.#storage.transaction(ops);
    };
    if (entry.parentHash === '') {
      await write();
    } else {
      // Under the parent's lock and re-read: a revocation marks the parent
      // under this lock before listing children, so no child is added after.
      await this.#locks.run(entry.parentHash, async () => {
        const parent = await this.#read(entry.parentHash);
        if (!parent || parent.numUses < 0) {
          throw new BadRequestError('parent token lookup failed: no parent found');
        }
        await write();
      });
    }
    this.#system.metrics?.incr('keep.token.creation', 1, creationLabels(entry));
    return { token, entry, warnings };
  }

  /** Marks a token as being revoked; returns it, or undefined when it is gone. */
  async #markPending(hash: string): Promise<TokenEntry | undefined> {
    return this.#locks.run(hash, async () => {
      const entry = await this.#read(hash);
      if (!entry || entry.numUses === -1) return entry;
      return this.#write({ ...entry, numUses: -1 });
    });
  }

  /**
   * Depth first, children before parents: a token's entry and parent index
   * stay until all its descendants are gone, so a retry finds what is left.
   */
  async #revokeTree(rootHash: string): Promise<void> {
    const stack = [rootHash];
    const seen = new Set<string>();
    while (stack.length > 0) {
      const hash = stack[stack.length - 1];
      if (!seen.has(hash)) {
        seen.add(hash);
        await this.#markPending(hash);
      }
      const children: string[] = [];
      for (const child of await this.#keysUnder(`${PARENT_PREFIX}${hash}/`)) {
        if (!seen.has(child)) children.push(child);
        // A cycle can only come from corrupt data; cut it rather than loop.
        else await this.#storage.delete(parentKey(hash, child));
      }
      if (children.length > 0) {
        stack.push(...children);
        continue;
      }
      await this.#revokeOne(hash);
      stack.pop();
    }
  }

  /** Removes one token whose children are already gone or re-parented. */
  async #revokeOne(hash: string): Promise<void> {
    const started = performance.now();
    const entry = await this.#read(hash);
    if (!entry) return;
    await this.#onRevoke(entry);
    const ops: TxnOp[] = [
      { op: 'delete', key: ID_PREFIX + hash },
      { op: 'delete', key: ACCESSOR_PREFIX + entry.accessorHash },
    ];
    if (entry.parentHash !== '') ops.push({ op: 'delete', key: parentKey(entry.parentHash, hash) });
    await this.#storage.transaction(ops);
    this.#cache.invalidate(hash);
    this.#lastUse.forget(hash);
    // Vault's per-token revocation timing; its count is the tokens revoked.
    this.#system.metrics?.timing('keep.token.revoke', performance.now() - started);
  }

  /**
   * The background flush of one token's last use, under the token's lock
   * so it cannot interleave with a use count, a renewal or a revocation
   * mark; a token that is gone or being revoked is skipped.
   */
  async #writeLastUse(hash: string, use: LastUse): Promise<void> {
    await this.#locks.run(hash, async () => {
      const fresh = await this.#read(hash);
      if (!fresh || fresh.numUses < 0) return;
      if ((fresh.lastUsedTimeMs ?? 0) >= use.timeMs) return;
      await this.#write({ ...fresh, lastUsedTimeMs: use.timeMs, lastUsedAddr: use.addr });
    });
  }

  async #orphanChildren(parentHash: string): Promise<void> {
    for (const childHash of await this.#keysUnder(`${PARENT_PREFIX}${parentHash}/`)) {
      await this.#locks.run(childHash, async () => {
        const child = await this.#read(childHash);
        const ops: TxnOp[] = [{ op: 'delete', key: parentKey(parentHash, childHash) }];
        if (child && child.parentHash === parentHash) {
          const orphaned = freezeEntry({ ...child, parentHash: '', orphan: true });
          ops.push({ op: 'put', key: ID_PREFIX + childHash, value: encode(orphaned) });
        }
        await this.#storage.transaction(ops);
        this.#cache.invalidate(childHash);
      });
    }
  }

  async #tokenHashOfAccessor(accessor: string): Promise<string | undefined> {
    if (accessor === '') return undefined;
    const index = await this.#readAccessorIndex(await this.hashToken(accessor));
    return index?.tokenHash;
  }

  async #readAccessorIndex(
    accessorHash: string,
  ): Promise<{ tokenHash: string; accessor: string } | undefined> {
    const raw = await this.#storage.get(ACCESSOR_PREFIX + accessorHash);
    return raw ? JSON.parse(raw.toString('utf8')) : undefined;
  }

  async #keysUnder(prefix: string): Promise<string[]> {
    return (await this.#storage.list(prefix)).filter((name) => !name.endsWith('/'));
  }

  /**
   * Loads the salt, or makes it on first use. Two nodes starting on empty
   * storage at the same instant could each write one (the storage interface
   * has no create-if-absent); only `sys/init` creates tokens on an empty
   * store, on one node, so that race does not arise in practice.
   */
  #loadSalt(): Promise<Buffer> {
    this.#saltLoading ??= (async () => {
      let salt = await this.#storage.get(SALT_KEY);
      if (!salt) {
        salt = randomBytes(32);
        await this.#storage.put(SALT_KEY, salt);
      }
      this.#salt = salt;
      return salt;
    })().catch((err: unknown) => {
      this.#saltLoading = undefined;
      throw err;
    });
    return this.#saltLoading;
  }

  #nowMs(): number {
    return this.#system.now().getTime();
  }
}

function encode(entry: TokenEntry): Buffer {
  return Buffer.from(JSON.stringify(entry));
}

function parentKey(parentHash: string, childHash: string): string {
  return `${PARENT_PREFIX}${parentHash}/${childHash}`;
}

// Hashes come from our own HMAC, but `lookupByHash` is public: never let one
// step outside `id/`.
function isHash(value: string): boolean {
  return /^[0-9a-f]{64}$/.test(value);
}

/** Vault's TTL buckets for the `creation_ttl` label; a token that never expires is `+Inf`. */
const TTL_BUCKETS: [number, string][] = [
  [60, '1m'],
  [600, '10m'],
  [1200, '20m'],
  [3600, '1h'],
  [7200, '2h'],
  [86_400, '1d'],
  [2 * 86_400, '2d'],
  [7 * 86_400, '7d'],
  [30 * 86_400, '30d'],
];

/**
 * Labels of `keep.token.creation`, as Vault's `vault.token.creation`. The
 * store knows a token's path, not its auth method's type, so a login token's
 * `auth_method` is the name of the mount it came from (`auth/userpass/` →
 * `userpass`), which is the type unless the method was mounted elsewhere.
 */
function creationLabels(entry: TokenEntry): Record<string, string> {
  const mount = entry.path.split('/').slice(0, 2);
  const ttl = entry.ttlSeconds;
  const bucket = ttl === 0 ? undefined : TTL_BUCKETS.find(([limit]) => ttl <= limit);
  return {
    auth_method: mount[1] || 'token',
    mount_point: mount.length === 2 ? `${mount.join('/')}/` : 'auth/token/',
    creation_ttl: bucket?.[1] ?? '+Inf',
    token_type: entry.type,
  };
}
