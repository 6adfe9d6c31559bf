import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ApiClient,
  DEFAULT_ADDRESS,
  resolveAddress,
  resolveTls,
  resolveToken,
  storeToken,
  tokenFilePath,
} from './client.ts';
import { ConnectionError, ResponseError } from './errors.ts';
import { type Stub, startStub } from './testing/stub-server.ts';

function tempHome(): string {
  return mkdtempSync(join(tmpdir(), 'keep-cli-home-'));
}

describe('address precedence', () => {
  it('prefers -address, then KEEP_ADDR, then VAULT_ADDR, then loopback', () => {
    const env = { KEEP_ADDR: 'http://keep:1', VAULT_ADDR: 'http://vault:2' };
    assert.equal(resolveAddress('http://flag:3', env), 'http://flag:3');
    assert.equal(resolveAddress('', env), 'http://keep:1');
    assert.equal(resolveAddress(undefined, { VAULT_ADDR: 'http://vault:2' }), 'http://vault:2');
    assert.equal(resolveAddress(undefined, {}), DEFAULT_ADDRESS);
    assert.equal(DEFAULT_ADDRESS, 'http://127.0.0.1:8200');
  });

  it('ignores variables that are set but empty', () => {
    assert.equal(resolveAddress(undefined, { KEEP_ADDR: '', VAULT_ADDR: 'http://v' }), 'http://v');
  });
});

describe('token precedence', () => {
  it('prefers KEEP_TOKEN, then VAULT_TOKEN, then ~/.keep-token under HOME', () => {
    const home = tempHome();
    writeFileSync(join(home, '.keep-token'), 'from-file\n');
    assert.equal(resolveToken({ HOME: home, KEEP_TOKEN: 'k', VAULT_TOKEN: 'v' }), 'k');
    assert.equal(resolveToken({ HOME: home, VAULT_TOKEN: 'v' }), 'v');
    assert.equal(resolveToken({ HOME: home, KEEP_TOKEN: '' }), 'from-file');
  });

  it('has no token when nothing is set and no file exists', () => {
    assert.equal(resolveToken({ HOME: tempHome() }), undefined);
  });

  it('writes the token file with mode 0600, also over an existing wider file', () => {
    const home = tempHome();
    const path = tokenFilePath({ HOME: home });
    assert.equal(path, join(home, '.keep-token'));
    writeFileSync(path, 'old', { mode: 0o644 });
    storeToken({ HOME: home }, 'new-token');
    assert.equal(readFileSync(path, 'utf8'), 'new-token');
    assert.equal(statSync(path).mode & 0o777, 0o600);
  });
});

describe('TLS settings', () => {
  it('takes flags first, then KEEP_ variables, then VAULT_ ones', () => {
    const env = {
      KEEP_CACERT: '/keep.pem',
      VAULT_CACERT: '/vault.pem',
      VAULT_CAPATH: '/certs',
      VAULT_SKIP_VERIFY: 'true',
    };
    const tls = resolveTls({ clientCert: '/c.pem' }, env);
    assert.equal(tls.caCert, '/keep.pem');
    assert.equal(tls.caPath, '/certs');
    assert.equal(tls.clientCert, '/c.pem');
    assert.equal(tls.skipVerify, true);
    assert.equal(resolveTls({ caCert: '/flag.pem' }, env).caCert, '/flag.pem');
    assert.equal(resolveTls({}, {}).skipVerify, false);
  });
});

describe('ApiClient', () => {
  let stub: Stub;
  before(async () => {
    stub = await startStub((req) => {
      if (req.path === '/v1/secret/missing') return { status: 404, body: { errors: [] } };
      if (req.path === '/v1/secret/deleted') {
        return { status: 404, body: { data: { data: null, metadata: { version: 2 } } } };
      }
      if (req.path === '/v1/secret/denied') {
        return { status: 403, body: { errors: ['1 error occurred:\n\t* permission denied\n\n'] } };
      }
      if (req.path === '/v1/secret/broken') return { status: 500, body: 'not json at all' };
      if (req.path === '/v1/secret/') return { body: { data: { keys: ['a', 'b/'] } } };
      if (req.path === '/v1/secret/empty') return { status: 204 };
      return { body: { data: { seen: req.method } } };
    });
  });
  after(() => stub.close());

  const client = () =>
    new ApiClient({ address: stub.url, token: 'tok', tls: { skipVerify: false } });

  it('sends the token and the request header Vault clients send', async () => {
    await client().read('secret/x');
    const req = stub.requests.at(-1)!;
    assert.equal(req.headers['x-vault-token'], 'tok');
    assert.equal(req.headers['x-vault-request'], 'true');
  });

  it('lists with GET and list=true, as Vault’s Go client does', async () => {
    const secret = await client().list('secret/');
    assert.deepEqual(secret?.data?.keys, ['a', 'b/']);
    const req = stub.requests.at(-1)!;
    assert.equal(req.method, 'GET');
    assert.deepEqual(req.query, { list: 'true' });
  });

  it('reads a bare 404 as nothing there but keeps a 404 that carries data', async () => {
    assert.equal(await client().read('secret/missing'), null);
    const deleted = await client().read('secret/deleted');
    assert.deepEqual(deleted?.data, { data: null, metadata: { version: 2 } });
  });

  it('returns null for an empty 204 write', async () => {
    assert.equal(await client().write('secret/empty', { a: 'b' }), null);
    assert.deepEqual(stub.requests.at(-1)!.body, { a: 'b' });
    assert.equal(stub.requests.at(-1)!.headers['content-type'], 'application/json');
  });

  it('raises Vault’s error block for a refused request', async () => {
    await assert.rejects(client().read('secret/denied'), (err: unknown) => {
      assert.ok(err instanceof ResponseError);
      assert.equal(err.status, 403);
      assert.equal(
        err.message,
        'Error making API request.\n\n' +
          `URL: GET ${stub.url}/v1/secret/denied\n` +
          'Code: 403. Errors:\n\n' +
          '* 1 error occurred:\n\t* permission denied\n\n',
      );
      return true;
    });
  });

  it('shows a body that is not Vault JSON as the raw message', async () => {
    await assert.rejects(client().read('secret/broken'), (err: unknown) => {
      assert.ok(err instanceof ResponseError);
      assert.match(err.message, /Code: 500\. Raw Message:\n\n"not json at all"$/);
      return true;
    });
  });

  it('names the address when the server cannot be reached', async () => {
    const dead = await startStub(() => undefined);
    const url = dead.url;
    await dead.close();
    const c = new ApiClient({ address: url, tls: { skipVerify: false } });
    await assert.rejects(c.read('sys/seal-status'), (err: unknown) => {
      assert.ok(err instanceof ConnectionError);
      const hostPort = url.replace('http://', '');
      assert.equal(
        err.message,
        `Get "${url}/v1/sys/seal-status": dial tcp ${hostPort}: connect: connection refused`,
      );
      return true;
    });
  });

  it('encodes path characters the URL needs but keeps Vault path punctuation', async () => {
    await client().read('secret/a b/c:d@e=f');
    assert.equal(stub.requests.at(-1)!.path, '/v1/secret/a%20b/c:d@e=f');
  });
});

describe('encodePath', () => {
  it('refuses dot segments, which the URL parser would resolve away', async () => {
    const { encodePath } = await import('./client.ts');
    const { LocalError } = await import('./errors.ts');
    assert.throws(() => encodePath('secret/data/../../sys/policies/acl/evil'), LocalError);
    assert.throws(() => encodePath('a/./b'), LocalError);
    assert.equal(encodePath('kv/my key:1@x/..a'), 'kv/my%20key:1@x/..a');
  });
});
