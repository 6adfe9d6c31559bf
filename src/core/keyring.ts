/**
 * The barrier keyring: numbered encryption terms (each an AES-256 key with its install time) plus
 * the root key. It is stored at `core/keyring`, sealed with AES-256-GCM under the unseal key (the
 * key the Shamir shares reconstruct), with the storage path as AAD.
 *
 * Keys live in memory only as `KeyObject`s, imported once: no raw key Buffer is kept around while
 * unsealed. Raw bytes appear only briefly while (de)serialising the keyring, and those Buffers are
 * overwritten with zeros straight after use. What Node cannot guarantee: the bytes inside a
 * `KeyObject` (native memory, freed when garbage collected, not zeroed on our request), and the
 * base64 strings of the JSON form (immutable V8 strings, freed by the garbage collector whenever
 * it runs). Memory pages may also be swapped out; Keep does not mlock.
 */
import {
  createCipheriv,
  createDecipheriv,
  createSecretKey,
  type KeyObject,
  randomBytes,
} from 'node:crypto';
import { BadRequestError, InternalError } from '../lib/errors.ts';

/** Storage key of the sealed keyring (plaintext layout below, never barrier-encrypted). */
export const KEYRING_PATH = 'core/keyring';
/** Storage key of the plaintext seal configuration. */
export const SEAL_CONFIG_PATH = 'core/seal-config';

/** Length of every AES-256 key in the keyring, and of the unseal key. */
export const KEY_BYTES = 32;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;

/** Sealed keyring blob: [1 byte version][12 byte nonce][ciphertext][16 byte tag]. */
const KEYRING_BLOB_VERSION = 1;
const KEYRING_JSON_VERSION = 1;
const KEYRING_AAD = Buffer.from(KEYRING_PATH, 'utf8');

/**
 * The combined shares do not open the keyring: wrong or too few shares. Vault's message
 * (`ErrBarrierInvalidKey`), answered with 400.
 */
export class InvalidUnsealKeyError extends BadRequestError {
  constructor() {
    super('Unseal failed, invalid key');
  }
}

export interface KeyringTerm {
  /** Numbered from 1, one more for every rotation. */
  readonly term: number;
  readonly key: KeyObject;
  readonly installTime: Date;
}

interface KeyringJson {
  version: number;
  active_term: number;
  root_key: string;
  terms: { term: number; key: string; install_time: string }[];
}

/** Imports 32 raw bytes as an AES-256 key. The caller still owns (and should zero) `raw`. */
export function importKey(raw: Uint8Array): KeyObject {
  if (raw.byteLength !== KEY_BYTES) {
    throw new InternalError('key must be 32 bytes');
  }
  return createSecretKey(raw);
}

/** A fresh random AES-256 key, imported; the raw bytes are zeroed before returning. */
export function generateKey(): KeyObject {
  const raw = randomBytes(KEY_BYTES);
  try {
    return createSecretKey(raw);
  } finally {
    raw.fill(0);
  }
}

/**
 * An immutable keyring. `withNewTerm` returns a new keyring sharing the existing terms, so a
 * rotation that fails to persist leaves the current keyring untouched.
 */
export class Keyring {
  readonly activeTerm: number;
  readonly rootKey: KeyObject;
  private readonly byTerm: ReadonlyMap<number, KeyringTerm>;

  private constructor(
    byTerm: ReadonlyMap<number, KeyringTerm>,
    activeTerm: number,
    rootKey: KeyObject,
  ) {
    this.byTerm = byTerm;
    this.activeTerm = activeTerm;
    this.rootKey = rootKey;
  }

  /** A new keyring: term 1 and a root key, both random. */
  static generate(now: Date = new Date()): Keyring {
    const first: KeyringTerm = { term: 1, key: generateKey(), installTime: now };
    return new Keyring(new Map([[1, first]]), 1, generateKey());
  }

  /** The term new writes are encrypted with. */
  get active(): KeyringTerm {
    const t = this.byTerm.get(this.activeTerm);
    if (!t) throw new InternalError('keyring has no active term');
    return t;
  }

  /** A term by number, or undefined when this keyring does not hold it. */
  term(n: number): KeyringTerm | undefined {
    return this.byTerm.get(n);
  }

  /** Every term, oldest first. */
  terms(): KeyringTerm[] {
    return [...this.byTerm.values()].sort((a, b) => a.term - b.term);
  }

  /** A keyring with one more term, made active. */
  withNewTerm(now: Date = new Date()): Keyring {
    let max = 0;
    for (const n of this.byTerm.keys()) max = Math.max(max, n);
    const next = max + 1;
    if (next > 0xffffffff) throw new InternalError('keyring term space exhausted');
    const terms = new Map(this.byTerm);
    terms.set(next, { term: next, key: generateKey(), installTime: now });
    return new Keyring(terms, next, this.rootKey);
  }

  /**
   * JSON with base64 keys. The caller must zero the returned Buffer once done with it.
   */
  serialize(): Buffer {
    const exported: Buffer[] = [];
    const b64 = (k: KeyObject): string => {
      const raw = k.export();
      exported.push(raw);
      return raw.toString('base64');
    };
    try {
      const json: KeyringJson = {
        version: KEYRING_JSON_VERSION,
        active_term: this.activeTerm,
        root_key: b64(this.rootKey),
        terms: this.terms().map((t) => ({
          term: t.term,
          key: b64(t.key),
          install_time: t.installTime.toISOString(),
        })),
      };
      return Buffer.from(JSON.stringify(json), 'utf8');
    } finally {
      for (const raw of exported) raw.fill(0);
    }
  }

  /** Parses `serialize` output. Throws InternalError on any inconsistency. */
  static parse(buf: Buffer): Keyring {
    let json: KeyringJson;
    try {
      json = JSON.parse(buf.toString('utf8')) as KeyringJson;
    } catch {
      throw new InternalError('keyring is malformed');
    }
    const bad = (): never => {
      throw new InternalError('keyring is malformed');
    };
    if (json === null || typeof json !== 'object' || json.version !== KEYRING_JSON_VERSION) bad();
    if (!Array.isArray(json.terms) || json.terms.length === 0) bad();
    const terms = new Map<number, KeyringTerm>();
    for (const t of json.terms) {
      if (!t || !Number.isInteger(t.term) || t.term < 1 || t.term > 0xffffffff) bad();
      if (terms.has(t.term) || typeof t.key !== 'string') bad();
      const installTime = new Date(t.install_time);
      if (Number.isNaN(installTime.getTime())) bad();
      terms.set(t.term, { term: t.term, key: importBase64Key(t.key), installTime });
    }
    if (!terms.has(json.active_term) || typeof json.root_key !== 'string') bad();
    return new Keyring(terms, json.active_term, importBase64Key(json.root_key));
  }
}

function importBase64Key(b64: string): KeyObject {
  const raw = Buffer.from(b64, 'base64');
  try {
    if (raw.length !== KEY_BYTES) throw new InternalError('keyring is malformed');
    return createSecretKey(raw);
  } finally {
    raw.fill(0);
  }
}

/** Encrypts the keyring under the unseal key, for storage at `core/keyring`. */
export function sealKeyring(keyring: Keyring, unsealKey: KeyObject): Buffer {
  const plain = keyring.serialize();
  try {
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', unsealKey, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(KEYRING_AAD);
    const body = cipher.update(plain);
    const rest = cipher.final();
    return Buffer.concat([Buffer.of(KEYRING_BLOB_VERSION), nonce, body, rest, cipher.getAuthTag()]);
  } finally {
    plain.fill(0);
  }
}

/**
 * Decrypts a stored keyring with a candidate unseal key. A blob that does not authenticate
 * (wrong key, or tampered storage) raises InvalidUnsealKeyError.
 */
export function openKeyring(blob: Buffer, unsealKey: KeyObject): Keyring {
  if (blob.length < 1 + NONCE_BYTES + TAG_BYTES || blob[0] !== KEYRING_BLOB_VERSION) {
    throw new InternalError('stored keyring has an unknown format');
  }
  const nonce = blob.subarray(1, 1 + NONCE_BYTES);
  const tag = blob.subarray(blob.length - TAG_BYTES);
  const body = blob.subarray(1 + NONCE_BYTES, blob.length - TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', unsealKey, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(KEYRING_AAD);
  decipher.setAuthTag(tag);
  const head = decipher.update(body);
  let plain: Buffer;
  try {
    plain = Buffer.concat([head, decipher.final()]);
  } catch {
    throw new InvalidUnsealKeyError();
  } finally {
    head.fill(0);
  }
  try {
    return Keyring.parse(plain);
  } finally {
    plain.fill(0);
  }
}
