import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BadRequestError } from '../../lib/errors.ts';
import { InspectableStorage, send, testContext } from './test-kit.ts';
import { kvV2Backend } from './v2.ts';

function setup() {
  const storage = new InspectableStorage();
  return { storage, backend: kvV2Backend(), ctx: testContext(storage) };
}

describe('KV v2 config', () => {
  it('reads the defaults before anything is written', async () => {
    const { backend, ctx } = setup();
    assert.deepEqual((await send(backend, ctx, 'read', 'config'))?.data, {
      max_versions: 0,
      cas_required: false,
      delete_version_after: '0s',
    });
  });

  it('stores the settings sent and prints the duration as Go does', async () => {
    const { backend, ctx } = setup();
    const resp = await send(backend, ctx, 'update', 'config', {
      data: { max_versions: '5', cas_required: 'true', delete_version_after: '3h25m19s' },
    });
    assert.equal(resp, undefined);
    assert.deepEqual((await send(backend, ctx, 'read', 'config'))?.data, {
      max_versions: 5,
      cas_required: true,
      delete_version_after: '3h25m19s',
    });

    await send(backend, ctx, 'update', 'config', { data: { delete_version_after: 3600 } });
    const read = await send(backend, ctx, 'read', 'config');
    assert.equal(read?.data?.delete_version_after, '1h0m0s');
    assert.equal(read?.data?.max_versions, 5, 'settings not sent stay as they were');
  });

  it('stores any negative delete_version_after as "disabled" (-1s) and 0 as unset', async () => {
    const { backend, ctx } = setup();
    await send(backend, ctx, 'update', 'config', { data: { delete_version_after: '-5m' } });
    assert.equal((await send(backend, ctx, 'read', 'config'))?.data?.delete_version_after, '-1s');
    await send(backend, ctx, 'update', 'config', { data: { delete_version_after: '0s' } });
    assert.equal((await send(backend, ctx, 'read', 'config'))?.data?.delete_version_after, '0s');
  });

  it('refuses values that do not parse', async () => {
    const { storage, backend, ctx } = setup();
    for (const data of [
      { max_versions: 'many' },
      { max_versions: -2 },
      { cas_required: 'maybe' },
      { delete_version_after: 'soon' },
    ]) {
      await assert.rejects(send(backend, ctx, 'update', 'config', { data }), BadRequestError);
    }
    assert.equal((await storage.snapshot()).size, 0);
  });
});
