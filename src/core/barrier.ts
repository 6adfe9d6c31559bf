/**
 * The barrier: a Storage that encrypts every value with AES-256-GCM before it reaches the
 * (untrusted) underlying storage, and refuses everything while sealed.
 *
 * Value layout: [1 byte version][4 byte term, big-endian][12 byte random nonce][ciphertext]
 * [16 byte tag], with the storage key as AAD, so a ciphertext copied to another key does not
 * decrypt. Reads use the term named in the blob, so entries written before a rotation still
 * decrypt. Keys are imported once as KeyObjects at unseal; an operation costs one cipher setup.
 *
 * Random 96-bit nonces: NIST SP 800-38D bounds one key at 2^32 encryptions; `keyStatus()`
 * reports the count so operators can rotate well before that.
 *
 * The barrier holds the unseal key (as a KeyObject) while unsealed, because `rotate()` must
 * re-encrypt the keyring under it. `seal()` drops every key; see keyring.ts for what Node
 * cannot guarantee about the memory behind a KeyObject.
 */
import { createCipheriv, createDecipheriv, type KeyObject, randomFillSync } from 'node:crypto';
import {
  BadRequestError,
  ConflictError,
  InternalError,
  NotInitializedError,
  SealedError,
} from '../lib/errors.ts';
import type { HALock, Storage, TxnOp, WatchEvent } from '../storage/types.ts';
import {
  InvalidUnsealKeyError,
  importKey,
  KEYRING_PATH,
  Keyring,
  NONCE_BYTES,
  openKeyring,
  SEAL_CONFIG_PATH,
  sealKeyring,
  TAG_BYTES,
} from './keyring.ts';

const BLOB_VERSION = 1;
const HEADER_BYTES = 1 + 4 + NONCE_BYTES;

/** Storage keys callers may not write or read through the barrier (the seal owns them). */
const RESERVED = new Set([SEAL_CONFIG_PATH, KEYRING_PATH]);

/** `sys/key-status` fields, as Vault names them. */
export type KeyStatus = {
  term: number;
  /** RFC 3339 install time of the active term. */
  install_time: string;
  /**
   * Encryptions under the active term counted by this process since the later of: its
   * installation, or the last unseal. Not persisted, not summed across HA nodes.
   */
  encryptions: number;
};

/** A failed GCM authentication: names the path, never the data. */
export class BarrierDecryptError extends InternalError {
  readonly path: string;
  constructor(path: string, reason: string) {
    super(`failed to decrypt ${JSON.stringify(path)}: ${reason}`);
    this.path = path;
  }
}

/** Runs async sections one at a time. */
class Mutex {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.tail.then(fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

interface Unsealed {
  keyring: Keyring;
  unsealKey: KeyObject;
  /** Encryptions under `keyring.activeTerm` since it became active here. */
  encryptions: number;
}

export class Barrier implements Storage {
  private readonly inner: Storage;
  private state: Unsealed | undefined;
  /** Serialises keyring writes (rotate, rekey, reload). */
  private readonly keyringLock = new Mutex();
  /** Nonces come from one pooled random buffer: cheaper than a randomBytes call per put. */
  private noncePool = Buffer.alloc(0);
  private noncePoolOffset = 0;

  constructor(inner: Storage) {
    this.inner = inner;
  }

  get type(): string {
    return this.inner.type;
  }

  get haLock(): HALock | undefined {
    return this.inner.haLock;
  }

  get sealed(): boolean {
    return this.state === undefined;
  }

  // ---- seal lifecycle (used by Seal) -------------------------------------------------------

  /**
   * Writes a fresh keyring to `core/keyring`, encrypted under `unsealKey`, replacing any
   * keyring there. Leaves the barrier sealed. The caller keeps ownership of `unsealKey`.
   */
  async initialize(unsealKey: Buffer): Promise<void> {
    const key = importKey(unsealKey);
    const keyring = Keyring.generate();
    await this.keyringLock.run(() => this.inner.put(KEYRING_PATH, sealKeyring(keyring, key)));
  }

  /**
   * Opens the stored keyring with `unsealKey` and unseals. Throws InvalidUnsealKeyError when the
   * key does not open it, NotInitializedError when there is no keyring. Unsealing an unsealed
   * barrier is a no-op. The caller keeps ownership of (and should zero) `unsealKey`.
   */
  async unseal(unsealKey: Buffer): Promise<void> {
    if (this.state) return;
    const key = importKey(unsealKey);
    const keyring = await this.readKeyring(key);
    if (this.state) return;
    this.state = { keyring, unsealKey: key, encryptions: 0 };
  }

  /** True when `unsealKey` opens the stored keyring (used to check rekey shares). */
  async verifyUnsealKey(unsealKey: Buffer): Promise<boolean> {
    try {
      await this.readKeyring(importKey(unsealKey));
      return true;
    } catch (err) {
      if (err instanceof InvalidUnsealKeyError) return false;
      throw err;
    }
  }

  /**
   * Re-encrypts the keyring under `newUnsealKey` and writes it together with `extraOps`
   * (raw, not encrypted: the seal config) in one storage transaction. Requires the barrier
   * to be unsealed. The caller keeps ownership of `newUnsealKey`.
   */
  async rekey(newUnsealKey: Buffer, extraOps: TxnOp[]): Promise<void> {
    const newKey = importKey(newUnsealKey);
    await this.keyringLock.run(async () => {
      const current = this.requireUnsealed();
      // Start from the stored keyring so terms added by another node are kept.
      const keyring = await this.readKeyring(current.unsealKey, true);
      this.ensureSame(current);
      await this.inner.transaction([
        { op: 'put', key: KEYRING_PATH, value: sealKeyring(keyring, newKey) },
        ...extraOps,
      ]);
      // The new key is now the only one that opens the stored keyring: never throw from here
      // on, or the caller would lose the new shares. A seal during the write is simply kept.
      if (this.state === current) {
        this.state = {
          keyring,
          unsealKey: newKey,
          encryptions: keyring.activeTerm === current.keyring.activeTerm ? current.encryptions : 0,
        };
      }
    });
  }

  /**
   * Drops every key held in memory. The KeyObjects become garbage; Node offers no way to
   * wipe their native memory on demand (see keyring.ts).
   */
  seal(): void {
    this.state = undefined;
    this.noncePool = Buffer.alloc(0);
    this.noncePoolOffset = 0;
  }

  // ---- keyring operations ------------------------------------------------------------------

  /** Adds a new term, makes it active and persists the keyring. */
  async rotate(): Promise<KeyStatus> {
    return this.keyringLock.run(async () => {
      const current = this.requireUnsealed();
      const stored = await this.readKeyring(current.unsealKey, true);
      this.ensureSame(current);
      const next = stored.withNewTerm();
      await this.inner.put(KEYRING_PATH, sealKeyring(next, current.unsealKey));
      this.ensureSame(current);
      this.state = { keyring: next, unsealKey: current.unsealKey, encryptions: 0 };
      return this.keyStatus();
    });
  }

  /** The active term, its install time and the encryptions counted under it. */
  keyStatus(): KeyStatus {
    const s = this.requireUnsealed();
    const active = s.keyring.active;
    return {
      term: active.term,
      install_time: active.installTime.toISOString(),
      encryptions: s.encryptions,
    };
  }

  /**
   * Re-reads the keyring from storage (another node may have rotated it). Called by `get` when
   * a blob names a term this node does not know.
   */
  async reloadKeyring(): Promise<void> {
    await this.keyringLock.run(async () => {
      const current = this.requireUnsealed();
      const keyring = await this.readKeyring(current.unsealKey, true);
      this.ensureSame(current);
      this.state = {
        keyring,
        unsealKey: current.unsealKey,
        encryptions: keyring.activeTerm === current.keyring.activeTerm ? current.encryptions : 0,
      };
    });
  }

  // ---- Storage -----------------------------------------------------------------------------

  async get(key: string): Promise<Buffer | undefined> {
    this.requireUnsealed();
    this.refuseReserved(key);
    const blob = await this.inner.get(key);
    if (blob === undefined) return undefined;
    return this.decrypt(key, blob);
  }

  async put(key: string, value: Buffer): Promise<number> {
    this.requireUnsealed();
    this.refuseReserved(key);
    return this.inner.put(key, this.encrypt(key, value));
  }

  async delete(key: string): Promise<number> {
    this.requireUnsealed();
    this.refuseReserved(key);
    return this.inner.delete(key);
  }

  async list(prefix: string): Promise<string[]> {
    this.requireUnsealed();
    return this.inner.list(prefix);
  }

  async transaction(ops: TxnOp[]): Promise<number> {
    this.requireUnsealed();
    for (const op of ops) this.refuseReserved(op.key);
    const sealedOps = ops.map(
      (op): TxnOp =>
        op.op === 'put' ? { op: 'put', key: op.key, value: this.encrypt(op.key, op.value) } : op,
    );
    return this.inner.transaction(sealedOps);
  }

  async revision(): Promise<number> {
    this.requireUnsealed();
    return this.inner.revision();
  }

  watch(prefix: string, onEvent: (event: WatchEvent) => void): () => void {
    this.requireUnsealed();
    return this.inner.watch(prefix, onEvent);
  }

  /** Closes the underlying storage; allowed while sealed so a sealed server can shut down. */
  close(): Promise<void> {
    return this.inner.close();
  }

  // ---- internals ---------------------------------------------------------------------------

  private requireUnsealed(): Unsealed {
    if (!this.state) throw new SealedError();
    return this.state;
  }

  /** A seal, unseal or rekey happened while we awaited: give up rather than mix states. */
  private ensureSame(expected: Unsealed): void {
    if (this.state !== expected) {
      if (!this.state) throw new SealedError();
      throw new ConflictError('the keyring changed during the operation; retry');
    }
  }

  private refuseReserved(key: string): void {
    if (RESERVED.has(key)) {
      throw new BadRequestError('cannot access a protected path through the barrier');
    }
  }

  /**
   * Reads and opens the stored keyring with `key`. With `held`, the key is the one we unsealed
   * with: if it no longer opens the keyring, another node rekeyed and this one must be unsealed
   * again with the new shares.
   */
  private async readKeyring(key: KeyObject, held = false): Promise<Keyring> {
    const blob = await this.inner.get(KEYRING_PATH);
    if (blob === undefined) throw new NotInitializedError();
    try {
      return openKeyring(blob, key);
    } catch (err) {
      if (held && err instanceof InvalidUnsealKeyError) {
        throw new ConflictError(
          'the stored keyring was rekeyed elsewhere; seal and unseal with the new key shares',
        );
      }
      throw err;
    }
  }

  private nextNonce(into: Buffer, offset: number): void {
    if (this.noncePoolOffset + NONCE_BYTES > this.noncePool.length) {
      this.noncePool = randomFillSync(Buffer.allocUnsafe(NONCE_BYTES * 256));
      this.noncePoolOffset = 0;
    }
    // Each slice of the pool is handed out once: the offset only moves forward.
    this.noncePool.copy(into, offset, this.noncePoolOffset, this.noncePoolOffset + NONCE_BYTES);
    this.noncePoolOffset += NONCE_BYTES;
  }

  private encrypt(key: string, value: Buffer): Buffer {
    const s = this.requireUnsealed();
    const active = s.keyring.active;
    const out = Buffer.allocUnsafe(HEADER_BYTES + value.length + TAG_BYTES);
    out[0] = BLOB_VERSION;
    out.writeUInt32BE(active.term, 1);
    this.nextNonce(out, 5);
    const nonce = out.subarray(5, HEADER_BYTES);
    const cipher = createCipheriv('aes-256-gcm', active.key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(key, 'utf8'));
    // GCM is a stream mode: update() returns exactly value.length bytes, final() none.
    const body = cipher.update(value);
    const rest = cipher.final();
    if (body.length + rest.length !== value.length)
      throw new InternalError('cipher length mismatch');
    body.copy(out, HEADER_BYTES);
    rest.copy(out, HEADER_BYTES + body.length);
    cipher.getAuthTag().copy(out, HEADER_BYTES + value.length);
    s.encryptions++;
    return out;
  }

  private async decrypt(key: string, blob: Buffer): Promise<Buffer> {
    if (blob.length < HEADER_BYTES + TAG_BYTES) {
      throw new BarrierDecryptError(key, 'value too short');
    }
    if (blob[0] !== BLOB_VERSION) {
      throw new BarrierDecryptError(key, 'unknown value format');
    }
    const term = blob.readUInt32BE(1);
    let s = this.requireUnsealed();
    let entry = s.keyring.term(term);
    if (!entry && term > s.keyring.activeTerm) {
      // Written by another node after a rotation we have not seen yet.
      await this.reloadKeyring();
      s = this.requireUnsealed();
      entry = s.keyring.term(term);
    }
    if (!entry) throw new BarrierDecryptError(key, `unknown key term ${term}`);
    const decipher = createDecipheriv('aes-256-gcm', entry.key, blob.subarray(5, HEADER_BYTES), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(Buffer.from(key, 'utf8'));
    decipher.setAuthTag(blob.subarray(blob.length - TAG_BYTES));
    const head = decipher.update(blob.subarray(HEADER_BYTES, blob.length - TAG_BYTES));
    try {
      const tail = decipher.final();
      return tail.length === 0 ? head : Buffer.concat([head, tail]);
    } catch {
      head.fill(0);
      throw new BarrierDecryptError(key, 'message authentication failed');
    }
  }
}
