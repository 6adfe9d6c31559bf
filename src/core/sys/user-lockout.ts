/**
 * Vault's `user_lockout_config` for auth mounts: given to `sys/auth/<path>`
 * inside `config` when enabling, or as its own field of
 * `sys/auth/<path>/tune`. Fields that are sent replace, the rest stay.
 * Login methods read the result from their mount (`MountInfo.userLockout`).
 */
import { isPlainObject, parseBool } from '../../framework/fields.ts';
import { parseDuration } from '../../lib/duration.ts';
import { BadRequestError } from '../../lib/errors.ts';
import type { StoredUserLockout } from '../mounts.ts';

const KEYS = ['lockout_threshold', 'lockout_duration', 'lockout_counter_reset', 'disable_lockout'];

/** A lock for more than a year is a typo, not a policy; Vault has no cap, Keep refuses it. */
const MAX_SECONDS = 366 * 86_400;
const MAX_THRESHOLD = 1_000_000;

export function parseUserLockout(
  raw: unknown,
  current: StoredUserLockout | undefined,
): StoredUserLockout {
  if (!isPlainObject(raw)) throw new BadRequestError('"user_lockout_config" must be an object');
  const unknown = Object.keys(raw).filter((k) => !KEYS.includes(k));
  if (unknown.length > 0) {
    throw new BadRequestError(`unknown keys in "user_lockout_config": ${unknown.join(', ')}`);
  }
  const out: StoredUserLockout = { ...current };
  const { lockout_threshold, lockout_duration, lockout_counter_reset, disable_lockout } = raw;
  if (present(lockout_threshold)) out.lockout_threshold = threshold(lockout_threshold);
  if (present(lockout_duration)) {
    out.lockout_duration = seconds('lockout_duration', lockout_duration);
  }
  if (present(lockout_counter_reset)) {
    out.lockout_counter_reset = seconds('lockout_counter_reset', lockout_counter_reset);
  }
  if (present(disable_lockout)) out.disable_lockout = bool(disable_lockout);
  return out;
}

function present(value: unknown): boolean {
  return value !== undefined && value !== null && value !== '';
}

function threshold(value: unknown): number {
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0 || n > MAX_THRESHOLD) {
    throw new BadRequestError(
      `invalid "lockout_threshold": expected a whole number from 0 to ${MAX_THRESHOLD}`,
    );
  }
  return n;
}

function seconds(name: string, value: unknown): number {
  let parsed: number;
  try {
    if (typeof value !== 'string' && typeof value !== 'number') throw new Error('type');
    parsed = Math.ceil(parseDuration(value));
  } catch {
    throw new BadRequestError(`invalid "${name}": expected a duration`);
  }
  if (parsed > MAX_SECONDS) throw new BadRequestError(`invalid "${name}": longer than a year`);
  return parsed;
}

function bool(value: unknown): boolean {
  const b = typeof value === 'boolean' ? value : parseBool(String(value));
  if (b === undefined) throw new BadRequestError('invalid "disable_lockout": expected a boolean');
  return b;
}
