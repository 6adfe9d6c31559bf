/**
 * Failed-login accounting for the login methods: after `threshold` failures
 * within `counterReset`, a key (an account such as `userpass/alice`, or a
 * client address) is locked for `duration`. A success clears the key.
 *
 * Counters live in memory on the node that saw the failures, as Vault's do
 * per node; a restart forgets them. The table is bounded so a flood of
 * distinct keys cannot grow it without limit: the oldest entries go first.
 */
import type { UserLockoutConfig } from '../framework/types.ts';

export interface LockoutSettings {
  /** Failures that lock a key; 0 disables lockout. */
  threshold: number;
  durationMs: number;
  /** Failures older than this no longer count. */
  counterResetMs: number;
}

/** Vault's user-lockout defaults: 5 failures, 15 minutes, reset after 15 minutes. */
export const DEFAULT_LOCKOUT: LockoutSettings = {
  threshold: 5,
  durationMs: 15 * 60_000,
  counterResetMs: 15 * 60_000,
};

interface Counter {
  failures: number;
  firstFailureMs: number;
  lockedUntilMs: number;
}

export interface LockState {
  locked: boolean;
  /** Seconds until the lock lifts (rounded up); 0 when not locked. */
  retryAfterSeconds: number;
}

export class LoginLockout {
  readonly #counters = new Map<string, Counter>();
  readonly #now: () => number;
  readonly #maxKeys: number;
  settings: LockoutSettings;

  constructor(
    settings: LockoutSettings = DEFAULT_LOCKOUT,
    opts: { now?: () => number; maxKeys?: number } = {},
  ) {
    this.settings = settings;
    this.#now = opts.now ?? Date.now;
    this.#maxKeys = opts.maxKeys ?? 100_000;
  }

  /** Whether any of `keys` is locked now. */
  state(keys: readonly string[]): LockState {
    const now = this.#now();
    let until = 0;
    for (const key of keys) {
      const c = this.#counters.get(key);
      if (c && c.lockedUntilMs > now) until = Math.max(until, c.lockedUntilMs);
    }
    return until > 0
      ? { locked: true, retryAfterSeconds: Math.ceil((until - now) / 1000) }
      : { locked: false, retryAfterSeconds: 0 };
  }

  /** Counts a failure against each key; returns whether one of them is now locked. */
  fail(keys: readonly string[]): LockState {
    const { threshold, durationMs, counterResetMs } = this.settings;
    if (threshold <= 0) return { locked: false, retryAfterSeconds: 0 };
    const now = this.#now();
    for (const key of keys) {
      let c = this.#counters.get(key);
      if (!c || (c.lockedUntilMs <= now && now - c.firstFailureMs > counterResetMs)) {
        c = { failures: 0, firstFailureMs: now, lockedUntilMs: 0 };
      }
      c.failures++;
      if (c.failures >= threshold) c.lockedUntilMs = now + durationMs;
      // Re-inserting keeps the map in order of last failure, oldest first.
      this.#counters.delete(key);
      this.#counters.set(key, c);
    }
    while (this.#counters.size > this.#maxKeys) {
      this.#counters.delete(this.#counters.keys().next().value as string);
    }
    return this.state(keys);
  }

  /** A successful login clears its keys. */
  succeed(keys: readonly string[]): void {
    for (const key of keys) this.#counters.delete(key);
  }

  /** Clears a key by hand (an operator unlocking a user). */
  unlock(key: string): void {
    this.#counters.delete(key);
  }

  get size(): number {
    return this.#counters.size;
  }
}

/**
 * The settings a mount's `user_lockout_config` (tune) asks for, each unset
 * field taking Vault's default; `disable_lockout` turns counting off.
 */
export function lockoutSettingsFor(
  config: UserLockoutConfig | undefined,
  defaults: LockoutSettings = DEFAULT_LOCKOUT,
): LockoutSettings {
  if (!config) return defaults;
  if (config.disable) return { ...defaults, threshold: 0 };
  return {
    threshold: config.threshold ?? defaults.threshold,
    durationMs:
      config.durationSeconds !== undefined ? config.durationSeconds * 1000 : defaults.durationMs,
    counterResetMs:
      config.counterResetSeconds !== undefined
        ? config.counterResetSeconds * 1000
        : defaults.counterResetMs,
  };
}
