/**
 * `delete/<path>`, `undelete/<path>` and `destroy/<path>`: act on listed
 * versions of a secret. Delete and undelete only flip the deletion mark;
 * destroy removes the version's data from storage for good. Versions that do
 * not exist, or cannot change, are skipped without error, as in Vault.
 */
import type { PathSpec } from '../../framework/backend.ts';
import type { FieldData } from '../../framework/fields.ts';
import type { BackendContext, LogicalRequest } from '../../framework/types.ts';
import { BadRequestError } from '../../lib/errors.ts';
import type { TxnOp } from '../../storage/types.ts';
import { checkKeyPath } from './key-path.ts';
import {
  actorOf,
  isDeleted,
  type KeyLocks,
  type KeyRecord,
  type KvConfig,
  loadConfig,
  loadKey,
  lockName,
  nowMs,
  putKeyOp,
  scheduledDeletion,
  versionKey,
} from './v2-store.ts';

interface VersionChange {
  req: LogicalRequest;
  path: string;
  key: KeyRecord;
  config: KvConfig;
  versions: number[];
  now: number;
}

/** Changes the key record in place and returns any extra storage operations. */
type Apply = (change: VersionChange) => TxnOp[];

const softDelete: Apply = ({ req, key, versions, now }) => {
  for (const number of versions) {
    const version = key.versions[String(number)];
    if (!version || version.destroyed || isDeleted(version, now)) continue;
    version.deletionMs = now;
    version.deletedBy = actorOf(req);
  }
  return [];
};

// An undeleted version is live again, and `delete_version_after` restarts from now.
const undelete: Apply = ({ key, config, versions, now }) => {
  for (const number of versions) {
    const version = key.versions[String(number)];
    if (!version || version.destroyed) continue;
    version.deletionMs = scheduledDeletion(now, config, key);
    delete version.deletedBy;
  }
  return [];
};

const destroy: Apply = ({ req, path, key, versions }) => {
  const ops: TxnOp[] = [];
  for (const number of versions) {
    const version = key.versions[String(number)];
    if (!version || version.destroyed) continue;
    version.destroyed = true;
    version.destroyedBy = actorOf(req);
    ops.push({ op: 'delete', key: versionKey(path, number) });
  }
  return ops;
};

export function versionPaths(locks: KeyLocks): PathSpec[] {
  return [
    versionPath(locks, {
      verb: 'delete',
      apply: softDelete,
      missing: 'No version number provided',
      synopsis: 'Mark versions of a secret deleted; undelete reverses it.',
    }),
    versionPath(locks, {
      verb: 'undelete',
      apply: undelete,
      missing: 'No version number provided',
      synopsis: 'Restore deleted versions of a secret.',
    }),
    versionPath(locks, {
      verb: 'destroy',
      apply: destroy,
      missing: 'no version number provided',
      synopsis: 'Remove the data of versions of a secret for good.',
    }),
  ];
}

function versionPath(
  locks: KeyLocks,
  opts: { verb: string; apply: Apply; missing: string; synopsis: string },
): PathSpec {
  async function changeVersions(req: LogicalRequest, fields: FieldData, ctx: BackendContext) {
    const path = checkKeyPath(fields.string('path'));
    const versions = parseVersions(fields.raw.versions);
    if (versions.length === 0) throw new BadRequestError(opts.missing);

    return locks.run(lockName(ctx, path), async () => {
      const key = await loadKey(ctx.storage, path);
      if (!key) return undefined;
      const config = await loadConfig(ctx.storage);

      const extra = opts.apply({ req, path, key, config, versions, now: nowMs(ctx) });
      await ctx.storage.transaction([putKeyOp(path, key), ...extra]);
      return undefined;
    });
  }

  return {
    pattern: `${opts.verb}/(?<path>[\\s\\S]*)`,
    fields: {
      path: { type: 'string', description: 'Location of the secret.' },
      versions: { type: 'raw', description: 'Version numbers: a list, or comma-separated.' },
    },
    operations: { update: changeVersions },
    synopsis: opts.synopsis,
  };
}

/** Vault's comma-int-slice: `[1, "2"]`, `"1,2"` or `3`. */
function parseVersions(raw: unknown): number[] {
  if (raw === undefined || raw === null) return [];
  const items = Array.isArray(raw) ? raw : [raw];
  const out: number[] = [];
  for (const item of items) {
    const parts = typeof item === 'string' ? item.split(',') : [item];
    for (const part of parts) {
      const text = String(part).trim();
      if (text === '' && typeof item === 'string') continue;
      if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
        throw new BadRequestError(
          'error converting input for field "versions": expected a list of integers',
        );
      }
      out.push(Number(text));
    }
  }
  return out;
}
