/**
 * An AppRole role: how its secret IDs are issued and checked, and the
 * token settings of the tokens its logins get. Field names are Vault's
 * (`auth/approle/role/:role_name`), including the deprecated ones clients
 * still send: `bound_cidr_list` (node-vault) for `secret_id_bound_cidrs`,
 * `policies`, `period` and the other token aliases of token-fields.ts, and
 * hvac's `enable_local_secret_ids` for `local_secret_ids`.
 */
import { randomUUID } from 'node:crypto';
import type { FieldData, FieldSchemas } from '../../framework/fields.ts';
import { cidrMatcher } from '../../lib/cidr.ts';
import { BadRequestError } from '../../lib/errors.ts';
import {
  DEFAULT_TOKEN_SETTINGS,
  describeTokenSettings,
  TOKEN_FIELDS,
  type TokenSettings,
  updateTokenSettings,
} from '../token-fields.ts';

/**
 * Vault's role name rule (a word character at each end, word characters,
 * `-`, `.` and `@` between), capped at 128 characters. Names are
 * case-insensitive: stored and shown in lower case.
 */
export const ROLE_NAME_PATTERN = String.raw`(?<role_name>\w(?:[\w.@-]{0,126}\w)?)`;

/** Longest custom role ID or secret ID accepted; generated ones are UUIDs. */
export const MAX_ID_LENGTH = 1024;

/** Longest CIDR list a role or secret ID may carry. */
export const MAX_CIDRS = 256;

export interface RoleEntry {
  /** Lower case. */
  name: string;
  /**
   * Kept in plaintext because `role/:name/role-id` returns it; the index
   * that finds a role by it is keyed by its salted hash.
   */
  roleId: string;
  bindSecretId: boolean;
  secretIdBoundCidrs: string[];
  /** Uses of each new secret ID; 0 is unlimited. */
  secretIdNumUses: number;
  /** Life of each new secret ID; 0 never expires. */
  secretIdTtlSeconds: number;
  localSecretIds: boolean;
  token: TokenSettings;
}

export const ROLE_FIELDS: FieldSchemas = {
  role_name: { type: 'string', description: 'Name of the role (case-insensitive).' },
  role_id: { type: 'string', description: 'Custom role ID; a UUID by default.' },
  bind_secret_id: {
    type: 'bool',
    default: true,
    description: 'Whether a secret ID must be presented at login.',
  },
  secret_id_bound_cidrs: {
    type: 'comma_string_list',
    description: 'Networks from which logins with secret IDs of this role are allowed.',
  },
  bound_cidr_list: {
    type: 'comma_string_list',
    description: 'Deprecated: use secret_id_bound_cidrs.',
  },
  secret_id_num_uses: {
    type: 'int',
    description: 'Logins each secret ID allows; 0 is unlimited.',
  },
  secret_id_ttl: { type: 'duration', description: 'Life of each secret ID; 0 never expires.' },
  local_secret_ids: {
    type: 'bool',
    description: 'Secret IDs stay on this cluster; can only be set at creation.',
  },
  enable_local_secret_ids: {
    type: 'bool',
    description: 'Same as local_secret_ids (the name hvac sends).',
  },
  ...TOKEN_FIELDS,
};

/**
 * The role after a create or update: only the fields that were sent
 * change, as in Vault. Throws a 400 for anything Vault would refuse.
 */
export function applyRoleFields(f: FieldData, name: string, current?: RoleEntry): RoleEntry {
  const role: RoleEntry = current
    ? { ...current }
    : {
        name,
        roleId: randomUUID(),
        bindSecretId: true,
        secretIdBoundCidrs: [],
        secretIdNumUses: 0,
        secretIdTtlSeconds: 0,
        localSecretIds: false,
        token: DEFAULT_TOKEN_SETTINGS,
      };

  // An empty role_id is "not given", as in Vault: the role keeps (or gets) a UUID.
  if (f.string('role_id') !== '') role.roleId = checkedRoleId(f.string('role_id'));
  if (f.has('bind_secret_id')) role.bindSecretId = f.bool('bind_secret_id');
  const cidrField = f.has('secret_id_bound_cidrs')
    ? 'secret_id_bound_cidrs'
    : f.has('bound_cidr_list')
      ? 'bound_cidr_list'
      : undefined;
  if (cidrField) role.secretIdBoundCidrs = checkedCidrs(cidrField, f.strings(cidrField));
  if (f.has('secret_id_num_uses')) {
    role.secretIdNumUses = f.int('secret_id_num_uses');
    if (role.secretIdNumUses < 0) {
      throw new BadRequestError('secret_id_num_uses cannot be negative');
    }
  }
  if (f.has('secret_id_ttl')) role.secretIdTtlSeconds = Math.floor(f.int('secret_id_ttl'));
  applyLocalSecretIds(f, role, current);

  role.token = updateTokenSettings(f, current?.token);
  checkedCidrs('token_bound_cidrs', role.token.boundCidrs);
  if (role.token.type === 'batch') {
    throw new BadRequestError('batch tokens are not supported by this server');
  }
  if (!role.bindSecretId && role.secretIdBoundCidrs.length === 0) {
    if (role.token.boundCidrs.length === 0) {
      throw new BadRequestError('at least one constraint should be enabled on the role');
    }
  }
  return role;
}

function applyLocalSecretIds(f: FieldData, role: RoleEntry, current?: RoleEntry): void {
  const field = f.has('local_secret_ids')
    ? 'local_secret_ids'
    : f.has('enable_local_secret_ids')
      ? 'enable_local_secret_ids'
      : undefined;
  if (!field) return;
  const wanted = f.bool(field);
  // Secret IDs already issued live in one place; Vault fixes it at creation.
  if (current && current.localSecretIds !== wanted) {
    throw new BadRequestError('local_secret_ids can only be modified during role creation');
  }
  role.localSecretIds = wanted;
}

export function checkedRoleId(roleId: string): string {
  if (roleId.trim() === '') throw new BadRequestError('missing role_id');
  if (roleId.length > MAX_ID_LENGTH) {
    throw new BadRequestError(`role_id is longer than ${MAX_ID_LENGTH} characters`);
  }
  return roleId;
}

/** A CIDR list that parses and is of a sane length; the entries as given. */
export function checkedCidrs(field: string, cidrs: string[]): string[] {
  if (cidrs.length > MAX_CIDRS) {
    throw new BadRequestError(`"${field}" has more than ${MAX_CIDRS} entries`);
  }
  cidrMatcher(cidrs);
  return cidrs.map((c) => c.trim());
}

/** `GET role/:name`, with Vault's fields (the role ID is not among them). */
export function describeRole(role: RoleEntry): Record<string, unknown> {
  return {
    bind_secret_id: role.bindSecretId,
    local_secret_ids: role.localSecretIds,
    secret_id_bound_cidrs: role.secretIdBoundCidrs,
    secret_id_num_uses: role.secretIdNumUses,
    secret_id_ttl: role.secretIdTtlSeconds,
    ...describeTokenSettings(role.token),
  };
}
