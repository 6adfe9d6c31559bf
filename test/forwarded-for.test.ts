/**
 * The client address behind a load balancer: X-Forwarded-For counts only
 * from the listener's `x_forwarded_for_authorized_addrs`, and is refused
 * from anyone else once that setting exists. The address is read back from
 * what KV v2 records about each version's writer.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { type KeepProcess, removeDir, startKeep, tempDir } from './helpers/keep-server.ts';

async function bootstrap(server: KeepProcess): Promise<string> {
  const init = await (
    await fetch(`${server.addr}/v1/sys/init`, {
      method: 'PUT',
      body: JSON.stringify({ secret_shares: 1, secret_threshold: 1 }),
    })
  ).json();
  await fetch(`${server.addr}/v1/sys/unseal`, {
    method: 'PUT',
    body: JSON.stringify({ key: init.keys[0] }),
  });
  const mount = await fetch(`${server.addr}/v1/sys/mounts/secret`, {
    method: 'POST',
    headers: { 'X-Vault-Token': init.root_token },
    body: JSON.stringify({ type: 'kv', options: { version: '2' } }),
  });
  assert.equal(mount.status, 204);
  return init.root_token;
}

async function writeFrom(server: KeepProcess, token: string, path: string, xff?: string) {
  const headers: Record<string, string> = { 'X-Vault-Token': token };
  if (xff !== undefined) headers['X-Forwarded-For'] = xff;
  const res = await fetch(`${server.addr}/v1/secret/data/${path}`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ data: { a: '1' } }),
  });
  const body = await res.json();
  return { status: res.status, addr: body.data?.created_by?.remote_addr as string | undefined };
}

describe('X-Forwarded-For and trusted proxies', () => {
  const servers: KeepProcess[] = [];
  const dirs: string[] = [];
  async function start(trusted?: string) {
    const dir = tempDir();
    dirs.push(dir);
    const server = await startKeep({
      storage: 'inmem',
      dir,
      listenerExtra: trusted ? `x_forwarded_for_authorized_addrs = "${trusted}"` : undefined,
    });
    servers.push(server);
    return { server, token: await bootstrap(server) };
  }

  after(async () => {
    for (const s of servers) await s.stop();
    for (const d of dirs) removeDir(d);
  });

  it('ignores the header when no proxy is trusted', async () => {
    const { server, token } = await start();
    const res = await writeFrom(server, token, 'a', '203.0.113.7');
    assert.equal(res.status, 200);
    assert.equal(res.addr, '127.0.0.1');
  });

  it('takes the rightmost hop from a trusted proxy, and the peer without the header', async () => {
    const { server, token } = await start('127.0.0.0/8');
    const res = await writeFrom(server, token, 'a', '198.51.100.1, 203.0.113.7');
    assert.equal(res.status, 200);
    assert.equal(res.addr, '203.0.113.7');
    assert.equal((await writeFrom(server, token, 'b')).addr, '127.0.0.1');
  });

  it('refuses the header from a client that is not a trusted proxy, writing nothing', async () => {
    const { server, token } = await start('10.0.0.0/8');
    const res = await writeFrom(server, token, 'spoofed', '10.1.1.1');
    assert.equal(res.status, 403);
    const read = await fetch(`${server.addr}/v1/secret/data/spoofed`, {
      headers: { 'X-Vault-Token': token },
    });
    assert.equal(read.status, 404);
    assert.equal((await writeFrom(server, token, 'plain')).status, 200);
  });
});
