import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import type { Storage, WatchEvent } from './types.ts';

/** Opens a fresh, empty backend; `cleanup` closes it and removes what it created. */
export type OpenStorage = () => Promise<{ storage: Storage; cleanup(): Promise<void> }>;

/**
 * The behaviour every backend must share, as one node:test suite. Each test
 * opens its own empty storage. Watch assertions wait for delivery, so
 * backends whose watches arrive asynchronously (etcd) pass too.
 */
export function runStorageConformance(name: string, open: OpenStorage): void {
  const run = (fn: (storage: Storage) => Promise<void>) => async () => {
    const { storage, cleanup } = await open();
    try {
      await fn(storage);
    } finally {
      await cleanup();
    }
  };

  describe(`${name} storage conformance`, () => {
    describe('get, put and delete', () => registerBasics(run));
    describe('list', () => registerList(run));
    describe('values and keys', () => registerValuesAndKeys(run));
    describe('transactions and revisions', () => registerTransactions(run));
    describe('watch', () => registerWatch(run));
  });
}

type Run = (fn: (storage: Storage) => Promise<void>) => () => Promise<void>;

const bytes = (text: string) => Buffer.from(text);

async function putAll(storage: Storage, keys: string[]): Promise<void> {
  await storage.transaction(keys.map((key) => ({ op: 'put', key, value: bytes(key) })));
}

function registerBasics(run: Run): void {
  test(
    'a written value reads back and a missing key reads as undefined',
    run(async (s) => {
      await s.put('a/b', bytes('one'));
      assert.deepEqual(await s.get('a/b'), bytes('one'));
      assert.equal(await s.get('a/c'), undefined);
      assert.equal(await s.get('a'), undefined);
    }),
  );

  test(
    'a second put replaces the value',
    run(async (s) => {
      await s.put('k', bytes('one'));
      await s.put('k', bytes('two'));
      assert.deepEqual(await s.get('k'), bytes('two'));
    }),
  );

  test(
    'delete removes the key and deleting a missing key changes nothing',
    run(async (s) => {
      await s.put('k', bytes('v'));
      const afterDelete = await s.delete('k');
      assert.equal(await s.get('k'), undefined);
      assert.deepEqual(await s.list(''), []);
      assert.equal(await s.delete('k'), afterDelete);
      assert.equal(await s.delete('never'), afterDelete);
      assert.equal(await s.revision(), afterDelete);
    }),
  );

  test(
    'an empty key, a leading slash or a NUL is rejected',
    run(async (s) => {
      const before = await s.revision();
      for (const key of ['', '/a', 'a\0b']) {
        await assert.rejects(s.get(key), Error);
        await assert.rejects(s.put(key, bytes('v')), Error);
        await assert.rejects(s.delete(key), Error);
      }
      assert.equal(await s.revision(), before);
      assert.deepEqual(await s.list(''), []);
    }),
  );

  test(
    'a list prefix must be empty or end with a slash',
    run(async (s) => {
      await s.put('a/b', bytes('v'));
      await assert.rejects(s.list('a'), Error);
      await assert.rejects(s.list('/a/'), Error);
    }),
  );
}

function registerList(run: Run): void {
  test(
    'lists direct children and sub-folders once, sorted',
    run(async (s) => {
      await putAll(s, ['app/x', 'app/b', 'app/a/1', 'app/a/2', 'app/a/deep/3', 'app/c/1', 'other']);
      assert.deepEqual(await s.list('app/'), ['a/', 'b', 'c/', 'x']);
      assert.deepEqual(await s.list('app/a/'), ['1', '2', 'deep/']);
    }),
  );

  test(
    'the root prefix lists the top level',
    run(async (s) => {
      await putAll(s, ['z', 'sys/a', 'sys/b/c', 'logical/x']);
      assert.deepEqual(await s.list(''), ['logical/', 'sys/', 'z']);
    }),
  );

  test(
    'a missing prefix lists as empty',
    run(async (s) => {
      assert.deepEqual(await s.list(''), []);
      await putAll(s, ['a/b']);
      assert.deepEqual(await s.list('b/'), []);
      assert.deepEqual(await s.list('a/b/'), []);
    }),
  );

  test(
    'a name that is both a key and a folder appears twice',
    run(async (s) => {
      await putAll(s, ['a', 'a/b', 'a/b/c']);
      assert.deepEqual(await s.list(''), ['a', 'a/']);
      assert.deepEqual(await s.list('a/'), ['b', 'b/']);
      assert.deepEqual(await s.get('a'), bytes('a'));
    }),
  );

  test(
    'a key ending in a slash lists as a folder, and as the empty name inside it',
    run(async (s) => {
      await putAll(s, ['f/', 'f/x']);
      assert.deepEqual(await s.list(''), ['f/']);
      assert.deepEqual(await s.list('f/'), ['', 'x']);
    }),
  );

  test(
    'keys with characters that sort around the slash list in byte order',
    run(async (s) => {
      await putAll(s, ['a0', 'a/b', 'a.b', 'a-b', 'a', 'a/b/c', 'a/b-c', 'a/b.c']);
      assert.deepEqual(await s.list(''), ['a', 'a-b', 'a.b', 'a/', 'a0']);
      assert.deepEqual(await s.list('a/'), ['b', 'b-c', 'b.c', 'b/']);
    }),
  );

  test(
    'a folder emptied by deletes no longer lists',
    run(async (s) => {
      await putAll(s, ['a/b/c', 'a/d']);
      await s.delete('a/b/c');
      assert.deepEqual(await s.list('a/'), ['d']);
      await s.delete('a/d');
      assert.deepEqual(await s.list(''), []);
    }),
  );
}

function registerValuesAndKeys(run: Run): void {
  test(
    'values keep every byte: all 256 values, empty, and 1 MiB',
    run(async (s) => {
      const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
      const big = randomBytes(1024 * 1024);
      await s.put('all', all);
      await s.put('empty', Buffer.alloc(0));
      await s.put('big', big);
      assert.deepEqual(await s.get('all'), all);
      assert.deepEqual(await s.get('empty'), Buffer.alloc(0));
      assert.ok((await s.get('big'))!.equals(big));
      assert.ok(Buffer.isBuffer(await s.get('all')));
    }),
  );

  test(
    'changing a buffer after put or after get does not change the stored value',
    run(async (s) => {
      const value = bytes('abc');
      await s.put('k', value);
      value[0] = 0x7a;
      const read = (await s.get('k'))!;
      read[1] = 0x7a;
      assert.deepEqual(await s.get('k'), bytes('abc'));
    }),
  );

  test(
    'unicode keys round-trip and list in UTF-8 byte order',
    run(async (s) => {
      await putAll(s, ['é/ü', '🔑/x', '\u{e000}', 'z', 'ü/é/1']);
      assert.deepEqual(await s.get('é/ü'), bytes('é/ü'));
      assert.deepEqual(await s.get('🔑/x'), bytes('🔑/x'));
      // UTF-16 order would put the emoji (a surrogate pair) before U+E000.
      assert.deepEqual(await s.list(''), ['z', 'é/', 'ü/', '\u{e000}', '🔑/']);
      assert.deepEqual(await s.list('é/'), ['ü']);
      assert.deepEqual(await s.list('ü/'), ['é/']);
    }),
  );

  test(
    'hundreds of concurrent writes are all stored',
    run(async (s) => {
      const keys = Array.from({ length: 300 }, (_, i) => `c/${i}`);
      const revisions = await Promise.all(keys.map((key) => s.put(key, bytes(key))));
      assert.equal(new Set(revisions).size, keys.length);
      for (const key of keys) assert.deepEqual(await s.get(key), bytes(key));
      assert.equal((await s.list('c/')).length, keys.length);
    }),
  );
}

function registerTransactions(run: Run): void {
  test(
    'a transaction applies every op',
    run(async (s) => {
      await putAll(s, ['gone']);
      await s.transaction([
        { op: 'put', key: 'a', value: bytes('1') },
        { op: 'put', key: 'b/c', value: bytes('2') },
        { op: 'delete', key: 'gone' },
      ]);
      assert.deepEqual(await s.get('a'), bytes('1'));
      assert.deepEqual(await s.get('b/c'), bytes('2'));
      assert.equal(await s.get('gone'), undefined);
    }),
  );

  test(
    'a transaction with an invalid op leaves nothing behind',
    run(async (s) => {
      await s.put('kept', bytes('old'));
      const before = await s.revision();
      const ops = [
        { op: 'put', key: 'kept', value: bytes('new') },
        { op: 'delete', key: 'kept' },
        { op: 'put', key: 'fresh', value: bytes('x') },
      ] as const;
      await assert.rejects(s.transaction([...ops, { op: 'put', key: '', value: bytes('x') }]));
      await assert.rejects(s.transaction([...ops, { op: 'delete', key: '/abs' }]));
      await assert.rejects(s.transaction([...ops, { op: 'put', key: 'v', value: 'x' as never }]));
      await assert.rejects(s.transaction([...ops, { op: 'rename', key: 'r' } as never]));
      assert.deepEqual(await s.get('kept'), bytes('old'));
      assert.equal(await s.get('fresh'), undefined);
      assert.equal(await s.revision(), before);
    }),
  );

  test(
    'ops in one transaction apply in order',
    run(async (s) => {
      await s.transaction([
        { op: 'put', key: 'k', value: bytes('1') },
        { op: 'delete', key: 'k' },
        { op: 'put', key: 'j', value: bytes('1') },
        { op: 'put', key: 'j', value: bytes('2') },
      ]);
      assert.equal(await s.get('k'), undefined);
      assert.deepEqual(await s.get('j'), bytes('2'));
    }),
  );

  test(
    'the revision increases with every write and transaction',
    run(async (s) => {
      const seen = [await s.revision()];
      seen.push(await s.put('a', bytes('1')));
      seen.push(await s.put('a', bytes('1')));
      seen.push(await s.transaction([{ op: 'put', key: 'b', value: bytes('2') }]));
      seen.push(await s.delete('a'));
      seen.push(
        await s.transaction([
          { op: 'delete', key: 'b' },
          { op: 'put', key: 'c', value: bytes('3') },
        ]),
      );
      for (let i = 1; i < seen.length; i++) assert.ok(seen[i] > seen[i - 1], `${seen}`);
      assert.equal(await s.revision(), seen.at(-1));
    }),
  );

  test(
    'a transaction that changes nothing keeps the revision',
    run(async (s) => {
      const revision = await s.put('a', bytes('1'));
      assert.equal(await s.transaction([]), revision);
      assert.equal(await s.transaction([{ op: 'delete', key: 'missing' }]), revision);
    }),
  );
}

/** Resolves once `done()` holds; watches of remote backends arrive asynchronously. */
async function until(done: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!done()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function registerWatch(run: Run): void {
  test(
    'a watcher receives puts and deletes under its prefix, in order',
    run(async (s) => {
      const events: WatchEvent[] = [];
      const stop = s.watch('app/', (event) => events.push(event));
      const r1 = await s.put('app/a', bytes('1'));
      await s.put('apple', bytes('x'));
      await s.put('other/a', bytes('x'));
      const r2 = await s.delete('app/a');
      await s.delete('app/missing');
      const r3 = await s.put('app/b/c', bytes('2'));
      await until(() => events.length >= 3, 'three events');
      stop();

      assert.deepEqual(events, [
        { type: 'put', key: 'app/a', revision: r1 },
        { type: 'delete', key: 'app/a', revision: r2 },
        { type: 'put', key: 'app/b/c', revision: r3 },
      ]);
    }),
  );

  test(
    'the events of a transaction share its revision and keep op order',
    run(async (s) => {
      await s.put('t/old', bytes('x'));
      const events: WatchEvent[] = [];
      const stop = s.watch('t/', (event) => events.push(event));
      const revision = await s.transaction([
        { op: 'put', key: 't/b', value: bytes('1') },
        { op: 'delete', key: 't/old' },
        { op: 'put', key: 't/a', value: bytes('2') },
      ]);
      await until(() => events.length >= 3, 'three events');
      stop();

      assert.deepEqual(events, [
        { type: 'put', key: 't/b', revision },
        { type: 'delete', key: 't/old', revision },
        { type: 'put', key: 't/a', revision },
      ]);
    }),
  );

  test(
    'a watcher sees the committed value when its event arrives',
    run(async (s) => {
      const reads: Promise<Buffer | undefined>[] = [];
      const stop = s.watch('', (event) => reads.push(s.get(event.key)));
      await s.put('k', bytes('v'));
      await until(() => reads.length >= 1, 'one event');
      stop();
      assert.deepEqual(await reads[0], bytes('v'));
    }),
  );

  test(
    'a watcher hears nothing after it unsubscribes',
    run(async (s) => {
      const stopped: WatchEvent[] = [];
      const marker: WatchEvent[] = [];
      const stop = s.watch('w/', (event) => stopped.push(event));
      const stopMarker = s.watch('marker', (event) => marker.push(event));
      await s.put('w/1', bytes('1'));
      await until(() => stopped.length === 1, 'the first event');
      stop();

      await s.put('w/2', bytes('2'));
      await s.delete('w/1');
      await s.put('marker', bytes('m'));
      await until(() => marker.length === 1, 'the marker event');
      stopMarker();
      assert.deepEqual(
        stopped.map((event) => event.key),
        ['w/1'],
      );
    }),
  );
}

/**
 * Checks that a one-level list seeks past sub-folders instead of reading every
 * key beneath them: the root of 100,000 keys under 50 sub-folders must list in
 * a few milliseconds (a scan of them all takes tens). Separate from the suite
 * because writing 100,000 keys to a networked backend is slow.
 */
export function runListScaleTest(name: string, open: OpenStorage): void {
  test(`${name} lists a level without reading the keys of its sub-folders`, async () => {
    const { storage, cleanup } = await open();
    try {
      const keys = Array.from({ length: 100_000 }, (_, i) => `big/${i % 50}/${i}`);
      await putAll(storage, [...keys, 'top', 'zz']);
      const fastest = await fastestOf(5, async () => {
        assert.deepEqual(await storage.list(''), ['big/', 'top', 'zz']);
        assert.equal((await storage.list('big/')).length, 50);
      });
      assert.ok(fastest < 5, `took ${fastest.toFixed(1)} ms`);
    } finally {
      await cleanup();
    }
  });
}

async function fastestOf(runs: number, fn: () => Promise<void>): Promise<number> {
  let fastest = Number.POSITIVE_INFINITY;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    fastest = Math.min(fastest, performance.now() - start);
  }
  return fastest;
}
