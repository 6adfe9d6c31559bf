/**
 * Malformed and hostile requests get a clear error with the status a Vault
 * client expects, in `{"errors": [...]}`, and leave storage as it was.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { type KeepProcess, startDevKeep } from './helpers/keep-server.ts';

const ROOT = 'bad-input-root';

describe('bad input against a dev server', () => {
  let server: KeepProcess;

  /**
   * One request through node:http, which sends the path exactly as given
   * (fetch would resolve dot segments before they reach the server).
   */
  async function call(
    method: string,
    path: string,
    init: { body?: string; token?: string | null; headers?: Record<string, string> } = {},
  ) {
    const headers: Record<string, string> = { ...init.headers };
    const token = init.token === undefined ? ROOT : init.token;
    if (token !== null) headers['X-Vault-Token'] = token;
    const url = new URL(server.addr);
    const res = await new Promise<http.IncomingMessage & { text: string }>((resolve, reject) => {
      const req = http.request(
        { host: url.hostname, port: url.port, method, path, headers },
        (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on('data', (c: Buffer) => chunks.push(c));
          incoming.on('end', () =>
            resolve(Object.assign(incoming, { text: Buffer.concat(chunks).toString() })),
          );
          incoming.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(init.body);
    });
    return {
      status: res.statusCode ?? 0,
      type: res.headers['content-type'] ?? null,
      text: res.text,
      json: res.text ? JSON.parse(res.text) : undefined,
    };
  }

  /** Everything under secret/, as a map path → data, to compare before and after. */
  async function snapshot(): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    async function walk(prefix: string) {
      const res = await call('GET', `/v1/secret/metadata/${prefix}?list=true`);
      if (res.status === 404) return;
      for (const key of res.json.data.keys as string[]) {
        if (key.endsWith('/')) await walk(prefix + key);
        else
          out[prefix + key] = (await call('GET', `/v1/secret/metadata/${prefix}${key}`)).json.data;
      }
    }
    await walk('');
    out['sys/policies'] = (await call('GET', '/v1/sys/policy')).json.data;
    out['sys/mounts'] = Object.keys((await call('GET', '/v1/sys/mounts')).json.data);
    return out;
  }

  function assertVaultError(
    res: { status: number; type: string | null; json: { errors: unknown[] } },
    status: number,
  ) {
    assert.equal(res.status, status, JSON.stringify(res.json));
    assert.equal(res.type, 'application/json');
    assert.ok(Array.isArray(res.json.errors), 'body has an errors array');
  }

  let before_: Record<string, unknown>;

  before(async () => {
    server = await startDevKeep(ROOT);
    const seed = await call('POST', '/v1/secret/data/app/config', {
      body: JSON.stringify({ data: { a: '1' } }),
    });
    assert.equal(seed.status, 200);
    before_ = await snapshot();
  });

  after(async () => {
    await server?.stop();
  });

  it('answers malformed JSON with a 400', async () => {
    const res = await call('POST', '/v1/secret/data/app/config', { body: '{"data": {"a": ' });
    assertVaultError(res, 400);
    assert.match(res.json.errors[0], /failed to parse JSON/);
  });

  it('answers a JSON body that is not an object with a 400', async () => {
    for (const body of ['[1,2]', '"text"', '42']) {
      assertVaultError(await call('POST', '/v1/secret/data/app/config', { body }), 400);
    }
  });

  it('answers JSON nested deeper than 300 levels with a 400, and takes 300', async () => {
    const nested = (depth: number) =>
      `{"data":{"a":${'{"a":'.repeat(depth - 2)}1${'}'.repeat(depth - 2)}}}`;
    const deep = await call('POST', '/v1/secret/data/deep', { body: nested(5000) });
    assertVaultError(deep, 400);
    assert.match(deep.json.errors[0], /nested deeper than 300/);
    const brackets = JSON.stringify({ data: { a: '{'.repeat(1000) } });
    assert.equal((await call('POST', '/v1/secret/data/brackets', { body: brackets })).status, 200);
    assert.equal((await call('DELETE', '/v1/secret/metadata/brackets')).status, 204);
    const ok = await call('POST', '/v1/secret/data/deep', { body: nested(300) });
    assert.equal(ok.status, 200, ok.text);
    assert.equal((await call('DELETE', '/v1/secret/metadata/deep')).status, 204);
  });

  it('answers wrong field types with a 400', async () => {
    assertVaultError(
      await call('POST', '/v1/secret/data/app/config', {
        body: JSON.stringify({ data: 'not-a-map' }),
      }),
      400,
    );
    assertVaultError(
      await call('POST', '/v1/secret/data/app/config', {
        body: JSON.stringify({ data: { a: 1 }, options: { cas: 'x' } }),
      }),
      400,
    );
    assertVaultError(
      await call('POST', '/v1/secret/config', { body: JSON.stringify({ max_versions: 'many' }) }),
      400,
    );
    assertVaultError(
      await call('POST', '/v1/auth/token/create', { body: JSON.stringify({ ttl: 'forever' }) }),
      400,
    );
    assertVaultError(
      await call('PUT', '/v1/sys/policy/x', {
        body: JSON.stringify({ policy: 'path "a" { capabilities = ["fly"] }' }),
      }),
      400,
    );
  });

  it('refuses dot segments, empty segments, encoded slashes and NUL in paths', async () => {
    for (const path of [
      '/v1/secret/data/app/../other',
      '/v1/secret/data/./app',
      '/v1/secret/data//app',
      '/v1/secret/data/app%2Fconfig',
      '/v1/secret/data/app%2fconfig',
      '/v1/secret/data/app%00x',
      '/v1/secret/data/%2e%2e/x',
    ]) {
      const res = await call('POST', path, { body: JSON.stringify({ data: { evil: '1' } }) });
      assertVaultError(res, 400);
    }
  });

  it('refuses an empty policy and reads a base64-encoded one, as Vault does', async () => {
    for (const policy of ['', '  \n ']) {
      const res = await call('PUT', '/v1/sys/policies/acl/empty', {
        body: JSON.stringify({ policy }),
      });
      assertVaultError(res, 400);
    }
    assert.equal((await call('GET', '/v1/sys/policies/acl/empty')).status, 404);
    const text = 'path "secret/data/b64/*" { capabilities = ["read"] }';
    const put = await call('PUT', '/v1/sys/policies/acl/b64', {
      body: JSON.stringify({ policy: Buffer.from(text).toString('base64') }),
    });
    assert.equal(put.status, 204, put.text);
    assert.equal((await call('GET', '/v1/sys/policies/acl/b64')).json.data.policy, text);
    assert.equal((await call('DELETE', '/v1/sys/policies/acl/b64')).status, 204);
  });

  it('refuses very long paths with a 400', async () => {
    const res = await call('POST', `/v1/secret/data/${'k'.repeat(5000)}`, {
      body: JSON.stringify({ data: { a: '1' } }),
    });
    assertVaultError(res, 400);
  });

  it('refuses bodies over the request size limit with a 413', async () => {
    // The client announces 33 MiB and starts sending; the server answers from
    // the Content-Length alone, without waiting for (or storing) the rest.
    const url = new URL(server.addr);
    const res = await new Promise<{ status: number; type: string | null; text: string }>(
      (resolve, reject) => {
        const req = http.request(
          {
            host: url.hostname,
            port: url.port,
            method: 'POST',
            path: '/v1/secret/data/big',
            headers: { 'X-Vault-Token': ROOT, 'Content-Length': 33 * 1024 * 1024 },
          },
          (incoming) => {
            let text = '';
            incoming.on('data', (c: Buffer) => {
              text += c.toString();
            });
            incoming.on('end', () => {
              req.destroy();
              resolve({
                status: incoming.statusCode ?? 0,
                type: incoming.headers['content-type'] ?? null,
                text,
              });
            });
          },
        );
        req.on('error', reject);
        req.write('{"data":{"a":"');
        req.write('a'.repeat(64 * 1024));
      },
    );
    assertVaultError({ ...res, json: JSON.parse(res.text) }, 413);
    const read = await call('GET', '/v1/secret/data/big');
    assert.equal(read.status, 404);
  });

  it('answers a missing, empty or unknown token with a 403', async () => {
    assertVaultError(await call('GET', '/v1/secret/data/app/config', { token: null }), 403);
    assertVaultError(await call('GET', '/v1/secret/data/app/config', { token: '' }), 403);
    assertVaultError(await call('GET', '/v1/secret/data/app/config', { token: 'hvs.nope' }), 403);
    assertVaultError(
      await call('POST', '/v1/secret/data/app/config', {
        token: 'hvs.nope',
        body: JSON.stringify({ data: { a: '2' } }),
      }),
      403,
    );
  });

  it('answers unknown routes with a 404 and unsupported operations with a 405', async () => {
    assertVaultError(await call('GET', '/v1/nowhere/at/all'), 404);
    assertVaultError(await call('DELETE', '/v1/sys/key-status'), 405);
  });

  it('answers a bad list flag with a 400', async () => {
    assertVaultError(await call('GET', '/v1/secret/metadata/?list=maybe'), 400);
  });

  it('answers requests the HTTP parser or router refuse in Vault’s error shape', async () => {
    const port = Number(new URL(server.addr).port);
    const raw = (request: string) =>
      new Promise<string>((resolve, reject) => {
        const sock = connect(port, '127.0.0.1');
        let buf = '';
        sock.on('data', (d) => {
          buf += d.toString();
        });
        sock.on('close', () => resolve(buf));
        sock.on('error', reject);
        sock.write(request);
      });
    const cases: Array<[string, number]> = [
      ['FOO /v1/sys/health HTTP/1.1\r\nHost: x\r\n\r\n', 400],
      [
        `GET /v1/sys/health HTTP/1.1\r\nHost: x\r\nX-Vault-Token: ${'a'.repeat(20000)}\r\n\r\n`,
        431,
      ],
      [`GET /v1/secret/data/t1%ZZ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`, 400],
    ];
    for (const [request, status] of cases) {
      const text = await raw(request);
      assert.match(text, new RegExp(`^HTTP/1\\.1 ${status} `), text);
      assert.match(text, /content-type: application\/json\r\n/i);
      const body = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4));
      assert.ok(Array.isArray(body.errors) && body.errors.length === 1, text);
    }
  });

  it('accepts a raw LIST request on a keep-alive socket, pipelined', async () => {
    const port = Number(new URL(server.addr).port);
    const text = await new Promise<string>((resolve, reject) => {
      const sock = connect(port, '127.0.0.1');
      let buf = '';
      sock.on('data', (d) => {
        buf += d.toString();
        if ((buf.match(/HTTP\/1\.1 /g) ?? []).length === 2 && buf.includes('"keys"')) sock.end();
      });
      sock.on('end', () => resolve(buf));
      sock.on('error', reject);
      const req = `LIST /v1/secret/metadata/app HTTP/1.1\r\nHost: x\r\nX-Vault-Token: ${ROOT}\r\n\r\n`;
      sock.write(req + req);
    });
    assert.equal((text.match(/HTTP\/1\.1 200/g) ?? []).length, 2);
    assert.ok(text.includes('"keys":["config"]'));
  });

  it('left storage exactly as it was', async () => {
    assert.deepEqual(await snapshot(), before_);
  });
});
