/**
 * `metadata/<path>`: a secret's settings and version table. Read, write and
 * patch the settings, delete the secret with every version, or list a folder
 * (secrets whose versions are all deleted or destroyed still list: their
 * metadata remains until deleted here).
 */
import type { PathSpec } from '../../framework/backend.ts';
import type { FieldData } from '../../framework/fields.ts';
import type { BackendContext, LogicalRequest, LogicalResponse } from '../../framework/types.ts';
import { NotFoundError } from '../../lib/errors.ts';
import { parseCustomMetadata } from './custom-metadata.ts';
import { checkFolderPath, checkKeyPath, isKeyPath } from './key-path.ts';
import { nonNegative } from './path-config.ts';
import {
  emptyKey,
  type KeyLocks,
  type KeyRecord,
  loadConfig,
  loadKey,
  lockName,
  metaKey,
  nowMs,
  putKeyOp,
  versionKey,
  versionView,
} from './v2-store.ts';
import { formatGoDuration, formatTimestamp } from './wire-format.ts';

const SETTINGS = ['max_versions', 'cas_required', 'delete_version_after', 'custom_metadata'];

const CAS_IGNORED =
  '"cas_required" set to false, but is mandated by backend config. This value will be ignored.';

export function metadataPath(locks: KeyLocks): PathSpec {
  async function readMetadata(_req: LogicalRequest, fields: FieldData, ctx: BackendContext) {
    const path = fields.string('path');
    if (path === '') throw new NotFoundError();
    const key = await loadKey(ctx.storage, checkKeyPath(path));
    if (!key) throw new NotFoundError();

    const versions: Record<string, unknown> = {};
    for (const [number, version] of Object.entries(key.versions)) {
      versions[number] = versionView(version);
    }
    return {
      data: {
        versions,
        current_version: key.currentVersion,
        oldest_version: key.oldestVersion,
        created_time: formatTimestamp(key.createdMs),
        updated_time: formatTimestamp(key.updatedMs),
        max_versions: key.maxVersions,
        cas_required: key.casRequired,
        delete_version_after: formatGoDuration(key.deleteVersionAfterSeconds),
        custom_metadata: key.customMetadata,
      },
    };
  }

  async function writeMetadata(_req: LogicalRequest, fields: FieldData, ctx: BackendContext) {
    const path = checkKeyPath(fields.string('path'));
    // A null counts as not sent, as for Vault's typed fields.
    const given = (name: string) => fields.raw[name] !== undefined && fields.raw[name] !== null;
    if (!SETTINGS.some(given)) return undefined;
    const custom = given('custom_metadata')
      ? (parseCustomMetadata(fields.raw.custom_metadata, false) as Record<string, string>)
      : undefined;

    return locks.run(lockName(ctx, path), async () => {
      const config = await loadConfig(ctx.storage);
      const key = (await loadKey(ctx.storage, path)) ?? emptyKey(nowMs(ctx));
      if (given('max_versions')) key.maxVersions = nonNegative(fields, 'max_versions');
      if (given('cas_required')) key.casRequired = fields.bool('cas_required');
      if (given('delete_version_after')) {
        key.deleteVersionAfterSeconds = Math.trunc(fields.int('delete_version_after'));
      }
      if (custom) key.customMetadata = custom;

      await ctx.storage.transaction([putKeyOp(path, key)]);
      return casWarning(fields, config.casRequired);
    });
  }

  async function patchMetadata(_req: LogicalRequest, fields: FieldData, ctx: BackendContext) {
    const path = checkKeyPath(fields.string('path'));
    const custom =
      fields.has('custom_metadata') && fields.raw.custom_metadata !== null
        ? parseCustomMetadata(fields.raw.custom_metadata, true)
        : undefined;

    return locks.run(lockName(ctx, path), async () => {
      const key = await loadKey(ctx.storage, path);
      if (!key) throw new NotFoundError();
      const config = await loadConfig(ctx.storage);

      applyMetadataPatch(key, fields, custom);
      await ctx.storage.transaction([putKeyOp(path, key)]);
      return casWarning(fields, config.casRequired);
    });
  }

  async function deleteMetadata(_req: LogicalRequest, fields: FieldData, ctx: BackendContext) {
    const path = checkKeyPath(fields.string('path'));

    return locks.run(lockName(ctx, path), async () => {
      const key = await loadKey(ctx.storage, path);
      if (!key) return undefined;

      await ctx.storage.transaction([
        ...Object.keys(key.versions).map((n) => ({
          op: 'delete' as const,
          key: versionKey(path, Number(n)),
        })),
        { op: 'delete', key: metaKey(path) },
      ]);
      return undefined;
    });
  }

  async function listMetadata(_req: LogicalRequest, fields: FieldData, ctx: BackendContext) {
    const folder = checkFolderPath(fields.string('path'));
    const keys = await ctx.storage.list(metaKey(folder));
    if (keys.length === 0) throw new NotFoundError();
    return { data: { keys } };
  }

  return {
    pattern: 'metadata/(?<path>[\\s\\S]*)',
    fields: {
      path: { type: 'string', description: 'Location of the secret.' },
      max_versions: { type: 'int', description: 'Versions kept; the mount setting when 0.' },
      cas_required: { type: 'bool', description: 'Require "cas" on writes to this secret.' },
      delete_version_after: {
        type: 'duration',
        description: 'Time after which a new version counts as deleted; 0 clears it.',
      },
      custom_metadata: { type: 'map', description: 'Caller-chosen string pairs.' },
    },
    operations: {
      read: readMetadata,
      create: writeMetadata,
      update: writeMetadata,
      patch: patchMetadata,
      delete: deleteMetadata,
      list: listMetadata,
    },
    exists: async (_req, fields, ctx) => {
      const path = fields.string('path');
      return isKeyPath(path) && (await loadKey(ctx.storage, path)) !== undefined;
    },
    synopsis: "Read and change a secret's settings, list secrets, or delete all versions.",
    description:
      'A read shows the settings and the version table. A write sets max_versions, ' +
      'cas_required, delete_version_after and custom_metadata; a patch merges them. A ' +
      'delete removes the secret, its metadata and every version for good.',
  };
}

/**
 * JSON merge patch of the settings, as Vault applies it to the stored
 * metadata: a null resets a setting, custom_metadata merges key by key.
 */
function applyMetadataPatch(
  key: KeyRecord,
  fields: FieldData,
  custom: Record<string, string | null> | undefined,
): void {
  const isNull = (name: string) => fields.raw[name] === null;
  if (fields.has('max_versions')) {
    key.maxVersions = isNull('max_versions') ? 0 : nonNegative(fields, 'max_versions');
  }
  if (fields.has('cas_required')) {
    key.casRequired = isNull('cas_required') ? false : fields.bool('cas_required');
  }
  if (fields.has('delete_version_after')) {
    key.deleteVersionAfterSeconds = isNull('delete_version_after')
      ? 0
      : Math.trunc(fields.int('delete_version_after'));
  }
  if (isNull('custom_metadata')) {
    key.customMetadata = null;
  } else if (custom) {
    const merged: Record<string, string> = { ...(key.customMetadata ?? {}) };
    for (const [name, value] of Object.entries(custom)) {
      if (value === null) delete merged[name];
      else Object.defineProperty(merged, name, { value, enumerable: true, writable: true });
    }
    key.customMetadata = merged;
  }
}

function casWarning(fields: FieldData, mountRequiresCas: boolean): LogicalResponse | undefined {
  if (!mountRequiresCas || !fields.has('cas_required')) return undefined;
  if (fields.raw.cas_required === null || fields.bool('cas_required')) return undefined;
  return { warnings: [CAS_IGNORED] };
}
