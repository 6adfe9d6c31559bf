import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openStorage } from './index.ts';

const root = mkdtempSync(join(tmpdir(), 'keep-open-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('inmem and memory both open the in-memory backend', async () => {
  for (const kind of ['inmem', 'memory']) {
    const storage = await openStorage(kind, {});
    assert.equal(storage.type, 'inmem');
    await storage.close();
  }
});

test('sqlite with a directory path keeps its data in keep.db inside it', async () => {
  const dir = join(root, 'data');
  const storage = await openStorage('sqlite', { path: dir });
  await storage.put('k', Buffer.from('v'));
  await storage.close();
  assert.ok(existsSync(join(dir, 'keep.db')));
});

test('sqlite with a path ending in .db uses that file', async () => {
  const file = join(root, 'custom', 'vault.db');
  const storage = await openStorage('sqlite', { path: file });
  assert.equal(storage.type, 'sqlite');
  await storage.close();
  assert.ok(existsSync(file));
});

test('sqlite without a path is refused', async () => {
  await assert.rejects(openStorage('sqlite', {}), /needs a "path"/);
});

test('an unknown kind is refused with the kinds that exist', async () => {
  await assert.rejects(
    openStorage('consul', {}),
    /unknown storage type "consul".*inmem, memory, sqlite/,
  );
});
