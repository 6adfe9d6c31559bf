/**
 * A secret ID of a role: what is stored about it (never the secret ID
 * itself), the checks on the parameters of a new one, and how a lookup
 * shows it.
 */
import type { FieldData, FieldSchemas } from '../../framework/fields.ts';
import { isPlainObject } from '../../framework/fields.ts';
import { cidrWithin } from '../../lib/cidr.ts';
import { BadRequestError } from '../../lib/errors.ts';
import { describeLastUse, type LastUse, latestUse } from '../last-use.ts';
import { checkedCidrs, type RoleEntry } from './role.ts';

export interface SecretIdEntry {
  /** HMAC-SHA256 of the secret ID under the mount's salt, hex; also its storage key. */
  secretIdHash: string;
  /** Plaintext: an accessor cannot log in, and LIST must return it. */
  accessor: string;
  accessorHash: string;
  roleName: string;
  metadata: Record<string, string>;
  /** Networks logins with this secret ID may come from; empty: the role's rule alone. */
  cidrList: string[];
  /** Replaces the role's `token_bound_cidrs` on tokens from this secret ID when set. */
  tokenBoundCidrs: string[];
  /** Logins left; 0 is unlimited. The last one deletes the entry. */
  numUses: number;
  ttlSeconds: number;
  creationTimeMs: number;
  /** 0: never expires. */
  expirationTimeMs: number;
  lastUpdatedTimeMs: number;
  /** The last login with it, as last flushed (`last-use.ts`). */
  lastUsedTimeMs?: number;
  lastUsedAddr?: string;
}

/** What a new secret ID is issued with, after the checks against its role. */
export interface SecretIdParams {
  metadata: Record<string, string>;
  cidrList: string[];
  tokenBoundCidrs: string[];
  numUses: number;
  ttlSeconds: number;
}

export const SECRET_ID_FIELDS: FieldSchemas = {
  role_name: { type: 'string', description: 'Name of the role.' },
  metadata: {
    type: 'raw',
    description:
      'Metadata, a JSON object of strings given as a string (key=value pairs also work); ' +
      'logged in audit entries and put on the tokens of logins with this secret ID.',
  },
  cidr_list: {
    type: 'comma_string_list',
    description: "Networks logins may come from; must lie within the role's.",
  },
  token_bound_cidrs: {
    type: 'comma_string_list',
    description: "Networks the tokens work from; must lie within the role's.",
  },
  num_uses: {
    type: 'int',
    description: "Logins allowed; 0 takes the role's secret_id_num_uses.",
  },
  ttl: {
    type: 'duration',
    description: "Life of the secret ID; 0 takes the role's secret_id_ttl.",
  },
};

/** Vault's bounds on identity metadata, applied to secret ID metadata too. */
const MAX_METADATA_KEYS = 64;
const MAX_METADATA_KEY_LENGTH = 128;
const MAX_METADATA_VALUE_LENGTH = 512;

/** The parameters of a new secret ID, checked against the role as Vault does. */
export function secretIdParams(f: FieldData, role: RoleEntry): SecretIdParams {
  if (!role.bindSecretId) throw new BadRequestError('bind_secret_id is not set on the role');

  const cidrList = checkedCidrs('cidr_list', f.strings('cidr_list'));
  if (role.secretIdBoundCidrs.length > 0) {
    const outside = cidrList.filter((c) => !cidrWithin(c, role.secretIdBoundCidrs));
    if (outside.length > 0) {
      throw new BadRequestError(
        `failed to verify the CIDR restrictions set on the secret ID: ${outside.join(', ')} ` +
          "not within the role's secret_id_bound_cidrs",
      );
    }
  }
  const tokenBoundCidrs = checkedCidrs('token_bound_cidrs', f.strings('token_bound_cidrs'));
  if (role.token.boundCidrs.length > 0) {
    const outside = tokenBoundCidrs.filter((c) => !cidrWithin(c, role.token.boundCidrs));
    if (outside.length > 0) {
      throw new BadRequestError(
        `failed to verify the CIDR restrictions set on the secret ID: ${outside.join(', ')} ` +
          "not within the role's token_bound_cidrs",
      );
    }
  }

  let numUses = f.int('num_uses');
  if (numUses < 0) throw new BadRequestError('num_uses cannot be negative');
  if (numUses === 0) numUses = role.secretIdNumUses;
  if (role.secretIdNumUses > 0 && numUses > role.secretIdNumUses) {
    throw new BadRequestError("num_uses cannot be higher than the role's secret_id_num_uses");
  }

  let ttlSeconds = Math.floor(f.int('ttl'));
  if (ttlSeconds === 0) ttlSeconds = role.secretIdTtlSeconds;
  if (role.secretIdTtlSeconds > 0 && ttlSeconds > role.secretIdTtlSeconds) {
    throw new BadRequestError("ttl cannot be longer than the role's secret_id_ttl");
  }

  return {
    metadata: parseMetadata(f.raw.metadata),
    cidrList,
    tokenBoundCidrs,
    numUses,
    ttlSeconds,
  };
}

/**
 * Vault takes `metadata` as a string holding a JSON object of strings
 * (hvac's generate_secret_id, node-vault) or `key=value` pairs separated by
 * commas. hvac's create_custom_secret_id sends the object itself, which
 * Vault refuses; Keep accepts it as the same map.
 */
export function parseMetadata(raw: unknown): Record<string, string> {
  if (raw === undefined || raw === null || raw === '') return {};
  let value: unknown = raw;
  if (typeof raw === 'string') {
    const text = raw.trim();
    if (text.startsWith('{')) {
      try {
        value = JSON.parse(text);
      } catch {
        throw new BadRequestError('failed to parse metadata: invalid JSON');
      }
    } else {
      value = keyValuePairs(text);
    }
  }
  if (!isPlainObject(value)) {
    throw new BadRequestError('failed to parse metadata: expected a JSON object of strings');
  }
  const entries = Object.entries(value);
  if (entries.length > MAX_METADATA_KEYS) {
    throw new BadRequestError(`metadata cannot have more than ${MAX_METADATA_KEYS} keys`);
  }
  // Own properties even for a key like `__proto__`: fromEntries defines, never assigns.
  const out: Array<[string, string]> = [];
  for (const [key, v] of entries) {
    if (typeof v !== 'string') {
      throw new BadRequestError(
        `failed to parse metadata: the value of "${clip(key)}" is not a string`,
      );
    }
    if (key === '' || key.length > MAX_METADATA_KEY_LENGTH) {
      throw new BadRequestError(
        `metadata keys must be 1 to ${MAX_METADATA_KEY_LENGTH} characters long`,
      );
    }
    if (v.length > MAX_METADATA_VALUE_LENGTH) {
      throw new BadRequestError(
        `metadata value of "${clip(key)}" is longer than ${MAX_METADATA_VALUE_LENGTH} characters`,
      );
    }
    out.push([key, v]);
  }
  return Object.fromEntries(out);
}

function keyValuePairs(text: string): Record<string, string> {
  const out: Array<[string, string]> = [];
  for (const part of text.split(',')) {
    const at = part.indexOf('=');
    if (at <= 0) throw new BadRequestError('failed to parse metadata: expected key=value pairs');
    out.push([part.slice(0, at).trim(), part.slice(at + 1).trim()]);
  }
  return Object.fromEntries(out);
}

/** An error message quotes at most the start of what the caller sent. */
function clip(text: string): string {
  return text.length > 64 ? `${text.slice(0, 64)}…` : text;
}

/** Go's zero time, which Vault shows as the expiration of a secret ID that never expires. */
const NEVER = '0001-01-01T00:00:00Z';

/**
 * A secret ID lookup, with Vault's fields plus Keep's `last_used_time`
 * (RFC 3339) and `last_used_addr`, null until a login uses it.
 */
export function describeSecretId(
  entry: SecretIdEntry,
  unflushed: LastUse | undefined,
): Record<string, unknown> {
  const stored = entry.lastUsedTimeMs
    ? { timeMs: entry.lastUsedTimeMs, addr: entry.lastUsedAddr ?? '' }
    : undefined;
  return {
    secret_id_accessor: entry.accessor,
    cidr_list: entry.cidrList,
    token_bound_cidrs: entry.tokenBoundCidrs,
    metadata: entry.metadata,
    secret_id_num_uses: entry.numUses,
    secret_id_ttl: entry.ttlSeconds,
    creation_time: new Date(entry.creationTimeMs).toISOString(),
    expiration_time: entry.expirationTimeMs
      ? new Date(entry.expirationTimeMs).toISOString()
      : NEVER,
    last_updated_time: new Date(entry.lastUpdatedTimeMs).toISOString(),
    ...describeLastUse(latestUse(stored, unflushed)),
  };
}
