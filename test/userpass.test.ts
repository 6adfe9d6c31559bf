/**
 * The userpass auth method against the real server on a SQLite file: hvac
 * manages users and logs in, the `keep login -method=userpass` CLI logs in
 * and reads a secret, bad input on every path is refused with a 400-class
 * error and no token, the lockout engages and lifts as tuned, and failures
 * show in the metrics and the audit log without the password anywhere.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type KeepProcess,
  pythonModuleAvailable,
  removeDir,
  requirePackage,
  SYSTEM_PYTHON,
  startKeep,
  tempDir,
} from './helpers/keep-server.ts';
import {
  apiClient,
  bootstrap,
  type Call,
  expectOk,
  promSeries,
  runKeep,
} from './helpers/login-kit.ts';

const INVALID = 'invalid username or password';
const hvacSkip = requirePackage(pythonModuleAvailable('hvac'), 'python3-hvac');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('userpass against a SQLite-backed server', () => {
  const dir = tempDir();
  let server: KeepProcess;
  let root = '';
  const call: Call = apiClient(
    () => server,
    () => root,
  );
  const ok = (method: string, path: string, body?: unknown) => expectOk(call, method, path, body);
  const login = (mount: string, user: string, body: unknown, headers?: Record<string, string>) =>
    call('POST', `auth/${mount}/login/${user}`, body, { token: null, headers });

  before(async () => {
    server = await startKeep({
      storage: 'sqlite',
      dir,
      // Lets the tests speak for several client addresses through X-Forwarded-For.
      listenerExtra: 'x_forwarded_for_authorized_addrs = "127.0.0.1"',
    });
    root = await bootstrap(server);
    await ok('PUT', 'sys/audit/file', {
      type: 'file',
      options: { file_path: join(dir, 'audit.log') },
    });
    await ok('POST', 'secret/data/dev/app', { data: { password: 's3cr3t-dev' } });
    await ok('POST', 'secret/data/ops/db', { data: { password: 's3cr3t-ops' } });
    await ok('PUT', 'sys/policies/acl/dev-read', {
      policy: 'path "secret/data/dev/*" { capabilities = ["read"] }',
    });
  });

  after(async () => {
    await server?.stop();
    removeDir(dir);
  });

  it('hvac creates users and logs in, and the token reads what the policy allows', {
    skip: hvacSkip,
  }, () => {
    const script = join(import.meta.dirname, 'clients', 'hvac_userpass.py');
    const run = spawnSync(SYSTEM_PYTHON, [script, server.addr, root], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', HOME: dir },
    });
    assert.equal(run.status, 0, `hvac userpass flow failed:\n${run.stdout}\n${run.stderr}`);
    assert.deepEqual(run.stdout.trim().split('\n'), [
      'ok userpass enabled',
      'ok users created, listed, read and a password changed',
      'ok alice logs in and reads what dev-read allows, and nothing else',
      'ok an old password and an unknown user are refused alike',
      'ok a deleted user cannot log in',
    ]);
  });

  it('keep login -method=userpass stores a token the next command uses', async () => {
    await ok('POST', 'sys/auth/corp', { type: 'userpass' });
    await ok('POST', 'auth/corp/users/carol', {
      password: 'carol pass phrase',
      token_policies: 'dev-read',
    });
    const home = tempDir('keep-home-');
    try {
      const signIn = await runKeep(
        server,
        ['login', '-method=userpass', '-path=corp', 'username=Carol', 'password=carol pass phrase'],
        { home },
      );
      assert.equal(signIn.code, 0, signIn.stderr);
      assert.match(signIn.stdout, /Success! You are now authenticated/);
      assert.match(signIn.stdout, /^token_meta_username\s+carol$/m);
      assert.equal(signIn.stdout.includes('carol pass phrase'), false);
      assert.ok(existsSync(join(home, '.keep-token')));

      const read = await runKeep(
        server,
        ['kv', 'get', '-mount=secret', '-field=password', 'dev/app'],
        {
          home,
        },
      );
      assert.deepEqual([read.code, read.stdout], [0, 's3cr3t-dev'], read.stderr);
      const denied = await runKeep(server, ['kv', 'get', '-mount=secret', 'ops/db'], { home });
      assert.equal(denied.code, 2);

      // Without password=, the password is read from stdin when it is not a terminal.
      const piped = await runKeep(
        server,
        ['login', '-method=userpass', '-path=corp', '-token-only', 'username=carol'],
        { home, stdin: 'carol pass phrase\n' },
      );
      assert.equal(piped.code, 0, piped.stderr);
      assert.match(piped.stdout, /^hvs\./);

      const other = tempDir('keep-home-');
      const wrong = await runKeep(
        server,
        ['login', '-method=userpass', '-path=corp', 'username=carol', 'password=nope'],
        { home: other },
      );
      assert.equal(wrong.code, 2);
      assert.match(wrong.stderr, /invalid username or password/);
      assert.equal(existsSync(join(other, '.keep-token')), false, 'no token stored');
      removeDir(other);
    } finally {
      removeDir(home);
    }
  });

  it('refuses bad input on every path with a 400-class error and no token', async () => {
    await ok('POST', 'sys/auth/userpass-bad', { type: 'userpass' });
    await ok('POST', 'auth/userpass-bad/users/dave', { password: 'dave-pw' });
    const cases: Array<[string, unknown, number, RegExp]> = [
      ['dave', {}, 400, /missing password/],
      ['dave', { password: '' }, 400, /missing password/],
      ['dave', { password: ['dave-pw'] }, 400, /expected a string/],
      ['dave', { password: { p: 'dave-pw' } }, 400, /expected a string/],
      ['dave', { password: 'x'.repeat(1_000_000) }, 400, /password is too long/],
      ['dave', '{"password": ', 400, /./],
      ['dave', 'password=dave-pw', 400, /./],
      ['nobody', { password: 'dave-pw' }, 400, new RegExp(INVALID)],
      ['dave', { password: 'Dave-pw' }, 400, new RegExp(INVALID)],
      [`${'d'.repeat(3000)}`, { password: 'dave-pw' }, 400, new RegExp(INVALID)],
      ['da%20ve', { password: 'dave-pw' }, 400, new RegExp(INVALID)],
    ];
    for (const [user, body, status, message] of cases) {
      const res = await login('userpass-bad', user, body, { 'X-Forwarded-For': '10.50.0.1' });
      const what = `${user.slice(0, 20)} ${String(JSON.stringify(body)).slice(0, 40)}`;
      assert.equal(res.status, status, `${what}: ${JSON.stringify(res.json)}`);
      assert.match(res.json.errors?.[0] ?? '', message, what);
      assert.equal(res.json.auth ?? null, null, `${what}: no token`);
    }

    const admin: Array<[string, string, unknown, RegExp]> = [
      ['POST', 'users/erin', {}, /missing password/],
      ['POST', 'users/erin', { password: 'p', token_ttl: 'forever' }, /token_ttl/],
      ['POST', 'users/erin', { password: 'p', password_hash: '$2a$10$abc' }, /password_hash/],
      ['POST', 'users/-erin', { password: 'p' }, /invalid username/],
      ['POST', 'users/nobody/password', { password: 'p' }, /does not exist/],
      ['POST', 'users/dave/policies', {}, /policies must be provided/],
    ];
    for (const [method, path, body, message] of admin) {
      const res = await call(method, `auth/userpass-bad/${path}`, body);
      assert.equal(res.status, 400, `${path}: ${JSON.stringify(res.json)}`);
      assert.match(res.json.errors?.[0] ?? '', message, path);
    }
    assert.ok(
      (await login('userpass-bad', 'DAVE', { password: 'dave-pw' })).json.auth?.client_token,
    );
  });

  it('locks an account after the tuned number of failures and lifts the lock after its window', async () => {
    await ok('POST', 'sys/auth/userpass-lock', {
      type: 'userpass',
      config: {
        user_lockout_config: {
          lockout_threshold: 3,
          lockout_duration: '2s',
          lockout_counter_reset: '2s',
        },
      },
    });
    await ok('POST', 'auth/userpass-lock/users/frank', { password: 'frank-pw' });

    // Three clients, one account: the account locks.
    for (const addr of ['10.1.0.1', '10.1.0.2', '10.1.0.3']) {
      const res = await login(
        'userpass-lock',
        'frank',
        { password: 'guess' },
        { 'X-Forwarded-For': addr },
      );
      assert.equal(res.status, 400);
    }
    const locked = await login(
      'userpass-lock',
      'frank',
      { password: 'frank-pw' },
      {
        'X-Forwarded-For': '10.1.0.9',
      },
    );
    assert.deepEqual([locked.status, locked.json.errors], [403, ['permission denied']]);

    // One client, three accounts: the client address locks, for every account.
    for (const user of ['gina', 'hank', 'ivan']) {
      await login('userpass-lock', user, { password: 'guess' }, { 'X-Forwarded-For': '10.2.0.1' });
    }
    await ok('POST', 'auth/userpass-lock/users/gina', { password: 'gina-pw' });
    const fromLocked = await login(
      'userpass-lock',
      'gina',
      { password: 'gina-pw' },
      {
        'X-Forwarded-For': '10.2.0.1',
      },
    );
    assert.equal(fromLocked.status, 403);
    const fromElsewhere = await login(
      'userpass-lock',
      'gina',
      { password: 'gina-pw' },
      {
        'X-Forwarded-For': '10.2.0.2',
      },
    );
    assert.equal(fromElsewhere.status, 200);

    await sleep(2200);
    const lifted = await login(
      'userpass-lock',
      'frank',
      { password: 'frank-pw' },
      {
        'X-Forwarded-For': '10.1.0.9',
      },
    );
    assert.equal(lifted.status, 200, JSON.stringify(lifted.json));
    const tune = await ok('GET', 'sys/auth/userpass-lock/tune');
    assert.equal(tune.json.data?.user_lockout_config !== undefined, true);
  });

  it("logs in and uses tokens only from inside the user's token_bound_cidrs", async () => {
    await ok('POST', 'sys/auth/userpass-net', { type: 'userpass' });
    await ok('POST', 'auth/userpass-net/users/nina', {
      password: 'nina-pw',
      token_policies: 'dev-read',
      token_bound_cidrs: '10.9.0.0/16',
    });
    const from = (addr: string) => ({ 'X-Forwarded-For': addr });
    const outside = await login('userpass-net', 'nina', { password: 'nina-pw' }, from('10.8.0.1'));
    assert.deepEqual([outside.status, outside.json.auth ?? null], [403, null]);
    const inside = await login('userpass-net', 'nina', { password: 'nina-pw' }, from('10.9.1.1'));
    assert.equal(inside.status, 200, JSON.stringify(inside.json));
    const token = inside.json.auth?.client_token ?? '';
    const read = (addr: string) =>
      call('GET', 'secret/data/dev/app', undefined, { token, headers: from(addr) });
    assert.equal((await read('10.9.200.3')).status, 200);
    assert.equal((await read('10.8.0.1')).status, 403);
  });

  it('shows failures and locks in the metrics, and failed logins as errors in the audit log', async () => {
    const series = await promSeries(server, root);
    const at = (name: string, mount: string) => series.get(`${name}{mount="auth/${mount}/"}`) ?? 0;
    // An unknown user, a wrong password and two impossible names; malformed requests do not count.
    assert.equal(at('keep_userpass_login_failure', 'userpass-bad'), 4);
    assert.equal(at('keep_userpass_login_success', 'userpass-bad'), 1);
    assert.equal(at('keep_userpass_lockout_engaged', 'userpass-lock'), 2, 'frank and 10.2.0.1');
    assert.equal(at('keep_userpass_login_locked', 'userpass-lock'), 2);

    const entries = readFileSync(join(dir, 'audit.log'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line));
    const responses = (path: string) =>
      entries.filter((e) => e.type === 'response' && e.request?.path === path);
    const frank = responses('auth/userpass-lock/login/frank');
    assert.ok(frank.some((e) => e.error === INVALID));
    assert.ok(frank.some((e) => e.error === 'permission denied'));
    assert.ok(responses('auth/userpass-bad/login/nobody').every((e) => e.error === INVALID));

    const log = readFileSync(join(dir, 'audit.log'), 'utf8');
    for (const password of ['frank-pw', 'dave-pw', 'carol pass phrase', 'alice-pw-2', 'guess']) {
      assert.equal(log.includes(password), false, `audit log holds "${password}"`);
    }
  });

  it('keeps no password in the database or the server log', () => {
    const dataDir = join(dir, 'data');
    const bytes = Buffer.concat(readdirSync(dataDir).map((f) => readFileSync(join(dataDir, f))));
    const serverLog = server.output.join('\n');
    for (const password of ['frank-pw', 'dave-pw', 'carol pass phrase', 'alice-pw-2']) {
      assert.equal(bytes.includes(Buffer.from(password)), false, `database holds "${password}"`);
      assert.equal(serverLog.includes(password), false, `server log holds "${password}"`);
    }
    assert.match(serverLog, /userpass logins locked after repeated failures/);
  });
});
