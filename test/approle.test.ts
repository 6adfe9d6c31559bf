/**
 * The AppRole auth method against the real server on a SQLite file, driven
 * by Debian's python3-hvac, npm's node-vault and plain HTTP: logins and the
 * role and secret ID API, races for the last use of a secret ID, bad input
 * on every path, the login lockout and its per-mount window, tokens bound to
 * networks, last-use times, mount TTLs and the background tidy.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import nodeVault from 'node-vault';
import {
  type KeepProcess,
  pythonModuleAvailable,
  removeDir,
  requirePackage,
  SYSTEM_PYTHON,
  startKeep,
  tempDir,
} from './helpers/keep-server.ts';

const INVALID = 'invalid role or secret ID';
const hvacSkip = requirePackage(pythonModuleAvailable('hvac'), 'python3-hvac');
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Answer {
  status: number;
  json: {
    errors?: string[];
    data?: Record<string, unknown> | null;
    auth?: { client_token: string; accessor: string; lease_duration: number } | null;
    warnings?: string[] | null;
  };
}

describe('AppRole against a SQLite-backed server', () => {
  const dir = tempDir();
  let server: KeepProcess;
  let root: string;
  let unsealKey: string;

  async function call(
    method: string,
    path: string,
    body?: unknown,
    token: string | null = root,
  ): Promise<Answer> {
    const headers: Record<string, string> = {};
    if (token) headers['X-Vault-Token'] = token;
    const res = await fetch(`${server.addr}/v1/${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : {} };
  }

  async function ok(method: string, path: string, body?: unknown, token?: string | null) {
    const res = await call(method, path, body, token);
    assert.ok(res.status < 300, `${method} ${path}: ${res.status} ${JSON.stringify(res.json)}`);
    return res;
  }

  /** A role on `mount` with its role ID and one fresh secret ID. */
  async function roleWithSecret(
    mount: string,
    name: string,
    role: Record<string, unknown> = {},
    secret: Record<string, unknown> = {},
  ) {
    await ok('POST', `auth/${mount}/role/${name}`, role);
    const roleId = (await ok('GET', `auth/${mount}/role/${name}/role-id`)).json.data?.role_id;
    const issued = (await ok('POST', `auth/${mount}/role/${name}/secret-id`, secret)).json.data;
    return {
      roleId: roleId as string,
      secretId: issued?.secret_id as string,
      accessor: issued?.secret_id_accessor as string,
    };
  }

  async function login(mount: string, roleId: string, secretId?: string) {
    return call('POST', `auth/${mount}/login`, { role_id: roleId, secret_id: secretId }, null);
  }

  /** An AppRole mount whose lockout is off, so refusals in one test cannot lock another. */
  async function enable(
    mount: string,
    lockout: Record<string, unknown> = { disable_lockout: true },
  ) {
    await ok('POST', `sys/auth/${mount}`, { type: 'approle' });
    await ok('POST', `sys/auth/${mount}/tune`, { user_lockout_config: lockout });
  }

  async function tokenCount(): Promise<number> {
    const res = await call('LIST', 'auth/token/accessors');
    return res.status === 404 ? 0 : ((res.json.data?.keys as string[] | undefined) ?? []).length;
  }

  before(async () => {
    server = await startKeep({ storage: 'sqlite', dir });
    const init = await call('PUT', 'sys/init', { secret_shares: 1, secret_threshold: 1 }, null);
    const keys = init.json as unknown as { root_token: string; keys: string[] };
    root = keys.root_token;
    unsealKey = keys.keys[0];
    await call('PUT', 'sys/unseal', { key: unsealKey }, null);
    await ok('POST', 'sys/mounts/secret', { type: 'kv', options: { version: '2' } });
    await ok('POST', 'secret/data/team/app', { data: { password: 'kv-pw' } });
    await ok('PUT', 'sys/policies/acl/team-read', {
      policy: 'path "secret/data/team/*" { capabilities = ["read"] }',
    });
  });

  after(async () => {
    await server?.stop();
    removeDir(dir);
  });

  describe('python3-hvac', { skip: hvacSkip }, () => {
    let secretId = '';

    it('logs in with AppRole and reads what the role allows; a used-up secret ID fails', () => {
      const script = join(import.meta.dirname, 'clients', 'hvac_approle.py');
      const run = spawnSync(SYSTEM_PYTHON, [script, server.addr, root], { encoding: 'utf8' });
      assert.equal(run.status, 0, `hvac approle flow failed:\n${run.stdout}\n${run.stderr}`);
      const lines = run.stdout.trim().split('\n');
      secretId = lines.pop()?.replace(/^secret_id /, '') ?? '';
      assert.deepEqual(lines, [
        'ok approle and kv v2 enabled, policy written',
        'ok role created, listed and read (name case-insensitive)',
        'ok secret ID issued with metadata and a CIDR list',
        "ok logged in, read the secret the role's policy allows, and no other",
        'ok a second login with the used-up secret ID is refused',
        'ok secret ID looked up by value and accessor, listed, destroyed',
        'ok custom secret ID and custom role ID log in',
        'ok role deleted',
      ]);
    });

    it('keeps no secret ID in plaintext in the SQLite files', () => {
      assert.match(secretId, /^[0-9a-f-]{36}$/);
      const dataDir = join(dir, 'data');
      const bytes = Buffer.concat(readdirSync(dataDir).map((f) => readFileSync(join(dataDir, f))));
      for (const needle of [secretId, 'a-chosen-secret-id', 'jobs-role-id']) {
        assert.equal(bytes.includes(Buffer.from(needle)), false, `found ${needle} on disk`);
      }
    });
  });

  describe('node-vault', () => {
    it("drives roles (with the older 'policies' field) and logs in with approleLogin", async () => {
      await enable('nv-approle');
      const vault = nodeVault({ endpoint: server.addr, token: root });
      const mount_point = 'nv-approle';
      await vault.addApproleRole({
        mount_point,
        role_name: 'worker',
        policies: 'team-read',
        secret_id_num_uses: 2,
        token_ttl: 300,
        bound_cidr_list: '127.0.0.0/8',
      });
      const role = await vault.getApproleRole({ mount_point, role_name: 'worker' });
      assert.deepEqual(role.data.token_policies, ['team-read']);
      assert.deepEqual(role.data.policies, ['team-read']);
      assert.deepEqual(role.data.secret_id_bound_cidrs, ['127.0.0.0/8']);
      assert.deepEqual((await vault.approleRoles({ mount_point })).data.keys, ['worker']);

      const roleId = (await vault.getApproleRoleId({ mount_point, role_name: 'worker' })).data
        .role_id;
      const issued = await vault.getApproleRoleSecret({
        mount_point,
        role_name: 'worker',
        metadata: JSON.stringify({ pod: 'w-1' }),
        cidr_list: ['127.0.0.1/32'],
      });
      const { secret_id, secret_id_accessor } = issued.data;
      const accessors = await vault.approleSecretAccessors({ mount_point, role_name: 'worker' });
      assert.deepEqual(accessors.data.keys, [secret_id_accessor]);
      const lookup = await vault.approleSecretLookup({
        mount_point,
        role_name: 'worker',
        secret_id,
      });
      assert.deepEqual(lookup.data.metadata, { pod: 'w-1' });

      const app = nodeVault({ endpoint: server.addr });
      const logged = await app.approleLogin({ mount_point, role_id: roleId, secret_id });
      assert.equal(app.token, logged.auth.client_token);
      assert.equal(logged.auth.lease_duration, 300);
      assert.equal((await app.read('secret/data/team/app')).data.data.password, 'kv-pw');

      const byAccessor = await vault.approleSecretAccessorLookup({
        mount_point,
        role_name: 'worker',
        secret_id_accessor,
      });
      assert.equal(byAccessor.data.secret_id_num_uses, 1);
      assert.equal(byAccessor.data.last_used_addr, '127.0.0.1');
      await vault.approleSecretAccessorDestroy({
        mount_point,
        role_name: 'worker',
        secret_id_accessor,
      });
      await assert.rejects(
        nodeVault({ endpoint: server.addr }).approleLogin({
          mount_point,
          role_id: roleId,
          secret_id,
        }),
        { message: INVALID },
      );
      await vault.deleteApproleRole({ mount_point, role_name: 'worker' });
      await assert.rejects(vault.getApproleRole({ mount_point, role_name: 'worker' }), (err) => {
        return (err as { response?: { statusCode: number } }).response?.statusCode === 404;
      });
    });
  });

  describe('a secret ID with one use', () => {
    it('gives exactly one token to 40 concurrent logins, five times over', async () => {
      await enable('race');
      const before = await tokenCount();
      const winners: number[] = [];
      for (let round = 0; round < 5; round++) {
        const { roleId, secretId } = await roleWithSecret(
          'race',
          `r${round}`,
          { token_policies: 'team-read' },
          { num_uses: 1 },
        );
        const answers = await Promise.all(
          Array.from({ length: 40 }, () => login('race', roleId, secretId)),
        );
        const won = answers.filter((a) => a.status === 200 && a.json.auth?.client_token);
        const lost = answers.filter((a) => a.status === 400 && a.json.errors?.[0] === INVALID);
        assert.equal(lost.length, 39, JSON.stringify(answers.map((a) => a.status)));
        winners.push(won.length);
      }
      assert.deepEqual(winners, [1, 1, 1, 1, 1]);
      assert.equal(await tokenCount(), before + 5);
    });
  });

  describe('bad input', () => {
    it('answers every path with a 4xx and an errors array, and issues no token', async () => {
      await enable('bad');
      const { roleId, secretId } = await roleWithSecret('bad', 'app');
      const before = await tokenCount();
      const huge = 'x'.repeat(200_000);
      const cases: Array<[string, string, unknown, number]> = [
        ['POST', 'login', {}, 400],
        ['POST', 'login', { secret_id: secretId }, 400],
        ['POST', 'login', { role_id: { nested: true }, secret_id: secretId }, 400],
        ['POST', 'login', { role_id: roleId, secret_id: ['a', 'b'] }, 400],
        ['POST', 'login', { role_id: roleId }, 400],
        ['POST', 'login', { role_id: huge, secret_id: huge }, 400],
        ['POST', 'login', { role_id: 'unknown-role-id', secret_id: secretId }, 400],
        ['POST', 'login', '{"role_id": ', 400],
        ['POST', 'role/app', { secret_id_num_uses: 'lots' }, 400],
        ['POST', 'role/app', { secret_id_num_uses: 1e30 }, 400],
        ['POST', 'role/app', { token_ttl: -5 }, 400],
        ['POST', 'role/app', { secret_id_ttl: '9999999999999h' }, 400],
        ['POST', 'role/app', { token_bound_cidrs: '300.1.1.1/8' }, 400],
        ['POST', 'role/app', { bind_secret_id: false }, 400],
        ['POST', 'role/app', { role_id: huge }, 400],
        ['POST', `role/${'n'.repeat(300)}`, {}, 404],
        ['POST', 'role/bad$name', {}, 404],
        ['GET', 'role/missing', undefined, 404],
        ['GET', 'role/missing/role-id', undefined, 404],
        ['POST', 'role/missing/role-id', { role_id: 'x' }, 400],
        ['POST', 'role/app/role-id', {}, 400],
        ['POST', 'role/missing/secret-id', {}, 400],
        ['LIST', 'role/missing/secret-id', undefined, 400],
        ['POST', 'role/app/secret-id', { metadata: huge }, 400],
        ['POST', 'role/app/secret-id', { metadata: '{"a": {"b": 1}}' }, 400],
        ['POST', 'role/app/secret-id', { num_uses: 'two' }, 400],
        ['POST', 'role/app/secret-id', { ttl: 'soon' }, 400],
        ['POST', 'role/app/secret-id', { cidr_list: 'nonsense' }, 400],
        ['POST', 'role/app/custom-secret-id', {}, 400],
        ['POST', 'role/app/custom-secret-id', { secret_id: huge }, 400],
        ['POST', 'role/app/secret-id/lookup', {}, 400],
        ['POST', 'role/app/secret-id/lookup', { secret_id: 'unknown' }, 404],
        ['POST', 'role/missing/secret-id/lookup', { secret_id: secretId }, 400],
        ['POST', 'role/app/secret-id/destroy', {}, 400],
        ['POST', 'role/app/secret-id-accessor/lookup', {}, 400],
        ['POST', 'role/app/secret-id-accessor/lookup', { secret_id_accessor: 'nope' }, 404],
        ['POST', 'role/app/secret-id-accessor/destroy', { secret_id_accessor: 'nope' }, 404],
        ['GET', 'tidy/secret-id', undefined, 405],
      ];
      for (const [method, path, body, status] of cases) {
        const res = await call(method, `auth/bad/${path}`, body);
        const label = `${method} ${path.slice(0, 40)} ${JSON.stringify(body)?.slice(0, 60)}`;
        assert.equal(res.status, status, `${label}: ${JSON.stringify(res.json).slice(0, 200)}`);
        assert.ok(Array.isArray(res.json.errors), `${label}: an errors array`);
        assert.equal(res.json.auth, undefined, `${label}: no auth`);
      }
      assert.equal(await tokenCount(), before, 'no token was issued');
      assert.equal((await login('bad', roleId, secretId)).status, 200, 'the real credentials work');
    });

    it('refuses logins from outside the role and secret ID networks, like any bad login', async () => {
      await enable('nets');
      const role = await roleWithSecret('nets', 'far', { secret_id_bound_cidrs: '10.0.0.0/8' });
      const far = await login('nets', role.roleId, role.secretId);
      assert.deepEqual([far.status, far.json.errors], [400, [INVALID]]);
      const secret = await roleWithSecret('nets', 'near', {}, { cidr_list: '192.168.0.0/16' });
      const outside = await login('nets', secret.roleId, secret.secretId);
      assert.deepEqual([outside.status, outside.json.errors], [400, [INVALID]]);
    });
  });

  describe('login lockout', () => {
    it('engages after the mount’s threshold and lifts after its window (user_lockout_config)', async () => {
      await enable('locked', {
        lockout_threshold: 3,
        lockout_duration: '2s',
        lockout_counter_reset: '2s',
      });
      const tune = await ok('GET', 'sys/auth/locked/tune');
      assert.deepEqual(tune.json.data?.user_lockout_config, {
        lockout_threshold: 3,
        lockout_duration: 2,
        lockout_counter_reset: 2,
      });
      const { roleId, secretId } = await roleWithSecret('locked', 'svc');
      for (let i = 0; i < 3; i++) {
        const bad = await login('locked', roleId, `wrong-${i}`);
        assert.equal(bad.status, 400);
      }
      const locked = await login('locked', roleId, secretId);
      assert.deepEqual([locked.status, locked.json.errors], [403, ['permission denied']]);
      assert.equal(locked.json.auth, undefined);

      await sleep(2100);
      const after = await login('locked', roleId, secretId);
      assert.equal(after.status, 200, JSON.stringify(after.json));

      const metrics = await fetch(`${server.addr}/v1/sys/metrics?format=prometheus`, {
        headers: { 'X-Vault-Token': root },
      });
      const text = await metrics.text();
      const count = (name: string) =>
        Number(new RegExp(`^${name}\\{mount="auth/locked/"\\} (\\d+)`, 'm').exec(text)?.[1] ?? -1);
      assert.equal(count('keep_approle_login_failure'), 3, text.slice(0, 300));
      assert.equal(count('keep_approle_login_locked'), 1);
      assert.equal(count('keep_approle_login_success'), 1);
    });

    it('refuses a bad user_lockout_config', async () => {
      await enable('locked-bad');
      for (const config of [
        { lockout_threshold: 'many' },
        { lockout_duration: 'soon' },
        { unknown_key: 1 },
        'not an object',
      ]) {
        const res = await call('POST', 'sys/auth/locked-bad/tune', { user_lockout_config: config });
        assert.equal(res.status, 400, JSON.stringify(config));
      }
      const secretMount = await call('POST', 'sys/mounts/secret/tune', {
        user_lockout_config: { lockout_threshold: 1 },
      });
      assert.equal(secretMount.status, 400);
    });
  });

  describe('tokens bound to networks', () => {
    it('work from inside token_bound_cidrs and get 403 from outside', async () => {
      await enable('bound');
      const inside = await roleWithSecret('bound', 'local', {
        token_policies: 'team-read',
        token_bound_cidrs: '127.0.0.1/32',
      });
      const outside = await roleWithSecret('bound', 'remote', {
        token_policies: 'team-read',
        token_bound_cidrs: '10.0.0.0/8',
      });
      const good = (await login('bound', inside.roleId, inside.secretId)).json.auth?.client_token;
      const far = (await login('bound', outside.roleId, outside.secretId)).json.auth?.client_token;
      assert.ok(good && far);
      assert.equal((await call('GET', 'secret/data/team/app', undefined, good)).status, 200);
      const refused = await call('GET', 'secret/data/team/app', undefined, far);
      assert.equal(refused.status, 403);
      assert.equal((await call('GET', 'auth/token/lookup-self', undefined, far)).status, 403);
      const seen = await ok('POST', 'auth/token/lookup', { token: far });
      assert.deepEqual(seen.json.data?.bound_cidrs, ['10.0.0.0/8']);
    });

    it("narrow to a secret ID's own token_bound_cidrs", async () => {
      const narrowed = await roleWithSecret(
        'bound',
        'narrow',
        { token_bound_cidrs: '127.0.0.0/8' },
        { token_bound_cidrs: '127.0.0.2/32' },
      );
      const token = (await login('bound', narrowed.roleId, narrowed.secretId)).json.auth
        ?.client_token;
      assert.equal((await call('GET', 'auth/token/lookup-self', undefined, token)).status, 403);
    });
  });

  describe('last use', () => {
    it('moves after each login, shows on lookups and survives a seal', async () => {
      await enable('usage');
      const { roleId, secretId, accessor } = await roleWithSecret('usage', 'svc');
      const lookup = async () =>
        (
          await ok('POST', 'auth/usage/role/svc/secret-id-accessor/lookup', {
            secret_id_accessor: accessor,
          })
        ).json.data ?? {};
      assert.equal((await lookup()).last_used_time, null);

      const first = await login('usage', roleId, secretId);
      const t1 = Date.parse((await lookup()).last_used_time as string);
      assert.equal((await lookup()).last_used_addr, '127.0.0.1');
      await sleep(1100);
      await login('usage', roleId, secretId);
      const t2 = Date.parse((await lookup()).last_used_time as string);
      assert.ok(t2 - t1 >= 1000, `the time moved: ${t1} → ${t2}`);

      const token = first.json.auth?.client_token ?? '';
      await ok('GET', 'auth/token/lookup-self', undefined, token);
      const tokenSeen = await ok('POST', 'auth/token/lookup', { token });
      assert.equal(tokenSeen.json.data?.last_used_addr, '127.0.0.1');
      const tokenUsed = Date.parse(tokenSeen.json.data?.last_used_time as string);

      // Sealing writes what is noted in memory; after the unseal it is read from storage.
      await ok('PUT', 'sys/seal');
      await call('PUT', 'sys/unseal', { key: unsealKey }, null);
      assert.equal(Date.parse((await lookup()).last_used_time as string), t2);
      const afterSeal = await ok('POST', 'auth/token/lookup', { token });
      assert.equal(Date.parse(afterSeal.json.data?.last_used_time as string), tokenUsed);
    });
  });

  describe('response wrapping', () => {
    it('hands a secret ID over wrapped, for the workload to unwrap once and log in', async () => {
      await enable('wrapped');
      await ok('POST', 'auth/wrapped/role/svc', { token_policies: 'team-read' });
      const roleId = (await ok('GET', 'auth/wrapped/role/svc/role-id')).json.data?.role_id;
      const res = await fetch(`${server.addr}/v1/auth/wrapped/role/svc/secret-id`, {
        method: 'POST',
        headers: { 'X-Vault-Token': root, 'X-Vault-Wrap-TTL': '60s' },
      });
      const wrapped = (await res.json()) as { data: unknown; wrap_info: { token: string } };
      assert.equal(wrapped.data, null, 'the secret ID is not in the wrapped answer');
      const unwrapped = await ok('PUT', 'sys/wrapping/unwrap', {}, wrapped.wrap_info.token);
      const secretId = unwrapped.json.data?.secret_id as string;
      const again = await call('PUT', 'sys/wrapping/unwrap', {}, wrapped.wrap_info.token);
      assert.equal(again.status, 403, 'a wrapping token unwraps once');
      const logged = await login('wrapped', roleId as string, secretId);
      assert.equal(logged.status, 200, JSON.stringify(logged.json));
    });
  });

  describe('mount TTLs', () => {
    it('bound the tokens the method issues (sys/auth/<path>/tune)', async () => {
      await enable('ttls');
      await ok('POST', 'sys/auth/ttls/tune', { default_lease_ttl: '1h', max_lease_ttl: '2h' });
      const plain = await roleWithSecret('ttls', 'plain');
      const greedy = await roleWithSecret('ttls', 'greedy', { token_ttl: '3h' });
      const a = await login('ttls', plain.roleId, plain.secretId);
      assert.equal(a.json.auth?.lease_duration, 3600);
      const b = await login('ttls', greedy.roleId, greedy.secretId);
      assert.equal(b.json.auth?.lease_duration, 7200);
      assert.match(b.json.warnings?.join() ?? '', /capped/);
    });
  });

  describe('tidy', () => {
    it('answers 202 with a warning and removes expired secret IDs in the background', async () => {
      await enable('tidy');
      const lasting = await roleWithSecret('tidy', 'svc');
      const short = (await ok('POST', 'auth/tidy/role/svc/secret-id', { ttl: 1 })).json.data;
      await sleep(1100);
      const res = await call('POST', 'auth/tidy/tidy/secret-id');
      assert.equal(res.status, 202);
      assert.match(res.json.warnings?.[0] ?? '', /Tidy operation successfully started/);
      let keys: unknown;
      for (let i = 0; i < 50; i++) {
        keys = (await ok('LIST', 'auth/tidy/role/svc/secret-id')).json.data?.keys;
        if (Array.isArray(keys) && keys.length === 1) break;
        await sleep(20);
      }
      assert.deepEqual(keys, [lasting.accessor]);
      const gone = await call('POST', 'auth/tidy/role/svc/secret-id-accessor/lookup', {
        secret_id_accessor: short?.secret_id_accessor,
      });
      assert.equal(gone.status, 404);
      const logged = () => server.output.some((l) => l.includes('approle secret ID tidy finished'));
      for (let i = 0; i < 50 && !logged(); i++) await sleep(20);
      assert.ok(logged(), 'the sweep reports to the server log');
    });
  });
});
