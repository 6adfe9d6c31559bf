/**
 * Where the config store keeps things, relative to its storage prefix
 * (`config/` behind the barrier):
 *
 *   kv/<key>                  one Consul key (kv-entry.ts)
 *   tomb/<key>                a tombstone: {"i": index, "t": ms} of a delete
 *   session/<id>              a session (sessions.ts)
 *   lock/<session>/<key>      an empty marker per lock a session holds
 *   meta/index                {"kv": n, "session": n}: the highest index of each table
 *   history/...               change history (history.ts)
 *
 * Consul keys are stored as they are: the storage contract accepts any
 * key that does not start with `/` and holds no NUL or lone surrogate,
 * including `a//b` and folder markers ending in `/`.
 */
import { compareKeys } from '../storage/keys.ts';
import type { Storage } from '../storage/types.ts';

export const KV = 'kv/';
export const TOMB = 'tomb/';
export const SESSION = 'session/';
export const LOCK = 'lock/';
export const META = 'meta/index';

/** The marker for `session` holding `key`: one storage segment per key. */
export function lockMarker(session: string, key: string): string {
  return `${session}/${encodeURIComponent(key)}`;
}

/**
 * Every key below `base` whose name starts with `prefix` (a plain string
 * prefix, as Consul's `?recurse` takes it), in key order. Only folders
 * that can hold a match are listed.
 */
export async function collectUnder(
  storage: Storage,
  base: string,
  prefix: string,
): Promise<string[]> {
  const out: string[] = [];
  const start = prefix.slice(0, prefix.lastIndexOf('/') + 1);
  const walk = async (folder: string): Promise<void> => {
    for (const name of await storage.list(base + folder)) {
      const rel = folder + name;
      if (name === '') {
        // The folder's own key (a Consul key ending in "/").
        if (rel.startsWith(prefix)) out.push(rel);
      } else if (name.endsWith('/')) {
        if (rel.startsWith(prefix) || prefix.startsWith(rel)) await walk(rel);
      } else if (rel.startsWith(prefix)) {
        out.push(rel);
      }
    }
  };
  await walk(start);
  return out.sort(compareKeys);
}
