/**
 * Token and accessor values, and the salted hash under which a token is
 * stored. The plaintext of a token leaves the server once, in the response
 * that created it; storage only ever sees `hashSecret(salt, token)`.
 */
import { createHmac, randomBytes } from 'node:crypto';

const BASE62 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

/** Length of the random part, Vault's: 24 base62 characters ≈ 143 bits. */
export const RANDOM_LENGTH = 24;

/** Vault's prefix for service tokens; clients and secret scanners recognise it. */
export const SERVICE_TOKEN_PREFIX = 'hvs.';

/** Uniform base62 text: bytes ≥ 248 are dropped so `% 62` has no bias. */
export function randomBase62(length: number): string {
  let out = '';
  while (out.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte >= 248) continue;
      out += BASE62[byte % 62];
      if (out.length === length) break;
    }
  }
  return out;
}

export function newTokenId(): string {
  return SERVICE_TOKEN_PREFIX + randomBase62(RANDOM_LENGTH);
}

export function newAccessor(): string {
  return randomBase62(RANDOM_LENGTH);
}

/** HMAC-SHA256 under the store's salt, hex: the only form a token or accessor is keyed by. */
export function hashSecret(salt: Buffer, value: string): string {
  return createHmac('sha256', salt).update(value).digest('hex');
}
