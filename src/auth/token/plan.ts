/**
 * The rules for a new token, kept apart from storage so they read in one
 * place: which policies a parent may hand down, who may make orphans,
 * periodic tokens or custom IDs, and the lifetime each gets. They follow
 * Vault's `auth/token/create` handler.
 */
import { BadRequestError } from '../../lib/errors.ts';
import {
  NON_ASSIGNABLE_POLICIES,
  sanitizePolicies,
  type TokenEntry,
  tokenDisplayName,
} from './entry.ts';
import { SERVICE_TOKEN_PREFIX } from './ids.ts';
import { calculateTtl, type SystemTtls } from './ttl.ts';

export interface CreateTokenParams {
  /** Empty or absent: the parent's policies (with `default` only if the parent has it). */
  policies?: string[];
  meta?: Record<string, string>;
  /** Shown as `token-<name>` for tokens made through the token store. */
  displayName?: string;
  ttlSeconds?: number;
  explicitMaxTtlSeconds?: number;
  periodSeconds?: number;
  numUses?: number;
  /** Default true. */
  renewable?: boolean;
  noDefaultPolicy?: boolean;
  /** Vault's `no_parent`: an orphan, which needs root or sudo. */
  noParent?: boolean;
  /** Made through `create-orphan`, which the ACL guards by path: no sudo needed. */
  orphan?: boolean;
  /** A chosen token value instead of a random one; needs root or sudo. */
  id?: string;
  /** The API path recorded on the token; default `auth/token/create`. */
  path?: string;
  /** The caller holds sudo on the create path. A root parent always counts as sudo. */
  sudo?: boolean;
  /** Max TTL set by the issuing login method (its role); 0 or absent when none. */
  maxTtlSeconds?: number;
  /** Made by the core to hold a wrapped response: may carry the `response-wrapping` policy. */
  responseWrapping?: boolean;
}

/**
 * Who asks for the token: a parent token (child-token rules apply), the
 * root-token generation of `sys/init` and `generate-root`, or the core on
 * behalf of a login method (an orphan with exactly the policies given).
 */
export type TokenParent = TokenEntry | 'root-generation' | undefined;

/** Everything of a new entry except the values drawn at random. */
export type TokenPlan = Omit<TokenEntry, 'hash' | 'accessor' | 'accessorHash'> & {
  warnings: string[];
};

export function planToken(
  params: CreateTokenParams,
  parent: TokenParent,
  opts: { system: SystemTtls; nowMs: number },
): TokenPlan {
  const parentEntry = typeof parent === 'object' ? parent : undefined;
  const rootGeneration = parent === 'root-generation';
  // The core minting a login token is trusted like sudo; it still cannot mint root.
  const sudo =
    parent === undefined ||
    rootGeneration ||
    params.sudo === true ||
    isRoot(parentEntry?.policies ?? []);

  // A limited-use token could escape its limit through children.
  if (parentEntry && parentEntry.numUses !== 0) {
    throw new BadRequestError('restricted use token cannot generate child tokens');
  }
  const numUses = params.numUses ?? 0;
  if (!Number.isSafeInteger(numUses) || numUses < 0) {
    throw new BadRequestError('number of uses cannot be negative');
  }
  if (params.id !== undefined && params.id !== '') checkCustomId(params.id, sudo);

  const policies = rootGeneration ? ['root'] : choosePolicies(params, parentEntry, sudo);
  const orphan = chooseOrphan(params, parentEntry, sudo);
  const explicitMax = nonNegative(params.explicitMaxTtlSeconds, 'explicit_max_ttl');
  const period = nonNegative(params.periodSeconds, 'period');
  if (period > 0 && !sudo) {
    throw new BadRequestError('root or sudo privileges required to create periodic token');
  }
  const maxTtl = nonNegative(params.maxTtlSeconds, 'max_ttl');
  let ttl = nonNegative(params.ttlSeconds, 'ttl');

  const warnings: string[] = [];
  const nowSeconds = Math.floor(opts.nowMs / 1000);
  // Root tokens asked for without a TTL never expire; everything else does.
  if (period > 0 || ttl > 0 || !isRoot(policies)) {
    const result = calculateTtl(opts.system, {
      incrementSeconds: 0,
      ttlSeconds: ttl,
      periodSeconds: period,
      maxTtlSeconds: maxTtl,
      explicitMaxTtlSeconds: explicitMax,
      startSeconds: nowSeconds,
      nowSeconds,
    });
    ttl = result.ttlSeconds;
    warnings.push(...result.warnings);
  }
  if (ttl === 0 && explicitMax > 0) ttl = explicitMax;

  let renewable = params.renewable ?? true;
  if (ttl === 0) {
    if (parentEntry && parentEntry.expireTimeMs !== 0) {
      throw new BadRequestError('expiring root tokens cannot create non-expiring root tokens');
    }
    renewable = false;
  }

  return {
    parentHash: orphan || !parentEntry ? '' : parentEntry.hash,
    orphan: orphan || !parentEntry,
    policies,
    meta: { ...(params.meta ?? {}) },
    displayName: rootGeneration ? 'root' : tokenDisplayName(params.displayName ?? ''),
    numUses,
    creationTimeMs: opts.nowMs,
    ttlSeconds: ttl,
    leaseTtlSeconds: ttl,
    maxTtlSeconds: maxTtl,
    explicitMaxTtlSeconds: explicitMax,
    periodSeconds: period,
    expireTimeMs: ttl > 0 ? opts.nowMs + ttl * 1000 : 0,
    lastRenewalTimeMs: 0,
    path: params.path ?? (rootGeneration ? 'auth/token/root' : 'auth/token/create'),
    type: 'service',
    renewable,
    entityId: orphan || !parentEntry ? '' : parentEntry.entityId,
    warnings,
  };
}

function choosePolicies(
  params: CreateTokenParams,
  parent: TokenEntry | undefined,
  sudo: boolean,
): string[] {
  const asked = params.policies ?? [];
  let base: readonly string[] = asked;
  let addDefault = !params.noDefaultPolicy;

  if (parent && asked.length === 0) {
    // Inherit the parent's set as it is: `default` only if the parent has it.
    base = parent.policies;
    addDefault = false;
  } else if (parent && !sudo) {
    const wanted = sanitizePolicies(asked, false);
    const held = new Set(sanitizePolicies(parent.policies, false));
    if (!wanted.every((p) => held.has(p))) {
      throw new BadRequestError('child policies must be subset of parent');
    }
    addDefault = !params.noDefaultPolicy && parent.policies.includes('default');
  }

  let policies = sanitizePolicies(base, addDefault);
  if (params.noDefaultPolicy) policies = policies.filter((p) => p !== 'default');

  for (const p of policies) {
    if (params.responseWrapping && p === 'response-wrapping') continue;
    if (NON_ASSIGNABLE_POLICIES.includes(p))
      throw new BadRequestError(`cannot assign policy "${p}"`);
  }
  // Sudo is not enough for root: only a root token may mint another one.
  if (isRoot(policies) && !(parent && isRoot(parent.policies))) {
    throw new BadRequestError(
      parent
        ? 'root tokens may not be created without parent token being root'
        : 'auth methods cannot create root tokens',
    );
  }
  return policies;
}

function chooseOrphan(params: CreateTokenParams, parent: TokenEntry | undefined, sudo: boolean) {
  if (!parent) return true;
  if (params.noParent) {
    if (!sudo) throw new BadRequestError('root or sudo privileges required to create orphan token');
    return true;
  }
  return params.orphan === true;
}

function checkCustomId(id: string, sudo: boolean): void {
  if (!sudo) throw new BadRequestError('root or sudo privileges required to specify token id');
  if (id.startsWith(SERVICE_TOKEN_PREFIX)) {
    throw new BadRequestError("custom token ID cannot have the 'hvs.' prefix");
  }
  if (id.startsWith('s.')) throw new BadRequestError("custom token ID cannot have the 's.' prefix");
  if (id.includes('.')) throw new BadRequestError("custom token ID cannot have a '.' in the value");
}

function nonNegative(value: number | undefined, name: string): number {
  const n = value ?? 0;
  if (!Number.isFinite(n) || n < 0) throw new BadRequestError(`${name} must be positive`);
  return Math.floor(n);
}

function isRoot(policies: readonly string[]): boolean {
  return policies.length === 1 && policies[0] === 'root';
}
