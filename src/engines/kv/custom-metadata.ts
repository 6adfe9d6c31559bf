/**
 * `custom_metadata`: caller-chosen string pairs on a KV v2 secret, with
 * Vault's limits (64 keys, keys up to 128 and values up to 512 bytes,
 * printable text only) and Vault's error texts.
 */
import { isPlainObject } from '../../framework/fields.ts';
import { BadRequestError } from '../../lib/errors.ts';
import { multiErrorText } from './wire-format.ts';

const MAX_KEYS = 64;
const MAX_KEY_LENGTH = 128;
const MAX_VALUE_LENGTH = 512;
const PREFIX = 'custom_metadata validation failed';

/**
 * Turns the request's map into string pairs. With `keepNulls` (PATCH), a null
 * survives as null: it means "remove this key".
 */
export function parseCustomMetadata(
  raw: unknown,
  keepNulls: boolean,
): Record<string, string | null> {
  if (!isPlainObject(raw)) throw new BadRequestError(`${PREFIX}: expected a map of strings`);
  const out: Record<string, string | null> = {};
  for (const [name, value] of Object.entries(raw)) {
    const text = keepNulls && value === null ? null : weakString(name, value);
    Object.defineProperty(out, name, { value: text, enumerable: true, writable: true });
  }
  validate(out);
  return out;
}

// Go's mapstructure weak decoding to a string, as Vault applies it.
function weakString(name: string, value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  if (typeof value === 'boolean') return value ? '1' : '0';
  throw new BadRequestError(`${PREFIX}: value for key ${JSON.stringify(name)} must be a string`);
}

function validate(pairs: Record<string, string | null>): void {
  const entries = Object.entries(pairs).filter(([, value]) => value !== null);
  if (entries.length > MAX_KEYS) {
    throw new BadRequestError(
      multiErrorText([
        `${PREFIX}: payload must contain at most ${MAX_KEYS} keys, provided ${entries.length}`,
      ]),
    );
  }

  const problems: string[] = [];
  for (const [name, value] of entries as [string, string][]) {
    const quoted = JSON.stringify(name);
    const keyLength = Buffer.byteLength(name);
    if (keyLength === 0 || keyLength > MAX_KEY_LENGTH) {
      problems.push(
        `${PREFIX}: length of key ${quoted} is ${keyLength} but must be 0 < len(key) <= ${MAX_KEY_LENGTH}`,
      );
    }
    const valueLength = Buffer.byteLength(value);
    if (valueLength === 0 || valueLength > MAX_VALUE_LENGTH) {
      problems.push(
        `${PREFIX}: length of value for key ${quoted} is ${valueLength} but must be 0 < len(value) <= ${MAX_VALUE_LENGTH}`,
      );
    }
    if (!isPrintable(name))
      problems.push(`${PREFIX}: key ${quoted} contains unprintable characters`);
    if (!isPrintable(value)) {
      problems.push(`${PREFIX}: value for key ${quoted} contains unprintable characters`);
    }
  }
  if (problems.length > 0) throw new BadRequestError(multiErrorText(problems));
}

// Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
function isPrintable(text: string): boolean {
  return /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]*$/u.test(text);
}
