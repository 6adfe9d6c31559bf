import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { Backend, BackendContext, LogicalResponse, Operation } from '../../framework/types.ts';
import { KeepError } from '../../lib/errors.ts';
import { MemoryStorage } from '../../storage/memory.ts';
import { githubBackend } from './backend.ts';
import { type FakeGithub, startFakeGithub } from './fake-github.ts';

const ACME = { login: 'acme', id: 1001 };
const OTHER = { login: 'other-co', id: 2002 };

describe('github auth method', () => {
  let gh: FakeGithub;
  let backend: Backend;
  let ctx: BackendContext;
  let storage: MemoryStorage;
  const counters = new Map<string, number>();

  before(async () => {
    gh = await startFakeGithub({
      maxPerPage: 2,
      users: {
        ghp_alice: {
          login: 'Alice',
          id: 1,
          orgs: [OTHER, ACME],
          teams: [
            { name: 'Web', slug: 'web', org: OTHER },
            { name: 'Platform Team', slug: 'platform-team', org: ACME },
            { name: 'Web', slug: 'web', org: OTHER },
            { name: 'SRE', slug: 'sre', org: ACME },
          ],
        },
        ghp_bob: { login: 'bob', id: 2, orgs: [ACME], teams: [] },
        ghp_eve: {
          login: 'eve',
          id: 3,
          orgs: [OTHER],
          teams: [{ name: 'SRE', slug: 'sre', org: OTHER }],
        },
      },
    });
  });
  after(() => gh.close());

  beforeEach(() => {
    backend = githubBackend({ timeoutMs: 2000 });
    storage = new MemoryStorage();
    counters.clear();
    ctx = {
      storage,
      mount: {
        path: 'auth/github/',
        type: 'github',
        uuid: 'g-1',
        accessor: 'github_1',
        description: '',
        options: {},
        defaultLeaseTtlSeconds: 0,
        maxLeaseTtlSeconds: 0,
      },
      system: {
        defaultLeaseTtlSeconds: 2_764_800,
        maxLeaseTtlSeconds: 2_764_800,
        now: () => new Date(),
        metrics: {
          incr(name, value = 1) {
            counters.set(name, (counters.get(name) ?? 0) + value);
          },
          timing() {},
        },
      },
    };
  });

  async function send(
    op: Operation,
    path: string,
    data: Record<string, unknown> = {},
  ): Promise<LogicalResponse | undefined> {
    const req = {
      id: 'r',
      operation: op,
      path: `auth/github/${path}`,
      relPath: path,
      mountPoint: 'auth/github/',
      data,
      query: {},
      remoteAddr: '127.0.0.1',
      headers: {},
    };
    if (req.operation === 'update' && (await backend.exists(req, ctx)) === false) {
      req.operation = 'create';
    }
    return backend.handle(req, ctx);
  }

  async function refused(op: Operation, path: string, data?: Record<string, unknown>) {
    try {
      await send(op, path, data);
    } catch (err) {
      assert.ok(err instanceof KeepError, String(err));
      return err;
    }
    return assert.fail(`${op} ${path} succeeded`);
  }

  async function configure(extra: Record<string, unknown> = {}) {
    await send('update', 'config', { organization: 'acme', base_url: gh.baseUrl, ...extra });
  }

  it('looks up the organization id when config is written without one', async () => {
    const first = {
      id: 'r',
      operation: 'update' as const,
      path: 'auth/github/config',
      relPath: 'config',
      mountPoint: 'auth/github/',
      data: {},
      query: {},
      remoteAddr: '127.0.0.1',
      headers: {},
    };
    assert.equal(await backend.exists(first, ctx), false, 'a first write is a create');
    await configure({ token_ttl: '1h', token_policies: 'base' });
    assert.equal(await backend.exists(first, ctx), true);
    const read = await send('read', 'config');
    assert.equal(read?.data?.organization, 'acme');
    assert.equal(read?.data?.organization_id, 1001);
    assert.equal(read?.data?.base_url, gh.baseUrl);
    assert.equal(read?.data?.token_ttl, 3600);
    assert.deepEqual(read?.data?.token_policies, ['base']);
  });

  it('refuses a config without organization, with an unknown one, or with a bad base_url', async () => {
    assert.match((await refused('update', 'config', {})).message, /organization is a required/);
    const unknown = await refused('update', 'config', {
      organization: 'nope',
      base_url: gh.baseUrl,
    });
    assert.deepEqual(
      [unknown.status, unknown.message],
      [400, 'organization "nope" was not found on GitHub'],
    );
    const odd = await refused('update', 'config', { organization: 'a/b', base_url: gh.baseUrl });
    assert.match(odd.message, /invalid organization/);
    for (const base_url of ['not a url', 'ftp://x/', 'https://user:pw@ghe.example/api/v3/']) {
      const err = await refused('update', 'config', { organization: 'acme', base_url });
      assert.equal(err.status, 400, base_url);
    }
  });

  it('maps teams and users case-insensitively, and lists the mappings', async () => {
    await send('update', 'map/teams/Platform-Team', { value: 'platform,deploy' });
    await send('update', 'map/users/ALICE', { value: 'alice-own' });
    assert.deepEqual((await send('read', 'map/teams/platform-team'))?.data, {
      key: 'platform-team',
      value: 'platform,deploy',
    });
    assert.deepEqual((await send('list', 'map/teams/'))?.data?.keys, ['platform-team']);
    assert.deepEqual((await send('read', 'map/users'))?.data?.keys, ['alice']);
    await send('delete', 'map/users/alice');
    assert.equal((await refused('read', 'map/users/alice')).status, 404);
    assert.equal((await refused('list', 'map/users/')).status, 404);
  });

  it('logs a user in two teams in with the union of their policies, the user map and default', async () => {
    await configure({ token_policies: 'base' });
    await send('update', 'map/teams/platform-team', { value: 'platform, deploy' });
    await send('update', 'map/teams/sre', { value: 'sre,deploy' });
    await send('update', 'map/teams/web', { value: 'web-from-other-org' });
    await send('update', 'map/teams/default', { value: 'everyone' });
    await send('update', 'map/users/alice', { value: 'alice-own' });

    const resp = await send('update', 'login', { token: 'ghp_alice' });
    assert.deepEqual(resp?.auth?.policies, [
      'alice-own',
      'base',
      'deploy',
      'everyone',
      'platform',
      'sre',
    ]);
    assert.deepEqual(resp?.auth?.metadata, { username: 'Alice', org: 'acme' });
    assert.equal(resp?.auth?.displayName, 'Alice');
    assert.equal(counters.get('keep.github.login.success'), 1);
    assert.equal(
      JSON.stringify(resp).includes('ghp_alice'),
      false,
      'the GitHub token is not echoed',
    );
  });

  it('refuses a token GitHub rejects with a 400, and stores nothing of it', async () => {
    await configure();
    const err = await refused('update', 'login', { token: 'ghp_wrong' });
    assert.deepEqual([err.status, err.message], [400, 'invalid GitHub token: GitHub answered 401']);
    assert.equal(counters.get('keep.github.login.failure'), 1);
    assert.deepEqual(await storage.list(''), ['config']);
  });

  it('refuses a user outside the organization, whatever teams it has elsewhere', async () => {
    await configure();
    await send('update', 'map/teams/sre', { value: 'sre' });
    const err = await refused('update', 'login', { token: 'ghp_eve' });
    assert.deepEqual([err.status, err.message], [400, 'user is not part of required org']);
  });

  it('checks membership by organization id, warning when the name has changed', async () => {
    await configure({ organization: 'acme-old-name', organization_id: 1001 });
    const resp = await send('update', 'login', { token: 'ghp_bob' });
    assert.deepEqual(resp?.auth?.metadata, { username: 'bob', org: 'acme' });
    assert.match(resp?.warnings?.[0] ?? '', /organization name has changed to "acme"/);

    await configure({ organization: 'acme', organization_id: 2002 });
    const err = await refused('update', 'login', { token: 'ghp_bob' });
    assert.equal(err.message, 'user is not part of required org');
  });

  it('refuses bad login input with a 400 and never calls GitHub for it', async () => {
    await configure();
    const before = gh.requests.length;
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{}, /missing token/],
      [{ token: '' }, /missing token/],
      [{ token: { a: 1 } }, /field "token": expected a string/],
      [{ token: ['a'] }, /field "token": expected a string/],
      [{ token: 'x'.repeat(5000) }, /not in the form of a GitHub token/],
      [{ token: 'ghp_with space' }, /not in the form of a GitHub token/],
      [{ token: 'ghp_\r\nX-Injected: 1' }, /not in the form of a GitHub token/],
    ];
    for (const [data, message] of cases) {
      const err = await refused('update', 'login', data);
      assert.equal(err.status, 400, JSON.stringify(data).slice(0, 40));
      assert.match(err.message, message);
    }
    assert.equal(gh.requests.length, before);
  });

  it('refuses a login before the method is configured', async () => {
    const err = await refused('update', 'login', { token: 'ghp_alice' });
    assert.deepEqual([err.status, err.message], [400, 'configuration has not been set']);
  });

  it('answers 502 when GitHub cannot be reached', async () => {
    await configure();
    await storage.put(
      'config',
      Buffer.from(
        JSON.stringify({
          ...JSON.parse((await storage.get('config'))!.toString()),
          base_url: 'http://127.0.0.1:1/',
        }),
      ),
    );
    assert.equal((await refused('update', 'login', { token: 'ghp_alice' })).status, 502);
  });
});
