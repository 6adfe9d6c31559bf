/**
 * The github auth method against the real server, with a GitHub API
 * stand-in on loopback (real endpoints, JSON shapes and headers, teams over
 * several Link-paginated pages, under a GitHub Enterprise-style /api/v3
 * root): hvac configures, maps and logs in; `keep login -method=github`
 * logs in from token= and from the environment; a wrong token, a user
 * outside the organization and bad input are refused with no token; the
 * GitHub token appears in no log and no URL.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type FakeGithub, startFakeGithub } from '../src/auth/github/fake-github.ts';
import {
  type KeepProcess,
  pythonModuleAvailable,
  removeDir,
  requirePackage,
  SYSTEM_PYTHON,
  startKeep,
  tempDir,
} from './helpers/keep-server.ts';
import { apiClient, bootstrap, type Call, expectOk, runKeep } from './helpers/login-kit.ts';

const hvacSkip = requirePackage(pythonModuleAvailable('hvac'), 'python3-hvac');

const ACME = { login: 'acme', id: 1001 };
const OTHER = { login: 'other-co', id: 2002 };
const TOKENS = ['ghp_alice', 'ghp_eve', 'ghp_wrong', 'ghp_bob'];

function runPython(args: string[], home: string) {
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(SYSTEM_PYTHON, args, { env: { PATH: process.env.PATH ?? '', HOME: home } });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => {
      stdout += c;
    });
    child.stderr.setEncoding('utf8').on('data', (c: string) => {
      stderr += c;
    });
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });
}

describe('github auth against a real server and a GitHub stand-in', () => {
  const dir = tempDir();
  let server: KeepProcess;
  let github: FakeGithub;
  let root = '';
  const call: Call = apiClient(
    () => server,
    () => root,
  );
  const ok = (method: string, path: string, body?: unknown) => expectOk(call, method, path, body);

  before(async () => {
    github = await startFakeGithub({
      prefix: '/api/v3',
      // Two teams a page, so alice's five teams take three pages.
      maxPerPage: 2,
      users: {
        ghp_alice: {
          login: 'alice',
          id: 11,
          orgs: [OTHER, ACME],
          teams: [
            { name: 'Web', slug: 'web', org: OTHER },
            { name: 'Platform Team', slug: 'platform-team', org: ACME },
            { name: 'Design', slug: 'design', org: ACME },
            { name: 'SRE', slug: 'sre', org: ACME },
            { name: 'Platform Team', slug: 'platform-team', org: OTHER },
          ],
        },
        ghp_bob: { login: 'bob', id: 12, orgs: [ACME], teams: [] },
        ghp_eve: {
          login: 'eve',
          id: 13,
          orgs: [OTHER],
          teams: [{ name: 'SRE', slug: 'sre', org: OTHER }],
        },
      },
    });
    server = await startKeep({ storage: 'sqlite', dir });
    root = await bootstrap(server);
    await ok('PUT', 'sys/audit/file', {
      type: 'file',
      options: { file_path: join(dir, 'audit.log') },
    });
    for (const [path, v] of [
      ['platform/app', 'platform-secret'],
      ['sre/app', 'sre-secret'],
      ['ops/db', 'ops-secret'],
    ]) {
      await ok('POST', `secret/data/${path}`, { data: { v } });
    }
    for (const team of ['platform', 'sre']) {
      await ok('PUT', `sys/policies/acl/${team}-read`, {
        policy: `path "secret/data/${team}/*" { capabilities = ["read"] }`,
      });
    }
  });

  after(async () => {
    await server?.stop();
    await github?.close();
    removeDir(dir);
  });

  it('hvac configures the method, maps teams, and logs a user in two teams in', {
    skip: hvacSkip,
  }, async () => {
    const script = join(import.meta.dirname, 'clients', 'hvac_github.py');
    // Not spawnSync: the GitHub stand-in answers from this very process.
    const run = await runPython([script, server.addr, root, github.baseUrl], dir);
    assert.equal(run.status, 0, `hvac github flow failed:\n${run.stdout}\n${run.stderr}`);
    assert.deepEqual(run.stdout.trim().split('\n'), [
      'ok github configured, organization id looked up',
      'ok teams and a user mapped to policies',
      "ok alice logs in with both teams' policies and reads what they allow",
      'ok a wrong token and a user outside the org are refused',
    ]);

    // Vault's calls, in Vault's order, with every page of teams followed.
    const login = github.requests.filter((r) => r.authorization === 'Bearer ghp_alice');
    assert.deepEqual(
      login.map((r) => r.url),
      [
        '/api/v3/user',
        '/api/v3/user/orgs?per_page=100&page=1',
        '/api/v3/user/teams?per_page=100&page=1',
        '/api/v3/user/teams?per_page=100&page=2',
        '/api/v3/user/teams?per_page=100&page=3',
      ],
    );
  });

  it('keep login -method=github takes token= or the environment and stores the token', async () => {
    await ok('POST', 'sys/auth/gh-cli', { type: 'github' });
    await ok('POST', 'auth/gh-cli/config', { organization: 'ACME', base_url: github.baseUrl });
    await ok('POST', 'auth/gh-cli/map/teams/sre', { value: 'sre-read' });
    const home = tempDir('keep-home-');
    try {
      const signIn = await runKeep(
        server,
        ['login', '-method=github', '-path=gh-cli', 'token=ghp_alice'],
        { home },
      );
      assert.equal(signIn.code, 0, signIn.stderr);
      assert.match(signIn.stdout, /^token_meta_org\s+acme$/m);
      assert.match(signIn.stdout, /^token_meta_username\s+alice$/m);
      assert.equal(`${signIn.stdout}${signIn.stderr}`.includes('ghp_alice'), false);
      const read = await runKeep(server, ['kv', 'get', '-mount=secret', '-field=v', 'sre/app'], {
        home,
      });
      assert.deepEqual([read.code, read.stdout], [0, 'sre-secret'], read.stderr);

      const fromEnv = await runKeep(
        server,
        ['login', '-method=github', '-path=gh-cli', '-field=token_policies'],
        { home, env: { VAULT_AUTH_GITHUB_TOKEN: 'ghp_bob' } },
      );
      assert.equal(fromEnv.code, 0, fromEnv.stderr);
      assert.equal(fromEnv.stdout, '[default]', 'bob is in no mapped team');

      const other = tempDir('keep-home-');
      const wrong = await runKeep(server, ['login', '-method=github', '-path=gh-cli', 'token=-'], {
        home: other,
        stdin: 'ghp_wrong\n',
      });
      assert.equal(wrong.code, 2);
      assert.match(wrong.stderr, /invalid GitHub token/);
      assert.equal(existsSync(join(other, '.keep-token')), false);
      removeDir(other);
    } finally {
      removeDir(home);
    }
  });

  it('refuses bad login input, an unconfigured mount and unknown users with a 400 and no token', async () => {
    await ok('POST', 'sys/auth/gh-bad', { type: 'github' });
    const login = (body: unknown) => call('POST', 'auth/gh-bad/login', body, { token: null });
    let res = await login({ token: 'ghp_alice' });
    assert.deepEqual([res.status, res.json.errors], [400, ['configuration has not been set']]);

    await ok('POST', 'auth/gh-bad/config', { organization: 'acme', base_url: github.baseUrl });
    const seen = github.requests.length;
    const cases: Array<[unknown, RegExp]> = [
      [{}, /missing token/],
      [{ token: '' }, /missing token/],
      [{ token: 42 }, /invalid GitHub token/],
      [{ token: ['ghp_alice'] }, /expected a string/],
      [{ token: { value: 'ghp_alice' } }, /expected a string/],
      [{ token: 'g'.repeat(100_000) }, /not in the form of a GitHub token/],
      [{ token: 'ghp_alice\r\nX-Evil: 1' }, /not in the form of a GitHub token/],
      ['{"token": ', /./],
    ];
    for (const [body, message] of cases) {
      res = await login(body);
      const what = String(JSON.stringify(body)).slice(0, 40);
      assert.equal(res.status, 400, `${what}: ${JSON.stringify(res.json)}`);
      assert.match(res.json.errors?.[0] ?? '', message, what);
      assert.equal(res.json.auth ?? null, null);
    }
    // Only `42` (a well-formed token GitHub refuses) reached the stand-in.
    assert.deepEqual(
      github.requests.slice(seen).map((r) => [r.url, r.authorization]),
      [['/api/v3/user', 'Bearer 42']],
    );

    const badConfig: Array<[unknown, RegExp]> = [
      [{ organization: '' }, /organization is a required parameter/],
      [{ organization: 'no-such-org', base_url: github.baseUrl }, /was not found on GitHub/],
      [{ organization: 'acme', base_url: 'file:///etc/passwd' }, /http or https/],
      [{ organization: 'acme', base_url: 'not a url' }, /base_url/],
      [{ organization: 'acme', organization_id: 'one' }, /organization_id/],
    ];
    for (const [body, message] of badConfig) {
      res = await call('POST', 'auth/gh-bad/config', body);
      assert.equal(res.status, 400, JSON.stringify(res.json));
      assert.match(res.json.errors?.[0] ?? '', message);
    }
  });

  it('never writes a GitHub token to a URL, the server log or the audit log in the clear', () => {
    const audit = readFileSync(join(dir, 'audit.log'), 'utf8');
    const serverLog = server.output.join('\n');
    for (const token of TOKENS) {
      assert.equal(audit.includes(token), false, `audit log holds ${token}`);
      assert.equal(serverLog.includes(token), false, `server log holds ${token}`);
      assert.ok(
        github.requests.every((r) => !r.url.includes(token)),
        `a URL holds ${token}`,
      );
    }
    const failures = audit
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
      .filter((e) => e.type === 'response' && e.request?.path === 'auth/github/login' && e.error);
    assert.deepEqual(
      failures.map((e) => e.error),
      ['invalid GitHub token: GitHub answered 401', 'user is not part of required org'],
    );
  });
});
