/**
 * Key pairs for the PKI engine: which key types and sizes Vault accepts,
 * generation off the event loop (`crypto.generateKeyPair` runs in libuv's
 * thread pool, so an RSA 4096 key never stalls other requests), the encodings
 * Vault returns (`private_key_format`), and the WebCrypto signing key the
 * X.509 library signs with. Private keys are secrets: they leave this module
 * only as stored PKCS#8 or in a response field Vault also returns.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPair as generateKeyPairCb,
  type KeyObject,
  webcrypto,
} from 'node:crypto';
import { promisify } from 'node:util';
import { BadRequestError } from '../../lib/errors.ts';

const generateKeyPairAsync = promisify(generateKeyPairCb);

export type KeyType = 'rsa' | 'ec' | 'ed25519';

export interface KeyParams {
  type: KeyType;
  /** RSA modulus bits, EC curve size (256, 384, 521); 0 for ed25519. */
  bits: number;
}

const RSA_BITS = [2048, 3072, 4096, 8192];
const EC_BITS = [256, 384, 521];
const CURVES: Record<number, string> = { 256: 'P-256', 384: 'P-384', 521: 'P-521' };
const CURVE_BITS: Record<string, number> = {
  prime256v1: 256,
  secp384r1: 384,
  secp521r1: 521,
};

/**
 * Vault's key_type/key_bits rules: 0 bits picks the type's default (RSA 2048,
 * EC P-256); `any` is a role-only type for signing CSRs of any kind.
 */
export function normalizeKeyParams(
  type: string,
  bits: number,
  opts: { allowAny?: boolean } = {},
): { type: KeyType | 'any'; bits: number } {
  switch (type) {
    case 'rsa': {
      const b = bits === 0 ? 2048 : bits;
      if (!RSA_BITS.includes(b))
        throw new BadRequestError(`unsupported bit length for RSA key: ${bits}`);
      return { type, bits: b };
    }
    case 'ec': {
      const b = bits === 0 ? 256 : bits;
      if (!EC_BITS.includes(b))
        throw new BadRequestError(`unsupported bit length for EC key: ${bits}`);
      return { type, bits: b };
    }
    case 'ed25519':
      return { type, bits: 0 };
    case 'any':
      if (opts.allowAny) return { type, bits: 0 };
      break;
  }
  throw new BadRequestError(`unknown key type: ${type}`);
}

/** Generates a key pair without blocking the event loop; returns the private key. */
export async function generatePrivateKey(params: KeyParams): Promise<KeyObject> {
  switch (params.type) {
    case 'rsa':
      return (
        await generateKeyPairAsync('rsa', { modulusLength: params.bits, publicExponent: 0x10001 })
      ).privateKey;
    case 'ec':
      return (await generateKeyPairAsync('ec', { namedCurve: CURVES[params.bits]! })).privateKey;
    case 'ed25519':
      return (await generateKeyPairAsync('ed25519')).privateKey;
  }
}

/** The type and size of a key, public or private. */
export function keyParamsOf(key: KeyObject): KeyParams | undefined {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return { type: 'rsa', bits: details.modulusLength ?? 0 };
    case 'ec': {
      const bits = CURVE_BITS[details.namedCurve ?? ''];
      return bits ? { type: 'ec', bits } : undefined;
    }
    case 'ed25519':
      return { type: 'ed25519', bits: 0 };
    default:
      return undefined;
  }
}

/** Hash size a signature uses: RSA's signature_bits (256 by default), EC by curve. */
export function signatureHash(params: KeyParams, signatureBits = 0): string {
  if (params.type === 'ec' && signatureBits === 0) {
    return params.bits === 521 ? 'SHA-512' : params.bits === 384 ? 'SHA-384' : 'SHA-256';
  }
  const bits = signatureBits === 0 ? 256 : signatureBits;
  if (![256, 384, 512].includes(bits)) {
    throw new BadRequestError(`unsupported signature_bits: ${signatureBits}`);
  }
  return `SHA-${bits}`;
}

/** The WebCrypto algorithm for signing with a key of these parameters. */
export function signingAlgorithm(params: KeyParams, signatureBits = 0): Algorithm {
  switch (params.type) {
    case 'rsa':
      return { name: 'RSASSA-PKCS1-v1_5', hash: signatureHash(params, signatureBits) } as Algorithm;
    case 'ec':
      return { name: 'ECDSA', hash: signatureHash(params, signatureBits) } as Algorithm;
    case 'ed25519':
      return { name: 'Ed25519' };
  }
}

/** Imports a private key as a non-extractable WebCrypto signing key. */
export async function toSigningKey(
  key: KeyObject,
  params: KeyParams,
  signatureBits = 0,
): Promise<CryptoKey> {
  const der = key.export({ type: 'pkcs8', format: 'der' });
  let alg: Algorithm;
  switch (params.type) {
    case 'rsa':
      alg = { name: 'RSASSA-PKCS1-v1_5', hash: signatureHash(params, signatureBits) } as Algorithm;
      break;
    case 'ec':
      alg = { name: 'ECDSA', namedCurve: CURVES[params.bits]! } as Algorithm;
      break;
    case 'ed25519':
      alg = { name: 'Ed25519' };
      break;
  }
  return webcrypto.subtle.importKey('pkcs8', der, alg, false, ['sign']) as Promise<CryptoKey>;
}

/** The key as stored: PKCS#8 PEM, only ever written through the mount's barrier storage. */
export function storedKey(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }) as string;
}

/** Reads a stored or imported private key; a bad one is a 400 that never quotes the input. */
export function loadPrivateKey(pem: string): KeyObject {
  try {
    return createPrivateKey(pem);
  } catch {
    throw new BadRequestError('the private key could not be parsed');
  }
}

export function publicKeyDer(key: KeyObject): Buffer {
  return createPublicKey(key).export({ type: 'spki', format: 'der' });
}

/**
 * The private key as Vault returns it: `private_key_format` "" or "der" gives
 * the type's own encoding (PKCS#1 for RSA, SEC 1 for EC, PKCS#8 for ed25519),
 * "pkcs8" gives PKCS#8; `format` der gives base64 DER instead of PEM.
 */
export function exportPrivateKey(
  key: KeyObject,
  params: KeyParams,
  format: 'pem' | 'der' | 'pem_bundle',
  keyFormat: string,
): string {
  let type: 'pkcs1' | 'sec1' | 'pkcs8' = 'pkcs8';
  if (keyFormat !== 'pkcs8') {
    if (params.type === 'rsa') type = 'pkcs1';
    else if (params.type === 'ec') type = 'sec1';
  }
  if (format === 'der') {
    return (key.export({ type, format: 'der' } as never) as Buffer).toString('base64');
  }
  return (key.export({ type, format: 'pem' } as never) as string).trimEnd();
}

export function checkPrivateKeyFormat(value: string): string {
  if (!['', 'der', 'pem', 'pkcs8'].includes(value)) {
    throw new BadRequestError(`invalid private_key_format "${value}": use der, pem or pkcs8`);
  }
  return value;
}
