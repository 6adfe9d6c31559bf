/**
 * Storage records of the KV v2 engine and the rules that act on them.
 *
 * Layout under the mount's storage (keys are secret paths, values JSON):
 *
 *   config               mount-wide settings (`KvConfig`)
 *   meta/<path>          one `KeyRecord` per secret: settings and the version table
 *   ver/<path>/<n>       the data of version n, nothing else
 *
 * `meta/` mirrors the secret tree, so LIST on `metadata/<folder>/` is one
 * storage list. The version number is the last segment of a `ver/` key, which
 * keeps `ver/a/1` (version 1 of `a`) apart from `ver/a/1/1` (version 1 of
 * `a/1`). Every change touching more than one key goes through a single
 * storage transaction, and writers of one secret queue behind a per-key lock,
 * so concurrent check-and-set writes see each other.
 */
import type { BackendContext, LogicalRequest } from '../../framework/types.ts';
import { InternalError } from '../../lib/errors.ts';
import type { Storage, TxnOp } from '../../storage/types.ts';
import { decodeJson, encodeJson, formatTimestamp } from './wire-format.ts';

/** Versions kept per secret when neither the mount nor the secret sets a number. */
export const DEFAULT_MAX_VERSIONS = 10;

export interface KvConfig {
  /** 0 means unset. */
  maxVersions: number;
  casRequired: boolean;
  /** 0 unset; negative disables `delete_version_after` for every secret. */
  deleteVersionAfterSeconds: number;
}

/** Who made a change: never the token, only what identifies it. */
export interface Actor {
  display_name: string;
  accessor: string;
  remote_addr: string;
}

export interface VersionRecord {
  createdMs: number;
  /** When the version counts as deleted; may lie in the future (`delete_version_after`). */
  deletionMs: number | null;
  destroyed: boolean;
  createdBy: Actor;
  deletedBy?: Actor;
  destroyedBy?: Actor;
}

export interface KeyRecord {
  currentVersion: number;
  /** Vault's arithmetic: 0 until the first pruning, then the oldest kept version. */
  oldestVersion: number;
  createdMs: number;
  updatedMs: number;
  maxVersions: number;
  casRequired: boolean;
  deleteVersionAfterSeconds: number;
  customMetadata: Record<string, string> | null;
  versions: Record<string, VersionRecord>;
}

const CONFIG_KEY = 'config';

export function metaKey(path: string): string {
  return `meta/${path}`;
}

export function versionKey(path: string, version: number): string {
  return `ver/${path}/${version}`;
}

export async function loadConfig(storage: Storage): Promise<KvConfig> {
  const raw = await storage.get(CONFIG_KEY);
  const stored = raw ? decodeJson<Partial<KvConfig>>(raw) : {};
  return {
    maxVersions: stored.maxVersions ?? 0,
    casRequired: stored.casRequired ?? false,
    deleteVersionAfterSeconds: stored.deleteVersionAfterSeconds ?? 0,
  };
}

export async function saveConfig(storage: Storage, config: KvConfig): Promise<void> {
  await storage.put(CONFIG_KEY, encodeJson(config));
}

export async function loadKey(storage: Storage, path: string): Promise<KeyRecord | undefined> {
  const raw = await storage.get(metaKey(path));
  return raw ? decodeJson<KeyRecord>(raw) : undefined;
}

export function putKeyOp(path: string, record: KeyRecord): TxnOp {
  return { op: 'put', key: metaKey(path), value: encodeJson(record) };
}

/** The data of one version; a missing value for a live version is corruption. */
export async function loadVersionData(
  storage: Storage,
  path: string,
  version: number,
): Promise<Record<string, unknown>> {
  const raw = await storage.get(versionKey(path, version));
  if (!raw) throw new InternalError('could not find version data');
  return decodeJson<Record<string, unknown>>(raw);
}

/** A secret with no versions yet, as a first data or metadata write creates it. */
export function emptyKey(nowMs: number): KeyRecord {
  return {
    currentVersion: 0,
    oldestVersion: 0,
    createdMs: nowMs,
    updatedMs: nowMs,
    maxVersions: 0,
    casRequired: false,
    deleteVersionAfterSeconds: 0,
    customMetadata: null,
    versions: {},
  };
}

/** Deleted means a deletion time has passed; destroyed is separate and final. */
export function isDeleted(version: VersionRecord, nowMs: number): boolean {
  return version.deletionMs !== null && version.deletionMs <= nowMs;
}

export function isReadable(version: VersionRecord, nowMs: number): boolean {
  return !version.destroyed && !isDeleted(version, nowMs);
}

/**
 * When a version written (or undeleted) at `fromMs` becomes deleted: after
 * the smaller non-zero `delete_version_after` of mount and secret, never when
 * both are unset or the mount disables the feature.
 */
export function scheduledDeletion(fromMs: number, config: KvConfig, key: KeyRecord): number | null {
  const mount = config.deleteVersionAfterSeconds;
  if (mount < 0) return null;
  const own = key.deleteVersionAfterSeconds;
  const candidates = [mount, own].filter((seconds) => seconds > 0);
  if (candidates.length === 0) return null;
  return fromMs + Math.min(...candidates) * 1000;
}

/**
 * Appends a version and slides the window of kept versions. The larger of
 * the mount's and the secret's `max_versions` wins (Vault's rule since 1.12),
 * 10 when both are unset. Returns the new number and the versions dropped.
 */
export function addVersion(
  key: KeyRecord,
  version: VersionRecord,
  config: KvConfig,
): { number: number; pruned: number[] } {
  key.currentVersion += 1;
  const number = key.currentVersion;
  key.versions[String(number)] = version;
  key.updatedMs = version.createdMs;

  const maxVersions = Math.max(key.maxVersions, config.maxVersions) || DEFAULT_MAX_VERSIONS;
  if (key.currentVersion - key.oldestVersion < maxVersions) return { number, pruned: [] };

  const lastToDrop = key.currentVersion - maxVersions;
  const pruned: number[] = [];
  for (let n = key.oldestVersion; n <= lastToDrop; n++) {
    if (key.versions[String(n)]) pruned.push(n);
    delete key.versions[String(n)];
  }
  key.oldestVersion = lastToDrop + 1;
  return { number, pruned };
}

export function actorOf(req: LogicalRequest): Actor {
  return {
    display_name: req.caller?.displayName ?? '',
    accessor: req.caller?.accessor ?? '',
    remote_addr: req.caller?.remoteAddr || req.remoteAddr || '',
  };
}

/**
 * A version's metadata as Vault prints it, plus who created, deleted or
 * destroyed it (Keep's addition; the last two only once it happened).
 */
export function versionView(version: VersionRecord): Record<string, unknown> {
  const view: Record<string, unknown> = {
    created_time: formatTimestamp(version.createdMs),
    deletion_time: formatTimestamp(version.deletionMs),
    destroyed: version.destroyed,
    created_by: version.createdBy,
  };
  if (version.deletedBy) view.deleted_by = version.deletedBy;
  if (version.destroyedBy) view.destroyed_by = version.destroyedBy;
  return view;
}

/** The `metadata` block of a data read or the body of a data write. */
export function versionMetadata(
  key: KeyRecord,
  number: number,
  version: VersionRecord,
): Record<string, unknown> {
  return {
    version: number,
    ...versionView(version),
    custom_metadata: key.customMetadata,
  };
}

/**
 * Serialises async work per key. Handlers read a record, decide, then write;
 * without the queue two writers could both see version 3 and both write 4.
 * Good for one process: with several nodes only the active one takes writes.
 */
export class KeyLocks {
  readonly #tails = new Map<string, Promise<void>>();

  async run<T>(name: string, work: () => Promise<T>): Promise<T> {
    const before = this.#tails.get(name) ?? Promise.resolve();
    let release = () => {};
    const done = new Promise<void>((resolve) => {
      release = resolve;
    });
    const tail = before.then(() => done);
    this.#tails.set(name, tail);

    await before;
    try {
      return await work();
    } finally {
      release();
      if (this.#tails.get(name) === tail) this.#tails.delete(name);
    }
  }
}

/** Lock name for one secret of one mount (a backend object may serve several mounts). */
export function lockName(ctx: BackendContext, path: string): string {
  return `${ctx.mount.uuid}\0${path}`;
}

export function nowMs(ctx: BackendContext): number {
  return ctx.system.now().getTime();
}
