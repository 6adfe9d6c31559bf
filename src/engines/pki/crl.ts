/**
 * Revocation: `revoke`, the CRL (rebuilt and signed on every revocation and
 * CA change, served by fetch.ts), `crl/rotate`, `config/crl` (expiry,
 * disable) and `tidy` / `tidy-status`, which drop expired certificates and
 * revocation entries in the background as Vault does.
 */
import { X509Certificate } from 'node:crypto';
import type { PathSpec } from '../../framework/backend.ts';
import type { FieldData } from '../../framework/fields.ts';
import type { BackendContext, LogicalRequest, LogicalResponse } from '../../framework/types.ts';
import { parseDuration } from '../../lib/duration.ts';
import { BadRequestError } from '../../lib/errors.ts';
import { formatGoDuration } from '../kv/wire-format.ts';
import { MAX_PEM_LENGTH, rfc3339 } from './issue.ts';
import {
  type CertRecord,
  type CrlRecord,
  DEFAULT_CRL_EXPIRY,
  getJson,
  type LoadedCa,
  loadCrlConfig,
  type PkiState,
  putJson,
  type RevokedRecord,
} from './store.ts';
import {
  certPem,
  colonSerial,
  createCrl,
  parseCertificatesPem,
  parseSerial,
  storageSerial,
} from './x509.ts';

/** Signs a new CRL from the revocation entries; the caller holds the state's lock. */
export async function rebuildCrl(ctx: BackendContext, ca: LoadedCa): Promise<CrlRecord> {
  const config = await loadCrlConfig(ctx.storage);
  const previous = await getJson<CrlRecord>(ctx.storage, 'crl/current');
  const entries: { serialHex: string; revokedAt: Date }[] = [];
  if (!config.disable) {
    for (const name of await ctx.storage.list('revoked/')) {
      const rec = await getJson<RevokedRecord>(ctx.storage, `revoked/${name}`);
      if (!rec) continue;
      entries.push({
        serialHex: rec.serial_number.replace(/:/g, ''),
        revokedAt: new Date(rec.revocation_time * 1000),
      });
    }
  }
  const now = ctx.system.now();
  const thisUpdate = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const nextUpdate = new Date(thisUpdate.getTime() + config.expiry * 1000);
  const number = (previous?.number ?? 0) + 1;
  const der = await createCrl({ signer: ca.signer, number, thisUpdate, nextUpdate, entries });
  const record: CrlRecord = {
    der: der.toString('base64'),
    number,
    next_update: Math.floor(nextUpdate.getTime() / 1000),
  };
  await putJson(ctx.storage, 'crl/current', record);
  return record;
}

/** The current CRL (DER), signing one first if there is none or it has lapsed. */
export async function currentCrl(ctx: BackendContext, state: PkiState): Promise<Buffer> {
  const ca = await state.requireCa(ctx.storage);
  const now = ctx.system.now().getTime() / 1000;
  const stored = await getJson<CrlRecord>(ctx.storage, 'crl/current');
  if (stored && stored.next_update > now) return Buffer.from(stored.der, 'base64');
  const rebuilt = await state.locked(async () => {
    const again = await getJson<CrlRecord>(ctx.storage, 'crl/current');
    if (again && again.next_update > now) return again;
    return rebuildCrl(ctx, ca);
  });
  return Buffer.from(rebuilt.der, 'base64');
}

function revokeData(rec: RevokedRecord): Record<string, unknown> {
  return {
    revocation_time: rec.revocation_time,
    revocation_time_rfc3339: rfc3339(new Date(rec.revocation_time * 1000)),
    state: 'revoked',
  };
}

interface TidyStatus {
  state: 'Inactive' | 'Running' | 'Finished' | 'Error';
  safety_buffer: number;
  tidy_cert_store: boolean;
  tidy_revoked_certs: boolean;
  error: string | null;
  time_started: string | null;
  time_finished: string | null;
  message: string | null;
  cert_store_deleted_count: number;
  revoked_cert_deleted_count: number;
}

export function revocationPaths(state: PkiState): PathSpec[] {
  let tidy: TidyStatus = {
    state: 'Inactive',
    safety_buffer: 0,
    tidy_cert_store: false,
    tidy_revoked_certs: false,
    error: null,
    time_started: null,
    time_finished: null,
    message: null,
    cert_store_deleted_count: 0,
    revoked_cert_deleted_count: 0,
  };
  let running: Promise<void> | undefined;
  state.onCleanup(async () => {
    await running;
  });

  async function revoke(
    _req: LogicalRequest,
    fields: FieldData,
    ctx: BackendContext,
  ): Promise<LogicalResponse> {
    const hasSerial = fields.string('serial_number') !== '';
    const hasCert = fields.string('certificate') !== '';
    if (hasSerial === hasCert) {
      throw new BadRequestError('exactly one of serial_number or certificate must be given');
    }
    const ca = await state.requireCa(ctx.storage);
    let serial: string;
    let pem: string;
    let notAfter: number;
    if (hasSerial) {
      const parsed = parseSerial(fields.string('serial_number'));
      if (!parsed)
        throw new BadRequestError(`invalid serial number "${fields.string('serial_number')}"`);
      serial = parsed;
      const rec = await getJson<CertRecord>(ctx.storage, `certs/${storageSerial(serial)}`);
      if (!rec) throw new BadRequestError(`certificate with serial ${serial} not found.`);
      pem = rec.certificate;
      notAfter = rec.not_after;
    } else {
      const text = fields.string('certificate');
      if (text.length > MAX_PEM_LENGTH) throw new BadRequestError('certificate is too large');
      const certs = parseCertificatesPem(text, 'certificate');
      if (certs.length !== 1)
        throw new BadRequestError('certificate must hold exactly one certificate');
      const node = new X509Certificate(Buffer.from(certs[0]!.rawData));
      const caNode = new X509Certificate(Buffer.from(ca.cert.rawData));
      if (!node.checkIssued(caNode) || !node.verify(caNode.publicKey)) {
        throw new BadRequestError("the certificate was not issued by this mount's CA");
      }
      serial = colonSerial(certs[0]!.serialNumber);
      pem = certPem(certs[0]!);
      notAfter = Math.floor(certs[0]!.notAfter.getTime() / 1000);
    }
    if (serial === colonSerial(ca.cert.serialNumber)) {
      throw new BadRequestError(
        `adding issuer (id: ${ca.stored.issuer_id}) to its own CRL is not allowed`,
      );
    }
    const now = Math.floor(ctx.system.now().getTime() / 1000);
    if (notAfter < now) {
      return {
        data: { revocation_time: 0, state: 'expired' },
        warnings: ['the certificate has expired; it is not added to the CRL'],
      };
    }
    return state.locked(async () => {
      const key = `revoked/${storageSerial(serial)}`;
      const existing = await getJson<RevokedRecord>(ctx.storage, key);
      if (existing) return { data: revokeData(existing) };
      const rec: RevokedRecord = {
        serial_number: serial,
        revocation_time: now,
        certificate: pem,
        not_after: notAfter,
      };
      await putJson(ctx.storage, key, rec);
      await rebuildCrl(ctx, ca);
      return { data: revokeData(rec) };
    });
  }

  async function rotate(_req: LogicalRequest, _fields: FieldData, ctx: BackendContext) {
    const ca = await state.requireCa(ctx.storage);
    await state.locked(() => rebuildCrl(ctx, ca));
    return { data: { success: true } };
  }

  async function readCrlConfig(_req: LogicalRequest, _fields: FieldData, ctx: BackendContext) {
    const config = await loadCrlConfig(ctx.storage);
    return { data: { expiry: formatGoDuration(config.expiry), disable: config.disable } };
  }

  async function writeCrlConfig(_req: LogicalRequest, fields: FieldData, ctx: BackendContext) {
    const config = await loadCrlConfig(ctx.storage);
    if (fields.has('expiry')) {
      let seconds: number;
      try {
        seconds = Math.trunc(parseDuration(fields.raw.expiry as string));
      } catch {
        throw new BadRequestError(
          `given expiry could not be decoded: ${String(fields.raw.expiry)}`,
        );
      }
      if (seconds < 60) throw new BadRequestError('expiry must be at least one minute');
      if (seconds > 100 * 365 * 86400) throw new BadRequestError('expiry must be under 100 years');
      config.expiry = seconds;
    }
    if (fields.has('disable')) config.disable = fields.bool('disable');
    await putJson(ctx.storage, 'config/crl', config);
    const ca = await state.loadCa(ctx.storage);
    if (ca) await state.locked(() => rebuildCrl(ctx, ca));
    return { data: { expiry: formatGoDuration(config.expiry), disable: config.disable } };
  }

  async function startTidy(
    _req: LogicalRequest,
    fields: FieldData,
    ctx: BackendContext,
  ): Promise<LogicalResponse> {
    const certStore = fields.bool('tidy_cert_store');
    const revoked = fields.bool('tidy_revoked_certs');
    if (!certStore && !revoked) {
      throw new BadRequestError(
        'at least one of tidy_cert_store or tidy_revoked_certs must be true',
      );
    }
    const buffer = fields.int('safety_buffer');
    if (buffer < 1) throw new BadRequestError('safety_buffer must be at least 1 second');
    if (tidy.state === 'Running') return { warnings: ['Tidy operation already in progress.'] };
    tidy = {
      state: 'Running',
      safety_buffer: buffer,
      tidy_cert_store: certStore,
      tidy_revoked_certs: revoked,
      error: null,
      time_started: rfc3339(ctx.system.now()),
      time_finished: null,
      message: 'Tidying certificate store',
      cert_store_deleted_count: 0,
      revoked_cert_deleted_count: 0,
    };
    const status = tidy;
    running = runTidy(ctx, status)
      .then(
        () => {
          status.state = 'Finished';
          status.message = null;
        },
        (err: unknown) => {
          status.state = 'Error';
          status.error = err instanceof Error ? err.message : String(err);
          ctx.system.logger?.error(
            { mount: ctx.mount.path, error: status.error },
            'pki tidy failed',
          );
        },
      )
      .finally(() => {
        status.time_finished = rfc3339(ctx.system.now());
        ctx.system.logger?.info(
          {
            mount: ctx.mount.path,
            cert_store_deleted_count: status.cert_store_deleted_count,
            revoked_cert_deleted_count: status.revoked_cert_deleted_count,
          },
          'pki tidy finished',
        );
      });
    return {
      status: 202,
      data: { safety_buffer: buffer, tidy_cert_store: certStore, tidy_revoked_certs: revoked },
      warnings: [
        "Tidy operation successfully started. Any information from the operation will be printed to Keep's server logs.",
      ],
    };
  }

  async function runTidy(ctx: BackendContext, status: TidyStatus): Promise<void> {
    const cutoff = Math.floor(ctx.system.now().getTime() / 1000) - status.safety_buffer;
    let revokedRemoved = false;
    if (status.tidy_revoked_certs) {
      for (const name of await ctx.storage.list('revoked/')) {
        const rec = await getJson<RevokedRecord>(ctx.storage, `revoked/${name}`);
        if (rec && rec.not_after < cutoff) {
          await ctx.storage.delete(`revoked/${name}`);
          await ctx.storage.delete(`certs/${name}`);
          status.revoked_cert_deleted_count++;
          revokedRemoved = true;
        }
      }
    }
    if (status.tidy_cert_store) {
      const revokedNames = new Set(await ctx.storage.list('revoked/'));
      for (const name of await ctx.storage.list('certs/')) {
        // A revoked certificate stays while it is on the CRL.
        if (revokedNames.has(name)) continue;
        const rec = await getJson<CertRecord>(ctx.storage, `certs/${name}`);
        if (rec && rec.not_after < cutoff) {
          await ctx.storage.delete(`certs/${name}`);
          status.cert_store_deleted_count++;
        }
      }
    }
    if (revokedRemoved) {
      const ca = await state.loadCa(ctx.storage);
      if (ca) await state.locked(() => rebuildCrl(ctx, ca));
    }
  }

  async function tidyStatus() {
    return { data: { ...tidy } };
  }

  return [
    {
      pattern: 'revoke',
      fields: {
        serial_number: { type: 'string', description: 'Serial, colon or hyphen separated.' },
        certificate: {
          type: 'string',
          description: 'Or the PEM certificate itself (for no_store roles).',
        },
      },
      operations: { update: revoke },
      synopsis: 'Revoke a certificate; the CRL is signed again at once.',
    },
    {
      pattern: 'crl/rotate',
      operations: { read: rotate },
      synopsis: 'Sign the CRL again now.',
    },
    {
      pattern: 'config/crl',
      fields: {
        expiry: { type: 'raw', description: 'How long a CRL is valid, e.g. "72h".' },
        disable: { type: 'bool', description: 'Serve an empty CRL.' },
      },
      operations: { read: readCrlConfig, update: writeCrlConfig },
      synopsis: 'CRL lifetime and switch.',
    },
    {
      pattern: 'tidy',
      fields: {
        tidy_cert_store: { type: 'bool', description: 'Remove expired certificates.' },
        tidy_revoked_certs: {
          type: 'bool',
          description: 'Remove revocation entries of expired certificates.',
        },
        safety_buffer: {
          type: 'duration',
          default: DEFAULT_CRL_EXPIRY,
          description: 'Keep what expired less than this long ago.',
        },
      },
      operations: { update: startTidy },
      synopsis: 'Remove expired certificates and revocation entries, in the background.',
    },
    {
      pattern: 'tidy-status',
      operations: { read: tidyStatus },
      synopsis: 'State of the last tidy.',
    },
  ];
}
