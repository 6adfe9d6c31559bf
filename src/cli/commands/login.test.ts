/**
 * `keep login` with the userpass and github methods, against a stub that
 * records the requests: which path, which body, where the secret came from.
 * The same logins against the real server are in test/userpass.test.ts and
 * test/github.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { run } from '../main.ts';
import { captureIO, type Stub, type StubHandler, startStub } from '../testing/stub-server.ts';

const AUTH = {
  auth: {
    client_token: 'hvs.from-login',
    accessor: 'acc',
    policies: ['default', 'dev'],
    token_policies: ['default', 'dev'],
    metadata: { username: 'alice' },
    lease_duration: 3600,
    renewable: true,
  },
};

let stub: Stub | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

async function login(
  argv: string[],
  opts: { handler?: StubHandler; stdin?: string; tty?: string; env?: Record<string, string> } = {},
) {
  // One stub at a time: a test that logs in twice closes the first one here.
  await stub?.close();
  stub = await startStub(opts.handler ?? (() => ({ body: AUTH })));
  const home = mkdtempSync(join(tmpdir(), 'keep-home-'));
  const io = captureIO({
    stdin: opts.stdin,
    stdinIsTTY: opts.tty !== undefined,
    secret: opts.tty,
    env: { HOME: home, KEEP_ADDR: stub.url, ...opts.env },
  });
  const code = await run(['login', ...argv], io);
  const sent = stub.requests.map((r) => ({ method: r.method, path: r.path, body: r.body }));
  return { code, io, home, sent };
}

describe('keep login -method=userpass', () => {
  it('posts the password to auth/userpass/login/<username> and stores the token', async () => {
    const r = await login(['-method=userpass', 'username=alice', 'password=s3cret']);
    assert.equal(r.code, 0, r.io.err);
    assert.deepEqual(r.sent, [
      { method: 'PUT', path: '/v1/auth/userpass/login/alice', body: { password: 's3cret' } },
    ]);
    const file = join(r.home, '.keep-token');
    assert.equal(readFileSync(file, 'utf8'), 'hvs.from-login');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.match(r.io.out, /^Success! You are now authenticated\./);
    assert.match(r.io.out, /^token_meta_username\s+alice$/m);
  });

  it('reads the password from stdin when none is given and stdin is not a terminal', async () => {
    const r = await login(['-method=userpass', 'username=alice'], { stdin: 'from-stdin\n' });
    assert.equal(r.code, 0, r.io.err);
    assert.deepEqual(r.sent[0]?.body, { password: 'from-stdin' });
  });

  it('prompts for the password on a terminal', async () => {
    const r = await login(['-method=userpass', 'username=alice'], { tty: 'typed' });
    assert.equal(r.code, 0, r.io.err);
    assert.deepEqual(r.sent[0]?.body, { password: 'typed' });
  });

  it('logs in at another mount with -path, and mount= wins over -path', async () => {
    let r = await login(['-method=userpass', '-path=corp/', 'username=bob', 'password=x']);
    assert.equal(r.sent[0]?.path, '/v1/auth/corp/login/bob');
    r = await login([
      '-method=userpass',
      '-path=corp',
      'mount=other',
      'username=bob',
      'password=x',
    ]);
    assert.equal(r.sent[0]?.path, '/v1/auth/other/login/bob');
  });

  it('fails locally without a username, and with exit 2 when the server refuses', async () => {
    let r = await login(['-method=userpass', 'password=x']);
    assert.equal(r.code, 1);
    assert.match(r.io.err, /'username' must be specified/);
    assert.deepEqual(r.sent, []);

    r = await login(['-method=userpass', 'username=alice', 'password=bad'], {
      handler: () => ({ status: 400, body: { errors: ['invalid username or password'] } }),
    });
    assert.equal(r.code, 2);
    assert.match(r.io.err, /invalid username or password/);
    assert.throws(() => statSync(join(r.home, '.keep-token')), /ENOENT/);
  });
});

describe('keep login -method=github', () => {
  it('sends token= to auth/github/login', async () => {
    const r = await login(['-method=github', 'token=ghp_abc']);
    assert.equal(r.code, 0, r.io.err);
    assert.deepEqual(r.sent, [
      { method: 'PUT', path: '/v1/auth/github/login', body: { token: 'ghp_abc' } },
    ]);
    assert.equal(r.io.out.includes('ghp_abc'), false, 'the GitHub token is not printed');
  });

  it('takes the token from KEEP_AUTH_GITHUB_TOKEN or VAULT_AUTH_GITHUB_TOKEN, token= first', async () => {
    let r = await login(['-method=github'], { env: { VAULT_AUTH_GITHUB_TOKEN: 'ghp_vault' } });
    assert.deepEqual(r.sent[0]?.body, { token: 'ghp_vault' });
    r = await login(['-method=github'], {
      env: { KEEP_AUTH_GITHUB_TOKEN: 'ghp_keep', VAULT_AUTH_GITHUB_TOKEN: 'ghp_vault' },
    });
    assert.deepEqual(r.sent[0]?.body, { token: 'ghp_keep' });
    r = await login(['-method=github', 'token=ghp_arg'], { env: { KEEP_AUTH_GITHUB_TOKEN: 'x' } });
    assert.deepEqual(r.sent[0]?.body, { token: 'ghp_arg' });
  });

  it('reads token=- from stdin, at the -path mount', async () => {
    const r = await login(['-method=github', '-path=github-prod', 'token=-'], {
      stdin: 'ghp_piped\n',
    });
    assert.deepEqual(r.sent, [
      { method: 'PUT', path: '/v1/auth/github-prod/login', body: { token: 'ghp_piped' } },
    ]);
  });

  it('fails locally when no token can be found', async () => {
    const r = await login(['-method=github'], { stdin: '' });
    assert.equal(r.code, 1);
    assert.match(r.io.err, /a GitHub token must be given/);
    assert.deepEqual(r.sent, []);
  });
});
