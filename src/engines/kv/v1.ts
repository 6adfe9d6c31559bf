/**
 * KV version 1: an unversioned store where each write replaces the secret.
 * A `ttl` (or legacy `lease`) field in the secret is a hint to readers: it
 * becomes the response's lease duration, though no lease is created.
 */
import { defineBackend } from '../../framework/backend.ts';
import type { Backend, BackendContext } from '../../framework/types.ts';
import { parseDuration } from '../../lib/duration.ts';
import { passthroughPath } from './passthrough.ts';

/** Vault's system default lease TTL (768h), used when nothing else is configured. */
const FALLBACK_TTL_SECONDS = 2_764_800;

export function kvV1Backend(): Backend {
  return defineBackend({
    type: 'kv',
    help: HELP,
    paths: [
      passthroughPath({
        prefixFor: () => '',
        decorateRead: (stored, ctx) => ({
          leaseDurationSeconds: readTtlSeconds(stored, ctx),
          renewable: false,
        }),
        synopsis: 'Read, write, delete and list secrets stored as given.',
        description:
          'Stores the JSON object written at a path and returns it on read. A "ttl" ' +
          'field sets the lease duration readers see; nothing expires.',
      }),
    ],
  });
}

/**
 * Vault's passthrough rule: the secret's `ttl`, else its `lease`, parsed as a
 * duration in seconds; the mount's default lease TTL when absent or
 * unparsable.
 */
export function readTtlSeconds(stored: Record<string, unknown>, ctx: BackendContext): number {
  const fallback =
    ctx.mount.defaultLeaseTtlSeconds || ctx.system.defaultLeaseTtlSeconds || FALLBACK_TTL_SECONDS;
  const raw = stored.ttl !== undefined ? stored.ttl : stored.lease;
  if (raw === undefined) return fallback;
  return parseTtl(raw) ?? fallback;
}

// Go's parseutil.ParseDurationSecond: numbers are seconds (fractions dropped),
// "" is zero, other strings are Go durations or plain seconds.
function parseTtl(raw: unknown): number | undefined {
  if (typeof raw === 'number') return Number.isFinite(raw) ? Math.trunc(raw) : undefined;
  if (typeof raw !== 'string') return undefined;
  if (raw.trim() === '') return 0;
  try {
    // Sub-second parts drop, as Go's integer division by time.Second does.
    return Math.trunc(parseDuration(raw));
  } catch {
    return undefined;
  }
}

const HELP =
  'The kv backend stores arbitrary secrets, encrypted by the barrier before they ' +
  'reach storage. Each write replaces the whole secret at its path.';
