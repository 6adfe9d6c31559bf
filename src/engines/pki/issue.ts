/**
 * Issuing leaf certificates: `issue/<role>` (the server makes the key),
 * `sign/<role>` (the client's CSR), `sign-verbatim[/<role>]`. The names a
 * certificate may carry, its validity and its usages follow Vault's rules;
 * every check runs before anything is signed or stored, so a refused request
 * leaves nothing behind.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import type { PathSpec } from '../../framework/backend.ts';
import type { FieldData, FieldSchemas } from '../../framework/fields.ts';
import type { BackendContext, LogicalRequest, LogicalResponse } from '../../framework/types.ts';
import { BadRequestError } from '../../lib/errors.ts';
import { formatGoDuration } from '../kv/wire-format.ts';
import { canonicalIp, type FastLeaf, nameDer, signatureAlgorithm, signLeaf } from './fast-leaf.ts';
import {
  checkPrivateKeyFormat,
  exportPrivateKey,
  generatePrivateKey,
  type KeyParams,
  keyParamsOf,
  publicKeyDer,
  signatureHash,
} from './keys.ts';
import {
  firstDisallowedName,
  invalidIp,
  isUri,
  splitAltNames,
  toAscii,
  unique,
  uriAllowed,
  withCommonName,
} from './names.ts';
import { parseNotAfter, ROLE_NAME, type Role, requireRole } from './roles.ts';
import { type LoadedCa, loadUrls, type PkiState, putJson } from './store.ts';
import {
  colonSerial,
  commonNameOf,
  encodePem,
  extKeyUsageOids,
  keyUsageFlags,
  newSerialHex,
  OID_BASIC_CONSTRAINTS,
  OID_SAN,
  parseCsr,
  type Sans,
  sansOf,
  storageSerial,
  type Urls,
  x509,
} from './x509.ts';

/** Limits that keep a request's work bounded; far above any real certificate. */
export const MAX_NAME_LENGTH = 1024;
export const MAX_SANS = 1000;
export const MAX_PEM_LENGTH = 1024 * 1024;

export const FORMAT_FIELD = {
  type: 'string' as const,
  description: 'pem, der or pem_bundle.',
  default: 'pem',
};

const SAN_FIELDS: FieldSchemas = {
  common_name: { type: 'string', description: 'The common name.' },
  alt_names: { type: 'comma_string_list', description: 'DNS names and e-mail addresses.' },
  ip_sans: { type: 'comma_string_list', description: 'IP addresses.' },
  uri_sans: { type: 'comma_string_list', description: 'URIs.' },
  exclude_cn_from_sans: { type: 'bool', description: 'Leave the common name out of the SANs.' },
};

export const ISSUE_FIELDS: FieldSchemas = {
  role: { type: 'string' },
  ...SAN_FIELDS,
  ttl: { type: 'duration', description: 'Requested TTL; capped by the role and mount.' },
  not_after: { type: 'string', description: 'Fixed notAfter, YYYY-MM-ddTHH:MM:SSZ.' },
  format: FORMAT_FIELD,
  private_key_format: { type: 'string', description: "der (the key type's own), pem, or pkcs8." },
  serial_number: { type: 'string', description: 'Subject serial number attribute.' },
  remove_roots_from_chain: { type: 'bool', description: 'Leave self-signed CAs out of ca_chain.' },
  issuer_ref: { type: 'string', description: 'Issuer to sign with; this mount has one.' },
};

export const SIGN_FIELDS: FieldSchemas = {
  ...ISSUE_FIELDS,
  csr: { type: 'string', description: 'PEM CSR.', required: true },
};

export const VERBATIM_FIELDS: FieldSchemas = {
  role: { type: 'string' },
  csr: { type: 'string', description: 'PEM CSR.', required: true },
  ttl: ISSUE_FIELDS.ttl!,
  not_after: ISSUE_FIELDS.not_after!,
  format: FORMAT_FIELD,
  key_usage: {
    type: 'comma_string_list',
    description: 'Key usages.',
    default: ['DigitalSignature', 'KeyAgreement', 'KeyEncipherment'],
  },
  ext_key_usage: { type: 'comma_string_list', description: 'Extended key usages by name.' },
  ext_key_usage_oids: { type: 'comma_string_list', description: 'Extended key usages by OID.' },
  signature_bits: { type: 'int', description: 'Hash size of the signature; 0 for the default.' },
  remove_roots_from_chain: ISSUE_FIELDS.remove_roots_from_chain!,
  issuer_ref: ISSUE_FIELDS.issuer_ref!,
};

/** Go's RFC3339Nano in UTC: fractional seconds without trailing zeros. */
export function rfc3339(d: Date): string {
  return d
    .toISOString()
    .replace(/\.000Z$/, 'Z')
    .replace(/(\.\d*?)0+Z$/, '$1Z');
}

export function checkFormat(format: string): 'pem' | 'der' | 'pem_bundle' {
  if (format === 'pem' || format === 'der' || format === 'pem_bundle') return format;
  throw new BadRequestError(`unknown format "${format}": use pem, der or pem_bundle`);
}

/**
 * Vault's notAfter rule: the request's ttl, else the role's, else the mount
 * default; capped (with a warning) at the role's max_ttl, else the mount
 * maximum; or a fixed not_after. Past the CA's own notAfter it is refused.
 */
export function computeNotAfter(opts: {
  ttl: number;
  notAfter: string;
  roleTtl: number;
  roleMaxTtl: number;
  ctx: BackendContext;
  now: Date;
  caNotAfter?: Date;
}): { notAfter: Date; warnings: string[] } {
  const warnings: string[] = [];
  if (opts.ttl > 0 && opts.notAfter !== '') {
    throw new BadRequestError(
      'Either ttl or not_after should be provided. Both should not be provided in the same request.',
    );
  }
  let notAfter: Date;
  if (opts.notAfter !== '') {
    notAfter = parseNotAfter(opts.notAfter);
  } else {
    let ttl =
      opts.ttl ||
      opts.roleTtl ||
      opts.ctx.mount.defaultLeaseTtlSeconds ||
      opts.ctx.system.defaultLeaseTtlSeconds;
    const maxTtl =
      opts.roleMaxTtl || opts.ctx.mount.maxLeaseTtlSeconds || opts.ctx.system.maxLeaseTtlSeconds;
    if (ttl > maxTtl) {
      warnings.push(
        `TTL "${formatGoDuration(ttl)}" is longer than permitted maxTTL "${formatGoDuration(maxTtl)}", so maxTTL is being used`,
      );
      ttl = maxTtl;
    }
    notAfter = new Date(Math.floor(opts.now.getTime() / 1000) * 1000 + ttl * 1000);
  }
  if (notAfter.getUTCFullYear() > 9999)
    throw new BadRequestError('the requested validity ends after the year 9999');
  if (opts.caNotAfter && notAfter.getTime() > opts.caNotAfter.getTime()) {
    throw new BadRequestError(
      `cannot satisfy request, as TTL would result in notAfter of ${rfc3339(notAfter)} that is beyond the expiration of the CA certificate at ${rfc3339(opts.caNotAfter)}`,
    );
  }
  return { notAfter, warnings };
}

export function notBefore(now: Date, backdateSeconds: number): Date {
  return new Date(Math.floor(now.getTime() / 1000) * 1000 - backdateSeconds * 1000);
}

function checkLengths(values: string[], what: string): void {
  if (values.length > MAX_SANS) throw new BadRequestError(`too many ${what}: at most ${MAX_SANS}`);
  for (const v of values) {
    if (v.length > MAX_NAME_LENGTH) {
      throw new BadRequestError(`a value in ${what} is longer than ${MAX_NAME_LENGTH} characters`);
    }
  }
}

/** Checks several groups of values at once, each named in the error. */
export function checkLengthsOf(groups: Record<string, string[]>): void {
  for (const [what, values] of Object.entries(groups)) checkLengths(values, what);
}

/** The common name and SANs a role allows for this request (Vault's generateCreationBundle). */
export function resolveNames(
  role: Role,
  fields: FieldData,
  csr?: x509.Pkcs10CertificateRequest,
): { cn: string; sans: Sans } {
  const csrSans = csr && role.use_csr_sans ? sansOf(csr.getExtension(OID_SAN)) : undefined;
  let cn = csr && role.use_csr_common_name ? commonNameOf(csr.subjectName) : '';
  if (cn === '') {
    cn = fields.string('common_name');
    if (cn === '' && role.require_cn) {
      throw new BadRequestError(
        'the common_name field is required, or must be provided in a CSR with "use_csr_common_name" set to true, unless "require_cn" is set to false',
      );
    }
  }
  checkLengths([cn], 'common_name');

  const requested = csrSans ?? { ...splitAltNames(fields.strings('alt_names')), ips: [], uris: [] };
  checkLengths(requested.dns, 'alt_names');
  checkLengths(requested.emails, 'alt_names');
  requested.dns = requested.dns.map(toAscii);
  const nonAscii = requested.emails.find((e) => !/^[\x21-\x7e]*$/.test(e));
  if (nonAscii !== undefined) throw new BadRequestError(`email address ${nonAscii} must be ASCII`);
  const named = withCommonName(
    cn,
    { dns: requested.dns, emails: requested.emails },
    fields.has('exclude_cn_from_sans') && fields.bool('exclude_cn_from_sans'),
  );

  if (cn !== '' && !(role.cn_validations.length === 1 && role.cn_validations[0] === 'disabled')) {
    if (firstDisallowedName(role, [cn]) !== undefined) {
      throw new BadRequestError(`common name ${cn} not allowed by this role`);
    }
  }
  const badDns = firstDisallowedName(role, named.dns);
  if (badDns !== undefined) {
    throw new BadRequestError(`subject alternate name ${badDns} not allowed by this role`);
  }
  const badEmail = firstDisallowedName(role, named.emails);
  if (badEmail !== undefined) {
    throw new BadRequestError(`email address ${badEmail} not allowed by this role`);
  }

  let ips: string[];
  if (csrSans) {
    ips = csrSans.ips;
    if (ips.length > 0 && !role.allow_ip_sans) {
      throw new BadRequestError(
        'IP Subject Alternative Names are not allowed in this role, but was provided some via CSR',
      );
    }
  } else {
    ips = fields.strings('ip_sans');
    checkLengths(ips, 'ip_sans');
    if (ips.length > 0 && !role.allow_ip_sans) {
      throw new BadRequestError(
        `IP Subject Alternative Names are not allowed in this role, but was provided ${ips.join(',')}`,
      );
    }
  }
  checkLengths(ips, 'ip_sans');
  const bad = invalidIp(ips);
  if (bad !== undefined) throw new BadRequestError(`the value "${bad}" is not a valid IP address`);

  const uris = csrSans ? csrSans.uris : fields.strings('uri_sans');
  checkLengths(uris, 'uri_sans');
  if (uris.length > 0) {
    if (role.allowed_uri_sans.length === 0) {
      throw new BadRequestError(
        'URI Subject Alternative Names are not allowed in this role, but were provided via the API',
      );
    }
    for (const uri of uris) {
      if (!/^[\x21-\x7e]*$/.test(uri) || !isUri(uri) || !uriAllowed(role.allowed_uri_sans, uri)) {
        throw new BadRequestError(
          `URI Subject Alternative Names were provided via the API but are not valid for this role: ${uri}`,
        );
      }
    }
  }
  return {
    cn,
    sans: {
      dns: named.dns,
      emails: named.emails,
      ips: unique(ips.map(canonicalIp)),
      uris: unique(uris),
    },
  };
}

/** Extended key usages a role grants. */
export function roleExtKeyUsages(role: Role): string[] {
  const out: string[] = [];
  if (role.server_flag) out.push('1.3.6.1.5.5.7.3.1');
  if (role.client_flag) out.push('1.3.6.1.5.5.7.3.2');
  if (role.code_signing_flag) out.push('1.3.6.1.5.5.7.3.3');
  if (role.email_protection_flag) out.push('1.3.6.1.5.5.7.3.4');
  out.push(...extKeyUsageOids(role.ext_key_usage), ...role.ext_key_usage_oids);
  return unique(out);
}

/** Checks a CSR's key against the role's key_type and key_bits. */
export function checkCsrKey(role: Role, csr: x509.Pkcs10CertificateRequest): KeyParams {
  let params: KeyParams | undefined;
  try {
    params = keyParamsOf(csrPublicKey(csr));
  } catch {
    params = undefined;
  }
  if (!params)
    throw new BadRequestError(
      'the CSR holds a key of a type Keep does not sign (use rsa, ec P-256/P-384/P-521 or ed25519)',
    );
  if (role.key_type === 'any') {
    if (params.type === 'rsa' && params.bits < 2048) {
      throw new BadRequestError(
        `RSA keys of ${params.bits} bits are too small: at least 2048 are required`,
      );
    }
    return params;
  }
  if (params.type !== role.key_type) {
    throw new BadRequestError(`role requires keys of type ${role.key_type}`);
  }
  if (params.type === 'rsa' && params.bits < role.key_bits) {
    throw new BadRequestError(
      `role requires a minimum of ${role.key_bits} bits for keys of type rsa`,
    );
  }
  if (params.type === 'ec' && params.bits !== role.key_bits) {
    throw new BadRequestError(
      `role requires keys of type ec with ${role.key_bits} bits, but the CSR's key has ${params.bits}`,
    );
  }
  return params;
}

export function csrPublicKey(csr: x509.Pkcs10CertificateRequest): KeyObject {
  return createPublicKeyFromSpki(Buffer.from(csr.publicKey.rawData));
}

function createPublicKeyFromSpki(der: Buffer): KeyObject {
  return createPublicKey({ key: der, format: 'der', type: 'spki' });
}

export interface Issued {
  der: Buffer;
  pem: string;
  serial: string;
  notAfter: Date;
}

export type LeafSpec = Omit<FastLeaf, 'serialHex'>;

/**
 * Signs a leaf on the fast path (fast-leaf.ts), then stores it unless told
 * not to; the serial is fresh each time.
 */
export async function signAndStore(
  ctx: BackendContext,
  ca: LoadedCa,
  spec: LeafSpec,
  opts: { noStore: boolean; signatureBits?: number },
): Promise<Issued> {
  const serialHex = newSerialHex();
  const signer = opts.signatureBits
    ? {
        ...ca.fast,
        algorithm: signatureAlgorithm(ca.params, signatureHash(ca.params, opts.signatureBits)),
      }
    : ca.fast;
  const der = signLeaf({ ...spec, serialHex }, signer);
  const pem = encodePem(der, 'CERTIFICATE');
  const serial = colonSerial(serialHex);
  const notAfter = new Date(Math.floor(spec.notAfter.getTime() / 1000) * 1000);
  if (!opts.noStore) {
    await putJson(ctx.storage, `certs/${storageSerial(serial)}`, {
      certificate: pem,
      not_after: Math.floor(notAfter.getTime() / 1000),
    });
  }
  return { der, pem, serial, notAfter };
}

export function isSelfIssued(pem: string): boolean {
  const cert = new x509.X509Certificate(pem);
  return Buffer.from(cert.subjectName.toArrayBuffer()).equals(
    Buffer.from(cert.issuerName.toArrayBuffer()),
  );
}

/** Vault's issue/sign response in the requested format. */
export function issueResponse(opts: {
  issued: Issued;
  ca: LoadedCa;
  format: 'pem' | 'der' | 'pem_bundle';
  removeRoots: boolean;
  privateKey?: { key: KeyObject; params: KeyParams; keyFormat: string };
  warnings: string[];
}): LogicalResponse {
  const { issued, ca, format } = opts;
  const chain = opts.removeRoots ? ca.chainPems.filter((p) => !isSelfIssued(p)) : ca.chainPems;
  const pem = issued.pem;
  const data: Record<string, unknown> = {
    serial_number: issued.serial,
    expiration: Math.floor(issued.notAfter.getTime() / 1000),
  };
  const key =
    opts.privateKey &&
    exportPrivateKey(
      opts.privateKey.key,
      opts.privateKey.params,
      format,
      opts.privateKey.keyFormat,
    );
  if (format === 'der') {
    data.certificate = issued.der.toString('base64');
    data.issuing_ca = derB64(ca.stored.certificate);
    data.ca_chain = chain.map(derB64);
  } else {
    data.certificate =
      format === 'pem_bundle' ? [key, pem, ...chain].filter(Boolean).join('\n') : pem;
    data.issuing_ca = ca.stored.certificate;
    data.ca_chain = chain;
  }
  if (opts.privateKey) {
    data.private_key = key;
    data.private_key_type = opts.privateKey.params.type;
  }
  return { data, warnings: opts.warnings.length > 0 ? opts.warnings : undefined };
}

function derB64(pem: string): string {
  return Buffer.from(new x509.X509Certificate(pem).rawData).toString('base64');
}

function checkIssuerRef(fields: FieldData, ca: LoadedCa): void {
  const ref = fields.has('issuer_ref') ? fields.string('issuer_ref') : 'default';
  if (ref !== 'default' && ref !== ca.stored.issuer_id) {
    throw new BadRequestError(`unable to find PKI issuer for reference: ${ref}`);
  }
}

function leafSpec(
  role: Role,
  names: { cn: string; sans: Sans },
  fields: FieldData,
  publicKey: Buffer,
  window: { notBefore: Date; notAfter: Date },
  urls: Urls,
): LeafSpec {
  return {
    subject: buildSubject(role, names.cn, fields),
    notBefore: window.notBefore,
    notAfter: window.notAfter,
    publicKey,
    sans: names.sans,
    keyUsage: keyUsageFlags(role.key_usage),
    extKeyUsage: roleExtKeyUsages(role),
    basicConstraintsLeaf: role.basic_constraints_valid_for_non_ca,
    urls,
    policyIdentifiers: role.policy_identifiers,
  };
}

function buildSubject(role: Role, cn: string, fields: FieldData): Buffer {
  const serial = fields.has('serial_number') ? fields.string('serial_number') : '';
  checkLengths([serial], 'serial_number');
  return nameDer({
    common_name: cn,
    ou: role.ou,
    organization: role.organization,
    country: role.country,
    locality: role.locality,
    province: role.province,
    street_address: role.street_address,
    postal_code: role.postal_code,
    serial_number: serial,
  });
}

/**
 * The validity of a certificate a role issues or signs: checked before any
 * key is generated, so a bad TTL costs no key generation.
 */
function roleValidity(role: Role, fields: FieldData, ctx: BackendContext, ca: LoadedCa) {
  const now = ctx.system.now();
  const { notAfter, warnings } = computeNotAfter({
    ttl: fields.int('ttl'),
    notAfter: fields.string('not_after') || role.not_after,
    roleTtl: role.ttl,
    roleMaxTtl: role.max_ttl,
    ctx,
    now,
    caNotAfter: ca.cert.notAfter,
  });
  return { notBefore: notBefore(now, role.not_before_duration), notAfter, warnings };
}

/** Signs a leaf for `publicKey` under the role's rules and stores it unless `no_store`. */
async function signForRole(
  ctx: BackendContext,
  ca: LoadedCa,
  role: Role,
  names: Parameters<typeof leafSpec>[1],
  fields: FieldData,
  publicKey: Buffer,
  validity: { notBefore: Date; notAfter: Date },
) {
  const urls = await loadUrls(ctx.storage);
  const spec = leafSpec(role, names, fields, publicKey, validity, urls);
  return signAndStore(ctx, ca, spec, {
    noStore: role.no_store,
    signatureBits: role.signature_bits,
  });
}

export function issuePaths(state: PkiState): PathSpec[] {
  async function issue(_req: LogicalRequest, fields: FieldData, ctx: BackendContext) {
    const role = await requireRole(ctx, fields.string('role'));
    if (role.key_type === 'any') {
      throw new BadRequestError(
        'role key type "any" not allowed for issuing certificates, only signing',
      );
    }
    const format = checkFormat(fields.string('format'));
    const keyFormat = checkPrivateKeyFormat(fields.string('private_key_format'));
    const ca = await state.requireCa(ctx.storage);
    checkIssuerRef(fields, ca);
    const names = resolveNames(role, fields);
    const validity = roleValidity(role, fields, ctx, ca);
    const params = { type: role.key_type, bits: role.key_bits } as KeyParams;
    const key = await generatePrivateKey(params);
    const issued = await signForRole(ctx, ca, role, names, fields, publicKeyDer(key), validity);
    return issueResponse({
      issued,
      ca,
      format,
      removeRoots: fields.bool('remove_roots_from_chain'),
      privateKey: { key, params, keyFormat },
      warnings: validity.warnings,
    });
  }

  async function sign(_req: LogicalRequest, fields: FieldData, ctx: BackendContext) {
    const role = await requireRole(ctx, fields.string('role'));
    const format = checkFormat(fields.string('format'));
    const csr = await parseCsrField(fields.string('csr'));
    const ca = await state.requireCa(ctx.storage);
    checkIssuerRef(fields, ca);
    checkCsrKey(role, csr);
    const names = resolveNames(role, fields, csr);
    const validity = roleValidity(role, fields, ctx, ca);
    const publicKey = Buffer.from(csr.publicKey.rawData);
    const issued = await signForRole(ctx, ca, role, names, fields, publicKey, validity);
    return issueResponse({
      issued,
      ca,
      format,
      removeRoots: fields.bool('remove_roots_from_chain'),
      warnings: validity.warnings,
    });
  }

  async function signVerbatim(_req: LogicalRequest, fields: FieldData, ctx: BackendContext) {
    const roleName = fields.string('role');
    const role = roleName ? await requireRole(ctx, roleName) : undefined;
    const format = checkFormat(fields.string('format'));
    const csr = await parseCsrField(fields.string('csr'));
    const ca = await state.requireCa(ctx.storage);
    checkIssuerRef(fields, ca);
    const bc = csr.getExtension(OID_BASIC_CONSTRAINTS);
    if (bc && new x509.BasicConstraintsExtension(bc.rawData).ca) {
      throw new BadRequestError(
        'the CSR asks for a CA certificate: sign CAs with root/sign-intermediate',
      );
    }
    checkCsrKey({ key_type: 'any' } as Role, csr);
    const now = ctx.system.now();
    const { notAfter, warnings } = computeNotAfter({
      ttl: fields.int('ttl'),
      notAfter: fields.string('not_after'),
      roleTtl: role?.ttl ?? 0,
      roleMaxTtl: role?.max_ttl ?? 0,
      ctx,
      now,
      caNotAfter: ca.cert.notAfter,
    });
    const csrSans = sansOf(csr.getExtension(OID_SAN));
    checkLengths(
      [...csrSans.dns, ...csrSans.emails, ...csrSans.ips, ...csrSans.uris],
      "the CSR's SANs",
    );
    const badIp = invalidIp(csrSans.ips);
    if (badIp !== undefined) throw new BadRequestError(`the CSR's IP SAN "${badIp}" is not valid`);
    const nonAscii = [...csrSans.dns, ...csrSans.emails, ...csrSans.uris].find(
      (v) => !/^[\x20-\x7e]*$/.test(v),
    );
    if (nonAscii !== undefined) throw new BadRequestError("the CSR's SANs must be ASCII");
    const sans = { ...csrSans, ips: csrSans.ips.map(canonicalIp) };
    const extKeyUsage = unique([
      ...extKeyUsageOids(fields.strings('ext_key_usage')),
      ...fields.strings('ext_key_usage_oids'),
    ]);
    const urls = await loadUrls(ctx.storage);
    const issued = await signAndStore(
      ctx,
      ca,
      {
        subject: Buffer.from(csr.subjectName.toArrayBuffer()),
        notBefore: notBefore(now, role?.not_before_duration ?? 30),
        notAfter,
        publicKey: Buffer.from(csr.publicKey.rawData),
        sans,
        keyUsage: keyUsageFlags(fields.strings('key_usage')),
        extKeyUsage,
        urls,
      },
      { noStore: role?.no_store ?? false, signatureBits: fields.int('signature_bits') },
    );
    return issueResponse({
      issued,
      ca,
      format,
      removeRoots: fields.bool('remove_roots_from_chain'),
      warnings,
    });
  }

  return [
    {
      pattern: `issue/${ROLE_NAME.replace('name', 'role')}`,
      fields: ISSUE_FIELDS,
      operations: { update: issue },
      synopsis: 'Issue a certificate and private key under a role.',
      description:
        'The server generates the key; the response carries it once and it is not stored.',
    },
    {
      pattern: `sign/${ROLE_NAME.replace('name', 'role')}`,
      fields: SIGN_FIELDS,
      operations: { update: sign },
      synopsis: 'Sign a CSR under a role.',
    },
    {
      pattern: `sign-verbatim(?:/${ROLE_NAME.replace('name', 'role')})?`,
      fields: VERBATIM_FIELDS,
      operations: { update: signVerbatim },
      synopsis: 'Sign a CSR as it is, subject and SANs included.',
    },
  ];
}

export async function parseCsrField(text: string): Promise<x509.Pkcs10CertificateRequest> {
  if (text.length > MAX_PEM_LENGTH) throw new BadRequestError('csr is too large');
  return parseCsr(text);
}
