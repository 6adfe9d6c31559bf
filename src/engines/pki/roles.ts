/**
 * `roles/<name>`: what a role lets `issue` and `sign` put into certificates,
 * with Vault's field names and defaults. A write replaces the role (fields
 * not sent take their defaults), PATCH changes only the fields sent, as in
 * Vault.
 */
import type { PathSpec } from '../../framework/backend.ts';
import type { FieldData, FieldSchemas } from '../../framework/fields.ts';
import type { BackendContext, LogicalRequest } from '../../framework/types.ts';
import { BadRequestError, NotFoundError } from '../../lib/errors.ts';
import { normalizeKeyParams, signatureHash } from './keys.ts';
import type { NamePolicy } from './names.ts';
import { getJson, putJson } from './store.ts';
import { checkOids, extKeyUsageOids, keyUsageFlags } from './x509.ts';

export interface Role extends NamePolicy {
  ttl: number;
  max_ttl: number;
  allowed_uri_sans: string[];
  allow_ip_sans: boolean;
  server_flag: boolean;
  client_flag: boolean;
  code_signing_flag: boolean;
  email_protection_flag: boolean;
  key_type: string;
  key_bits: number;
  signature_bits: number;
  key_usage: string[];
  ext_key_usage: string[];
  ext_key_usage_oids: string[];
  use_csr_common_name: boolean;
  use_csr_sans: boolean;
  ou: string[];
  organization: string[];
  country: string[];
  locality: string[];
  province: string[];
  street_address: string[];
  postal_code: string[];
  generate_lease: boolean;
  no_store: boolean;
  require_cn: boolean;
  policy_identifiers: string[];
  basic_constraints_valid_for_non_ca: boolean;
  not_before_duration: number;
  not_after: string;
  cn_validations: string[];
  issuer_ref: string;
}

const list = (description: string, def: string[] = []) => ({
  type: 'comma_string_list' as const,
  description,
  default: def,
});
const bool = (description: string, def: boolean) => ({
  type: 'bool' as const,
  description,
  default: def,
});

export const ROLE_FIELDS: FieldSchemas = {
  name: { type: 'string', description: 'Name of the role.' },
  ttl: {
    type: 'duration',
    description: 'Default TTL of issued certificates; the mount default when 0.',
  },
  max_ttl: { type: 'duration', description: 'Longest TTL; the mount maximum when 0.' },
  allow_localhost: bool('Allow "localhost" and "localdomain" as names.', true),
  allowed_domains: list(
    'Domains names may be in (see allow_bare_domains, allow_subdomains, allow_glob_domains).',
  ),
  allow_bare_domains: bool('Allow the allowed_domains themselves as names.', false),
  allow_subdomains: bool('Allow sub-domains of allowed_domains, wildcards included.', false),
  allow_glob_domains: bool('Treat "*" in allowed_domains as a glob.', false),
  allow_wildcard_certificates: bool('Allow wildcard names such as *.example.com.', true),
  allow_any_name: bool(
    'Allow any name (hostname syntax still applies with enforce_hostnames).',
    false,
  ),
  enforce_hostnames: bool('Names must be valid host names (or e-mail addresses).', true),
  allow_ip_sans: bool('Allow IP SANs.', true),
  allowed_uri_sans: list('Globs URI SANs must match; none allowed when empty.'),
  server_flag: bool('Add the serverAuth extended key usage.', true),
  client_flag: bool('Add the clientAuth extended key usage.', true),
  code_signing_flag: bool('Add the codeSigning extended key usage.', false),
  email_protection_flag: bool('Add the emailProtection extended key usage.', false),
  key_type: {
    type: 'string',
    description: 'rsa, ec, ed25519, or any (sign only).',
    default: 'rsa',
  },
  key_bits: {
    type: 'int',
    description: 'RSA 2048/3072/4096/8192, EC 256/384/521; 0 for the default.',
  },
  signature_bits: { type: 'int', description: 'Hash size of the signature; 0 for the default.' },
  key_usage: list('Key usages.', ['DigitalSignature', 'KeyAgreement', 'KeyEncipherment']),
  ext_key_usage: list('Extended key usages by name (ServerAuth, ClientAuth, ...).'),
  ext_key_usage_oids: list('Extended key usages by OID.'),
  use_csr_common_name: bool('sign: take the common name from the CSR.', true),
  use_csr_sans: bool('sign: take the SANs from the CSR.', true),
  ou: list('Subject OU.'),
  organization: list('Subject O.'),
  country: list('Subject C.'),
  locality: list('Subject L.'),
  province: list('Subject ST.'),
  street_address: list('Subject street address.'),
  postal_code: list('Subject postal code.'),
  generate_lease: bool(
    'Accepted for compatibility; Keep issues no leases for certificates.',
    false,
  ),
  no_store: bool(
    'Do not store issued certificates (they cannot be listed or revoked by serial).',
    false,
  ),
  require_cn: bool('A common name is required.', true),
  policy_identifiers: list('Certificate policy OIDs.'),
  basic_constraints_valid_for_non_ca: bool('Add basic constraints CA:FALSE to leaves.', false),
  not_before_duration: { type: 'duration', description: 'Back-dating of notBefore.', default: 30 },
  not_after: { type: 'string', description: 'Fixed notAfter, YYYY-MM-ddTHH:MM:SSZ.' },
  cn_validations: list('Checks on the common name: email, hostname, or disabled.', [
    'email',
    'hostname',
  ]),
  issuer_ref: {
    type: 'string',
    description: 'Issuer to sign with; this mount has one.',
    default: 'default',
  },
};

const ROLE_KEYS = Object.keys(ROLE_FIELDS).filter((k) => k !== 'name');

/** Role names as Vault's GenericNameWithAtRegex allows them. */
export const ROLE_NAME = '(?<name>\\w(?:[\\w.@-]*\\w)?)';

function roleKey(name: string): string {
  return `role/${name}`;
}

export async function loadRole(ctx: BackendContext, name: string): Promise<Role | undefined> {
  return getJson<Role>(ctx.storage, roleKey(name));
}

/** The role, or Vault's 400 for an unknown one. */
export async function requireRole(ctx: BackendContext, name: string): Promise<Role> {
  const role = await loadRole(ctx, name);
  if (!role) throw new BadRequestError(`unknown role: ${name}`);
  return role;
}

/** Builds a role from the request, on top of `base` (defaults, or the stored role for PATCH). */
function roleFrom(fields: FieldData, base: Role | undefined): Role {
  const role = {} as Record<string, unknown>;
  for (const key of ROLE_KEYS) {
    role[key] =
      base && !fields.has(key)
        ? (base as unknown as Record<string, unknown>)[key]
        : fields.get(key);
  }
  return validateRole(role as unknown as Role);
}

export function validateRole(role: Role): Role {
  const key = normalizeKeyParams(role.key_type, role.key_bits, { allowAny: true });
  role.key_type = key.type;
  role.key_bits = key.bits;
  if (role.key_type !== 'any' && role.key_type !== 'ed25519') {
    signatureHash(
      { type: role.key_type as 'rsa' | 'ec', bits: role.key_bits },
      role.signature_bits,
    );
  }
  if (role.max_ttl > 0 && role.ttl > role.max_ttl) {
    throw new BadRequestError('"ttl" value must be less than "max_ttl" value');
  }
  keyUsageFlags(role.key_usage);
  extKeyUsageOids(role.ext_key_usage);
  checkOids(role.ext_key_usage_oids, 'ext_key_usage_oids');
  checkOids(role.policy_identifiers, 'policy_identifiers');
  if (role.not_after !== '') parseNotAfter(role.not_after);
  for (const v of role.cn_validations) {
    if (!['email', 'hostname', 'disabled'].includes(v)) {
      throw new BadRequestError(
        `invalid cn_validations value "${v}": use email, hostname or disabled`,
      );
    }
  }
  if (role.cn_validations.includes('disabled') && role.cn_validations.length > 1) {
    throw new BadRequestError('cn_validations "disabled" cannot be combined with other values');
  }
  return role;
}

/** Vault's not_after: an RFC 3339 UTC time, `YYYY-MM-ddTHH:MM:SSZ`. */
export function parseNotAfter(value: string): Date {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/.test(value)) {
    throw new BadRequestError(`not_after "${value}" must be a UTC time: YYYY-MM-ddTHH:MM:SSZ`);
  }
  const d = new Date(value);
  if (Number.isNaN(d.getTime()) || d.getUTCFullYear() > 9999) {
    throw new BadRequestError(`not_after "${value}" is not a valid time`);
  }
  return d;
}

export function rolePaths(): PathSpec[] {
  async function listRoles(_req: LogicalRequest, _f: FieldData, ctx: BackendContext) {
    const keys = await ctx.storage.list('role/');
    if (keys.length === 0) throw new NotFoundError();
    return { data: { keys } };
  }

  async function readRole(_req: LogicalRequest, fields: FieldData, ctx: BackendContext) {
    const role = await loadRole(ctx, fields.string('name'));
    if (!role) throw new NotFoundError();
    return { data: { ...role } };
  }

  async function writeRole(_req: LogicalRequest, fields: FieldData, ctx: BackendContext) {
    const role = roleFrom(fields, undefined);
    await putJson(ctx.storage, roleKey(fields.string('name')), role);
    return { data: { ...role } };
  }

  async function patchRole(_req: LogicalRequest, fields: FieldData, ctx: BackendContext) {
    const existing = await loadRole(ctx, fields.string('name'));
    if (!existing) throw new NotFoundError();
    const role = roleFrom(fields, existing);
    await putJson(ctx.storage, roleKey(fields.string('name')), role);
    return { data: { ...role } };
  }

  async function deleteRole(_req: LogicalRequest, fields: FieldData, ctx: BackendContext) {
    await ctx.storage.delete(roleKey(fields.string('name')));
    return undefined;
  }

  return [
    {
      pattern: 'roles/?',
      operations: { list: listRoles },
      synopsis: 'List the roles.',
    },
    {
      pattern: `roles/${ROLE_NAME}`,
      fields: ROLE_FIELDS,
      operations: {
        read: readRole,
        create: writeRole,
        update: writeRole,
        patch: patchRole,
        delete: deleteRole,
      },
      exists: async (_req, fields, ctx) =>
        (await loadRole(ctx, fields.string('name'))) !== undefined,
      synopsis: 'Manage the roles certificates are issued under.',
      description:
        'A role says which names (allowed_domains and the allow_* switches), key types, usages ' +
        'and TTLs issue/<role> and sign/<role> accept.',
    },
  ];
}
