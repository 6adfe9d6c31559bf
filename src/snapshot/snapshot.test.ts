import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gunzipSync, gzipSync } from 'node:zlib';
import { MemoryStorage } from '../storage/memory.ts';
import { readSnapshot, restoreSnapshot, SnapshotError, takeSnapshot } from './snapshot.ts';

async function filled(): Promise<MemoryStorage> {
  const storage = new MemoryStorage();
  await storage.put('core/keyring', Buffer.from([1, 2, 3]));
  await storage.put('config/kv/app/', Buffer.alloc(0));
  await storage.put('config/kv/app/x', Buffer.from('ciphertext'));
  await storage.put('logical/abc/secret', Buffer.from([0, 255, 10, 13]));
  return storage;
}

async function contents(storage: MemoryStorage): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (prefix: string): Promise<void> => {
    for (const name of await storage.list(prefix)) {
      if (name === '') out[prefix] = (await storage.get(prefix))!.toString('hex');
      else if (name.endsWith('/')) await walk(prefix + name);
      else out[prefix + name] = (await storage.get(prefix + name))!.toString('hex');
    }
  };
  await walk('');
  return out;
}

describe('storage snapshots', () => {
  it('restores exactly what was saved, removing what came after', async () => {
    const source = await filled();
    const { header, data } = await takeSnapshot(source, new Date('2026-01-02T03:04:05Z'));
    assert.equal(header.entries, 4);
    assert.equal(header.format, 1);
    assert.equal(header.created, '2026-01-02T03:04:05.000Z');

    const target = new MemoryStorage();
    await target.put('stale/key', Buffer.from('gone after restore'));
    await restoreSnapshot(target, data);
    assert.deepEqual(await contents(target), await contents(source));
  });

  it('refuses a corrupt, truncated or foreign file and changes nothing', async () => {
    const { data } = await takeSnapshot(await filled());
    const raw = gunzipSync(data);
    const flipped = Buffer.from(raw);
    flipped[raw.length - 50] ^= 1;
    const target = await filled();
    await target.put('extra', Buffer.from('still here'));
    const before = await contents(target);

    const bad: [Buffer, RegExp][] = [
      [gzipSync(flipped), /checksum does not match/],
      [data.subarray(0, data.length - 10), /not gzip data, or it is truncated/],
      [gzipSync(raw.subarray(0, raw.length - 5)), /truncated: its checksum is missing/],
      [gzipSync(Buffer.from('PK\u0003\u0004 a zip file')), /does not start with its marker/],
      [Buffer.from('plain text'), /not gzip data/],
    ];
    for (const [file, message] of bad) {
      await assert.rejects(restoreSnapshot(target, file), (err: Error) => {
        assert.ok(err instanceof SnapshotError);
        assert.match(err.message, message);
        return true;
      });
    }
    assert.deepEqual(await contents(target), before);
  });

  it('reads back every entry of a file it wrote', async () => {
    const { data } = await takeSnapshot(await filled());
    const { entries } = readSnapshot(data);
    assert.deepEqual(
      entries.map(([k]) => k),
      ['config/kv/app/', 'config/kv/app/x', 'core/keyring', 'logical/abc/secret'],
    );
  });
});
