/**
 * Check-and-set for KV v2 writes and patches: `options.cas` must equal the
 * secret's current version (0 for a secret that has none), and must be sent
 * when the mount or the secret sets `cas_required`.
 */
import { isPlainObject } from '../../framework/fields.ts';
import { BadRequestError } from '../../lib/errors.ts';
import type { KeyRecord, KvConfig } from './v2-store.ts';

export function checkCas(options: unknown, config: KvConfig, key: KeyRecord | undefined): void {
  const sent = isPlainObject(options) && Object.hasOwn(options, 'cas');
  if (!sent) {
    if (config.casRequired || key?.casRequired) {
      throw new BadRequestError('check-and-set parameter required for this call');
    }
    return;
  }

  const cas = parseCas(options.cas);
  if (cas === undefined) throw new BadRequestError('error parsing check-and-set parameter');
  if (cas !== (key?.currentVersion ?? 0)) {
    throw new BadRequestError('check-and-set parameter did not match the current version');
  }
}

// Go's mapstructure.WeakDecode into an int, which Vault applies to `cas`:
// fractions drop, "" and null are 0, booleans are 1 and 0.
function parseCas(raw: unknown): number | undefined {
  if (raw === null) return 0;
  if (typeof raw === 'boolean') return raw ? 1 : 0;
  if (typeof raw === 'number') return Number.isFinite(raw) ? Math.trunc(raw) : undefined;
  if (typeof raw !== 'string') return undefined;
  if (raw === '') return 0;
  return /^[+-]?\d+$/.test(raw) ? Number(raw) : undefined;
}
