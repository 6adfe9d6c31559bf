import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import fc from 'fast-check';
import { runListScaleTest, runStorageConformance } from './conformance.ts';
import { MemoryStorage } from './memory.ts';
import { SqliteStorage } from './sqlite.ts';

const root = mkdtempSync(join(tmpdir(), 'keep-sqlite-'));
after(() => rmSync(root, { recursive: true, force: true }));

let count = 0;
const freshFile = () => join(root, `db-${++count}`, 'keep.db');

const open = async () => {
  const file = freshFile();
  const storage = SqliteStorage.open(file);
  return {
    storage,
    cleanup: async () => {
      await storage.close();
      rmSync(join(file, '..'), { recursive: true, force: true });
    },
  };
};

runStorageConformance('sqlite', open);
runListScaleTest('sqlite', open);

test('data and revision survive closing and reopening the file', async () => {
  const file = freshFile();
  const first = SqliteStorage.open(file);
  await first.put('a/b', Buffer.from([0, 1, 2]));
  await first.put('a/c', Buffer.from('gone'));
  const revision = await first.delete('a/c');
  await first.close();

  const second = SqliteStorage.open(file);
  assert.deepEqual(await second.get('a/b'), Buffer.from([0, 1, 2]));
  assert.equal(await second.get('a/c'), undefined);
  assert.deepEqual(await second.list('a/'), ['b']);
  assert.equal(await second.revision(), revision);
  assert.ok((await second.put('a/d', Buffer.from('x'))) > revision);
  await second.close();
});

test('a new database file is private to its owner, in a private directory', async () => {
  const file = freshFile();
  const storage = SqliteStorage.open(file);
  await storage.put('k', Buffer.from('v'));
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(statSync(`${file}-wal`).mode & 0o777, 0o600);
  assert.equal(statSync(join(file, '..')).mode & 0o777, 0o700);
  await storage.close();
});

test('a closed storage refuses further use', async () => {
  const storage = SqliteStorage.open(freshFile());
  await storage.close();
  await assert.rejects(storage.get('k'));
  await assert.rejects(storage.put('k', Buffer.from('v')));
});

// A naive model: filter every key, cut at the first slash, de-duplicate, sort by bytes.
function referenceList(keys: Iterable<string>, prefix: string): string[] {
  const names = new Set<string>();
  for (const key of keys) {
    if (!key.startsWith(prefix)) continue;
    const rest = key.slice(prefix.length);
    const slash = rest.indexOf('/');
    names.add(slash < 0 ? rest : rest.slice(0, slash + 1));
  }
  return [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
}

/** Every folder prefix the keys imply, the root, and a few that hold nothing. */
function prefixesOf(keys: Iterable<string>): string[] {
  const prefixes = new Set(['', 'none/', 'a/none/']);
  for (const key of keys) {
    for (let i = key.indexOf('/'); i >= 0; i = key.indexOf('/', i + 1)) {
      prefixes.add(key.slice(0, i + 1));
    }
  }
  return [...prefixes];
}

const segment = fc.string({
  unit: fc.constantFrom('a', 'b', '-', '.', '0', 'é', '\u{e000}', '🔑'),
  maxLength: 3,
});
const key = fc
  .array(segment, { minLength: 1, maxLength: 4 })
  .map((parts) => parts.join('/'))
  .filter((k) => k !== '' && !k.startsWith('/'));

test('sqlite and memory list like a naive model for random key sets', async () => {
  const sqlite = SqliteStorage.open(freshFile());
  let stored = new Set<string>();
  await fc.assert(
    fc.asyncProperty(fc.uniqueArray(key, { maxLength: 40 }), async (keys) => {
      const memory = new MemoryStorage();
      const puts = keys.map((k) => ({ op: 'put' as const, key: k, value: Buffer.from(k) }));
      await memory.transaction(puts);
      await sqlite.transaction([
        ...[...stored].map((k) => ({ op: 'delete' as const, key: k })),
        ...puts,
      ]);
      stored = new Set(keys);

      for (const prefix of prefixesOf(keys)) {
        const expected = referenceList(keys, prefix);
        assert.deepEqual(await sqlite.list(prefix), expected, `sqlite list ${prefix}`);
        assert.deepEqual(await memory.list(prefix), expected, `memory list ${prefix}`);
      }
    }),
    { numRuns: 200 },
  );
  await sqlite.close();
});
