/**
 * npm's node-vault against the real server on in-memory storage: the same
 * life cycle as a Node service would drive, with both list styles.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import nodeVault from 'node-vault';
import { type KeepProcess, startKeep } from './helpers/keep-server.ts';

type VaultClient = ReturnType<typeof nodeVault>;

async function rejection(
  promise: Promise<unknown>,
): Promise<{ message: string; response?: { statusCode: number } }> {
  try {
    await promise;
  } catch (err) {
    return err as { message: string; response?: { statusCode: number } };
  }
  assert.fail('expected the call to be refused');
}

describe('node-vault against an in-memory server', () => {
  let server: KeepProcess;
  let vault: VaultClient;
  let keys: string[];
  let rootToken: string;

  before(async () => {
    server = await startKeep({ storage: 'inmem' });
    vault = nodeVault({ apiVersion: 'v1', endpoint: server.addr });
  });

  after(async () => {
    await server?.stop();
  });

  it('initialises with 5 shares and threshold 3, then unseals with three', async () => {
    assert.equal((await vault.initialized()).initialized, false);
    const init = await vault.init({ secret_shares: 5, secret_threshold: 3 });
    keys = init.keys;
    rootToken = init.root_token;
    assert.equal(keys.length, 5);
    let status = await vault.unseal({ key: keys[3] });
    assert.equal(status.sealed, true);
    assert.equal(status.progress, 1);
    await vault.unseal({ key: keys[0] });
    status = await vault.unseal({ key: keys[1] });
    assert.equal(status.sealed, false);
    vault.token = rootToken;
  });

  it('refuses a share of the wrong form with a 400 and keeps the server unsealed', async () => {
    const err = await rejection(vault.unseal({ key: 'not-a-share!' }));
    assert.equal(err.response?.statusCode, 400);
    assert.equal((await vault.status()).sealed, false);
  });

  it('writes, versions and lists KV v2 secrets with LIST and with ?list=1', async () => {
    await vault.mount({ mount_point: 'kv2', type: 'kv', options: { version: '2' } });
    await vault.write('kv2/data/svc/one', { data: { a: '1' }, options: { cas: 0 } });
    await vault.write('kv2/data/svc/one', { data: { a: '2' }, options: { cas: 1 } });
    await vault.write('kv2/data/svc/two', { data: { b: 'x' } });
    const read = await vault.read('kv2/data/svc/one');
    assert.equal(read.data.data.a, '2');
    assert.equal(read.data.metadata.version, 2);
    const old = await vault.read('kv2/data/svc/one?version=1');
    assert.equal(old.data.data.a, '1');
    const err = await rejection(
      vault.write('kv2/data/svc/one', { data: { a: 'x' }, options: { cas: 1 } }),
    );
    assert.equal(err.response?.statusCode, 400);

    assert.deepEqual((await vault.list('kv2/metadata/svc')).data.keys, ['one', 'two']);
    const plain = nodeVault({ endpoint: server.addr, token: rootToken, noCustomHTTPVerbs: true });
    assert.deepEqual((await plain.list('kv2/metadata/svc')).data.keys, ['one', 'two']);
    const missing = await rejection(vault.list('kv2/metadata/none'));
    assert.equal(missing.response?.statusCode, 404);
  });

  it('enforces a policy on a token it created', async () => {
    await vault.addPolicy({
      name: 'svc-one',
      rules: 'path "kv2/data/svc/one" { capabilities = ["read"] }',
    });
    const created = await vault.tokenCreate({ policies: ['svc-one'], ttl: '10m' });
    // node-vault adopts the token a tokenCreate returns; the root token stays ours.
    assert.equal(vault.token, created.auth.client_token);
    vault.token = rootToken;
    const limited = nodeVault({ endpoint: server.addr, token: created.auth.client_token });
    assert.equal((await limited.read('kv2/data/svc/one')).data.data.a, '2');
    const denied = await rejection(limited.read('kv2/data/svc/two'));
    assert.equal(denied.response?.statusCode, 403);
    const lookup = await limited.tokenLookupSelf();
    assert.deepEqual(lookup.data.policies, ['default', 'svc-one']);
  });

  it('seals, and then answers 503', async () => {
    await vault.seal();
    let sealed = false;
    for (let i = 0; i < 50 && !sealed; i += 1) {
      sealed = (await vault.status()).sealed;
      if (!sealed) await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(sealed, true);
    const err = await rejection(vault.read('kv2/data/svc/one'));
    assert.equal(err.response?.statusCode, 503);
  });
});
