/**
 * `data/<path>`: read a version, write a new one, patch the latest, or
 * soft-delete the latest. Mirrors Vault's KV v2 data endpoint, including the
 * 404 that still carries the version metadata when that version is deleted
 * or destroyed.
 */
import type { PathSpec } from '../../framework/backend.ts';
import { type FieldData, isPlainObject } from '../../framework/fields.ts';
import type { BackendContext, LogicalRequest, LogicalResponse } from '../../framework/types.ts';
import { BadRequestError, NotFoundError } from '../../lib/errors.ts';
import { checkCas } from './cas.ts';
import { checkKeyPath, isKeyPath } from './key-path.ts';
import { mergePatch } from './merge-patch.ts';
import {
  actorOf,
  addVersion,
  emptyKey,
  isDeleted,
  isReadable,
  type KeyLocks,
  type KeyRecord,
  type KvConfig,
  loadConfig,
  loadKey,
  loadVersionData,
  lockName,
  nowMs,
  putKeyOp,
  scheduledDeletion,
  type VersionRecord,
  versionKey,
  versionMetadata,
} from './v2-store.ts';
import { encodeJson } from './wire-format.ts';

export function dataPath(locks: KeyLocks): PathSpec {
  async function readData(_req: LogicalRequest, fields: FieldData, ctx: BackendContext) {
    const path = checkKeyPath(fields.string('path'));
    const key = await loadKey(ctx.storage, path);
    if (!key) throw new NotFoundError();

    const asked = fields.int('version');
    const number = asked > 0 ? asked : key.currentVersion;
    const version = key.versions[String(number)];
    if (!version) throw new NotFoundError();

    const metadata = versionMetadata(key, number, version);
    if (!isReadable(version, nowMs(ctx))) {
      return { status: 404, data: { data: null, metadata } };
    }
    const data = await loadVersionData(ctx.storage, path, number);
    return { data: { data, metadata } };
  }

  async function writeData(req: LogicalRequest, fields: FieldData, ctx: BackendContext) {
    const path = checkKeyPath(fields.string('path'));
    const data = requireData(fields);

    return locks.run(lockName(ctx, path), async () => {
      const config = await loadConfig(ctx.storage);
      const key = await loadKey(ctx.storage, path);
      checkCas(fields.raw.options, config, key);

      return appendVersion(req, ctx, { path, key, config, data });
    });
  }

  async function patchData(req: LogicalRequest, fields: FieldData, ctx: BackendContext) {
    const path = checkKeyPath(fields.string('path'));
    const patch = requireData(fields);

    return locks.run(lockName(ctx, path), async () => {
      const key = await loadKey(ctx.storage, path);
      if (!key) throw new NotFoundError();
      const config = await loadConfig(ctx.storage);
      checkCas(fields.raw.options, config, key);

      const latest = key.versions[String(key.currentVersion)];
      if (!latest) throw new NotFoundError();
      if (!isReadable(latest, nowMs(ctx))) {
        return { status: 404, data: versionMetadata(key, key.currentVersion, latest) };
      }

      const current = await loadVersionData(ctx.storage, path, key.currentVersion);
      const data = mergePatch(current, patch) as Record<string, unknown>;
      return appendVersion(req, ctx, { path, key, config, data });
    });
  }

  async function deleteLatest(req: LogicalRequest, fields: FieldData, ctx: BackendContext) {
    const path = checkKeyPath(fields.string('path'));

    return locks.run(lockName(ctx, path), async () => {
      const key = await loadKey(ctx.storage, path);
      const latest = key?.versions[String(key.currentVersion)];
      const now = nowMs(ctx);
      if (!key || !latest || latest.destroyed || isDeleted(latest, now)) return undefined;

      latest.deletionMs = now;
      latest.deletedBy = actorOf(req);
      await ctx.storage.transaction([putKeyOp(path, key)]);
      return undefined;
    });
  }

  return {
    // Vault's pattern: no trailing slash, so `data/x/` falls through to the
    // catch-all that points CLI users at `vault kv list`.
    pattern: 'data/(?<path>[\\s\\S]*[^/])',
    fields: {
      path: { type: 'string', description: 'Location of the secret.' },
      version: { type: 'int', description: 'Version to read; the latest when 0 or absent.' },
      data: { type: 'map', description: 'The secret: stored on write, merged on patch.' },
      options: { type: 'map', description: 'Write options; "cas" enables check-and-set.' },
    },
    operations: {
      read: readData,
      create: writeData,
      update: writeData,
      patch: patchData,
      delete: deleteLatest,
    },
    exists: async (_req, fields, ctx) => {
      const path = fields.string('path');
      return isKeyPath(path) && (await loadKey(ctx.storage, path)) !== undefined;
    },
    synopsis: 'Write, patch, read and delete versions of a secret.',
    description:
      'A write stores a new version; "options.cas" makes it conditional on the current ' +
      'version. A patch merges into the latest version (RFC 7386) and stores the result ' +
      'as a new version. A read returns the latest version or "version". A delete marks ' +
      'the latest version deleted; undelete reverses it.',
  };
}

function requireData(fields: FieldData): Record<string, unknown> {
  if (!fields.has('data') || fields.raw.data === null) {
    throw new BadRequestError('no data provided');
  }
  const data = fields.get<unknown>('data');
  if (!isPlainObject(data)) throw new BadRequestError('no data provided');
  return data;
}

/** Stores `data` as the next version and prunes past `max_versions`, in one transaction. */
async function appendVersion(
  req: LogicalRequest,
  ctx: BackendContext,
  change: { path: string; key: KeyRecord | undefined; config: KvConfig; data: object },
): Promise<LogicalResponse> {
  const now = nowMs(ctx);
  const key = change.key ?? emptyKey(now);
  const version: VersionRecord = {
    createdMs: now,
    deletionMs: scheduledDeletion(now, change.config, key),
    destroyed: false,
    createdBy: actorOf(req),
  };
  const { number, pruned } = addVersion(key, version, change.config);

  await ctx.storage.transaction([
    { op: 'put', key: versionKey(change.path, number), value: encodeJson(change.data) },
    putKeyOp(change.path, key),
    ...pruned.map((n) => ({ op: 'delete' as const, key: versionKey(change.path, n) })),
  ]);
  return { data: versionMetadata(key, number, version) };
}
