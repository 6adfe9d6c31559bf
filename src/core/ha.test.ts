/**
 * Active/standby in one process: a Core over memory storage with an HA lock
 * the test controls, a stand-in active node on loopback, and the HTTP layer
 * through fastify's inject. Checks the sys/health codes of DESIGN.md's table,
 * sys/leader, forwarding and 307 redirects, and standing down on a lost lock.
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { after, describe, test } from 'node:test';
import pino from 'pino';
import { buildApiServer } from '../http/server.ts';
import { authMethods, secretEngines } from '../server/backends.ts';
import { MemoryStorage } from '../storage/memory.ts';
import type { HALock, HeldLock } from '../storage/types.ts';
import { Core } from './core.ts';

class TestLock implements HALock {
  holderValue: string | undefined;
  #grant: (() => void) | undefined;
  #lose = new AbortController();

  async holder() {
    return this.holderValue;
  }

  acquire(holderId: string, opts: { signal?: AbortSignal }): Promise<HeldLock> {
    return new Promise((resolve, reject) => {
      opts.signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      this.#grant = () => {
        this.holderValue = holderId;
        this.#lose = new AbortController();
        resolve({ lost: this.#lose.signal, release: async () => this.#lose.abort() });
      };
    });
  }

  grant(): void {
    this.#grant?.();
  }

  lose(): void {
    this.#lose.abort(new Error('lease lapsed'));
  }
}

class HAMemoryStorage extends MemoryStorage {
  readonly haLock = new TestLock();
}

async function until(what: string, ms: number, ok: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

describe('HA active/standby in the core', () => {
  const storage = new HAMemoryStorage();
  const core = new Core({
    storage,
    logger: pino({ level: 'silent' }),
    defaultLeaseTtlSeconds: 3600,
    maxLeaseTtlSeconds: 3600,
    secretFactories: secretEngines(),
    authFactories: authMethods(),
    apiAddr: 'http://127.0.0.1:1',
  });
  const app = buildApiServer(core);
  const redirectApp = buildApiServer(core, { haRedirect: true });

  // A stand-in for the active node: answers echoes, and records forwarded requests.
  const seen: { method: string; url: string; headers: IncomingHttpHeaders; body: string }[] = [];
  let activeUp = true;
  const active: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      if (!activeUp) return req.socket.destroy();
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ from: 'active' }));
    });
  });
  let activeAddr = '';

  after(async () => {
    await core.sealNow();
    await app.close();
    await redirectApp.close();
    active.closeAllConnections();
    await new Promise((r) => active.close(r));
  });

  const health = async (query = '') =>
    (await app.inject({ method: 'GET', url: `/v1/sys/health${query}` })).statusCode;

  test('an unsealed node that does not hold the lock is a standby: 429, or 474 out of touch', async () => {
    await new Promise<void>((r) => active.listen(0, '127.0.0.1', r));
    const port = (active.address() as { port: number }).port;
    activeAddr = `http://127.0.0.1:${port}`;
    storage.haLock.holderValue = JSON.stringify({ id: 'other', api_addr: activeAddr });

    const { keys } = await core.initialize({ secretShares: 1, secretThreshold: 1 });
    assert.equal(await health(), 503);
    await core.unseal(keys[0]!);
    assert.equal(core.sealed, false);
    assert.equal(core.standby, true);

    await until('a first echo', 3000, async () => (await health()) === 429);
    assert.equal(await health('?standbyok=true'), 200);
    assert.equal(await health('?standbycode=299'), 299);
    const body = (await app.inject({ method: 'GET', url: '/v1/sys/health' })).json();
    assert.equal(body.standby, true);
    assert.equal(body.sealed, false);
    assert.ok(seen.some((r) => r.url === '/v1/sys/ha/echo'));

    const leader = (await app.inject({ method: 'GET', url: '/v1/sys/leader' })).json();
    assert.equal(leader.ha_enabled, true);
    assert.equal(leader.is_self, false);
    assert.equal(leader.leader_address, activeAddr);
    const sealStatus = (await app.inject({ method: 'GET', url: '/v1/sys/seal-status' })).json();
    assert.equal(sealStatus.sealed, false);

    activeUp = false;
    await until('474', 6000, async () => (await health()) === 474);
    assert.equal(await health('?haunhealthycode=298'), 298);
    activeUp = true;
    await until('429 again', 3000, async () => (await health()) === 429);
  });

  test('a standby forwards requests with the token, or answers 307 when told to', async () => {
    seen.length = 0;
    const res = await app.inject({
      method: 'POST',
      url: '/v1/secret/data/x?foo=1',
      headers: { 'x-vault-token': 'tok', 'content-type': 'application/json' },
      payload: '{"data":{"a":1}}',
    });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { from: 'active' });
    const forwarded = seen.find((r) => r.url.startsWith('/v1/secret'))!;
    assert.equal(forwarded.method, 'POST');
    assert.equal(forwarded.url, '/v1/secret/data/x?foo=1');
    assert.equal(forwarded.headers['x-vault-token'], 'tok');
    assert.ok(forwarded.headers['x-keep-forwarded-by']);
    assert.equal(forwarded.body, '{"data":{"a":1}}');

    const again = await app.inject({
      method: 'GET',
      url: '/v1/secret/data/x',
      headers: { 'x-keep-forwarded-by': 'another-standby' },
    });
    assert.equal(again.statusCode, 503, 'never forwarded twice');

    const redirected = await redirectApp.inject({ method: 'GET', url: '/v1/secret/data/x' });
    assert.equal(redirected.statusCode, 307);
    assert.equal(redirected.headers.location, `${activeAddr}/v1/secret/data/x`);
  });

  test('holding the lock makes it active; losing it makes it a standby again', async () => {
    storage.haLock.grant();
    await until('active', 3000, async () => (await health()) === 200);
    assert.equal(core.standby, false);
    const leader = (await app.inject({ method: 'GET', url: '/v1/sys/leader' })).json();
    assert.equal(leader.is_self, true);
    assert.equal(leader.leader_address, 'http://127.0.0.1:1');
    // Served here now, not forwarded: an unknown token is refused locally.
    const res = await app.inject({
      method: 'GET',
      url: '/v1/sys/mounts',
      headers: { 'x-vault-token': 'nope' },
    });
    assert.equal(res.statusCode, 403);

    storage.haLock.holderValue = JSON.stringify({ id: 'other', api_addr: activeAddr });
    storage.haLock.lose();
    await until('standby again', 3000, async () => [429, 474].includes(await health()));
    assert.equal(core.standby, true);
    assert.throws(() => core.unsealed, /sealed/i, 'its state was dropped');
  });
});
