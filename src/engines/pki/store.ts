/**
 * What a PKI mount keeps, all in the mount's own storage (behind the
 * barrier, so private keys are ciphertext at rest):
 *
 *   config/ca_bundle     the CA: certificate, PKCS#8 key, chain above it
 *   config/ca_pending    the key of an intermediate CSR awaiting set-signed
 *   config/urls          AIA and CRL distribution URLs for new certificates
 *   config/crl           CRL lifetime and the disable switch
 *   role/<name>          roles
 *   certs/<serial>       issued certificates (hyphenated serial, as Vault)
 *   revoked/<serial>     revocation entries
 *   crl/current          the signed CRL and its number
 *
 * Loaded CAs are cached per mount with their WebCrypto signing key, checked
 * against the stored bundle on each use so a change on another path or node
 * is seen.
 */
import { randomUUID } from 'node:crypto';
import { BadRequestError } from '../../lib/errors.ts';
import type { Storage } from '../../storage/types.ts';
import { type FastSigner, signatureAlgorithm, subjectOfCertificate } from './fast-leaf.ts';
import {
  type KeyParams,
  keyParamsOf,
  loadPrivateKey,
  signatureHash,
  signingAlgorithm,
  toSigningKey,
} from './keys.ts';
import { keyIdOf, parseCertificatesPem, type Signer, type Urls, type x509 } from './x509.ts';

export interface StoredCa {
  issuer_id: string;
  key_id: string;
  /** PEM of the CA certificate. */
  certificate: string;
  /** PKCS#8 PEM. Secret. */
  private_key: string;
  /** PEMs of the issuers above this CA, nearest first. */
  chain: string[];
}

export interface PendingKey {
  key_id: string;
  private_key: string;
}

export interface LoadedCa {
  stored: StoredCa;
  cert: x509.X509Certificate;
  params: KeyParams;
  signer: Signer;
  /** The same CA for the fast leaf path (fast-leaf.ts). */
  fast: FastSigner;
  /** The CA and the chain above it, PEM, nearest first. */
  chainPems: string[];
}

export interface CertRecord {
  certificate: string;
  /** Unix seconds. */
  not_after: number;
}

export interface RevokedRecord {
  serial_number: string;
  revocation_time: number;
  certificate: string;
  not_after: number;
}

export interface CrlConfig {
  expiry: number;
  disable: boolean;
}

export interface CrlRecord {
  der: string;
  number: number;
  next_update: number;
}

export const DEFAULT_CRL_EXPIRY = 72 * 3600;

export async function getJson<T>(storage: Storage, key: string): Promise<T | undefined> {
  const raw = await storage.get(key);
  return raw ? (JSON.parse(raw.toString('utf8')) as T) : undefined;
}

export async function putJson(storage: Storage, key: string, value: unknown): Promise<void> {
  await storage.put(key, Buffer.from(JSON.stringify(value)));
}

export async function loadUrls(storage: Storage): Promise<Urls> {
  const stored = await getJson<Partial<Urls>>(storage, 'config/urls');
  return {
    issuing_certificates: stored?.issuing_certificates ?? [],
    crl_distribution_points: stored?.crl_distribution_points ?? [],
    ocsp_servers: stored?.ocsp_servers ?? [],
  };
}

export async function loadCrlConfig(storage: Storage): Promise<CrlConfig> {
  const stored = await getJson<Partial<CrlConfig>>(storage, 'config/crl');
  return { expiry: stored?.expiry ?? DEFAULT_CRL_EXPIRY, disable: stored?.disable ?? false };
}

/** Per-mount state: the CA cache and a lock that orders CRL and CA changes. */
export class PkiState {
  #cache: LoadedCa | undefined;
  #tail: Promise<unknown> = Promise.resolve();
  #cleanups: (() => Promise<void>)[] = [];

  /** Registers work to finish before the mount's storage closes (a running tidy). */
  onCleanup(fn: () => Promise<void>): void {
    this.#cleanups.push(fn);
  }

  async cleanup(): Promise<void> {
    for (const fn of this.#cleanups) await fn();
    await this.#tail;
    this.#cache = undefined;
  }

  /** Runs `fn` after every earlier locked call has finished. */
  locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(fn, fn);
    this.#tail = run.catch(() => {});
    return run;
  }

  clear(): void {
    this.#cache = undefined;
  }

  /** The mount's CA, or undefined when none is configured. */
  async loadCa(storage: Storage): Promise<LoadedCa | undefined> {
    const stored = await getJson<StoredCa>(storage, 'config/ca_bundle');
    if (!stored) {
      this.#cache = undefined;
      return undefined;
    }
    const cached = this.#cache;
    if (
      cached &&
      cached.stored.issuer_id === stored.issuer_id &&
      cached.stored.certificate === stored.certificate &&
      cached.stored.chain.join() === stored.chain.join()
    ) {
      return cached;
    }
    const loaded = await loadCaFrom(stored);
    this.#cache = loaded;
    return loaded;
  }

  /** The CA, or a 400 saying there is none. */
  async requireCa(storage: Storage): Promise<LoadedCa> {
    const ca = await this.loadCa(storage);
    if (!ca) {
      throw new BadRequestError(
        'no CA is configured for this mount: generate a root (root/generate/internal), ' +
          'set a signed intermediate (intermediate/set-signed) or import one (config/ca)',
      );
    }
    return ca;
  }
}

async function loadCaFrom(stored: StoredCa): Promise<LoadedCa> {
  const cert = parseCertificatesPem(stored.certificate)[0]!;
  const key = loadPrivateKey(stored.private_key);
  const params = keyParamsOf(key);
  if (!params) throw new Error('stored CA key has an unsupported type');
  const keyIdHex = await keyIdOf(cert);
  return {
    stored,
    cert,
    params,
    signer: {
      name: cert.subjectName,
      key: await toSigningKey(key, params),
      algorithm: signingAlgorithm(params),
      keyIdHex,
    },
    fast: {
      issuer: subjectOfCertificate(Buffer.from(cert.rawData)),
      key,
      algorithm: signatureAlgorithm(params, signatureHash(params)),
      keyIdHex,
    },
    chainPems: [stored.certificate, ...stored.chain],
  };
}

export function newId(): string {
  return randomUUID();
}
