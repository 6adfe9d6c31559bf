import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LockLostError } from './lock-util.ts';
import type { Storage } from './types.ts';

/**
 * The behaviour every HA lock must share. `make()` opens one more node's view
 * of the same store and lock (configured with a 2 s lock TTL); `expire()`
 * makes the current holder's lease lapse from outside, as when the holder
 * freezes for longer than the TTL.
 */
export function runHALockTests(
  name: string,
  setup: () => Promise<{ make: () => Storage; expire?: () => Promise<void> }>,
): void {
  describe(`${name} HA lock`, () => {
    test('one holder at a time; a release hands the lock over at once', async () => {
      const { make } = await setup();
      const a = make();
      const b = make();
      try {
        const held = await a.haLock!.acquire('node-a', {});
        assert.equal(await b.haLock!.holder(), 'node-a');
        let bHolds = false;
        const waiting = b.haLock!.acquire('node-b', {}).then((h) => {
          bHolds = true;
          return h;
        });
        await new Promise((r) => setTimeout(r, 700));
        assert.equal(bHolds, false, 'the second node must wait');
        const started = Date.now();
        await held.release();
        assert.ok(held.lost.aborted, 'a released lock reports itself lost');
        const heldB = await waiting;
        assert.ok(Date.now() - started < 1500, `handover took ${Date.now() - started} ms`);
        assert.equal(await a.haLock!.holder(), 'node-b');
        await heldB.release();
        assert.equal(await a.haLock!.holder(), undefined);
      } finally {
        await a.close();
        await b.close();
      }
    });

    test('a waiting acquire stops when its signal aborts', async () => {
      const { make } = await setup();
      const a = make();
      const b = make();
      try {
        const held = await a.haLock!.acquire('node-a', {});
        const abort = new AbortController();
        const waiting = b.haLock!.acquire('node-b', { signal: abort.signal });
        setTimeout(() => abort.abort(), 200);
        await assert.rejects(waiting);
        await held.release();
      } finally {
        await a.close();
        await b.close();
      }
    });

    test('a holder that goes away without releasing loses the lock after its TTL', async () => {
      const { make } = await setup();
      const a = make();
      const b = make();
      try {
        await a.haLock!.acquire('node-a', {});
        await a.close(); // no release: as if the process died
        const started = Date.now();
        const held = await b.haLock!.acquire('node-b', {});
        const waited = Date.now() - started;
        assert.ok(waited < 6000, `took over after ${waited} ms`);
        await held.release();
      } finally {
        await b.close();
      }
    });

    test('fencing: once another node holds the lock, the old holder cannot write', async (t) => {
      const { make, expire } = await setup();
      if (!expire) return t.skip('no way to expire a lease from outside');
      const a = make();
      const b = make();
      try {
        const heldA = await a.haLock!.acquire('node-a', {});
        await a.put('fenced/before', Buffer.from('a'));
        await expire();
        const heldB = await b.haLock!.acquire('node-b', {});
        await b.put('fenced/by-b', Buffer.from('b'));
        await assert.rejects(a.put('fenced/after', Buffer.from('a')), LockLostError);
        assert.equal(await b.get('fenced/after'), undefined);
        assert.ok(heldA.lost.aborted, 'the old holder learns it lost the lock');
        assert.deepEqual(await b.list('fenced/'), ['before', 'by-b']);
        await heldB.release();
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
}
