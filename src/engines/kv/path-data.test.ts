import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadRequestError, NotFoundError } from '../../lib/errors.ts';
import {
  InspectableStorage,
  send,
  TestClock,
  testCaller,
  testContext,
  testRequest,
} from './test-kit.ts';
import { kvV2Backend } from './v2.ts';

function setup() {
  const storage = new InspectableStorage();
  const clock = new TestClock('2024-05-01T12:00:00.123Z');
  return { storage, clock, backend: kvV2Backend(), ctx: testContext(storage, { clock }) };
}

type Setup = ReturnType<typeof setup>;

function write(s: Setup, path: string, data: Record<string, unknown>, options?: object) {
  return send(s.backend, s.ctx, 'update', `data/${path}`, {
    data: options ? { data, options } : { data },
  });
}

describe('KV v2 data', () => {
  it('answers a write with the new version metadata in Vault timestamp format', async () => {
    const s = setup();
    const resp = await write(s, 'app/db', { password: 'one' });

    assert.deepEqual(resp?.data, {
      version: 1,
      created_time: '2024-05-01T12:00:00.123000000Z',
      deletion_time: '',
      destroyed: false,
      custom_metadata: null,
      created_by: {
        display_name: 'token-alice',
        accessor: 'accessor-alice',
        remote_addr: '10.0.0.7',
      },
    });
  });

  it('reads the latest version by default and any kept version on request', async () => {
    const s = setup();
    await write(s, 'k', { v: 'one' });
    s.clock.advanceSeconds(5);
    await write(s, 'k', { v: 'two' });

    const latest = await send(s.backend, s.ctx, 'read', 'data/k');
    assert.deepEqual(latest?.data?.data, { v: 'two' });
    assert.equal(((latest?.data?.metadata ?? {}) as { version: number }).version, 2);
    assert.equal(latest?.status, undefined);

    const first = await send(s.backend, s.ctx, 'read', 'data/k', { query: { version: '1' } });
    assert.deepEqual(first?.data?.data, { v: 'one' });
    assert.deepEqual(first?.data?.metadata, {
      version: 1,
      created_time: '2024-05-01T12:00:00.123000000Z',
      deletion_time: '',
      destroyed: false,
      custom_metadata: null,
      created_by: {
        display_name: 'token-alice',
        accessor: 'accessor-alice',
        remote_addr: '10.0.0.7',
      },
    });
  });

  it('answers a missing secret or an unknown version with a bare 404', async () => {
    const s = setup();
    await assert.rejects(send(s.backend, s.ctx, 'read', 'data/nope'), NotFoundError);
    await write(s, 'k', { v: '1' });
    await assert.rejects(
      send(s.backend, s.ctx, 'read', 'data/k', { query: { version: '7' } }),
      NotFoundError,
    );
  });

  it('records who wrote each version, never the token', async () => {
    const s = setup();
    const bob = testCaller('bob', { remoteAddr: '192.0.2.9' });
    await write(s, 'k', { v: '1' });
    await send(s.backend, s.ctx, 'update', 'data/k', { data: { data: { v: '2' } }, caller: bob });

    const read = await send(s.backend, s.ctx, 'read', 'data/k');
    assert.deepEqual(((read?.data?.metadata ?? {}) as Record<string, unknown>).created_by, {
      display_name: 'token-bob',
      accessor: 'accessor-bob',
      remote_addr: '192.0.2.9',
    });
    const meta = await send(s.backend, s.ctx, 'read', 'metadata/k');
    const versions = meta?.data?.versions as Record<string, { created_by: { accessor: string } }>;
    assert.equal(versions['1']?.created_by.accessor, 'accessor-alice');
    assert.equal(versions['2']?.created_by.accessor, 'accessor-bob');

    const raw = [...(await s.storage.snapshot()).values()].join('\n');
    assert.ok(!raw.includes('hash-alice') && !raw.includes('hash-bob'));
  });

  it('refuses a write without data', async () => {
    const s = setup();
    for (const data of [{}, { data: null }, { options: { cas: 0 } }]) {
      await assert.rejects(send(s.backend, s.ctx, 'update', 'data/k', { data }), {
        name: 'BadRequestError',
        message: 'no data provided',
      });
    }
    await assert.rejects(
      send(s.backend, s.ctx, 'update', 'data/k', { data: { data: 'text' } }),
      BadRequestError,
    );
  });

  describe('check-and-set', () => {
    it('writes with cas 0 only while the secret does not exist', async () => {
      const s = setup();
      assert.equal((await write(s, 'k', { v: '1' }, { cas: 0 }))?.data?.version, 1);
      await assert.rejects(write(s, 'k', { v: '2' }, { cas: 0 }), {
        name: 'BadRequestError',
        message: 'check-and-set parameter did not match the current version',
      });
    });

    it('writes only when cas equals the current version', async () => {
      const s = setup();
      await write(s, 'k', { v: '1' });
      assert.equal((await write(s, 'k', { v: '2' }, { cas: 1 }))?.data?.version, 2);
      assert.equal((await write(s, 'k', { v: '3' }, { cas: '2' }))?.data?.version, 3);

      const before = await s.storage.snapshot();
      await assert.rejects(write(s, 'k', { v: 'stale' }, { cas: 2 }), {
        status: 400,
        message: 'check-and-set parameter did not match the current version',
      });
      assert.deepEqual(await s.storage.snapshot(), before);
    });

    it('refuses a cas that is not a number', async () => {
      const s = setup();
      await assert.rejects(write(s, 'k', { v: '1' }, { cas: 'one' }), {
        message: 'error parsing check-and-set parameter',
      });
    });

    it('requires cas when the mount config asks for it', async () => {
      const s = setup();
      await send(s.backend, s.ctx, 'update', 'config', { data: { cas_required: true } });
      await assert.rejects(write(s, 'k', { v: '1' }), {
        status: 400,
        message: 'check-and-set parameter required for this call',
      });
      assert.equal((await write(s, 'k', { v: '1' }, { cas: 0 }))?.data?.version, 1);
    });

    it("requires cas when the secret's metadata asks for it", async () => {
      const s = setup();
      await write(s, 'k', { v: '1' });
      await send(s.backend, s.ctx, 'update', 'metadata/k', { data: { cas_required: true } });
      await assert.rejects(write(s, 'k', { v: '2' }), {
        message: 'check-and-set parameter required for this call',
      });
      await write(s, 'other', { v: '1' });
      assert.equal((await write(s, 'k', { v: '2' }, { cas: 1 }))?.data?.version, 2);
    });

    it('lets only one of two racing writes with the same cas through', async () => {
      const s = setup();
      await write(s, 'k', { v: '1' });
      const results = await Promise.allSettled([
        write(s, 'k', { v: 'a' }, { cas: 1 }),
        write(s, 'k', { v: 'b' }, { cas: 1 }),
      ]);
      assert.deepEqual(
        results.map((r) => r.status),
        ['fulfilled', 'rejected'],
      );
      const read = await send(s.backend, s.ctx, 'read', 'data/k');
      assert.deepEqual(read?.data?.data, { v: 'a' });
    });
  });

  describe('patch', () => {
    it('merges into the latest version as a JSON merge patch and stores a new version', async () => {
      const s = setup();
      await write(s, 'k', { keep: 'x', change: 'old', drop: 'y', nested: { a: 1, b: 2 } });
      const resp = await send(s.backend, s.ctx, 'patch', 'data/k', {
        data: { data: { change: 'new', drop: null, nested: { b: null, c: 3 }, added: true } },
      });
      assert.equal(resp?.data?.version, 2);

      const read = await send(s.backend, s.ctx, 'read', 'data/k');
      assert.deepEqual(read?.data?.data, {
        keep: 'x',
        change: 'new',
        nested: { a: 1, c: 3 },
        added: true,
      });
      const old = await send(s.backend, s.ctx, 'read', 'data/k', { query: { version: '1' } });
      assert.equal(((old?.data?.data ?? {}) as Record<string, unknown>).drop, 'y');
    });

    it('needs an existing secret', async () => {
      const s = setup();
      await assert.rejects(
        send(s.backend, s.ctx, 'patch', 'data/k', { data: { data: { a: '1' } } }),
        NotFoundError,
      );
    });

    it('answers 404 with the version metadata when the latest version is deleted', async () => {
      const s = setup();
      await write(s, 'k', { a: '1' });
      await send(s.backend, s.ctx, 'delete', 'data/k');
      const resp = await send(s.backend, s.ctx, 'patch', 'data/k', { data: { data: { a: '2' } } });
      assert.equal(resp?.status, 404);
      assert.equal(resp?.data?.version, 1);
      assert.notEqual(resp?.data?.deletion_time, '');
    });

    it('respects check-and-set', async () => {
      const s = setup();
      await write(s, 'k', { a: '1' });
      await assert.rejects(
        send(s.backend, s.ctx, 'patch', 'data/k', {
          data: { data: { a: '2' }, options: { cas: 0 } },
        }),
        { message: 'check-and-set parameter did not match the current version' },
      );
      const ok = await send(s.backend, s.ctx, 'patch', 'data/k', {
        data: { data: { a: '2' }, options: { cas: 1 } },
      });
      assert.equal(ok?.data?.version, 2);
    });

    it('refuses a patch without data', async () => {
      const s = setup();
      await write(s, 'k', { a: '1' });
      await assert.rejects(send(s.backend, s.ctx, 'patch', 'data/k', { data: {} }), {
        message: 'no data provided',
      });
    });
  });

  describe('delete of the latest version', () => {
    it('soft-deletes: the read is a 404 that still carries the metadata', async () => {
      const s = setup();
      await write(s, 'k', { v: '1' });
      await write(s, 'k', { v: '2' });
      s.clock.advanceSeconds(60);
      assert.equal(await send(s.backend, s.ctx, 'delete', 'data/k'), undefined);

      const resp = await send(s.backend, s.ctx, 'read', 'data/k');
      assert.equal(resp?.status, 404);
      assert.equal(resp?.data?.data, null);
      const metadata = resp?.data?.metadata as Record<string, unknown>;
      assert.equal(metadata.version, 2);
      assert.equal(metadata.deletion_time, '2024-05-01T12:01:00.123000000Z');
      assert.equal(metadata.destroyed, false);
      assert.deepEqual(metadata.deleted_by, metadata.created_by);

      const older = await send(s.backend, s.ctx, 'read', 'data/k', { query: { version: '1' } });
      assert.deepEqual(older?.data?.data, { v: '1' });
    });

    it('keeps the data in storage so it can be undeleted', async () => {
      const s = setup();
      await write(s, 'k', { v: 'secret-value' });
      await send(s.backend, s.ctx, 'delete', 'data/k');
      assert.equal((await s.storage.snapshot()).get('ver/k/1'), '{"v":"secret-value"}');
    });

    it('does nothing for a missing secret or an already deleted version', async () => {
      const s = setup();
      assert.equal(await send(s.backend, s.ctx, 'delete', 'data/none'), undefined);
      await write(s, 'k', { v: '1' });
      await send(s.backend, s.ctx, 'delete', 'data/k');
      const first = await send(s.backend, s.ctx, 'read', 'data/k');
      s.clock.advanceSeconds(30);
      await send(s.backend, s.ctx, 'delete', 'data/k');
      const second = await send(s.backend, s.ctx, 'read', 'data/k');
      assert.deepEqual(second?.data?.metadata, first?.data?.metadata);
    });
  });

  it('prunes versions beyond max_versions from the table and from storage', async () => {
    const s = setup();
    await send(s.backend, s.ctx, 'update', 'metadata/k', { data: { max_versions: 3 } });
    for (let i = 1; i <= 5; i++) await write(s, 'k', { v: String(i) });

    const keys = [...(await s.storage.snapshot()).keys()].filter((k) => k.startsWith('ver/'));
    assert.deepEqual(keys, ['ver/k/3', 'ver/k/4', 'ver/k/5']);
    const meta = await send(s.backend, s.ctx, 'read', 'metadata/k');
    assert.deepEqual(Object.keys(meta?.data?.versions as object), ['3', '4', '5']);
    assert.equal(meta?.data?.oldest_version, 3);
    assert.equal(meta?.data?.current_version, 5);
    await assert.rejects(
      send(s.backend, s.ctx, 'read', 'data/k', { query: { version: '2' } }),
      NotFoundError,
    );
  });

  it('keeps ten versions when nothing sets max_versions, and the larger setting wins', async () => {
    const s = setup();
    for (let i = 1; i <= 12; i++) await write(s, 'k', { v: String(i) });
    let meta = await send(s.backend, s.ctx, 'read', 'metadata/k');
    assert.equal(Object.keys(meta?.data?.versions as object).length, 10);
    assert.equal(meta?.data?.oldest_version, 3);

    await send(s.backend, s.ctx, 'update', 'config', { data: { max_versions: 4 } });
    await send(s.backend, s.ctx, 'update', 'metadata/j', { data: { max_versions: 2 } });
    for (let i = 1; i <= 6; i++) await write(s, 'j', { v: String(i) });
    meta = await send(s.backend, s.ctx, 'read', 'metadata/j');
    assert.deepEqual(Object.keys(meta?.data?.versions as object), ['3', '4', '5', '6']);
  });

  it('treats versions as deleted once delete_version_after has passed', async () => {
    const s = setup();
    await send(s.backend, s.ctx, 'update', 'config', { data: { delete_version_after: '1h' } });
    await send(s.backend, s.ctx, 'update', 'metadata/k', {
      data: { delete_version_after: '10m' },
    });
    const written = await write(s, 'k', { v: '1' });
    assert.equal(written?.data?.deletion_time, '2024-05-01T12:10:00.123000000Z');

    s.clock.advanceSeconds(599);
    assert.deepEqual((await send(s.backend, s.ctx, 'read', 'data/k'))?.data?.data, { v: '1' });
    s.clock.advanceSeconds(1);
    const expired = await send(s.backend, s.ctx, 'read', 'data/k');
    assert.equal(expired?.status, 404);
    assert.equal(expired?.data?.data, null);
  });

  it('ignores delete_version_after when the mount disables it', async () => {
    const s = setup();
    await send(s.backend, s.ctx, 'update', 'config', { data: { delete_version_after: '-1s' } });
    await send(s.backend, s.ctx, 'update', 'metadata/k', { data: { delete_version_after: '1s' } });
    const written = await write(s, 'k', { v: '1' });
    assert.equal(written?.data?.deletion_time, '');
    s.clock.advanceSeconds(3600);
    assert.deepEqual((await send(s.backend, s.ctx, 'read', 'data/k'))?.data?.data, { v: '1' });
  });

  it('writes a version, its metadata and the pruning in one transaction', async () => {
    const s = setup();
    await send(s.backend, s.ctx, 'update', 'metadata/k', { data: { max_versions: 1 } });
    await write(s, 'k', { v: '1' });
    const before = s.storage.transactions;
    await write(s, 'k', { v: '2' });
    assert.equal(s.storage.transactions - before, 1);
    assert.equal(s.storage.singleWrites, 0);
  });

  it('leaves storage exactly as it was when the write fails', async () => {
    const s = setup();
    await send(s.backend, s.ctx, 'update', 'metadata/k', { data: { max_versions: 2 } });
    await write(s, 'k', { v: '1' });
    await write(s, 'k', { v: '2' });
    const before = await s.storage.snapshot();

    s.storage.failWrites = true;
    await assert.rejects(write(s, 'k', { v: '3' }), /storage unavailable/);
    await assert.rejects(
      send(s.backend, s.ctx, 'patch', 'data/k', { data: { data: { v: '3' } } }),
      /storage unavailable/,
    );
    s.storage.failWrites = false;

    assert.deepEqual(await s.storage.snapshot(), before);
    assert.deepEqual((await send(s.backend, s.ctx, 'read', 'data/k'))?.data?.data, { v: '2' });
    assert.equal((await write(s, 'k', { v: '3' }))?.data?.version, 3);
  });

  it('reports existence so the first write of a secret is checked as create', async () => {
    const s = setup();
    assert.equal(await s.backend.exists(testRequest('update', 'data/k'), s.ctx), false);
    await write(s, 'k', { v: '1' });
    assert.equal(await s.backend.exists(testRequest('update', 'data/k'), s.ctx), true);
    await send(s.backend, s.ctx, 'delete', 'data/k');
    assert.equal(await s.backend.exists(testRequest('update', 'data/k'), s.ctx), true);
  });

  it('refuses hostile paths and writes nothing', async () => {
    const s = setup();
    const hostile = ['../config', 'a/../../b', 'a//b', '/a', 'a/./b', 'a\0b', '..'];
    for (const path of hostile) {
      await assert.rejects(write(s, path, { v: '1' }), BadRequestError, JSON.stringify(path));
      await assert.rejects(
        send(s.backend, s.ctx, 'read', `data/${path}`),
        BadRequestError,
        JSON.stringify(path),
      );
      assert.equal(await s.backend.exists(testRequest('update', `data/${path}`), s.ctx), false);
    }
    assert.equal((await s.storage.snapshot()).size, 0);
  });

  it('sends a trailing-slash data path to the CLI hint, as Vault does', async () => {
    const s = setup();
    const resp = await send(s.backend, s.ctx, 'update', 'data/a/', { data: { data: { v: '1' } } });
    assert.equal(resp?.status, 404);
    assert.match(resp?.warnings?.[0] ?? '', /use 'vault kv put'/);
    assert.equal((await s.storage.snapshot()).size, 0);
  });
});
