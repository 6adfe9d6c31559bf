/**
 * What the token store keeps about a token, and how Vault's API shows it:
 * the `data` of a lookup and the `auth` object of a create or renew.
 */
import type { AuthResult } from '../../framework/types.ts';
import { describeLastUse, type LastUse, latestUse } from '../last-use.ts';

/**
 * One stored token. It never holds the token itself: `hash` is the salted
 * hash the token is keyed by. Entries handed out by the store are frozen,
 * because the same object sits in the lookup cache.
 */
export interface TokenEntry {
  /** HMAC-SHA256 of the token under the store's salt (hex): storage key and cubbyhole folder. */
  hash: string;
  /**
   * The accessor in plaintext. It is not a credential (it cannot authenticate)
   * and `lookup-accessor` and `accessors/` must return it, so it is kept as is;
   * the accessor index is still keyed by its salted hash.
   */
  accessor: string;
  accessorHash: string;
  /** Hash of the parent token; '' for an orphan. */
  parentHash: string;
  orphan: boolean;
  /** Sorted, without duplicates. `['root']` for a root token. */
  policies: string[];
  meta: Record<string, string>;
  displayName: string;
  /** Uses left: 0 is unlimited; -1 means the last use is spent and revocation is pending. */
  numUses: number;
  creationTimeMs: number;
  /** TTL given at creation (Vault's `creation_ttl`); 0 for a token that never expires. */
  ttlSeconds: number;
  /** TTL granted by the latest creation or renewal: a renewal without increment grants it again. */
  leaseTtlSeconds: number;
  /** Max TTL set by the auth method that issued the token (its role); 0 when none. */
  maxTtlSeconds: number;
  explicitMaxTtlSeconds: number;
  periodSeconds: number;
  /** Unix milliseconds; 0 for a token that never expires. */
  expireTimeMs: number;
  /** Unix milliseconds of the last renewal; 0 before the first. */
  lastRenewalTimeMs: number;
  /** The API path that created the token (`auth/token/create`, `auth/userpass/login/bob`). */
  path: string;
  type: 'service';
  renewable: boolean;
  entityId: string;
  /**
   * Networks the token works from (`token_bound_cidrs` of the login that
   * issued it); absent or empty: anywhere. Checked on every request.
   */
  boundCidrs?: string[];
  /** The last request the token authenticated, as last flushed (see `last-use.ts`). */
  lastUsedTimeMs?: number;
  lastUsedAddr?: string;
}

/**
 * Vault's `lookup` data. `id` is what the caller may see: the token it sent,
 * or '' by accessor. Keep adds `last_used_time` (RFC 3339) and
 * `last_used_addr`, null until the token authenticates a request.
 */
export function lookupData(
  entry: TokenEntry,
  id: string,
  nowMs: number,
  lastUse?: LastUse,
): Record<string, unknown> {
  const expires = entry.expireTimeMs !== 0;
  const data: Record<string, unknown> = {
    accessor: entry.accessor,
    creation_time: Math.floor(entry.creationTimeMs / 1000),
    creation_ttl: entry.ttlSeconds,
    display_name: entry.displayName,
    entity_id: entry.entityId,
    expire_time: expires ? new Date(entry.expireTimeMs).toISOString() : null,
    explicit_max_ttl: entry.explicitMaxTtlSeconds,
    id,
    issue_time: new Date(entry.creationTimeMs).toISOString(),
    meta: Object.keys(entry.meta).length > 0 ? entry.meta : null,
    num_uses: entry.numUses,
    orphan: entry.orphan,
    path: entry.path,
    policies: entry.policies,
    // A token without expiry cannot be renewed, whatever it was created with.
    renewable: expires && entry.renewable,
    ttl: expires ? Math.max(0, Math.round((entry.expireTimeMs - nowMs) / 1000)) : 0,
    type: entry.type,
  };
  if (entry.periodSeconds > 0) data.period = entry.periodSeconds;
  if (entry.lastRenewalTimeMs > 0) {
    data.last_renewal_time = Math.floor(entry.lastRenewalTimeMs / 1000);
    data.last_renewal = new Date(entry.lastRenewalTimeMs).toISOString();
  }
  if (entry.boundCidrs && entry.boundCidrs.length > 0) data.bound_cidrs = entry.boundCidrs;
  Object.assign(data, describeLastUse(latestUse(storedLastUse(entry), lastUse)));
  return data;
}

/** The `auth` object for a token; `clientToken` is '' where the caller must not see it. */
export function authResultFor(entry: TokenEntry, clientToken: string): AuthResult {
  const hasMeta = Object.keys(entry.meta).length > 0;
  return {
    clientToken,
    accessor: entry.accessor,
    policies: [...entry.policies],
    tokenPolicies: [...entry.policies],
    metadata: hasMeta ? { ...entry.meta } : undefined,
    displayName: entry.displayName,
    ttlSeconds: entry.expireTimeMs === 0 ? 0 : entry.leaseTtlSeconds,
    renewable: entry.expireTimeMs !== 0 && entry.renewable,
    entityId: entry.entityId,
    tokenType: entry.type,
    orphan: entry.orphan,
    numUses: entry.numUses,
    periodSeconds: entry.periodSeconds || undefined,
  };
}

/** Policies the token store refuses to put on a token: they belong to internal tokens. */
export const NON_ASSIGNABLE_POLICIES = ['response-wrapping', 'control-group'];

/**
 * Vault's policy clean-up: trimmed, lower-cased, blanks dropped, sorted and
 * de-duplicated; `root` swallows every other policy; `default` is added when
 * asked and absent.
 */
export function sanitizePolicies(policies: readonly string[], addDefault: boolean): string[] {
  const cleaned = policies.map((p) => p.trim().toLowerCase()).filter((p) => p !== '');
  if (cleaned.includes('root')) return ['root'];
  if (addDefault && !cleaned.includes('default')) cleaned.push('default');
  return [...new Set(cleaned)].sort();
}

/** Vault's display-name rule: `token-` + the name, odd characters as `-`, one trailing `-` cut. */
export function tokenDisplayName(name: string): string {
  if (name === '') return 'token';
  const full = `token-${name}`.replace(/[^a-zA-Z0-9-]/g, '-');
  return full.endsWith('-') ? full.slice(0, -1) : full;
}

/**
 * The display name of a login token: the mount path without `auth/`, slashes
 * as dashes, then the method's name (`auth/userpass/` + `bob` → `userpass-bob`).
 */
export function loginDisplayName(mountPoint: string, name: string): string {
  const source = mountPoint.replace(/^auth\//, '').replaceAll('/', '-');
  const full = source + name;
  return full.endsWith('-') ? full.slice(0, -1) : full;
}

/** The last use recorded in the entry itself, if it was ever flushed. */
export function storedLastUse(entry: TokenEntry): LastUse | undefined {
  if (!entry.lastUsedTimeMs) return undefined;
  return { timeMs: entry.lastUsedTimeMs, addr: entry.lastUsedAddr ?? '' };
}

export function freezeEntry(entry: TokenEntry): TokenEntry {
  Object.freeze(entry.policies);
  Object.freeze(entry.meta);
  if (entry.boundCidrs) Object.freeze(entry.boundCidrs);
  return Object.freeze(entry);
}
