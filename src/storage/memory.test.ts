import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runListScaleTest, runStorageConformance } from './conformance.ts';
import { MemoryStorage } from './memory.ts';
import type { WatchEvent } from './types.ts';

const open = async () => {
  const storage = new MemoryStorage();
  return { storage, cleanup: () => storage.close() };
};

runStorageConformance('memory', open);
runListScaleTest('memory', open);

test('memory storage reports its type as inmem', () => {
  assert.equal(new MemoryStorage().type, 'inmem');
});

test('a watcher that writes from its callback does not reorder events for others', async () => {
  const storage = new MemoryStorage();
  const seen: WatchEvent[] = [];
  storage.watch('', (event) => {
    if (event.key === 'first') void storage.put('second', Buffer.from('2'));
  });
  storage.watch('', (event) => seen.push(event));

  await storage.put('first', Buffer.from('1'));
  assert.deepEqual(
    seen.map((event) => [event.key, event.revision]),
    [
      ['first', 1],
      ['second', 2],
    ],
  );
});
