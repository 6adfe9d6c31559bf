/**
 * Cubbyhole: a KV v1-like store private to each token. Entries live under
 * `<tokenHash>/` in the mount's storage, so no request can name another
 * token's entries, and revoking a token removes its whole folder.
 */
import { defineBackend } from '../../framework/backend.ts';
import type { Backend, LogicalRequest } from '../../framework/types.ts';
import { PermissionDeniedError } from '../../lib/errors.ts';
import type { Storage } from '../../storage/types.ts';
import { passthroughPath } from '../kv/passthrough.ts';

export function cubbyholeBackend(): Backend {
  return defineBackend({
    type: 'cubbyhole',
    help: HELP,
    paths: [
      passthroughPath({
        prefixFor: tokenPrefix,
        synopsis: "Read, write, delete and list secrets in the calling token's cubbyhole.",
        description:
          'Each token sees only its own entries. They are removed when the token is revoked.',
      }),
    ],
  });
}

/**
 * Deletes every entry of one token's cubbyhole, in one transaction so a
 * failure leaves the cubbyhole whole rather than half gone. The token store
 * calls it on revocation.
 */
export async function destroyCubbyhole(storage: Storage, tokenHash: string): Promise<void> {
  const prefix = `${checkTokenHash(tokenHash)}/`;
  const keys = await collectKeys(storage, prefix);
  if (keys.length === 0) return;
  await storage.transaction(keys.map((key) => ({ op: 'delete' as const, key })));
}

function tokenPrefix(req: LogicalRequest): string {
  const hash = req.caller?.tokenHash;
  if (!hash) throw new PermissionDeniedError();
  return `${checkTokenHash(hash)}/`;
}

// The hash becomes the first storage segment; a slash in it would reach into
// another token's folder.
function checkTokenHash(hash: string): string {
  if (hash === '' || hash.includes('/') || hash.includes('\0')) {
    throw new PermissionDeniedError();
  }
  return hash;
}

async function collectKeys(storage: Storage, folder: string): Promise<string[]> {
  const keys: string[] = [];
  for (const name of await storage.list(folder)) {
    if (name.endsWith('/')) keys.push(...(await collectKeys(storage, folder + name)));
    else keys.push(folder + name);
  }
  return keys;
}

const HELP =
  'The cubbyhole backend stores arbitrary secrets in a space private to the calling ' +
  'token. No other token, root included, can read them; revoking the token destroys them.';
