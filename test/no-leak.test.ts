/**
 * A whole workload on a real server, then a search of everything it left
 * behind — its log output at debug level, its audit logs, its SQLite files —
 * for the plaintext of every secret, token and unseal key it handled.
 * Failed requests are part of the workload: error paths must not echo either.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type KeepProcess, removeDir, startKeep, tempDir } from './helpers/keep-server.ts';

describe('nothing secret leaks into logs, audit files or storage', () => {
  const dir = tempDir();
  let server: KeepProcess;
  const secrets: string[] = [];
  const fresh = (label: string) => {
    const value = `${label}-${randomBytes(12).toString('hex')}`;
    secrets.push(value);
    return value;
  };

  async function call(method: string, path: string, token: string, body?: unknown) {
    const res = await fetch(`${server.addr}/v1/${path}`, {
      method,
      headers: { 'X-Vault-Token': token },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, text, json: text ? JSON.parse(text) : undefined };
  }

  before(async () => {
    server = await startKeep({ storage: 'sqlite', dir, logLevel: 'debug' });
  });

  after(async () => {
    await server?.stop();
    removeDir(dir);
  });

  it('runs init, unseal, audit, KV v1 and v2, policies, tokens and bad requests', async () => {
    const init = await (
      await fetch(`${server.addr}/v1/sys/init`, {
        method: 'PUT',
        body: JSON.stringify({ secret_shares: 3, secret_threshold: 2 }),
      })
    ).json();
    const root = init.root_token as string;
    secrets.push(root, ...(init.keys as string[]), ...(init.keys_base64 as string[]));
    // A wrong share first: its error must not echo it.
    const wrong = fresh('share').replace(/[^0-9a-f]/g, 'a');
    await fetch(`${server.addr}/v1/sys/unseal`, {
      method: 'PUT',
      body: JSON.stringify({ key: wrong }),
    });
    for (const key of init.keys.slice(0, 2)) {
      await fetch(`${server.addr}/v1/sys/unseal`, { method: 'PUT', body: JSON.stringify({ key }) });
    }

    const audit = await call('PUT', 'sys/audit/file', root, {
      type: 'file',
      options: { file_path: join(dir, 'audit.log') },
    });
    assert.equal(audit.status, 204, audit.text);
    assert.equal(
      (await call('POST', 'sys/mounts/kv2', root, { type: 'kv', options: { version: 2 } })).status,
      204,
    );
    assert.equal((await call('POST', 'sys/mounts/kv1', root, { type: 'kv' })).status, 204);

    for (let i = 0; i < 5; i++) {
      const v2 = await call('POST', `kv2/data/app/s${i}`, root, {
        data: { password: fresh('v2'), nested: { key: fresh('nested') }, list: [fresh('list')] },
      });
      assert.equal(v2.status, 200, v2.text);
      assert.equal(
        (await call('PUT', `kv1/app/s${i}`, root, { api_key: fresh('v1') })).status,
        204,
      );
    }
    // A cas conflict and a malformed body carrying secrets.
    const conflict = await call('POST', 'kv2/data/app/s0', root, {
      data: { password: fresh('conflict') },
      options: { cas: 99 },
    });
    assert.equal(conflict.status, 400);
    const malformed = await fetch(`${server.addr}/v1/kv2/data/app/bad`, {
      method: 'POST',
      headers: { 'X-Vault-Token': root },
      body: `{"data": {"password": "${fresh('malformed')}"`,
    });
    assert.equal(malformed.status, 400);
    assert.equal((await malformed.text()).includes(secrets.at(-1)!), false);
    // An unquoted value: V8's own message would quote it back.
    const unquoted = [fresh('unquoted'), fresh('bare'), fresh('trailing')];
    for (const [body, secret] of [
      [`{"data": {"password": ${unquoted[0]}}}`, unquoted[0]],
      [unquoted[1], unquoted[1]],
      [`{"data": {}} ${unquoted[2]}`, unquoted[2]],
    ] as const) {
      const res = await fetch(`${server.addr}/v1/kv2/data/app/bad`, {
        method: 'POST',
        headers: { 'X-Vault-Token': root },
        body,
      });
      assert.equal(res.status, 400);
      const text = await res.text();
      assert.match(text, /failed to parse JSON input/);
      assert.equal(text.includes(secret.slice(0, 8)), false, text);
    }
    const patch = await fetch(`${server.addr}/v1/kv2/data/app/s1`, {
      method: 'PATCH',
      headers: { 'X-Vault-Token': root, 'Content-Type': 'application/merge-patch+json' },
      body: JSON.stringify({ data: { extra: fresh('patch') } }),
    });
    assert.equal(patch.status, 200);

    const policy = 'path "kv2/data/app/*" { capabilities = ["read"] }';
    assert.equal((await call('PUT', 'sys/policies/acl/app', root, { policy })).status, 204);
    const child = await call('POST', 'auth/token/create', root, {
      policies: ['app'],
      ttl: '1h',
      meta: { note: fresh('meta') },
    });
    const childToken = child.json.auth.client_token as string;
    secrets.push(childToken);
    assert.equal((await call('GET', 'kv2/data/app/s2', childToken)).status, 200);
    assert.equal(
      (await call('POST', 'kv2/data/app/s2', childToken, { data: { x: fresh('denied') } })).status,
      403,
    );
    const unknownToken = fresh('hvs.unknown');
    assert.equal((await call('GET', 'kv2/data/app/s2', unknownToken)).status, 403);
    await call('POST', 'auth/token/lookup', root, { token: childToken });
    await call('POST', 'auth/token/lookup', root, { token: fresh('hvs.missing') });
    await call('POST', 'cubbyhole/private', childToken, { note: fresh('cubby') });
    await call('POST', 'auth/token/revoke', root, { token: childToken });
    await call('POST', 'sys/rotate', root);
  });

  it('finds none of them in the server output, the audit log or the SQLite files', async () => {
    await server.stop();
    const places: Array<[string, Buffer]> = [
      ['server output', Buffer.from(server.output.join('\n'))],
      ['audit log', readFileSync(join(dir, 'audit.log'))],
    ];
    for (const f of readdirSync(join(dir, 'data'))) {
      places.push([`storage file ${f}`, readFileSync(join(dir, 'data', f))]);
    }
    assert.ok(
      server.output.filter((l) => l.includes('"msg":"request"')).length > 20,
      'the server logged each request at debug level',
    );
    assert.ok(secrets.length > 30);
    for (const [where, bytes] of places) {
      for (const secret of secrets) {
        assert.equal(bytes.includes(Buffer.from(secret)), false, `a secret is in the ${where}`);
      }
    }
  });
});
