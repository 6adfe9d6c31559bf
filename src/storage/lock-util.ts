/** Helpers shared by the HA locks of the networked backends (etcd, PostgreSQL). */
import { parseDuration } from '../lib/duration.ts';

/** A write refused because this node no longer holds the HA lock, or the lock's own loss. */
export class LockLostError extends Error {
  constructor(message = 'this node no longer holds the HA lock; the write was refused') {
    super(message);
    this.name = 'LockLostError';
  }
}

/** Vault's default HA lock TTL. */
export const DEFAULT_LOCK_TTL_MS = 15_000;

/** The lock TTL from a backend's `lock_timeout` option (`"15s"`, or seconds). */
export function lockTtlMs(value: unknown): number {
  const ms = durationMs(value, DEFAULT_LOCK_TTL_MS);
  if (ms < 1000) throw new Error('"lock_timeout" must be at least 1s');
  return ms;
}

export function isTrue(value: unknown): boolean {
  return (
    value === true || value === 1 || ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(String(value))
  );
}

/** Milliseconds from a Go duration (`"500ms"`, `"5s"`, `"1m"`) or a number of seconds. */
export function durationMs(value: unknown, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  if (typeof value !== 'string' && typeof value !== 'number') {
    throw new Error(`invalid duration ${JSON.stringify(value)}`);
  }
  return Math.round(parseDuration(value) * 1000);
}

/** Waits `ms`, or less when `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
