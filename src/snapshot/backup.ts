/**
 * Scheduled backups: the `backup` stanza of the server config takes a
 * snapshot of all storage (snapshot.ts) on a schedule, writes it to a
 * folder named by node and UTC time, and keeps the last N.
 *
 *   backup {
 *     path     = "/var/backups/keep"   # required
 *     interval = "1h"                  # the default
 *     retain   = 24                    # snapshots kept; the default
 *   }
 *
 * A failed backup is logged, counted (`keep.backup.failure`) and tried
 * again after a minute (or the interval, if shorter); a good one counts
 * `keep.backup.success` and sets `keep.backup.last_success` (Unix seconds).
 * Only an active node backs up: HA standbys share the active's storage.
 *
 * Files are written under a temporary name and renamed into place, so a
 * crash never leaves a partial snapshot with a snapshot's name.
 */
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseDuration } from '../lib/duration.ts';
import type { Storage } from '../storage/types.ts';
import { takeSnapshot } from './snapshot.ts';

export interface BackupSettings {
  dir: string;
  intervalMs: number;
  retain: number;
}

const DEFAULT_INTERVAL_MS = 3600_000;
const DEFAULT_RETAIN = 24;
const RETRY_MS = 60_000;
const NAME = /^keep-(.+)-(\d{8}T\d{6}(?:\d{3})?Z)\.snap\.gz$/;

/** Reads the `backup` stanza; throws naming the key at fault. Unknown keys are returned as warnings. */
export function parseBackupSettings(raw: Record<string, unknown>): {
  settings: BackupSettings;
  warnings: string[];
} {
  const warnings = Object.keys(raw)
    .filter((k) => !['path', 'interval', 'retain'].includes(k))
    .map((k) =>
      k === 's3'
        ? 'backup: "s3" is not supported yet; snapshots go to "path" only'
        : `unknown configuration key ${JSON.stringify(k)} in backup`,
    );
  if (typeof raw.path !== 'string' || raw.path === '') {
    throw new Error('backup needs "path": the folder snapshots are written to');
  }
  let intervalMs = DEFAULT_INTERVAL_MS;
  if (raw.interval !== undefined) {
    try {
      intervalMs = parseDuration(raw.interval as string) * 1000;
    } catch (err) {
      throw new Error(`invalid value for "interval" in backup: ${(err as Error).message}`);
    }
    if (intervalMs < 1000) throw new Error('"interval" in backup must be at least 1s');
  }
  let retain = DEFAULT_RETAIN;
  if (raw.retain !== undefined) {
    retain = Number(raw.retain);
    if (!Number.isInteger(retain) || retain < 1) {
      throw new Error(
        `invalid value for "retain" in backup: expected a whole number of at least 1`,
      );
    }
  }
  return { settings: { dir: raw.path, intervalMs, retain }, warnings };
}

/** `keep-<node>-20260301T100000123Z.snap.gz`: sorts by time within a node. */
export function backupName(node: string, when: Date): string {
  const stamp = when.toISOString().replace(/[-:]/g, '').replace('.', '');
  return `keep-${node.replace(/[^A-Za-z0-9_.-]/g, '_')}-${stamp}.snap.gz`;
}

export interface BackupRecorder {
  incr(name: string, value?: number): void;
  gauge(name: string, value: number): void;
}

export interface BackupLogger {
  info(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
}

export class BackupScheduler {
  readonly settings: BackupSettings;
  readonly #storage: Storage;
  readonly #node: string;
  readonly #logger: BackupLogger;
  readonly #metrics: BackupRecorder | undefined;
  readonly #isActive: () => boolean;
  readonly #clock: () => Date;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> = Promise.resolve();

  constructor(opts: {
    storage: Storage;
    settings: BackupSettings;
    node: string;
    logger: BackupLogger;
    metrics?: BackupRecorder;
    isActive?: () => boolean;
    clock?: () => Date;
  }) {
    this.#storage = opts.storage;
    this.settings = opts.settings;
    this.#node = opts.node;
    this.#logger = opts.logger;
    this.#metrics = opts.metrics;
    this.#isActive = opts.isActive ?? (() => true);
    this.#clock = opts.clock ?? (() => new Date());
  }

  start(): void {
    this.#schedule(this.settings.intervalMs);
  }

  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Takes one backup now and prunes the folder; one at a time. */
  async runOnce(): Promise<{ file: string; entries: number; removed: string[] }> {
    const run = this.#running.then(() => this.#backup());
    this.#running = run.catch(() => {});
    return run;
  }

  async #backup(): Promise<{ file: string; entries: number; removed: string[] }> {
    const now = this.#clock();
    const { header, data } = await takeSnapshot(this.#storage, now);
    await mkdir(this.settings.dir, { recursive: true, mode: 0o700 });
    const name = backupName(this.#node, now);
    const file = join(this.settings.dir, name);
    const partial = join(this.settings.dir, `.${name}.partial`);
    await writeFile(partial, data, { mode: 0o600 });
    await rename(partial, file);
    const removed = await this.#prune();
    this.#metrics?.incr('keep.backup.success');
    this.#metrics?.gauge('keep.backup.last_success', Math.floor(now.getTime() / 1000));
    this.#logger.info(
      { file, entries: header.entries, bytes: data.length, removed },
      'backup written',
    );
    return { file, entries: header.entries, removed };
  }

  /** Keeps the newest `retain` snapshots in the folder, oldest removed first. */
  async #prune(): Promise<string[]> {
    const names = (await readdir(this.settings.dir)).filter((n) => NAME.test(n));
    names.sort((a, b) => {
      const ta = NAME.exec(a)![2]!;
      const tb = NAME.exec(b)![2]!;
      return ta < tb ? -1 : ta > tb ? 1 : a < b ? -1 : 1;
    });
    const removed = names.slice(0, Math.max(0, names.length - this.settings.retain));
    for (const name of removed) await rm(join(this.settings.dir, name), { force: true });
    return removed;
  }

  #schedule(ms: number): void {
    this.stop();
    this.#timer = setTimeout(() => {
      if (!this.#isActive()) {
        this.#schedule(this.settings.intervalMs);
        return;
      }
      this.runOnce().then(
        () => this.#schedule(this.settings.intervalMs),
        (err) => {
          this.#metrics?.incr('keep.backup.failure');
          const retryMs = Math.min(RETRY_MS, this.settings.intervalMs);
          this.#logger.error(
            { dir: this.settings.dir, err: (err as Error).message, retryMs },
            'backup failed; trying again',
          );
          this.#schedule(retryMs);
        },
      );
    }, ms);
    this.#timer.unref();
  }
}
