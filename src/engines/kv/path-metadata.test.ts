import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadRequestError, NotFoundError } from '../../lib/errors.ts';
import { InspectableStorage, send, TestClock, testContext, testRequest } from './test-kit.ts';
import { kvV2Backend } from './v2.ts';

function setup() {
  const storage = new InspectableStorage();
  const clock = new TestClock('2024-05-01T12:00:00.500Z');
  return { storage, clock, backend: kvV2Backend(), ctx: testContext(storage, { clock }) };
}

type Setup = ReturnType<typeof setup>;

function write(s: Setup, path: string, data: Record<string, unknown>) {
  return send(s.backend, s.ctx, 'update', `data/${path}`, { data: { data } });
}

function metadata(s: Setup, path: string) {
  return send(s.backend, s.ctx, 'read', `metadata/${path}`);
}

describe('KV v2 metadata', () => {
  it('reads the settings and the version table with Vault field names', async () => {
    const s = setup();
    await write(s, 'k', { v: '1' });
    s.clock.advanceSeconds(2);
    await write(s, 'k', { v: '2' });

    const resp = await metadata(s, 'k');
    const alice = {
      display_name: 'token-alice',
      accessor: 'accessor-alice',
      remote_addr: '10.0.0.7',
    };
    assert.deepEqual(resp?.data, {
      versions: {
        '1': {
          created_time: '2024-05-01T12:00:00.500000000Z',
          deletion_time: '',
          destroyed: false,
          created_by: alice,
        },
        '2': {
          created_time: '2024-05-01T12:00:02.500000000Z',
          deletion_time: '',
          destroyed: false,
          created_by: alice,
        },
      },
      current_version: 2,
      oldest_version: 0,
      created_time: '2024-05-01T12:00:00.500000000Z',
      updated_time: '2024-05-01T12:00:02.500000000Z',
      max_versions: 0,
      cas_required: false,
      delete_version_after: '0s',
      custom_metadata: null,
    });
  });

  it('answers a missing secret with a bare 404', async () => {
    const s = setup();
    await assert.rejects(metadata(s, 'nope'), NotFoundError);
  });

  it('writes settings, creating the secret without versions if needed', async () => {
    const s = setup();
    const resp = await send(s.backend, s.ctx, 'update', 'metadata/new', {
      data: {
        max_versions: 5,
        cas_required: true,
        delete_version_after: '3h25m19s',
        custom_metadata: { owner: 'team-a', count: 3, flag: true },
      },
    });
    assert.equal(resp, undefined);

    const read = await metadata(s, 'new');
    assert.equal(read?.data?.max_versions, 5);
    assert.equal(read?.data?.cas_required, true);
    assert.equal(read?.data?.delete_version_after, '3h25m19s');
    assert.deepEqual(read?.data?.custom_metadata, { owner: 'team-a', count: '3', flag: '1' });
    assert.deepEqual(read?.data?.versions, {});
    assert.equal(read?.data?.current_version, 0);
  });

  it('changes only the settings sent and leaves versions alone', async () => {
    const s = setup();
    await write(s, 'k', { v: '1' });
    await send(s.backend, s.ctx, 'update', 'metadata/k', {
      data: { max_versions: 4, custom_metadata: { a: 'x' } },
    });
    await send(s.backend, s.ctx, 'update', 'metadata/k', { data: { cas_required: true } });

    const read = await metadata(s, 'k');
    assert.equal(read?.data?.max_versions, 4);
    assert.equal(read?.data?.cas_required, true);
    assert.deepEqual(read?.data?.custom_metadata, { a: 'x' });
    assert.equal(read?.data?.current_version, 1);
  });

  it('shows custom_metadata in the metadata of data reads and writes', async () => {
    const s = setup();
    await send(s.backend, s.ctx, 'update', 'metadata/k', {
      data: { custom_metadata: { owner: 'ops' } },
    });
    const written = await write(s, 'k', { v: '1' });
    assert.deepEqual(written?.data?.custom_metadata, { owner: 'ops' });
    const read = await send(s.backend, s.ctx, 'read', 'data/k');
    assert.deepEqual(((read?.data?.metadata ?? {}) as Record<string, unknown>).custom_metadata, {
      owner: 'ops',
    });
  });

  it('writes nothing for a body without settings', async () => {
    const s = setup();
    assert.equal(await send(s.backend, s.ctx, 'update', 'metadata/k', { data: {} }), undefined);
    assert.equal((await s.storage.snapshot()).size, 0);
  });

  it('warns when a secret turns cas_required off that the mount requires', async () => {
    const s = setup();
    await send(s.backend, s.ctx, 'update', 'config', { data: { cas_required: true } });
    const resp = await send(s.backend, s.ctx, 'update', 'metadata/k', {
      data: { cas_required: false },
    });
    assert.deepEqual(resp?.warnings, [
      '"cas_required" set to false, but is mandated by backend config. This value will be ignored.',
    ]);
  });

  it('validates custom_metadata with Vault limits and messages', async () => {
    const s = setup();
    const tooMany = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
    await assert.rejects(
      send(s.backend, s.ctx, 'update', 'metadata/k', { data: { custom_metadata: tooMany } }),
      {
        name: 'BadRequestError',
        message:
          '1 error occurred:\n\t* custom_metadata validation failed: payload must contain at most 64 keys, provided 65\n\n',
      },
    );
    await assert.rejects(
      send(s.backend, s.ctx, 'update', 'metadata/k', {
        data: { custom_metadata: { empty: '', ['x'.repeat(129)]: 'v' } },
      }),
      (err: Error) => {
        assert.ok(err instanceof BadRequestError);
        assert.match(err.message, /^2 errors occurred:\n\t\* /);
        assert.match(err.message, /length of value for key "empty" is 0/);
        assert.match(
          err.message,
          /length of key "x{129}" is 129 but must be 0 < len\(key\) <= 128/,
        );
        return true;
      },
    );
    await assert.rejects(
      send(s.backend, s.ctx, 'update', 'metadata/k', {
        data: { custom_metadata: { bell: 'ding\u0007' } },
      }),
      /value for key "bell" contains unprintable characters/,
    );
    assert.equal((await s.storage.snapshot()).size, 0);
  });

  it('refuses a negative max_versions', async () => {
    const s = setup();
    await assert.rejects(
      send(s.backend, s.ctx, 'update', 'metadata/k', { data: { max_versions: -1 } }),
      BadRequestError,
    );
  });

  describe('patch', () => {
    it('merges custom_metadata key by key, null removing a key', async () => {
      const s = setup();
      await send(s.backend, s.ctx, 'update', 'metadata/k', {
        data: { max_versions: 7, custom_metadata: { a: '1', b: '2' } },
      });
      await send(s.backend, s.ctx, 'patch', 'metadata/k', {
        data: { custom_metadata: { b: null, c: '3' }, cas_required: true },
      });

      const read = await metadata(s, 'k');
      assert.deepEqual(read?.data?.custom_metadata, { a: '1', c: '3' });
      assert.equal(read?.data?.cas_required, true);
      assert.equal(read?.data?.max_versions, 7);
    });

    it('resets a setting patched to null', async () => {
      const s = setup();
      await send(s.backend, s.ctx, 'update', 'metadata/k', {
        data: { max_versions: 7, delete_version_after: '1h', custom_metadata: { a: '1' } },
      });
      await send(s.backend, s.ctx, 'patch', 'metadata/k', {
        data: { max_versions: null, delete_version_after: null, custom_metadata: null },
      });
      const read = await metadata(s, 'k');
      assert.equal(read?.data?.max_versions, 0);
      assert.equal(read?.data?.delete_version_after, '0s');
      assert.equal(read?.data?.custom_metadata, null);
    });

    it('needs an existing secret', async () => {
      const s = setup();
      await assert.rejects(
        send(s.backend, s.ctx, 'patch', 'metadata/k', { data: { max_versions: 1 } }),
        NotFoundError,
      );
    });
  });

  it('deletes the metadata and every version for good', async () => {
    const s = setup();
    await write(s, 'k', { v: 'one' });
    await write(s, 'k', { v: 'two' });
    await write(s, 'other', { v: 'stays' });

    const before = s.storage.transactions;
    assert.equal(await send(s.backend, s.ctx, 'delete', 'metadata/k'), undefined);
    assert.equal(s.storage.transactions - before, 1);

    assert.deepEqual([...(await s.storage.snapshot()).keys()], ['meta/other', 'ver/other/1']);
    await assert.rejects(metadata(s, 'k'), NotFoundError);
    await assert.rejects(send(s.backend, s.ctx, 'read', 'data/k'), NotFoundError);
    assert.equal((await write(s, 'k', { v: 'fresh' }))?.data?.version, 1);
  });

  it('leaves storage untouched when deleting everything fails', async () => {
    const s = setup();
    await write(s, 'k', { v: 'one' });
    await write(s, 'k', { v: 'two' });
    const before = await s.storage.snapshot();
    s.storage.failWrites = true;
    await assert.rejects(send(s.backend, s.ctx, 'delete', 'metadata/k'));
    s.storage.failWrites = false;
    assert.deepEqual(await s.storage.snapshot(), before);
  });

  describe('list', () => {
    it('lists one level of nested folders, folders ending in "/"', async () => {
      const s = setup();
      for (const path of ['app/db', 'app/api/key', 'app/api/cert', 'top', 'deep/a/b/c']) {
        await write(s, path, { v: '1' });
      }
      const list = (path: string) => send(s.backend, s.ctx, 'list', `metadata/${path}`);
      assert.deepEqual((await list(''))?.data, { keys: ['app/', 'deep/', 'top'] });
      assert.deepEqual((await list('app/'))?.data, { keys: ['api/', 'db'] });
      assert.deepEqual((await list('app/api/'))?.data, { keys: ['cert', 'key'] });
      assert.deepEqual((await list('deep/a/'))?.data, { keys: ['b/'] });
    });

    it('still lists secrets whose versions are deleted or destroyed', async () => {
      const s = setup();
      await write(s, 'gone', { v: '1' });
      await write(s, 'burnt', { v: '1' });
      await send(s.backend, s.ctx, 'delete', 'data/gone');
      await send(s.backend, s.ctx, 'update', 'destroy/burnt', { data: { versions: [1] } });
      assert.deepEqual((await send(s.backend, s.ctx, 'list', 'metadata/'))?.data, {
        keys: ['burnt', 'gone'],
      });
    });

    it('answers an empty or missing folder with a 404', async () => {
      const s = setup();
      await assert.rejects(send(s.backend, s.ctx, 'list', 'metadata/'), NotFoundError);
      await write(s, 'a/b', { v: '1' });
      await assert.rejects(send(s.backend, s.ctx, 'list', 'metadata/zzz/'), NotFoundError);
      await send(s.backend, s.ctx, 'delete', 'metadata/a/b');
      await assert.rejects(send(s.backend, s.ctx, 'list', 'metadata/a/'), NotFoundError);
    });

    it('refuses hostile folders', async () => {
      const s = setup();
      await assert.rejects(send(s.backend, s.ctx, 'list', 'metadata/../'), BadRequestError);
      await assert.rejects(send(s.backend, s.ctx, 'list', 'metadata/a//'), BadRequestError);
    });
  });

  it('refuses hostile paths on every operation', async () => {
    const s = setup();
    for (const op of ['read', 'update', 'patch', 'delete'] as const) {
      await assert.rejects(
        send(s.backend, s.ctx, op, 'metadata/a/../b', { data: { max_versions: 1 } }),
        BadRequestError,
        op,
      );
    }
    assert.equal(await s.backend.exists(testRequest('update', 'metadata/a/../b'), s.ctx), false);
    assert.equal((await s.storage.snapshot()).size, 0);
  });
});
