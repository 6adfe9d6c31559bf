/**
 * Use-limited tokens over HTTP, as Vault counts them: a use is spent once a
 * request is authorised, a refused request spends nothing, and the last use
 * still serves its request before the token is revoked.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type KeepProcess, startDevKeep } from './helpers/keep-server.ts';

const ROOT = 'uses-root';

describe('token use limits', () => {
  let server: KeepProcess;

  async function call(method: string, path: string, token: string, body?: unknown) {
    const res = await fetch(`${server.addr}/v1/${path}`, {
      method,
      headers: { 'X-Vault-Token': token },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  }

  async function limitedToken(numUses: number): Promise<string> {
    const res = await call('POST', 'auth/token/create', ROOT, {
      policies: ['reader'],
      num_uses: numUses,
    });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    return res.json.auth.client_token;
  }

  before(async () => {
    server = await startDevKeep(ROOT);
    const policy = 'path "secret/data/open/*" { capabilities = ["read"] }';
    assert.equal((await call('PUT', 'sys/policies/acl/reader', ROOT, { policy })).status, 204);
    const put = await call('POST', 'secret/data/open/a', ROOT, { data: { v: '1' } });
    assert.equal(put.status, 200);
  });

  after(async () => {
    await server?.stop();
  });

  it('spends nothing on a request the policy refuses', async () => {
    const token = await limitedToken(1);
    for (let i = 0; i < 3; i++) {
      assert.equal((await call('GET', 'secret/data/closed/a', token)).status, 403);
    }
    const read = await call('GET', 'secret/data/open/a', token);
    assert.equal(read.status, 200);
    assert.equal(read.json.data.data.v, '1');
  });

  it('serves the last use, then the token is gone', async () => {
    const token = await limitedToken(2);
    assert.equal((await call('GET', 'secret/data/open/a', token)).status, 200);
    const last = await call('GET', 'auth/token/lookup-self', token);
    assert.equal(last.status, 200, JSON.stringify(last.json));
    assert.deepEqual(last.json.data.policies, ['default', 'reader']);
    assert.equal((await call('GET', 'secret/data/open/a', token)).status, 403);
    const lookup = await call('POST', 'auth/token/lookup', ROOT, { token });
    assert.equal(lookup.status, 403);
  });

  it('counts a use for an authorised request that fails in its handler', async () => {
    const token = await limitedToken(1);
    assert.equal((await call('GET', 'secret/data/open/missing', token)).status, 404);
    assert.equal((await call('GET', 'secret/data/open/a', token)).status, 403);
  });
});
