import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type LastUse, LastUseTracker, latestUse } from './last-use.ts';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('LastUseTracker', () => {
  it('writes each key once per interval with its latest use', async () => {
    const writes: Array<[string, LastUse]> = [];
    const tracker = new LastUseTracker({
      intervalMs: 40,
      write: async (key, use) => {
        writes.push([key, use]);
      },
    });
    for (let i = 1; i <= 50; i++) tracker.record('a', { timeMs: i, addr: `10.0.0.${i}` });
    tracker.record('b', { timeMs: 7, addr: '10.0.1.1' });
    assert.deepEqual(tracker.unflushed('a'), { timeMs: 50, addr: '10.0.0.50' });
    assert.equal(writes.length, 0, 'nothing is written at once');
    await sleep(100);
    assert.deepEqual(writes, [
      ['a', { timeMs: 50, addr: '10.0.0.50' }],
      ['b', { timeMs: 7, addr: '10.0.1.1' }],
    ]);
    assert.equal(tracker.unflushed('a'), undefined);
    tracker.close();
  });

  it('keeps showing a use while its write is in flight, and skips forgotten keys', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const written: string[] = [];
    const tracker = new LastUseTracker({
      intervalMs: 60_000,
      write: async (key) => {
        await gate;
        written.push(key);
      },
    });
    tracker.record('a', { timeMs: 1, addr: 'x' });
    tracker.record('b', { timeMs: 1, addr: 'y' });
    const flushing = tracker.flush();
    await sleep(5);
    assert.deepEqual(tracker.unflushed('a'), { timeMs: 1, addr: 'x' });
    tracker.forget('b');
    release();
    await flushing;
    assert.deepEqual(written, ['a']);
    tracker.close();
  });

  it('reports a failed write and goes on with the others', async () => {
    const errors: string[] = [];
    const written: string[] = [];
    const tracker = new LastUseTracker({
      write: async (key) => {
        if (key === 'bad') throw new Error('storage down');
        written.push(key);
      },
      onError: (_err, key) => errors.push(key),
    });
    tracker.record('bad', { timeMs: 1, addr: '' });
    tracker.record('good', { timeMs: 1, addr: '' });
    await tracker.flush();
    assert.deepEqual(errors, ['bad']);
    assert.deepEqual(written, ['good']);
    tracker.close();
  });

  it('records nothing once closed', async () => {
    const tracker = new LastUseTracker({ write: async () => assert.fail('no write') });
    tracker.close();
    tracker.record('a', { timeMs: 1, addr: '' });
    await tracker.flush();
    assert.equal(tracker.size, 0);
  });
});

describe('latestUse', () => {
  it('prefers the later of the stored and the unflushed use', () => {
    const old = { timeMs: 1, addr: 'a' };
    const fresh = { timeMs: 2, addr: 'b' };
    assert.equal(latestUse(old, fresh), fresh);
    assert.equal(latestUse(fresh, old), fresh);
    assert.equal(latestUse(undefined, old), old);
    assert.equal(latestUse(old, undefined), old);
  });
});
