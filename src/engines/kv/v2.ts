/**
 * KV version 2: versioned secrets with check-and-set, soft delete, undelete,
 * destroy and per-secret metadata, on Vault's paths and wire shapes. Each
 * version also records who wrote it (Keep's addition). Storage layout and
 * locking: see v2-store.ts.
 */
import { defineBackend, type PathSpec } from '../../framework/backend.ts';
import type { Backend, LogicalRequest, LogicalResponse } from '../../framework/types.ts';
import { configPath } from './path-config.ts';
import { dataPath } from './path-data.ts';
import { metadataPath } from './path-metadata.ts';
import { subkeysPath } from './path-subkeys.ts';
import { versionPaths } from './path-versions.ts';
import { KeyLocks } from './v2-store.ts';

export function kvV2Backend(): Backend {
  const locks = new KeyLocks();
  return defineBackend({
    type: 'kv',
    help: HELP,
    paths: [
      configPath(),
      dataPath(locks),
      metadataPath(locks),
      ...versionPaths(locks),
      subkeysPath(),
      // Last: anything the paths above did not take.
      invalidPath(),
    ],
  });
}

const CLI_VERBS: Record<LogicalRequest['operation'], string> = {
  create: 'put',
  update: 'put',
  patch: 'patch',
  read: 'get',
  list: 'list',
  delete: 'delete',
};

/**
 * Vault answers paths outside its API (`secret/foo` instead of
 * `secret/data/foo`, often from a KV v1 habit) with a 404 whose warning names
 * the `vault kv` command to use.
 */
function invalidPath(): PathSpec {
  async function explain(req: LogicalRequest): Promise<LogicalResponse> {
    const root = ['metadata', 'data', 'delete', 'undelete', 'destroy'].includes(req.relPath);
    const warning = root
      ? 'Non-listing operations on the root of a K/V v2 mount are not supported.'
      : 'Invalid path for a versioned K/V secrets engine. See the API docs for the ' +
        "appropriate API endpoints to use. If using the Vault CLI, use 'vault kv " +
        `${CLI_VERBS[req.operation]}' for this operation.`;
    return { status: 404, warnings: [warning] };
  }

  return {
    pattern: '[\\s\\S]*',
    operations: { read: explain, update: explain, patch: explain, delete: explain, list: explain },
  };
}

const HELP =
  'The versioned kv backend stores secrets with a history of versions, encrypted by the ' +
  'barrier before they reach storage. Use data/ to read and write, metadata/ for settings ' +
  'and listing, delete/, undelete/ and destroy/ for versions, and config for mount settings.';
