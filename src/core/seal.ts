/**
 * The Shamir seal: initialisation, unsealing with key shares, sealing and rekeying, with
 * Vault's semantics (`sys/init`, `sys/unseal`, `sys/seal-status`, `sys/rekey/*`).
 *
 * The unseal key is 32 random bytes; it encrypts the keyring (keyring.ts). With
 * `secret_shares` = 1 the unseal key itself is the single share, as in Vault (the Shamir library
 * needs at least 2 shares); otherwise each share is the key's 32 bytes plus one x-coordinate
 * byte, the layout Vault's own shares use. The seal configuration is stored in plaintext at
 * `core/seal-config`; its presence means "initialized".
 *
 * Ownership: `new Seal({ storage })` creates the Barrier over `storage` and exposes it as
 * `seal.barrier`; pass `barrier` to use one built elsewhere (it must wrap the same storage).
 *
 * Key hygiene: shares and combined keys are copied into Buffers owned here and overwritten with
 * zeros as soon as they are no longer needed (after combining, on reset, on seal). Node cannot
 * guarantee more than that: the Shamir library's internal arrays, Buffers made by callers (HTTP
 * bodies, hex/base64 strings of returned shares) and garbage-collected copies are out of our
 * reach. No share or key ever goes into an error message.
 */
import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { combine, split } from 'shamir-secret-sharing';
import { BadRequestError, InternalError, SealedError } from '../lib/errors.ts';
import type { Storage } from '../storage/types.ts';
import { Barrier } from './barrier.ts';
import { KEY_BYTES, SEAL_CONFIG_PATH } from './keyring.ts';

export { InvalidUnsealKeyError } from './keyring.ts';

/** What `core/seal-config` holds (plaintext JSON, Vault's field names). */
export type SealConfig = {
  type: 'shamir';
  secret_shares: number;
  secret_threshold: number;
};

/** The seal part of `sys/seal-status` and `sys/unseal` responses. */
export type SealStatus = {
  initialized: boolean;
  sealed: boolean;
  /** Threshold: shares needed to unseal (0 before init). */
  t: number;
  /** Number of shares (0 before init). */
  n: number;
  /** Shares given so far in the current unseal attempt. */
  progress: number;
  /** Id of the current unseal attempt; empty when none is in progress. */
  nonce: string;
};

export type ShareOptions = {
  secretShares: number;
  secretThreshold: number;
};

export type InitResult<T> = {
  /** The unseal key shares, in order; the caller renders them as hex and base64. */
  keys: Buffer[];
  /** What the `setup` callback of `initialize` returned (undefined without one). */
  setup: T;
};

/** `GET|PUT sys/rekey/init` response fields. */
export type RekeyStatus = {
  started: boolean;
  nonce: string;
  /** New threshold (0 when no rekey is started). */
  t: number;
  /** New number of shares (0 when no rekey is started). */
  n: number;
  /** Current shares provided so far. */
  progress: number;
  /** Current shares needed: the current threshold. */
  required: number;
  pgp_fingerprints: string[] | null;
  backup: boolean;
  verification_required: boolean;
};

/** `PUT sys/rekey/update` response once the rekey completed. */
export type RekeyResult = {
  complete: true;
  nonce: string;
  /** The new shares; the caller renders them as hex (`keys`) and base64 (`keys_base64`). */
  keys: Buffer[];
  pgp_fingerprints: string[] | null;
  backup: boolean;
  verification_required: boolean;
  verification_nonce: string;
};

interface Attempt {
  nonce: string;
  parts: Buffer[];
}

interface RekeyAttempt extends Attempt {
  shares: number;
  threshold: number;
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

/** Vault's `SealConfig.Validate` rules; returns the first broken one. */
function validateShareOptions(o: ShareOptions): string | undefined {
  if (!Number.isInteger(o.secretShares)) return 'shares must be an integer';
  if (!Number.isInteger(o.secretThreshold)) return 'threshold must be an integer';
  if (o.secretShares < 1) return 'shares must be at least one';
  if (o.secretThreshold < 1) return 'threshold must be at least one';
  if (o.secretShares > 1 && o.secretThreshold === 1) {
    return 'threshold must be greater than one for multiple shares';
  }
  if (o.secretShares > 255) return 'shares must be less than 256';
  if (o.secretThreshold > 255) return 'threshold must be less than 256';
  if (o.secretThreshold > o.secretShares) return 'threshold cannot be larger than shares';
  return undefined;
}

function wipe(bufs: Buffer[]): void {
  for (const b of bufs) b.fill(0);
  bufs.length = 0;
}

function asBuffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

/**
 * The Shamir library checks `constructor === Uint8Array`, which a Buffer fails: hand it a plain
 * view over the same memory (no copy, so zeroing the Buffer still wipes it).
 */
function asPlainBytes(b: Buffer): Uint8Array {
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** Splits `key` into shares; with one share the share is a copy of the key. */
async function makeShares(key: Buffer, shares: number, threshold: number): Promise<Buffer[]> {
  if (shares === 1) return [Buffer.from(key)];
  return (await split(asPlainBytes(key), shares, threshold)).map(asBuffer);
}

/** The length a share must have under `cfg`, and the shape check done before accepting one. */
function checkShare(share: Buffer, cfg: SealConfig): void {
  if (!Buffer.isBuffer(share)) throw new BadRequestError('invalid key: not a byte string');
  const want = cfg.secret_shares === 1 ? KEY_BYTES : KEY_BYTES + 1;
  if (share.length !== want) {
    throw new BadRequestError(`invalid key: expected ${want} bytes, got ${share.length}`);
  }
  if (cfg.secret_shares > 1 && share[share.length - 1] === 0) {
    throw new BadRequestError('invalid key: not a valid key share');
  }
}

/** Rejects a share already given in this attempt, or one with an x-coordinate already used. */
function checkNotDuplicate(share: Buffer, parts: Buffer[], cfg: SealConfig, what: string): void {
  for (const p of parts) {
    if (timingSafeEqual(p, share)) {
      throw new BadRequestError(`given key has already been provided during this ${what}`);
    }
    if (cfg.secret_shares > 1 && p[p.length - 1] === share[share.length - 1]) {
      throw new BadRequestError(
        `invalid key: a key share with the same index was already provided during this ${what}`,
      );
    }
  }
}

/** Recovers the key from `parts` (a threshold of them) and wipes `parts`. */
async function recoverKey(parts: Buffer[], cfg: SealConfig): Promise<Buffer> {
  try {
    if (cfg.secret_shares === 1) return Buffer.from(parts[0] as Buffer);
    return asBuffer(await combine(parts.map(asPlainBytes)));
  } finally {
    wipe(parts);
  }
}

export class Seal {
  readonly storage: Storage;
  readonly barrier: Barrier;
  private readonly lock = new Mutex();
  private unsealAttempt: Attempt | undefined;
  private rekeyAttempt: RekeyAttempt | undefined;

  constructor(opts: { storage: Storage; barrier?: Barrier }) {
    this.storage = opts.storage;
    this.barrier = opts.barrier ?? new Barrier(opts.storage);
  }

  /** The stored seal configuration, or undefined before init. */
  async sealConfig(): Promise<SealConfig | undefined> {
    const raw = await this.storage.get(SEAL_CONFIG_PATH);
    if (raw === undefined) return undefined;
    let cfg: SealConfig;
    try {
      cfg = JSON.parse(raw.toString('utf8')) as SealConfig;
    } catch {
      throw new InternalError('stored seal configuration is malformed');
    }
    const problem =
      cfg && typeof cfg === 'object'
        ? validateShareOptions({
            secretShares: cfg.secret_shares,
            secretThreshold: cfg.secret_threshold,
          })
        : 'not an object';
    if (problem || cfg.type !== 'shamir') {
      throw new InternalError('stored seal configuration is malformed');
    }
    return cfg;
  }

  async initialized(): Promise<boolean> {
    return (await this.storage.get(SEAL_CONFIG_PATH)) !== undefined;
  }

  /**
   * Initialises: a random unseal key split into shares, a new keyring encrypted under it, then
   * the seal configuration (written last: it is what makes the server "initialized"). Leaves the
   * barrier sealed, as Vault does.
   *
   * `setup`, when given, runs while the barrier is briefly unsealed with the new key, before the
   * seal configuration is written; that is where the caller creates the root token, like Vault's
   * init does. If it throws, the barrier is sealed again and nothing counts as initialized.
   */
  async initialize<T = undefined>(
    opts: ShareOptions,
    setup?: (barrier: Barrier) => Promise<T>,
  ): Promise<InitResult<T>> {
    return this.lock.run(async () => {
      if (await this.initialized()) throw new BadRequestError('Vault is already initialized');
      const problem = validateShareOptions(opts);
      if (problem) throw new BadRequestError(`invalid seal configuration: ${problem}`);

      const unsealKey = randomBytes(KEY_BYTES);
      let keys: Buffer[] = [];
      try {
        keys = await makeShares(unsealKey, opts.secretShares, opts.secretThreshold);
        this.barrier.seal();
        await this.barrier.initialize(unsealKey);
        let result: T | undefined;
        if (setup) {
          await this.barrier.unseal(unsealKey);
          try {
            result = await setup(this.barrier);
          } finally {
            this.barrier.seal();
          }
        }
        const cfg: SealConfig = {
          type: 'shamir',
          secret_shares: opts.secretShares,
          secret_threshold: opts.secretThreshold,
        };
        await this.storage.put(SEAL_CONFIG_PATH, Buffer.from(JSON.stringify(cfg), 'utf8'));
        this.clearUnseal();
        return { keys, setup: result as T };
      } catch (err) {
        wipe(keys);
        throw err;
      } finally {
        unsealKey.fill(0);
      }
    });
  }

  async status(): Promise<SealStatus> {
    const cfg = await this.sealConfig();
    const attempt = this.barrier.sealed ? this.unsealAttempt : undefined;
    return {
      initialized: cfg !== undefined,
      sealed: this.barrier.sealed,
      t: cfg?.secret_threshold ?? 0,
      n: cfg?.secret_shares ?? 0,
      progress: attempt?.parts.length ?? 0,
      nonce: attempt?.nonce ?? '',
    };
  }

  /**
   * Adds one unseal key share. Below the threshold it only counts; at the threshold it combines
   * the shares and unseals. Wrong shares (the key does not open the keyring) reset the attempt
   * and raise InvalidUnsealKeyError (400). A malformed or repeated share raises BadRequestError
   * and leaves the progress as it was. Already unsealed: returns the status.
   */
  async submitShare(share: Buffer): Promise<SealStatus> {
    await this.lock.run(async () => {
      const cfg = await this.sealConfig();
      if (!cfg) throw new BadRequestError('Vault is not initialized');
      if (!this.barrier.sealed) return;
      checkShare(share, cfg);
      if (this.unsealAttempt) {
        checkNotDuplicate(share, this.unsealAttempt.parts, cfg, 'unseal operation');
      }
      const attempt = this.unsealAttempt ?? { nonce: randomUUID(), parts: [] };
      this.unsealAttempt = attempt;
      attempt.parts.push(Buffer.from(share));
      if (attempt.parts.length < cfg.secret_threshold) return;

      // Threshold reached: this attempt ends whatever happens next.
      this.unsealAttempt = undefined;
      const key = await recoverKey(attempt.parts, cfg);
      try {
        await this.barrier.unseal(key);
      } finally {
        key.fill(0);
      }
    });
    return this.status();
  }

  /** Drops the shares of the current unseal attempt (`sys/unseal` with `reset: true`). */
  resetUnseal(): void {
    this.clearUnseal();
  }

  /** Seals: the barrier drops its keys, and every share held here is zeroed and dropped. */
  seal(): void {
    this.barrier.seal();
    this.clearUnseal();
    this.clearRekey();
  }

  // ---- rekey -------------------------------------------------------------------------------

  /** Starts a rekey to `secretShares`/`secretThreshold` (`PUT sys/rekey/init`). */
  async rekeyInit(opts: ShareOptions): Promise<RekeyStatus> {
    return this.lock.run(async () => {
      if (this.barrier.sealed) throw new SealedError();
      if (
        Number.isInteger(opts.secretShares) &&
        Number.isInteger(opts.secretThreshold) &&
        opts.secretThreshold > opts.secretShares
      ) {
        throw new BadRequestError('provided threshold greater than the total shares');
      }
      const problem = validateShareOptions(opts);
      if (problem) throw new BadRequestError(`invalid rekey seal configuration: ${problem}`);
      if (this.rekeyAttempt) throw new BadRequestError('rekey already in progress');
      this.rekeyAttempt = {
        nonce: randomUUID(),
        parts: [],
        shares: opts.secretShares,
        threshold: opts.secretThreshold,
      };
      return this.rekeyStatusNow();
    });
  }

  /** The current rekey attempt (`GET sys/rekey/init`). */
  async rekeyStatus(): Promise<RekeyStatus> {
    if (this.barrier.sealed) throw new SealedError();
    return this.rekeyStatusNow();
  }

  /** Cancels the rekey attempt, if any (`DELETE sys/rekey/init`); idempotent. */
  rekeyCancel(): void {
    this.clearRekey();
  }

  /**
   * Adds one *current* key share to the rekey attempt `nonce` (`PUT sys/rekey/update`). Below
   * the current threshold it returns the rekey status; at the threshold it checks the shares
   * open the keyring, makes a new unseal key split into the new shares/threshold, and writes
   * the re-encrypted keyring and the new seal configuration in one storage transaction. The old
   * shares stop working at that moment.
   */
  async rekeyUpdate(share: Buffer, nonce: string): Promise<RekeyStatus | RekeyResult> {
    return this.lock.run(async () => {
      if (this.barrier.sealed) throw new SealedError();
      const cfg = await this.sealConfig();
      if (!cfg) throw new BadRequestError('Vault is not initialized');
      checkShare(share, cfg);
      const attempt = this.rekeyAttempt;
      if (!attempt) throw new BadRequestError('no barrier rekey in progress');
      if (nonce !== attempt.nonce) {
        throw new BadRequestError(
          `incorrect nonce supplied; nonce for this rekey operation is ${JSON.stringify(attempt.nonce)}`,
        );
      }
      checkNotDuplicate(share, attempt.parts, cfg, 'generation operation');
      attempt.parts.push(Buffer.from(share));
      if (attempt.parts.length < cfg.secret_threshold) return this.rekeyStatusNow();

      // Threshold reached: the parts are used up whatever happens; the attempt itself stays
      // (as in Vault) so the operators can try again with the right shares.
      const oldKey = await recoverKey(attempt.parts, cfg);
      let valid: boolean;
      try {
        valid = await this.barrier.verifyUnsealKey(oldKey);
      } finally {
        oldKey.fill(0);
      }
      if (!valid) {
        throw new BadRequestError('root key verification failed: the key shares are invalid');
      }

      const newKey = randomBytes(KEY_BYTES);
      let keys: Buffer[] = [];
      try {
        keys = await makeShares(newKey, attempt.shares, attempt.threshold);
        const newCfg: SealConfig = {
          ...cfg,
          type: 'shamir',
          secret_shares: attempt.shares,
          secret_threshold: attempt.threshold,
        };
        await this.barrier.rekey(newKey, [
          { op: 'put', key: SEAL_CONFIG_PATH, value: Buffer.from(JSON.stringify(newCfg), 'utf8') },
        ]);
      } catch (err) {
        wipe(keys);
        throw err;
      } finally {
        newKey.fill(0);
      }
      if (this.rekeyAttempt === attempt) this.rekeyAttempt = undefined;
      return {
        complete: true,
        nonce: attempt.nonce,
        keys,
        pgp_fingerprints: null,
        backup: false,
        verification_required: false,
        verification_nonce: '',
      };
    });
  }

  // ---- internals ---------------------------------------------------------------------------

  private async rekeyStatusNow(): Promise<RekeyStatus> {
    const cfg = await this.sealConfig();
    const a = this.rekeyAttempt;
    return {
      started: a !== undefined,
      nonce: a?.nonce ?? '',
      t: a?.threshold ?? 0,
      n: a?.shares ?? 0,
      progress: a?.parts.length ?? 0,
      required: cfg?.secret_threshold ?? 0,
      pgp_fingerprints: null,
      backup: false,
      verification_required: false,
    };
  }

  private clearUnseal(): void {
    if (this.unsealAttempt) wipe(this.unsealAttempt.parts);
    this.unsealAttempt = undefined;
  }

  private clearRekey(): void {
    if (this.rekeyAttempt) wipe(this.rekeyAttempt.parts);
    this.rekeyAttempt = undefined;
  }
}
