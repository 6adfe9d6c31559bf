/**
 * The mount's CA: `root/generate/internal|exported`, `DELETE root`,
 * `intermediate/generate/internal|exported` (a CSR whose key waits in
 * storage), `root/sign-intermediate` (this CA signs another mount's CSR),
 * `intermediate/set-signed`, `config/ca` (import a PEM bundle), and
 * `config/urls`. A mount holds one CA: installing a second is refused until
 * `DELETE root` removes the first.
 */
import {
  createPrivateKey,
  createPublicKey,
  type KeyObject,
  webcrypto,
  X509Certificate,
} from 'node:crypto';
import type { PathSpec } from '../../framework/backend.ts';
import type { FieldData, FieldSchemas } from '../../framework/fields.ts';
import type { BackendContext, LogicalRequest, LogicalResponse } from '../../framework/types.ts';
import { BadRequestError } from '../../lib/errors.ts';
import { rebuildCrl } from './crl.ts';
import { canonicalIp } from './fast-leaf.ts';
import {
  checkFormat,
  checkLengthsOf,
  computeNotAfter,
  FORMAT_FIELD,
  MAX_PEM_LENGTH,
  notBefore,
  parseCsrField,
} from './issue.ts';
import {
  checkPrivateKeyFormat,
  exportPrivateKey,
  generatePrivateKey,
  type KeyParams,
  keyParamsOf,
  normalizeKeyParams,
  publicKeyDer,
  signingAlgorithm,
  storedKey,
  toSigningKey,
} from './keys.ts';
import { invalidIp, isUri, splitAltNames, toAscii, unique, withCommonName } from './names.ts';
import {
  getJson,
  type LoadedCa,
  loadUrls,
  newId,
  type PendingKey,
  type PkiState,
  putJson,
  type StoredCa,
} from './store.ts';
import {
  buildName,
  certPem,
  colonSerial,
  commonNameOf,
  createCertificate,
  createCsr,
  decodePem,
  encodePem,
  newSerialHex,
  OID_SAN,
  parseCertificate,
  parseCertificatesPem,
  type Sans,
  type SubjectFields,
  sansOf,
  storageSerial,
  x509,
} from './x509.ts';

const CA_KEY_USAGE = x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign;

const SUBJECT_FIELDS: FieldSchemas = {
  common_name: { type: 'string', description: 'The common name.' },
  alt_names: { type: 'comma_string_list', description: 'DNS names and e-mail addresses.' },
  ip_sans: { type: 'comma_string_list', description: 'IP addresses.' },
  uri_sans: { type: 'comma_string_list', description: 'URIs.' },
  exclude_cn_from_sans: { type: 'bool', description: 'Leave the common name out of the SANs.' },
  ou: { type: 'comma_string_list' },
  organization: { type: 'comma_string_list' },
  country: { type: 'comma_string_list' },
  locality: { type: 'comma_string_list' },
  province: { type: 'comma_string_list' },
  street_address: { type: 'comma_string_list' },
  postal_code: { type: 'comma_string_list' },
  serial_number: { type: 'string', description: 'Subject serial number attribute.' },
};

const KEY_FIELDS: FieldSchemas = {
  key_type: { type: 'string', description: 'rsa, ec or ed25519.', default: 'rsa' },
  key_bits: {
    type: 'int',
    description: 'RSA 2048/3072/4096/8192, EC 256/384/521; 0 for the default.',
  },
  signature_bits: { type: 'int', description: 'Hash size of the signature; 0 for the default.' },
  private_key_format: { type: 'string', description: "der (the key type's own), pem, or pkcs8." },
  format: FORMAT_FIELD,
  issuer_name: { type: 'string', description: 'A name for the issuer.' },
  key_name: { type: 'string', description: 'A name for the key.' },
};

const VALIDITY_FIELDS: FieldSchemas = {
  ttl: {
    type: 'duration',
    description: 'Validity; the mount default when 0, capped at the mount maximum.',
  },
  not_after: { type: 'string', description: 'Fixed notAfter, YYYY-MM-ddTHH:MM:SSZ.' },
  not_before_duration: { type: 'duration', default: 30, description: 'Back-dating of notBefore.' },
  max_path_length: { type: 'int', default: -1, description: 'CA path length; -1 for none.' },
  permitted_dns_domains: {
    type: 'comma_string_list',
    description: 'Name constraints (permitted DNS subtrees).',
  },
};

export const ROOT_FIELDS: FieldSchemas = {
  exported: { type: 'string' },
  ...SUBJECT_FIELDS,
  ...KEY_FIELDS,
  ...VALIDITY_FIELDS,
};

export const INTERMEDIATE_FIELDS: FieldSchemas = {
  exported: { type: 'string' },
  ...SUBJECT_FIELDS,
  ...KEY_FIELDS,
  add_basic_constraints: {
    type: 'bool',
    description: 'Put basic constraints CA:TRUE into the CSR.',
  },
};

export const SIGN_INTERMEDIATE_FIELDS: FieldSchemas = {
  csr: { type: 'string', required: true, description: 'PEM CSR of the intermediate.' },
  ...SUBJECT_FIELDS,
  ...VALIDITY_FIELDS,
  format: FORMAT_FIELD,
  signature_bits: KEY_FIELDS.signature_bits!,
  use_csr_values: { type: 'bool', description: 'Take subject and SANs from the CSR.' },
  issuer_ref: { type: 'string' },
};

function subjectFrom(fields: FieldData, cn: string): SubjectFields {
  return {
    common_name: cn,
    ou: fields.strings('ou'),
    organization: fields.strings('organization'),
    country: fields.strings('country'),
    locality: fields.strings('locality'),
    province: fields.strings('province'),
    street_address: fields.strings('street_address'),
    postal_code: fields.strings('postal_code'),
    serial_number: fields.string('serial_number'),
  };
}

/** The SANs of a CA request: anything syntactically valid (Vault's CA requests allow any name). */
function caSans(fields: FieldData, cn: string): Sans {
  const alt = splitAltNames(fields.strings('alt_names'));
  const ips = fields.strings('ip_sans');
  const uris = fields.strings('uri_sans');
  checkLengthsOf({
    alt_names: [...alt.dns, ...alt.emails],
    ip_sans: ips,
    uri_sans: uris,
    common_name: [cn],
  });
  const bad = invalidIp(ips);
  if (bad !== undefined) throw new BadRequestError(`the value "${bad}" is not a valid IP address`);
  const badUri = uris.find((u) => !isUri(u));
  if (badUri !== undefined) throw new BadRequestError(`the value "${badUri}" is not a valid URI`);
  const named = withCommonName(
    cn,
    { dns: alt.dns.map(toAscii), emails: alt.emails },
    fields.bool('exclude_cn_from_sans'),
  );
  return {
    dns: named.dns,
    emails: named.emails,
    ips: unique(ips.map(canonicalIp)),
    uris: unique(uris),
  };
}

function requireCommonName(cn: string): void {
  if (cn === '') {
    throw new BadRequestError(
      'the common_name field is required, or must be provided in a CSR with "use_csr_common_name" set to true, unless "require_cn" is set to false',
    );
  }
}

function checkDomains(domains: string[]): string[] {
  checkLengthsOf({ permitted_dns_domains: domains });
  return domains;
}

function keyParamsFrom(fields: FieldData): KeyParams {
  return normalizeKeyParams(fields.string('key_type'), fields.int('key_bits')) as KeyParams;
}

async function cryptoKeyPair(key: KeyObject, params: KeyParams): Promise<CryptoKeyPair> {
  const privateKey = await toSigningKey(key, params);
  let alg: Algorithm;
  if (params.type === 'rsa') alg = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as Algorithm;
  else if (params.type === 'ec')
    alg = { name: 'ECDSA', namedCurve: `P-${params.bits}` } as Algorithm;
  else alg = { name: 'Ed25519' };
  const publicKey = (await webcrypto.subtle.importKey('spki', publicKeyDer(key), alg, true, [
    'verify',
  ])) as CryptoKey;
  return { privateKey, publicKey };
}

function requireNoCa(existing: StoredCa | undefined): void {
  if (existing) {
    throw new BadRequestError(
      'this mount already has a CA; Keep keeps one CA per mount: delete it first (DELETE <mount>/root) or use another mount',
    );
  }
}

/** Installs a CA (under the state's lock), records its certificate, and signs a first CRL. */
async function installCa(
  ctx: BackendContext,
  state: PkiState,
  stored: StoredCa,
  opts: { storeCert: boolean; dropPending: boolean },
): Promise<LoadedCa> {
  return state.locked(async () => {
    requireNoCa(await getJson<StoredCa>(ctx.storage, 'config/ca_bundle'));
    await putJson(ctx.storage, 'config/ca_bundle', stored);
    if (opts.dropPending) await ctx.storage.delete('config/ca_pending');
    const ca = (await state.loadCa(ctx.storage))!;
    if (opts.storeCert) {
      await putJson(ctx.storage, `certs/${storageSerial(colonSerial(ca.cert.serialNumber))}`, {
        certificate: stored.certificate,
        not_after: Math.floor(ca.cert.notAfter.getTime() / 1000),
      });
    }
    await ctx.storage.delete('crl/current');
    await rebuildCrl(ctx, ca);
    return ca;
  });
}

function caResponse(
  ca: { certificate: string; cert: x509.X509Certificate; stored: StoredCa },
  fields: FieldData,
  format: 'pem' | 'der' | 'pem_bundle',
  key: { key: KeyObject; params: KeyParams } | undefined,
  warnings: string[],
): LogicalResponse {
  const exportedKey =
    key &&
    exportPrivateKey(
      key.key,
      key.params,
      format,
      checkPrivateKeyFormat(fields.string('private_key_format')),
    );
  const der = Buffer.from(ca.cert.rawData).toString('base64');
  const data: Record<string, unknown> = {
    certificate:
      format === 'der'
        ? der
        : format === 'pem_bundle'
          ? [exportedKey, ca.certificate].filter(Boolean).join('\n')
          : ca.certificate,
    issuing_ca: format === 'der' ? der : ca.certificate,
    serial_number: colonSerial(ca.cert.serialNumber),
    expiration: Math.floor(ca.cert.notAfter.getTime() / 1000),
    issuer_id: ca.stored.issuer_id,
    issuer_name: fields.string('issuer_name'),
    key_id: ca.stored.key_id,
    key_name: fields.string('key_name'),
  };
  if (key) {
    data.private_key = exportedKey;
    data.private_key_type = key.params.type;
  }
  return { data, warnings: warnings.length > 0 ? warnings : undefined };
}

export function caPaths(state: PkiState): PathSpec[] {
  async function generateRoot(_req: LogicalRequest, fields: FieldData, ctx: BackendContext) {
    const exported = fields.string('exported') === 'exported';
    const format = checkFormat(fields.string('format'));
    checkPrivateKeyFormat(fields.string('private_key_format'));
    const params = keyParamsFrom(fields);
    const cn = fields.string('common_name');
    requireCommonName(cn);
    const sans = caSans(fields, cn);
    const subject = buildName(subjectFrom(fields, cn));
    const pathLength = fields.int('max_path_length');
    if (pathLength < -1) throw new BadRequestError('max_path_length must be -1 (none) or more');
    const now = ctx.system.now();
    const { notAfter, warnings } = computeNotAfter({
      ttl: fields.int('ttl'),
      notAfter: fields.string('not_after'),
      roleTtl: 0,
      roleMaxTtl: 0,
      ctx,
      now,
    });
    const domains = checkDomains(fields.strings('permitted_dns_domains'));
    requireNoCa(await getJson<StoredCa>(ctx.storage, 'config/ca_bundle'));

    const key = await generatePrivateKey(params);
    const signingKey = await toSigningKey(key, params, fields.int('signature_bits'));
    const publicKey = publicKeyDer(key);
    const urls = await loadUrls(ctx.storage);
    const cert = await createCertificate(
      {
        serialHex: newSerialHex(),
        subject,
        notBefore: notBefore(now, fields.int('not_before_duration')),
        notAfter,
        publicKey,
        sans,
        ca: { pathLength: pathLength >= 0 ? pathLength : undefined },
        keyUsage: CA_KEY_USAGE,
        urls,
        permittedDnsDomains: domains,
      },
      {
        name: subject,
        key: signingKey,
        algorithm: signingAlgorithm(params, fields.int('signature_bits')),
      },
    );
    const stored: StoredCa = {
      issuer_id: newId(),
      key_id: newId(),
      certificate: certPem(cert),
      private_key: storedKey(key),
      chain: [],
    };
    const ca = await installCa(ctx, state, stored, { storeCert: true, dropPending: false });
    return caResponse(
      { certificate: stored.certificate, cert: ca.cert, stored },
      fields,
      format,
      exported ? { key, params } : undefined,
      warnings,
    );
  }

  async function deleteRoot(_req: LogicalRequest, _fields: FieldData, ctx: BackendContext) {
    await state.locked(async () => {
      await ctx.storage.delete('config/ca_bundle');
      await ctx.storage.delete('config/ca_pending');
      await ctx.storage.delete('crl/current');
      state.clear();
    });
    return undefined;
  }

  async function generateIntermediate(
    _req: LogicalRequest,
    fields: FieldData,
    ctx: BackendContext,
  ) {
    const exported = fields.string('exported') === 'exported';
    const format = checkFormat(fields.string('format'));
    checkPrivateKeyFormat(fields.string('private_key_format'));
    const params = keyParamsFrom(fields);
    const cn = fields.string('common_name');
    requireCommonName(cn);
    const sans = caSans(fields, cn);
    const subject = buildName(subjectFrom(fields, cn));
    const key = await generatePrivateKey(params);
    const pair = await cryptoKeyPair(key, params);
    const csr = await createCsr(
      subject,
      pair,
      signingAlgorithm(params, fields.int('signature_bits')),
      sans,
      fields.bool('add_basic_constraints'),
    );
    const pending: PendingKey = { key_id: newId(), private_key: storedKey(key) };
    await putJson(ctx.storage, 'config/ca_pending', pending);
    const data: Record<string, unknown> = {
      csr:
        format === 'der'
          ? Buffer.from(csr.rawData).toString('base64')
          : encodePem(csr.rawData, 'CERTIFICATE REQUEST'),
      key_id: pending.key_id,
    };
    if (exported) {
      data.private_key = exportPrivateKey(key, params, format, fields.string('private_key_format'));
      data.private_key_type = params.type;
    }
    return { data };
  }

  async function signIntermediate(_req: LogicalRequest, fields: FieldData, ctx: BackendContext) {
    const format = checkFormat(fields.string('format'));
    const csr = await parseCsrField(fields.string('csr'));
    const ca = await state.requireCa(ctx.storage);
    const ref = fields.string('issuer_ref');
    if (ref !== '' && ref !== 'default' && ref !== ca.stored.issuer_id) {
      throw new BadRequestError(`unable to find PKI issuer for reference: ${ref}`);
    }
    const csrKey = keyParamsOf(
      createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: 'der', type: 'spki' }),
    );
    if (!csrKey) throw new BadRequestError('the CSR holds a key of a type Keep does not sign');
    if (csrKey.type === 'rsa' && csrKey.bits < 2048)
      throw new BadRequestError('RSA keys under 2048 bits are refused');

    const useCsr = fields.bool('use_csr_values');
    const cn = useCsr
      ? commonNameOf(csr.subjectName) || fields.string('common_name')
      : fields.string('common_name');
    requireCommonName(cn);
    let subject: x509.Name;
    let sans: Sans;
    if (useCsr) {
      subject = new x509.Name(csr.subjectName.toArrayBuffer());
      sans = sansOf(csr.getExtension(OID_SAN));
      checkLengthsOf({
        "the CSR's SANs": [...sans.dns, ...sans.emails, ...sans.ips, ...sans.uris],
      });
    } else {
      subject = buildName(subjectFrom(fields, cn));
      sans = caSans(fields, cn);
    }

    const parent = ca.cert.getExtension(x509.BasicConstraintsExtension);
    const parentLen = parent?.pathLength;
    if (parentLen === 0) {
      throw new BadRequestError(
        'signing certificate has a max path length of zero, and cannot issue further CA certificates',
      );
    }
    let pathLength: number | undefined = fields.int('max_path_length');
    if (pathLength < -1) throw new BadRequestError('max_path_length must be -1 (none) or more');
    if (parentLen !== undefined)
      pathLength = pathLength < 0 ? parentLen - 1 : Math.min(pathLength, parentLen - 1);
    else if (pathLength < 0) pathLength = undefined;

    const now = ctx.system.now();
    const { notAfter, warnings } = computeNotAfter({
      ttl: fields.int('ttl'),
      notAfter: fields.string('not_after'),
      roleTtl: 0,
      roleMaxTtl: 0,
      ctx,
      now,
      caNotAfter: ca.cert.notAfter,
    });
    const urls = await loadUrls(ctx.storage);
    const signer = fields.int('signature_bits')
      ? {
          ...ca.signer,
          key: await toSigningKey(
            loadKey(ca.stored.private_key),
            ca.params,
            fields.int('signature_bits'),
          ),
          algorithm: signingAlgorithm(ca.params, fields.int('signature_bits')),
        }
      : ca.signer;
    const serialHex = newSerialHex();
    const cert = await createCertificate(
      {
        serialHex,
        subject,
        notBefore: notBefore(now, fields.int('not_before_duration')),
        notAfter,
        publicKey: Buffer.from(csr.publicKey.rawData),
        sans,
        ca: { pathLength },
        keyUsage: CA_KEY_USAGE,
        urls,
        permittedDnsDomains: checkDomains(fields.strings('permitted_dns_domains')),
      },
      signer,
    );
    const serial = colonSerial(serialHex);
    const pem = certPem(cert);
    await putJson(ctx.storage, `certs/${storageSerial(serial)}`, {
      certificate: pem,
      not_after: Math.floor(cert.notAfter.getTime() / 1000),
    });
    const der = (p: string) => Buffer.from(new x509.X509Certificate(p).rawData).toString('base64');
    const chain = [pem, ...ca.chainPems];
    return {
      data: {
        certificate: format === 'der' ? der(pem) : format === 'pem_bundle' ? chain.join('\n') : pem,
        issuing_ca: format === 'der' ? der(ca.stored.certificate) : ca.stored.certificate,
        ca_chain: format === 'der' ? chain.map(der) : chain,
        serial_number: serial,
        expiration: Math.floor(cert.notAfter.getTime() / 1000),
      },
      warnings: warnings.length > 0 ? warnings : undefined,
    };
  }

  async function setSigned(_req: LogicalRequest, fields: FieldData, ctx: BackendContext) {
    const text = fields.string('certificate');
    if (text.length > MAX_PEM_LENGTH) throw new BadRequestError('certificate is too large');
    const certs = parseCertificatesPem(text, 'certificate');
    const pending = await getJson<PendingKey>(ctx.storage, 'config/ca_pending');
    if (!pending) {
      throw new BadRequestError(
        'no pending intermediate key: generate a CSR with intermediate/generate first',
      );
    }
    const key = loadKey(pending.private_key);
    const spki = publicKeyDer(key);
    const own = certs.find((c) => Buffer.from(c.publicKey.rawData).equals(spki));
    if (!own) {
      throw new BadRequestError(
        "the certificate's public key does not match the key of the pending intermediate CSR",
      );
    }
    const { chain, warnings } = orderChain(own, certs);
    const stored: StoredCa = {
      issuer_id: newId(),
      key_id: pending.key_id,
      certificate: certPem(own),
      private_key: pending.private_key,
      chain: chain.map(certPem),
    };
    await installCa(ctx, state, stored, { storeCert: false, dropPending: true });
    return importResponse(stored, warnings);
  }

  async function importCa(_req: LogicalRequest, fields: FieldData, ctx: BackendContext) {
    const text = fields.string('pem_bundle');
    if (text.length > MAX_PEM_LENGTH) throw new BadRequestError('pem_bundle is too large');
    const blocks = decodePem(text, 'pem_bundle');
    const keys = blocks.filter((b) => b.label.endsWith('PRIVATE KEY'));
    const certBlocks = blocks.filter((b) => b.label === 'CERTIFICATE');
    const other = blocks.find((b) => !b.label.endsWith('PRIVATE KEY') && b.label !== 'CERTIFICATE');
    if (other) throw new BadRequestError(`pem_bundle holds an unexpected "${other.label}" block`);
    if (keys.length !== 1 || certBlocks.length === 0) {
      throw new BadRequestError(
        'pem_bundle must hold the CA certificate and exactly one private key (and optionally its chain)',
      );
    }
    const key = importedKey(keys[0]!);
    const spki = publicKeyDer(key);
    const certs = certBlocks.map((b) => parseCertificate(b.der, 'pem_bundle'));
    const own = certs.find((c) => Buffer.from(c.publicKey.rawData).equals(spki));
    if (!own) throw new BadRequestError('no certificate in pem_bundle matches its private key');
    const { chain, warnings } = orderChain(own, certs);
    const stored: StoredCa = {
      issuer_id: newId(),
      key_id: newId(),
      certificate: certPem(own),
      private_key: storedKey(key),
      chain: chain.map(certPem),
    };
    await installCa(ctx, state, stored, { storeCert: false, dropPending: false });
    return importResponse(stored, warnings);
  }

  async function readUrls(_req: LogicalRequest, _fields: FieldData, ctx: BackendContext) {
    return { data: { ...(await loadUrls(ctx.storage)), enable_templating: false } };
  }

  async function writeUrls(_req: LogicalRequest, fields: FieldData, ctx: BackendContext) {
    const urls = await loadUrls(ctx.storage);
    for (const name of [
      'issuing_certificates',
      'crl_distribution_points',
      'ocsp_servers',
    ] as const) {
      if (!fields.has(name)) continue;
      const values = fields.strings(name);
      checkLengthsOf({ [name]: values });
      for (const v of values) {
        if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^\s/?#]+[^\s]*$/.test(v) || !URL.canParse(v)) {
          throw new BadRequestError(
            `invalid URL found in Authority Information Access (AIA) parameter ${name}: ${v}`,
          );
        }
      }
      urls[name] = values;
    }
    await putJson(ctx.storage, 'config/urls', urls);
    return { data: { ...urls, enable_templating: false } };
  }

  return [
    {
      pattern: 'root/generate/(?<exported>internal|exported)',
      fields: ROOT_FIELDS,
      operations: { update: generateRoot },
      synopsis: 'Generate a self-signed root CA for this mount.',
      description: '"exported" also returns the private key, once; "internal" never does.',
    },
    {
      pattern: 'root',
      operations: { delete: deleteRoot },
      synopsis: "Delete the mount's CA certificate and key (issued certificates stay listed).",
    },
    {
      pattern: 'root/sign-intermediate',
      fields: SIGN_INTERMEDIATE_FIELDS,
      operations: { update: signIntermediate },
      synopsis: "Sign an intermediate CA's CSR with this mount's CA.",
    },
    {
      pattern: 'intermediate/generate/(?<exported>internal|exported)',
      fields: INTERMEDIATE_FIELDS,
      operations: { update: generateIntermediate },
      synopsis:
        'Generate an intermediate CA key and CSR; the key waits for intermediate/set-signed.',
    },
    {
      pattern: 'intermediate/set-signed',
      fields: {
        certificate: {
          type: 'string',
          required: true,
          description: 'The signed certificate, optionally followed by its chain.',
        },
      },
      operations: { update: setSigned },
      synopsis: 'Install the signed intermediate certificate for the pending key.',
    },
    {
      pattern: 'config/ca',
      fields: {
        pem_bundle: {
          type: 'string',
          required: true,
          description: 'PEM: the CA certificate, its key, optionally its chain.',
        },
      },
      operations: { update: importCa },
      synopsis: 'Import a CA certificate and key.',
    },
    {
      pattern: 'config/urls',
      fields: {
        issuing_certificates: {
          type: 'comma_string_list',
          description: 'URLs of the CA certificate (AIA caIssuers).',
        },
        crl_distribution_points: { type: 'comma_string_list', description: 'URLs of the CRL.' },
        ocsp_servers: { type: 'comma_string_list', description: 'OCSP responder URLs (AIA).' },
      },
      operations: { read: readUrls, update: writeUrls },
      synopsis: 'URLs written into certificates issued from now on.',
    },
  ];
}

function importResponse(stored: StoredCa, warnings: string[]): LogicalResponse {
  return {
    data: {
      imported_issuers: [stored.issuer_id],
      imported_keys: [stored.key_id],
      mapping: { [stored.issuer_id]: stored.key_id },
      existing_issuers: null,
      existing_keys: null,
    },
    warnings: warnings.length > 0 ? warnings : undefined,
  };
}

function loadKey(pem: string): KeyObject {
  return createPrivateKey(pem);
}

function importedKey(block: { label: string; der: Buffer }): KeyObject {
  const type =
    block.label === 'RSA PRIVATE KEY'
      ? 'pkcs1'
      : block.label === 'EC PRIVATE KEY'
        ? 'sec1'
        : block.label === 'PRIVATE KEY'
          ? 'pkcs8'
          : undefined;
  if (!type)
    throw new BadRequestError(
      `pem_bundle holds a "${block.label}" (encrypted keys are not accepted)`,
    );
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: block.der, format: 'der', type });
  } catch {
    throw new BadRequestError('the private key in pem_bundle could not be parsed');
  }
  if (!keyParamsOf(key))
    throw new BadRequestError('the private key in pem_bundle is of an unsupported type');
  return key;
}

/**
 * Orders the certificates above `own` into its chain: each the issuer of the
 * one before (name and signature), up to a self-signed root or the end of
 * what was given. Certificates outside the chain are ignored with a warning.
 */
export function orderChain(
  own: x509.X509Certificate,
  all: x509.X509Certificate[],
): { chain: x509.X509Certificate[]; warnings: string[] } {
  const nodeOf = (c: x509.X509Certificate) => new X509Certificate(Buffer.from(c.rawData));
  const ownNode = nodeOf(own);
  if (!ownNode.ca)
    throw new BadRequestError(
      'the certificate is not a CA certificate (basic constraints CA:TRUE missing)',
    );
  const warnings: string[] = [];
  if (ownNode.checkIssued(ownNode) && !ownNode.verify(ownNode.publicKey)) {
    throw new BadRequestError("the CA certificate's self-signature does not verify");
  }
  const pool = all.filter((c) => c !== own);
  const chain: x509.X509Certificate[] = [];
  let current = ownNode;
  while (!current.checkIssued(current) || !current.verify(current.publicKey)) {
    const idx = pool.findIndex((c) => {
      const n = nodeOf(c);
      return current.checkIssued(n) && current.verify(n.publicKey);
    });
    if (idx < 0) break;
    const [parent] = pool.splice(idx, 1);
    chain.push(parent!);
    current = nodeOf(parent!);
  }
  const sameSubject = pool.filter((c) => !Buffer.from(c.rawData).equals(Buffer.from(own.rawData)));
  if (sameSubject.length > 0) {
    warnings.push(`ignored ${sameSubject.length} certificate(s) that are not in the CA's chain`);
  }
  if (own.notAfter.getTime() < Date.now()) warnings.push('the CA certificate has expired');
  return { chain, warnings };
}
