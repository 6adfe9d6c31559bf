import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApiClient } from './client.ts';
import { addPrefixToKVPath, joinPath, kvPath, resolveKvTarget, sanitizePath } from './kv-paths.ts';
import { type Stub, startStub } from './testing/stub-server.ts';

describe('KV path helpers', () => {
  it('joins and cleans like Go’s path.Join', () => {
    assert.equal(joinPath('secret/', 'data', 'foo'), 'secret/data/foo');
    assert.equal(joinPath('', 'foo/'), 'foo');
    assert.equal(joinPath('a', '..', 'b'), 'b');
    assert.equal(joinPath('', ''), '');
  });

  it('sanitizes leading and trailing slashes and spaces', () => {
    assert.equal(sanitizePath('  //secret/foo// '), 'secret/foo');
  });

  it('inserts the API segment after the mount', () => {
    assert.equal(
      addPrefixToKVPath('secret/foo', { mount: 'secret/', prefix: 'data' }),
      'secret/data/foo',
    );
    assert.equal(
      addPrefixToKVPath('secret/a/b', { mount: 'secret/', prefix: 'metadata' }),
      'secret/metadata/a/b',
    );
    assert.equal(
      addPrefixToKVPath('secret', { mount: 'secret/', prefix: 'metadata' }),
      'secret/metadata',
    );
    assert.equal(
      addPrefixToKVPath('team/kv/x', { mount: 'team/kv/', prefix: 'delete' }),
      'team/kv/delete/x',
    );
    // A mount path with a leading namespace segment the path lacks.
    assert.equal(addPrefixToKVPath('kv/x', { mount: 'ns1/kv/', prefix: 'data' }), 'kv/data/x');
  });
});

describe('resolveKvTarget', () => {
  let stub: Stub;
  before(async () => {
    stub = await startStub((req) => {
      const m = /^\/v1\/sys\/internal\/ui\/mounts\/(.*)$/.exec(req.path);
      if (!m) return undefined;
      if (m[1].startsWith('secret')) {
        return { body: { data: { path: 'secret/', type: 'kv', options: { version: '2' } } } };
      }
      if (m[1].startsWith('old')) {
        return { body: { data: { path: 'old/', type: 'kv', options: null } } };
      }
      return undefined; // 404: a server without the endpoint
    });
  });
  after(() => stub.close());
  const client = () => new ApiClient({ address: stub.url, tls: { skipVerify: false } });

  it('asks sys/internal/ui/mounts for the path-like form', async () => {
    const target = await resolveKvTarget(client(), { path: 'secret/app/db', mount: '' });
    assert.equal(stub.requests.at(-1)!.path, '/v1/sys/internal/ui/mounts/secret/app/db');
    assert.equal(target.v2, true);
    assert.equal(kvPath(target, 'data'), 'secret/data/app/db');
  });

  it('asks for the mount alone with -mount and joins the secret path to it', async () => {
    const target = await resolveKvTarget(client(), { path: 'app/db', mount: 'secret' });
    assert.equal(stub.requests.at(-1)!.path, '/v1/sys/internal/ui/mounts/secret');
    assert.equal(kvPath(target, 'metadata'), 'secret/metadata/app/db');
  });

  it('uses plain paths on KV v1, with or without -mount', async () => {
    assert.equal(
      kvPath(await resolveKvTarget(client(), { path: 'old/a', mount: '' }), 'data'),
      'old/a',
    );
    assert.equal(
      kvPath(await resolveKvTarget(client(), { path: 'a', mount: 'old' }), 'data'),
      'old/a',
    );
  });

  it('takes a server without the preflight endpoint as KV v1, keeping -mount', async () => {
    const target = await resolveKvTarget(client(), { path: 'a', mount: 'legacy' });
    assert.equal(target.v2, false);
    assert.equal(kvPath(target, 'data'), 'legacy/a');
  });
});
