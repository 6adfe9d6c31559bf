/**
 * Response wrapping over HTTP, as Vault clients use it: X-Vault-Wrap-TTL on
 * any request, sys/wrapping/{wrap,unwrap,lookup,rewrap}, a wrapped response
 * unwrapped exactly once (also when two unwraps race), by hvac and node-vault.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import nodeVault from 'node-vault';
import {
  type KeepProcess,
  pythonModuleAvailable,
  requirePackage,
  SYSTEM_PYTHON,
  startDevKeep,
} from './helpers/keep-server.ts';

const ROOT = 'wrap-root';

describe('response wrapping', () => {
  let server: KeepProcess;

  async function call(
    method: string,
    path: string,
    opts: { token?: string; body?: unknown; wrapTtl?: string } = {},
  ) {
    const headers: Record<string, string> = { 'X-Vault-Token': opts.token ?? ROOT };
    if (opts.wrapTtl !== undefined) headers['X-Vault-Wrap-TTL'] = opts.wrapTtl;
    const res = await fetch(`${server.addr}/v1/${path}`, {
      method,
      headers,
      body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    });
    const text = await res.text();
    return { status: res.status, text, json: text ? JSON.parse(text) : undefined };
  }

  before(async () => {
    server = await startDevKeep(ROOT);
    const put = await call('POST', 'secret/data/app/db', { body: { data: { password: 'pw-1' } } });
    assert.equal(put.status, 200);
  });

  after(async () => {
    await server?.stop();
  });

  it('wraps a read: only wrap_info comes back, and one unwrap gets the secret', async () => {
    const wrapped = await call('GET', 'secret/data/app/db', { wrapTtl: '5m' });
    assert.equal(wrapped.status, 200, wrapped.text);
    assert.equal(wrapped.json.data, null);
    assert.equal(wrapped.text.includes('pw-1'), false);
    const info = wrapped.json.wrap_info;
    assert.equal(info.ttl, 300);
    assert.equal(info.creation_path, 'secret/data/app/db');
    assert.match(info.creation_time, /^\d{4}-\d\d-\d\dT/);
    assert.ok(info.token && info.accessor);

    const lookup = await call('POST', 'sys/wrapping/lookup', {
      token: '',
      body: { token: info.token },
    });
    assert.equal(lookup.status, 200, lookup.text);
    assert.equal(lookup.json.data.creation_path, 'secret/data/app/db');
    assert.equal(lookup.json.data.creation_ttl, 300);

    const unwrapped = await call('POST', 'sys/wrapping/unwrap', { token: info.token });
    assert.equal(unwrapped.status, 200, unwrapped.text);
    assert.equal(unwrapped.json.data.data.password, 'pw-1');
    assert.equal(unwrapped.json.data.metadata.version, 1);

    const again = await call('POST', 'sys/wrapping/unwrap', { token: info.token });
    assert.equal(again.status, 403, 'the spent wrapping token is gone');
    const byRoot = await call('POST', 'sys/wrapping/unwrap', { body: { token: info.token } });
    assert.equal(byRoot.status, 400);
    assert.match(byRoot.json.errors[0], /wrapping token is not valid/);
  });

  it('lets exactly one of two racing unwraps have the response', async () => {
    for (let round = 0; round < 5; round++) {
      const info = (await call('GET', 'secret/data/app/db', { wrapTtl: '1m' })).json.wrap_info;
      const results = await Promise.all([
        call('POST', 'sys/wrapping/unwrap', { body: { token: info.token } }),
        call('POST', 'sys/wrapping/unwrap', { body: { token: info.token } }),
        call('POST', 'sys/wrapping/unwrap', { token: info.token }),
      ]);
      const ok = results.filter((r) => r.status === 200);
      assert.equal(ok.length, 1, results.map((r) => r.status).join(','));
      assert.equal(ok[0]!.json.data.data.password, 'pw-1');
    }
  });

  it('wraps a new token, and the unwrapped token works', async () => {
    const wrapped = await call('POST', 'auth/token/create', {
      body: { policies: ['default'], ttl: '10m' },
      wrapTtl: '120',
    });
    assert.equal(wrapped.status, 200, wrapped.text);
    assert.equal(wrapped.json.auth, null);
    assert.ok(wrapped.json.wrap_info.wrapped_accessor);
    const unwrapped = await call('POST', 'sys/wrapping/unwrap', {
      token: wrapped.json.wrap_info.token,
    });
    const token = unwrapped.json.auth.client_token as string;
    assert.equal(unwrapped.json.auth.accessor, wrapped.json.wrap_info.wrapped_accessor);
    const self = await call('GET', 'auth/token/lookup-self', { token });
    assert.equal(self.status, 200);
    assert.equal(self.json.data.ttl > 500, true);
  });

  it('wraps arbitrary data with sys/wrapping/wrap, and rewraps it', async () => {
    const wrapped = await call('POST', 'sys/wrapping/wrap', {
      body: { role_id: 'r-1', note: 'hand over' },
      wrapTtl: '60s',
    });
    assert.equal(wrapped.status, 200, wrapped.text);
    const first = wrapped.json.wrap_info.token as string;
    const rewrapped = await call('POST', 'sys/wrapping/rewrap', { body: { token: first } });
    assert.equal(rewrapped.status, 200, rewrapped.text);
    const second = rewrapped.json.wrap_info.token as string;
    assert.notEqual(second, first);
    assert.equal(rewrapped.json.wrap_info.creation_path, 'sys/wrapping/wrap');
    assert.equal((await call('POST', 'sys/wrapping/unwrap', { token: first })).status, 403);
    const unwrapped = await call('POST', 'sys/wrapping/unwrap', { token: second });
    assert.deepEqual(unwrapped.json.data, { role_id: 'r-1', note: 'hand over' });
  });

  it('refuses bad wrap TTLs and non-wrapping tokens with a 400, running nothing', async () => {
    for (const ttl of ['0', '-5', 'soon', '100000h']) {
      const res = await call('POST', 'secret/data/app/ttl', {
        body: { data: { a: '1' } },
        wrapTtl: ttl,
      });
      assert.equal(res.status, 400, `${ttl}: ${res.text}`);
    }
    assert.equal((await call('GET', 'secret/data/app/ttl')).status, 404, 'nothing was written');
    assert.equal((await call('POST', 'sys/wrapping/wrap', { body: { a: 1 } })).status, 400);
    const plain = await call('POST', 'auth/token/create', { body: { ttl: '1m' } });
    const token = plain.json.auth.client_token as string;
    const res = await call('POST', 'sys/wrapping/unwrap', { body: { token } });
    assert.equal(res.status, 400);
    assert.equal((await call('GET', 'auth/token/lookup-self', { token })).status, 200);
    const missing = await call('POST', 'sys/wrapping/lookup', { token: '', body: {} });
    assert.equal(missing.status, 400);
  });

  it('cannot overwrite or delete the response-wrapping policy', async () => {
    const put = await call('PUT', 'sys/policies/acl/response-wrapping', {
      body: { policy: 'path "*" { capabilities = ["sudo", "read"] }' },
    });
    assert.equal(put.status, 400);
    assert.equal((await call('DELETE', 'sys/policies/acl/response-wrapping')).status, 400);
  });

  it('unwraps with node-vault', async () => {
    const wrapped = await call('GET', 'secret/data/app/db', { wrapTtl: '1m' });
    const vault = nodeVault({ endpoint: server.addr, token: ROOT });
    const out = await vault.unwrap({ token: wrapped.json.wrap_info.token });
    assert.equal(out.data.data.password, 'pw-1');
  });

  it('wraps and unwraps with hvac', {
    skip: requirePackage(pythonModuleAvailable('hvac'), 'python3-hvac'),
  }, () => {
    const script = `
import hvac, sys
c = hvac.Client(url=sys.argv[1], token=sys.argv[2])
w = c.read('secret/data/app/db', wrap_ttl='60s')
assert w['data'] is None and w['wrap_info']['ttl'] == 60, w
u = hvac.Client(url=sys.argv[1], token=w['wrap_info']['token']).sys.unwrap()
assert u['data']['data']['password'] == 'pw-1', u
try:
    c.sys.unwrap(token=w['wrap_info']['token'])
    print('second unwrap worked')
except hvac.exceptions.InvalidRequest:
    print('ok')
`;
    const run = spawnSync(SYSTEM_PYTHON, ['-c', script, server.addr, ROOT], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'ok');
  });
});
