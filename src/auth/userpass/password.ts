/**
 * Password hashing for userpass: scrypt from node:crypto, with a random salt
 * per password and the cost parameters stored beside the hash, in the PHC
 * string form `$scrypt$ln=15,r=8,p=3$<salt>$<hash>` (base64, unpadded).
 *
 * Why scrypt: it is memory-hard, it ships with Node (no native addon to
 * build or trust), and OWASP lists it for password storage. The defaults are
 * one of OWASP's equivalent settings, N=2^15, r=8, p=3: 32 MiB and about
 * 165 ms per hash on the 2-core machines Keep runs on. Because the
 * parameters travel with each hash, raising them later only changes new
 * hashes, and `needsRehash` says when a stored one is below the current
 * settings so a successful login can upgrade it.
 */
import { randomBytes, type ScryptOptions, scrypt, timingSafeEqual } from 'node:crypto';

export interface ScryptParams {
  /** log2 of scrypt's CPU/memory cost N. */
  logN: number;
  /** Block size r. */
  r: number;
  /** Parallelisation p. */
  p: number;
}

export const SCRYPT_DEFAULTS: ScryptParams = { logN: 15, r: 8, p: 3 };

const SALT_BYTES = 16;
const HASH_BYTES = 32;

/**
 * Bounds on what a stored hash may ask for, so a damaged entry cannot make
 * one login allocate gigabytes: 2^20 * 8 * 128 bytes is 1 GiB at the top.
 */
const LIMITS = { logN: [10, 20], r: [1, 16], p: [1, 16] } as const;

/** The hashing a userpass mount does; tests substitute a recording one. */
export interface PasswordKdf {
  hash(password: string): Promise<string>;
  verify(password: string, encoded: string): Promise<boolean>;
  /** A hash that no password matches, costing one verification like a real one. */
  dummy(): string;
  needsRehash(encoded: string): boolean;
}

export function scryptKdf(params: ScryptParams = SCRYPT_DEFAULTS): PasswordKdf {
  checkParams(params);
  // Random bytes in the hash slot: verifying against it runs the full
  // scrypt, and no password can produce them.
  const dummy = encode(params, randomBytes(SALT_BYTES), randomBytes(HASH_BYTES));
  return {
    async hash(password) {
      const salt = randomBytes(SALT_BYTES);
      return encode(params, salt, await derive(password, salt, params, HASH_BYTES));
    },
    async verify(password, encoded) {
      const stored = decode(encoded);
      const derived = await derive(password, stored.salt, stored.params, stored.hash.length);
      return timingSafeEqual(derived, stored.hash);
    },
    dummy: () => dummy,
    needsRehash(encoded) {
      const stored = decode(encoded).params;
      return stored.logN < params.logN || stored.r < params.r || stored.p < params.p;
    },
  };
}

function derive(
  password: string,
  salt: Buffer,
  params: ScryptParams,
  length: number,
): Promise<Buffer> {
  const N = 2 ** params.logN;
  const options: ScryptOptions = { N, r: params.r, p: params.p, maxmem: 256 * N * params.r };
  return new Promise((resolve, reject) => {
    scrypt(Buffer.from(password, 'utf8'), salt, length, options, (err, key) =>
      err ? reject(err) : resolve(key),
    );
  });
}

function encode(params: ScryptParams, salt: Buffer, hash: Buffer): string {
  const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
  return `$scrypt$ln=${params.logN},r=${params.r},p=${params.p}$${b64(salt)}$${b64(hash)}`;
}

const PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/;

function decode(encoded: string): { params: ScryptParams; salt: Buffer; hash: Buffer } {
  const m = PHC.exec(encoded);
  if (!m) throw new Error('stored password hash is not in the scrypt PHC form');
  const params = { logN: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  checkParams(params);
  const salt = Buffer.from(m[4]!, 'base64');
  const hash = Buffer.from(m[5]!, 'base64');
  if (salt.length < 8 || hash.length < 16 || hash.length > 64) {
    throw new Error('stored password hash has a salt or hash of the wrong size');
  }
  return { params, salt, hash };
}

function checkParams(params: ScryptParams): void {
  for (const key of ['logN', 'r', 'p'] as const) {
    const [min, max] = LIMITS[key];
    const value = params[key];
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new Error(`scrypt parameter ${key}=${value} is outside ${min}..${max}`);
    }
  }
}
