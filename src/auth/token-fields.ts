/**
 * The token settings every login method's roles and users carry, with
 * Vault's field names (`token_ttl`, `token_policies`, ...) and the older
 * names some clients still send (`policies`, `ttl`, `max_ttl`, `period`,
 * `bound_cidrs`: node-vault's AppRole role calls, for one).
 *
 * A method declares `TOKEN_FIELDS` among its path fields, keeps a
 * `TokenSettings` with each role or user, updates it with
 * `updateTokenSettings` (only the fields sent change, as in Vault), shows it
 * with `describeTokenSettings`, and turns it into a login's `auth` block with
 * `authFromSettings`.
 */
import type { FieldData, FieldSchemas } from '../framework/fields.ts';
import type { AuthResult } from '../framework/types.ts';
import { parseCidr } from '../lib/cidr.ts';
import { BadRequestError } from '../lib/errors.ts';

export interface TokenSettings {
  ttlSeconds: number;
  maxTtlSeconds: number;
  explicitMaxTtlSeconds: number;
  periodSeconds: number;
  policies: string[];
  noDefaultPolicy: boolean;
  numUses: number;
  boundCidrs: string[];
  type: 'default' | 'service' | 'batch';
}

export const DEFAULT_TOKEN_SETTINGS: TokenSettings = {
  ttlSeconds: 0,
  maxTtlSeconds: 0,
  explicitMaxTtlSeconds: 0,
  periodSeconds: 0,
  policies: [],
  noDefaultPolicy: false,
  numUses: 0,
  boundCidrs: [],
  type: 'default',
};

export const TOKEN_FIELDS: FieldSchemas = {
  token_ttl: { type: 'duration', description: 'Initial TTL of tokens issued.' },
  token_max_ttl: { type: 'duration', description: 'Maximum TTL of tokens issued.' },
  token_explicit_max_ttl: { type: 'duration', description: 'Hard cap, even across renewals.' },
  token_period: { type: 'duration', description: 'Makes tokens periodic with this period.' },
  token_policies: { type: 'comma_string_list', description: 'Policies of tokens issued.' },
  token_no_default_policy: { type: 'bool', description: 'Leave the default policy out.' },
  token_num_uses: { type: 'int', description: 'Uses of each token issued; 0 is unlimited.' },
  token_bound_cidrs: { type: 'comma_string_list', description: 'Networks tokens work from.' },
  token_type: { type: 'string', description: 'default, service or batch.' },
  // Older names, still sent by some clients.
  policies: { type: 'comma_string_list', description: 'Deprecated: use token_policies.' },
  ttl: { type: 'duration', description: 'Deprecated: use token_ttl.' },
  max_ttl: { type: 'duration', description: 'Deprecated: use token_max_ttl.' },
  period: { type: 'duration', description: 'Deprecated: use token_period.' },
  bound_cidrs: { type: 'comma_string_list', description: 'Deprecated: use token_bound_cidrs.' },
};

/** The new name and the old one for each setting; the new one wins when both are sent. */
const ALIASES: Array<[keyof TokenSettings, string, string | undefined]> = [
  ['ttlSeconds', 'token_ttl', 'ttl'],
  ['maxTtlSeconds', 'token_max_ttl', 'max_ttl'],
  ['explicitMaxTtlSeconds', 'token_explicit_max_ttl', undefined],
  ['periodSeconds', 'token_period', 'period'],
  ['policies', 'token_policies', 'policies'],
  ['noDefaultPolicy', 'token_no_default_policy', undefined],
  ['numUses', 'token_num_uses', undefined],
  ['boundCidrs', 'token_bound_cidrs', 'bound_cidrs'],
  ['type', 'token_type', undefined],
];

/** The settings after an update: fields that were sent replace, the rest stay. */
export function updateTokenSettings(
  f: FieldData,
  current: TokenSettings = DEFAULT_TOKEN_SETTINGS,
): TokenSettings {
  const next: TokenSettings = { ...current, policies: [...current.policies] };
  const target = next as unknown as Record<string, unknown>;
  for (const [key, name, old] of ALIASES) {
    const field = f.has(name) ? name : old !== undefined && f.has(old) ? old : undefined;
    if (field !== undefined) target[key] = f.get(field);
  }
  next.policies = normalisePolicies(next.policies);
  if (next.numUses < 0) throw new BadRequestError('"token_num_uses" cannot be negative');
  for (const key of ['ttlSeconds', 'maxTtlSeconds', 'explicitMaxTtlSeconds', 'periodSeconds']) {
    if ((target[key] as number) < 0) throw new BadRequestError('token TTLs cannot be negative');
  }
  if (next.maxTtlSeconds > 0 && next.ttlSeconds > next.maxTtlSeconds) {
    throw new BadRequestError('"token_ttl" cannot be greater than "token_max_ttl"');
  }
  if (!['default', 'service', 'batch'].includes(next.type)) {
    throw new BadRequestError(`invalid "token_type" "${next.type}": default, service or batch`);
  }
  for (const cidr of next.boundCidrs) parseCidr(cidr);
  return next;
}

function normalisePolicies(policies: string[]): string[] {
  const out = new Set<string>();
  for (const p of policies) {
    const name = p.trim().toLowerCase();
    if (name !== '') out.add(name);
  }
  return [...out].sort();
}

/** The settings as a read of a role or user shows them (both names, as Vault does). */
export function describeTokenSettings(s: TokenSettings): Record<string, unknown> {
  return {
    token_ttl: s.ttlSeconds,
    token_max_ttl: s.maxTtlSeconds,
    token_explicit_max_ttl: s.explicitMaxTtlSeconds,
    token_period: s.periodSeconds,
    token_policies: s.policies,
    token_no_default_policy: s.noDefaultPolicy,
    token_num_uses: s.numUses,
    token_bound_cidrs: s.boundCidrs,
    token_type: s.type,
    policies: s.policies,
    ttl: s.ttlSeconds,
    max_ttl: s.maxTtlSeconds,
    period: s.periodSeconds,
  };
}

/**
 * The `auth` block of a successful login; the core turns it into a token.
 * `extraPolicies` (a GitHub team's, say) join the settings' own.
 */
export function authFromSettings(
  s: TokenSettings,
  login: {
    displayName: string;
    metadata?: Record<string, string>;
    extraPolicies?: string[];
    /** Vault's `alias.name`: the identity the method vouched for. */
    aliasName?: string;
  },
): AuthResult {
  if (s.type === 'batch') {
    throw new BadRequestError('batch tokens are not supported by this server');
  }
  return {
    policies: normalisePolicies([...s.policies, ...(login.extraPolicies ?? [])]),
    displayName: login.displayName,
    metadata: login.metadata,
    ttlSeconds: s.ttlSeconds || undefined,
    maxTtlSeconds: minPositive(s.maxTtlSeconds, s.explicitMaxTtlSeconds),
    periodSeconds: s.periodSeconds || undefined,
    numUses: s.numUses || undefined,
    renewable: true,
    noDefaultPolicy: s.noDefaultPolicy,
    boundCidrs: s.boundCidrs.length ? s.boundCidrs : undefined,
  };
}

function minPositive(a: number, b: number): number | undefined {
  if (a > 0 && b > 0) return Math.min(a, b);
  return a || b || undefined;
}
