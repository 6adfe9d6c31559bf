/**
 * A restore drill through `/v1/snapshot`: save everything from one server,
 * restore it into a fresh one, which seals itself and opens again with the
 * first server's unseal key and brings back config keys, secrets, policies
 * and tokens. A corrupt or truncated file is refused and changes nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { consul, initKeep, kvSnapshot, tokenWithPolicy, vault } from './helpers/consul-kit.ts';
import { type KeepProcess, removeDir, startKeep, tempDir } from './helpers/keep-server.ts';

/** GET /v1/snapshot as raw bytes. */
async function save(
  server: KeepProcess,
  token: string,
): Promise<{ status: number; type: string | null; body: Buffer; index: string | null }> {
  const res = await fetch(`${server.consulAddr}/v1/snapshot`, {
    headers: { 'X-Consul-Token': token },
  });
  return {
    status: res.status,
    type: res.headers.get('content-type'),
    index: res.headers.get('x-consul-index'),
    body: Buffer.from(await res.arrayBuffer()),
  };
}

describe('snapshot save and restore on the Consul face', () => {
  const dirs = [tempDir(), tempDir()];
  let source: KeepProcess;
  let target: KeepProcess;
  let sourceKeys: { root: string; key: string };
  let targetRoot: string;
  let snapshot: Buffer;

  before(async () => {
    source = await startKeep({ storage: 'sqlite', dir: dirs[0], consul: true });
    target = await startKeep({ storage: 'sqlite', dir: dirs[1], consul: true });
    sourceKeys = await initKeep(source);
    targetRoot = (await initKeep(target)).root;

    const root = sourceKeys.root;
    for (const [key, value] of [
      ['app/feature', 'on'],
      ['app/db/url', 'postgres://db.internal/app'],
    ]) {
      assert.equal(
        (await consul(source, 'PUT', `/v1/kv/${key}`, { token: root, body: value })).text,
        'true',
      );
    }
    await vault(source, root, 'POST', 'sys/mounts/secret', {
      type: 'kv',
      options: { version: '2' },
    });
    await vault(source, root, 'POST', 'secret/data/db', { data: { password: 'correct-horse' } });
  });

  after(async () => {
    await source?.stop();
    await target?.stop();
    for (const dir of dirs) removeDir(dir);
  });

  it('saves a gzip snapshot for a sudo token only, with no secret in the clear', async () => {
    const plain = await tokenWithPolicy(
      source,
      sourceKeys.root,
      'not-sudo',
      'path "sys/storage/raft/snapshot" { capabilities = ["read"] }',
    );
    const refused = await save(source, plain.token);
    assert.equal(refused.status, 403);
    assert.match(
      refused.body.toString(),
      /lacks permission 'operator:read' on "sys\/storage\/raft\/snapshot"/,
    );

    const saved = await save(source, sourceKeys.root);
    assert.equal(saved.status, 200);
    assert.equal(saved.type, 'application/x-gzip');
    assert.ok(Number(saved.index) > 0);
    snapshot = saved.body;
    const raw = gunzipSync(snapshot);
    assert.equal(raw.subarray(0, 9).toString(), 'KEEPSNAP\n');
    for (const secret of ['correct-horse', 'postgres://db.internal/app', 'db.internal']) {
      assert.ok(!raw.includes(secret), `${secret} is readable in the snapshot`);
    }
  });

  it('refuses a corrupt or truncated snapshot and changes nothing', async () => {
    const before_ = await kvSnapshot(target, targetRoot);
    const corrupt = Buffer.from(snapshot);
    corrupt[Math.floor(corrupt.length / 2)] ^= 0xff;
    for (const body of [
      corrupt,
      snapshot.subarray(0, snapshot.length - 20),
      Buffer.from('nonsense'),
    ]) {
      const res = await consul(target, 'PUT', '/v1/snapshot', { token: targetRoot, body });
      assert.equal(res.status, 400, res.text);
      assert.match(res.text, /snapshot|gzip/);
    }
    assert.deepEqual(await kvSnapshot(target, targetRoot), before_);
    const status = await (await fetch(`${target.addr}/v1/sys/seal-status`)).json();
    assert.equal(status.sealed, false, 'a refused restore leaves the server unsealed');
  });

  it('restores into a fresh server that then opens with the original key', async () => {
    const res = await consul(target, 'PUT', '/v1/snapshot', { token: targetRoot, body: snapshot });
    assert.equal(res.status, 200, res.text);
    const sealed = await (await fetch(`${target.addr}/v1/sys/seal-status`)).json();
    assert.equal(sealed.sealed, true, 'a restore seals the node');
    assert.equal(
      (await consul(target, 'GET', '/v1/kv/app/feature', { token: targetRoot })).status,
      503,
    );

    await vault(target, '', 'PUT', 'sys/unseal', { key: sourceKeys.key });
    const root = sourceKeys.root;
    const feature = await consul(target, 'GET', '/v1/kv/app/feature?raw', { token: root });
    assert.equal(feature.text, 'on');
    const keys = await consul(target, 'GET', '/v1/kv/?keys', { token: root });
    assert.deepEqual(JSON.parse(keys.text), ['app/db/url', 'app/feature']);
    const secret = await vault(target, root, 'GET', 'secret/data/db');
    assert.equal(
      (secret as unknown as { data: { data: { password: string } } }).data.data.password,
      'correct-horse',
    );
    const oldRoot = await consul(target, 'GET', '/v1/kv/app/feature', { token: targetRoot });
    assert.equal(oldRoot.status, 403, "the fresh server's own root token is gone");
    const history = await consul(target, 'GET', '/v1/keep/history/app/feature', { token: root });
    assert.equal(JSON.parse(history.text).length, 1, 'history came back with the data');
  });
});
