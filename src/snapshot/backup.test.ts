import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MemoryStorage } from '../storage/memory.ts';
import { BackupScheduler, backupName, parseBackupSettings } from './backup.ts';
import { readSnapshot } from './snapshot.ts';

const root = mkdtempSync(join(tmpdir(), 'keep-backup-test-'));
after(() => rmSync(root, { recursive: true, force: true }));

const quiet = { info() {}, error() {} };

function recorder() {
  const counts: Record<string, number> = {};
  const gauges: Record<string, number> = {};
  return {
    counts,
    gauges,
    incr(name: string, value = 1) {
      counts[name] = (counts[name] ?? 0) + value;
    },
    gauge(name: string, value: number) {
      gauges[name] = value;
    },
  };
}

describe('the backup stanza', () => {
  it('defaults to hourly, keeping 24, and names what it cannot use', () => {
    assert.deepEqual(parseBackupSettings({ path: '/b' }), {
      settings: { dir: '/b', intervalMs: 3_600_000, retain: 24 },
      warnings: [],
    });
    const parsed = parseBackupSettings({ path: '/b', interval: '15m', retain: '3', s3: {}, x: 1 });
    assert.deepEqual(parsed.settings, { dir: '/b', intervalMs: 900_000, retain: 3 });
    assert.deepEqual(parsed.warnings, [
      'backup: "s3" is not supported yet; snapshots go to "path" only',
      'unknown configuration key "x" in backup',
    ]);
    assert.throws(() => parseBackupSettings({}), /backup needs "path"/);
    assert.throws(() => parseBackupSettings({ path: '/b', retain: 0 }), /"retain" in backup/);
    assert.throws(
      () => parseBackupSettings({ path: '/b', interval: 'soon' }),
      /"interval" in backup/,
    );
  });

  it('names files by node and UTC time', () => {
    assert.equal(
      backupName('node 1', new Date('2026-03-01T10:00:00.123Z')),
      'keep-node_1-20260301T100000123Z.snap.gz',
    );
  });
});

describe('BackupScheduler', () => {
  it('keeps exactly the newest N snapshots, each one restorable', async () => {
    const dir = join(root, 'retain');
    const storage = new MemoryStorage();
    let now = Date.parse('2026-03-01T00:00:00Z');
    const metrics = recorder();
    const scheduler = new BackupScheduler({
      storage,
      settings: { dir, intervalMs: 3_600_000, retain: 3 },
      node: 'n1',
      logger: quiet,
      metrics,
      clock: () => new Date(now),
    });
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'not a snapshot: never pruned');
    for (let i = 0; i < 6; i++) {
      await storage.put(`k/${i}`, Buffer.from(String(i)));
      await scheduler.runOnce();
      now += 3_600_000;
    }
    const files = readdirSync(dir).sort();
    assert.deepEqual(files, [
      'keep-n1-20260301T030000000Z.snap.gz',
      'keep-n1-20260301T040000000Z.snap.gz',
      'keep-n1-20260301T050000000Z.snap.gz',
      'notes.txt',
    ]);
    const newest = readSnapshot(readFileSync(join(dir, files[2]!)));
    assert.equal(newest.header.entries, 6);
    assert.equal(metrics.counts['keep.backup.success'], 6);
    assert.equal(
      metrics.gauges['keep.backup.last_success'],
      Date.parse('2026-03-01T05:00:00Z') / 1000,
    );
  });

  it('counts a failure, logs it and tries again until it succeeds', async () => {
    const dir = join(root, 'blocked');
    writeFileSync(dir, 'a file where the folder should be');
    const metrics = recorder();
    const errors: string[] = [];
    const scheduler = new BackupScheduler({
      storage: new MemoryStorage(),
      settings: { dir, intervalMs: 20, retain: 2 },
      node: 'n1',
      logger: { info() {}, error: (_f, msg) => errors.push(msg) },
      metrics,
    });
    scheduler.start();
    try {
      const deadline = Date.now() + 5000;
      while ((metrics.counts['keep.backup.failure'] ?? 0) < 2 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.ok((metrics.counts['keep.backup.failure'] ?? 0) >= 2);
      assert.equal(errors[0], 'backup failed; trying again');
      rmSync(dir);
      while (!metrics.counts['keep.backup.success'] && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 10));
      }
      assert.ok(metrics.counts['keep.backup.success'], 'a later attempt succeeded');
    } finally {
      scheduler.stop();
    }
  });

  it('does not back up on a standby', async () => {
    const dir = join(root, 'standby');
    const scheduler = new BackupScheduler({
      storage: new MemoryStorage(),
      settings: { dir, intervalMs: 10, retain: 2 },
      node: 'n1',
      logger: quiet,
      isActive: () => false,
    });
    scheduler.start();
    await new Promise((r) => setTimeout(r, 80));
    scheduler.stop();
    assert.throws(() => readdirSync(dir), /ENOENT/);
  });
});
