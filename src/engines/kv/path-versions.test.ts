import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadRequestError } from '../../lib/errors.ts';
import { InspectableStorage, send, TestClock, testCaller, testContext } from './test-kit.ts';
import { kvV2Backend } from './v2.ts';

function setup() {
  const storage = new InspectableStorage();
  const clock = new TestClock();
  return { storage, clock, backend: kvV2Backend(), ctx: testContext(storage, { clock }) };
}

type Setup = ReturnType<typeof setup>;

async function writeVersions(s: Setup, path: string, count: number) {
  for (let i = 1; i <= count; i++) {
    await send(s.backend, s.ctx, 'update', `data/${path}`, { data: { data: { v: `value-${i}` } } });
  }
}

function read(s: Setup, path: string, version: number) {
  return send(s.backend, s.ctx, 'read', `data/${path}`, { query: { version: String(version) } });
}

async function versionTable(s: Setup, path: string) {
  const resp = await send(s.backend, s.ctx, 'read', `metadata/${path}`);
  return resp?.data?.versions as Record<string, Record<string, unknown>>;
}

describe('KV v2 delete, undelete and destroy', () => {
  it('deletes the listed versions only', async () => {
    const s = setup();
    await writeVersions(s, 'k', 3);
    assert.equal(
      await send(s.backend, s.ctx, 'update', 'delete/k', { data: { versions: [1, 3] } }),
      undefined,
    );
    assert.equal((await read(s, 'k', 1))?.status, 404);
    assert.deepEqual((await read(s, 'k', 2))?.data?.data, { v: 'value-2' });
    assert.equal((await read(s, 'k', 3))?.status, 404);
  });

  it('accepts versions as a comma-separated string', async () => {
    const s = setup();
    await writeVersions(s, 'k', 3);
    await send(s.backend, s.ctx, 'update', 'delete/k', { data: { versions: '1,2' } });
    assert.equal((await read(s, 'k', 2))?.status, 404);
    assert.equal((await read(s, 'k', 3))?.status, undefined);
  });

  it('refuses a request without versions, with Vault messages', async () => {
    const s = setup();
    await writeVersions(s, 'k', 1);
    for (const verb of ['delete', 'undelete']) {
      await assert.rejects(send(s.backend, s.ctx, 'update', `${verb}/k`, { data: {} }), {
        name: 'BadRequestError',
        message: 'No version number provided',
      });
    }
    await assert.rejects(
      send(s.backend, s.ctx, 'update', 'destroy/k', { data: { versions: [] } }),
      { message: 'no version number provided' },
    );
    await assert.rejects(
      send(s.backend, s.ctx, 'update', 'delete/k', { data: { versions: ['one'] } }),
      BadRequestError,
    );
  });

  it('undeletes: the data reads again and the deletion mark is gone', async () => {
    const s = setup();
    await writeVersions(s, 'k', 2);
    await send(s.backend, s.ctx, 'delete', 'data/k');
    assert.equal((await read(s, 'k', 2))?.status, 404);

    await send(s.backend, s.ctx, 'update', 'undelete/k', { data: { versions: [2] } });
    const resp = await read(s, 'k', 2);
    assert.equal(resp?.status, undefined);
    assert.deepEqual(resp?.data?.data, { v: 'value-2' });
    const meta = resp?.data?.metadata as Record<string, unknown>;
    assert.equal(meta.deletion_time, '');
    assert.equal(meta.deleted_by, undefined);
  });

  it('restarts delete_version_after from the undelete', async () => {
    const s = setup();
    await send(s.backend, s.ctx, 'update', 'config', { data: { delete_version_after: '60s' } });
    await writeVersions(s, 'k', 1);
    s.clock.advanceSeconds(120);
    assert.equal((await read(s, 'k', 1))?.status, 404);

    await send(s.backend, s.ctx, 'update', 'undelete/k', { data: { versions: [1] } });
    assert.deepEqual((await read(s, 'k', 1))?.data?.data, { v: 'value-1' });
    s.clock.advanceSeconds(60);
    assert.equal((await read(s, 'k', 1))?.status, 404);
  });

  it('destroys: the value leaves storage and the version reads as destroyed', async () => {
    const s = setup();
    await writeVersions(s, 'k', 2);
    const mallory = testCaller('mallory');
    await send(s.backend, s.ctx, 'update', 'destroy/k', {
      data: { versions: [1] },
      caller: mallory,
    });

    const resp = await read(s, 'k', 1);
    assert.equal(resp?.status, 404);
    assert.equal(resp?.data?.data, null);
    const meta = resp?.data?.metadata as Record<string, unknown>;
    assert.equal(meta.destroyed, true);
    assert.deepEqual(meta.destroyed_by, {
      display_name: 'token-mallory',
      accessor: 'accessor-mallory',
      remote_addr: '10.0.0.7',
    });

    const snapshot = await s.storage.snapshot();
    assert.equal(snapshot.has('ver/k/1'), false);
    const everything = [...snapshot.values()].join('\n');
    assert.ok(!everything.includes('value-1'), 'no stored bytes hold the destroyed value');
    assert.ok(everything.includes('value-2'));
  });

  it('cannot undelete a destroyed version', async () => {
    const s = setup();
    await writeVersions(s, 'k', 1);
    await send(s.backend, s.ctx, 'update', 'destroy/k', { data: { versions: [1] } });
    await send(s.backend, s.ctx, 'update', 'undelete/k', { data: { versions: [1] } });
    assert.equal((await read(s, 'k', 1))?.status, 404);
    assert.equal((await versionTable(s, 'k'))['1']?.destroyed, true);
  });

  it('destroys in one transaction and leaves storage whole when it fails', async () => {
    const s = setup();
    await writeVersions(s, 'k', 2);
    const before = await s.storage.snapshot();
    s.storage.failWrites = true;
    await assert.rejects(
      send(s.backend, s.ctx, 'update', 'destroy/k', { data: { versions: [1, 2] } }),
    );
    s.storage.failWrites = false;
    assert.deepEqual(await s.storage.snapshot(), before);

    const txBefore = s.storage.transactions;
    await send(s.backend, s.ctx, 'update', 'destroy/k', { data: { versions: [1, 2] } });
    assert.equal(s.storage.transactions - txBefore, 1);
    assert.equal(s.storage.singleWrites, 0);
  });

  it('skips unknown versions and missing secrets without error', async () => {
    const s = setup();
    for (const verb of ['delete', 'undelete', 'destroy']) {
      assert.equal(
        await send(s.backend, s.ctx, 'update', `${verb}/none`, { data: { versions: [1] } }),
        undefined,
      );
    }
    await writeVersions(s, 'k', 1);
    await send(s.backend, s.ctx, 'update', 'destroy/k', { data: { versions: [9] } });
    assert.deepEqual(Object.keys(await versionTable(s, 'k')), ['1']);
    assert.equal((await s.storage.snapshot()).has('meta/none'), false);
  });

  it('refuses hostile paths', async () => {
    const s = setup();
    for (const verb of ['delete', 'undelete', 'destroy']) {
      await assert.rejects(
        send(s.backend, s.ctx, 'update', `${verb}/a/../../x`, { data: { versions: [1] } }),
        BadRequestError,
      );
    }
  });
});
