/**
 * Reading certificates and CRLs, as Vault serves them: the raw endpoints
 * (`ca`, `ca/pem`, `ca_chain`, `crl`, `crl/pem`, `cert/<serial>/raw[/pem]`)
 * answer DER or PEM bodies, the `cert/...` endpoints JSON; all of them need no
 * token, as in Vault. `certs` and `certs/revoked` list serials.
 */
import type { PathSpec } from '../../framework/backend.ts';
import type { FieldData } from '../../framework/fields.ts';
import type { BackendContext, LogicalRequest, LogicalResponse } from '../../framework/types.ts';
import { BadRequestError, NotFoundError } from '../../lib/errors.ts';
import { currentCrl } from './crl.ts';
import { rfc3339 } from './issue.ts';
import { type CertRecord, getJson, type PkiState, type RevokedRecord } from './store.ts';
import { encodePem, parseSerial, storageSerial, x509 } from './x509.ts';

const PEM_CHAIN = 'application/pem-certificate-chain';
const PKIX_CERT = 'application/pkix-cert';
const PKIX_CRL = 'application/pkix-crl';
const PEM_FILE = 'application/x-pem-file';

/** Paths that need no token, as in Vault. */
export const UNAUTHENTICATED_PATHS = ['cert/*', 'ca/pem', 'ca_chain', 'ca', 'crl', 'crl/pem'];

function raw(body: string | Buffer, contentType: string): LogicalResponse {
  return { raw: { status: 200, contentType, body } };
}

function derOf(pem: string): Buffer {
  return Buffer.from(new x509.X509Certificate(pem).rawData);
}

export function fetchPaths(state: PkiState): PathSpec[] {
  async function caDer(_req: LogicalRequest, _f: FieldData, ctx: BackendContext) {
    const ca = await state.requireCa(ctx.storage);
    return raw(derOf(ca.stored.certificate), PKIX_CERT);
  }

  async function caPem(_req: LogicalRequest, _f: FieldData, ctx: BackendContext) {
    const ca = await state.requireCa(ctx.storage);
    return raw(`${ca.stored.certificate}\n`, PEM_CHAIN);
  }

  async function caChainRaw(_req: LogicalRequest, _f: FieldData, ctx: BackendContext) {
    const ca = await state.requireCa(ctx.storage);
    return raw(`${ca.chainPems.join('\n')}\n`, PEM_CHAIN);
  }

  async function crlDer(_req: LogicalRequest, _f: FieldData, ctx: BackendContext) {
    return raw(await currentCrl(ctx, state), PKIX_CRL);
  }

  async function crlPem(_req: LogicalRequest, _f: FieldData, ctx: BackendContext) {
    return raw(`${encodePem(await currentCrl(ctx, state), 'X509 CRL')}\n`, PEM_FILE);
  }

  /** `cert/<serial>`, `cert/ca`, `cert/ca_chain`, `cert/crl`, and their `/raw[/pem]` forms. */
  async function readCert(_req: LogicalRequest, fields: FieldData, ctx: BackendContext) {
    const which = fields.string('serial');
    const form = fields.string('form');
    let pem: string;
    let revocation: RevokedRecord | undefined;
    let issuerId = '';
    if (which === 'ca' || which === 'ca_chain') {
      const ca = await state.requireCa(ctx.storage);
      pem = which === 'ca' ? ca.stored.certificate : ca.chainPems.join('\n');
      issuerId = ca.stored.issuer_id;
      if (which === 'ca_chain' && form === '') {
        return {
          data: {
            certificate: pem,
            ca_chain: pem,
            revocation_time: 0,
            revocation_time_rfc3339: '',
          },
        };
      }
    } else if (which === 'crl') {
      const der = await currentCrl(ctx, state);
      if (form === '/raw') return raw(der, PKIX_CRL);
      const crl = encodePem(der, 'X509 CRL');
      if (form === '/raw/pem') return raw(`${crl}\n`, PEM_FILE);
      return { data: { certificate: crl, revocation_time: 0, revocation_time_rfc3339: '' } };
    } else {
      const serial = parseSerial(which);
      if (!serial) throw new BadRequestError(`invalid serial number "${which}"`);
      const rec = await getJson<CertRecord>(ctx.storage, `certs/${storageSerial(serial)}`);
      if (!rec) throw new NotFoundError();
      pem = rec.certificate;
      revocation = await getJson<RevokedRecord>(ctx.storage, `revoked/${storageSerial(serial)}`);
      issuerId = (await state.loadCa(ctx.storage))?.stored.issuer_id ?? '';
    }
    if (form === '/raw') return raw(derOf(pem), PKIX_CERT);
    if (form === '/raw/pem') return raw(`${pem}\n`, PEM_CHAIN);
    return {
      data: {
        certificate: pem,
        revocation_time: revocation?.revocation_time ?? 0,
        revocation_time_rfc3339: revocation
          ? rfc3339(new Date(revocation.revocation_time * 1000))
          : '',
        issuer_id: issuerId,
      },
    };
  }

  async function listCerts(_req: LogicalRequest, _f: FieldData, ctx: BackendContext) {
    const keys = (await ctx.storage.list('certs/'))
      .filter((k) => !k.endsWith('/'))
      .map((k) => k.replace(/-/g, ':'));
    if (keys.length === 0) throw new NotFoundError();
    return { data: { keys } };
  }

  async function listRevoked(_req: LogicalRequest, _f: FieldData, ctx: BackendContext) {
    const keys = (await ctx.storage.list('revoked/'))
      .filter((k) => !k.endsWith('/'))
      .map((k) => k.replace(/-/g, ':'));
    if (keys.length === 0) throw new NotFoundError();
    return { data: { keys } };
  }

  return [
    { pattern: 'ca', operations: { read: caDer }, synopsis: 'The CA certificate, DER.' },
    { pattern: 'ca/pem', operations: { read: caPem }, synopsis: 'The CA certificate, PEM.' },
    {
      pattern: 'ca_chain',
      operations: { read: caChainRaw },
      synopsis: 'The CA and the chain above it, PEM.',
    },
    { pattern: 'crl', operations: { read: crlDer }, synopsis: 'The CRL, DER.' },
    { pattern: 'crl/pem', operations: { read: crlPem }, synopsis: 'The CRL, PEM.' },
    {
      pattern: 'cert/(?<serial>[0-9A-Za-z:_-]+)(?<form>/raw|/raw/pem)?',
      fields: { serial: { type: 'string' }, form: { type: 'string' } },
      operations: { read: readCert },
      synopsis: 'A certificate by serial (or ca, ca_chain, crl), with its revocation time.',
    },
    {
      pattern: 'certs/?',
      operations: { list: listCerts },
      synopsis: 'Serials of stored certificates.',
    },
    {
      pattern: 'certs/revoked/?',
      operations: { list: listRevoked },
      synopsis: 'Serials of revoked certificates.',
    },
  ];
}
