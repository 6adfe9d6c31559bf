import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InspectableStorage, TestClock } from '../../engines/kv/test-kit.ts';
import type {
  BackendContext,
  LogicalRequest,
  LogicalResponse,
  Operation,
  UserLockoutConfig,
} from '../../framework/types.ts';
import { BadRequestError, NotFoundError, PermissionDeniedError } from '../../lib/errors.ts';
import { approleBackend } from './backend.ts';

const INVALID = 'invalid role or secret ID';

/** A mount of the AppRole backend on inspectable storage, driven as the core drives it. */
function setup(opts: { lockout?: UserLockoutConfig; lastUseIntervalMs?: number } = {}) {
  const clock = new TestClock();
  const storage = new InspectableStorage();
  const counters: Record<string, number> = {};
  const ctx: BackendContext = {
    storage,
    mount: {
      path: 'auth/approle/',
      type: 'approle',
      uuid: 'mount-uuid',
      accessor: 'auth_approle_1234',
      description: '',
      options: {},
      defaultLeaseTtlSeconds: 0,
      maxLeaseTtlSeconds: 0,
      userLockout: opts.lockout ?? { disable: true },
    },
    system: {
      defaultLeaseTtlSeconds: 2_764_800,
      maxLeaseTtlSeconds: 2_764_800,
      now: clock.now,
      metrics: {
        incr: (name, value = 1) => {
          counters[name] = (counters[name] ?? 0) + value;
        },
        timing: () => {},
      },
    },
  };
  const backend = approleBackend({ lastUseIntervalMs: opts.lastUseIntervalMs ?? 60_000 });

  async function call(
    operation: Operation,
    relPath: string,
    data: Record<string, unknown> = {},
    remoteAddr = '10.0.0.7',
  ): Promise<LogicalResponse | undefined> {
    const req: LogicalRequest = {
      id: 'req-1',
      operation,
      path: `auth/approle/${relPath}`,
      relPath,
      mountPoint: 'auth/approle/',
      data,
      query: {},
      remoteAddr,
      headers: {},
    };
    if (req.operation === 'update' && (await backend.exists(req, ctx)) === false) {
      req.operation = 'create';
    }
    return backend.handle(req, ctx);
  }

  async function role(name: string, data: Record<string, unknown> = {}) {
    await call('update', `role/${name}`, data);
    const read = await call('read', `role/${name}/role-id`);
    return read?.data?.role_id as string;
  }

  async function secretId(name: string, data: Record<string, unknown> = {}) {
    const resp = await call('update', `role/${name}/secret-id`, data);
    return resp?.data as { secret_id: string; secret_id_accessor: string } & Record<
      string,
      unknown
    >;
  }

  async function login(roleId: string, secret?: string, remoteAddr = '10.0.0.7') {
    return call('update', 'login', { role_id: roleId, secret_id: secret }, remoteAddr);
  }

  return { clock, storage, ctx, backend, counters, call, role, secretId, login };
}

async function refusal(promise: Promise<unknown>): Promise<Error & { status: number }> {
  try {
    await promise;
  } catch (err) {
    return err as Error & { status: number };
  }
  assert.fail('expected a refusal');
}

describe('AppRole roles', () => {
  it('creates a role under its lower-case name and reads it back with Vault fields', async () => {
    const t = setup();
    await t.call('update', 'role/Web-App', {
      token_policies: 'kv-read, Deploy',
      token_ttl: '10m',
      token_max_ttl: 3600,
      secret_id_num_uses: '3',
      secret_id_ttl: '1h',
      secret_id_bound_cidrs: ['10.0.0.0/8'],
    });
    const read = await t.call('read', 'role/web-app');
    assert.deepEqual(read?.data?.token_policies, ['deploy', 'kv-read']);
    assert.deepEqual(read?.data?.policies, ['deploy', 'kv-read']);
    assert.equal(read?.data?.token_ttl, 600);
    assert.equal(read?.data?.token_max_ttl, 3600);
    assert.equal(read?.data?.secret_id_num_uses, 3);
    assert.equal(read?.data?.secret_id_ttl, 3600);
    assert.equal(read?.data?.bind_secret_id, true);
    assert.deepEqual(read?.data?.secret_id_bound_cidrs, ['10.0.0.0/8']);
    assert.equal('role_id' in (read?.data ?? {}), false, 'a role read does not show the role ID');
    assert.deepEqual((await t.call('list', 'role/'))?.data?.keys, ['web-app']);
    assert.equal((await t.call('read', 'role/WEB-APP'))?.data?.token_ttl, 600);
  });

  it('takes the older names node-vault sends: policies, period and bound_cidr_list', async () => {
    const t = setup();
    await t.call('update', 'role/svc', {
      policies: 'a,b',
      period: 300,
      bound_cidr_list: '192.168.0.0/16',
    });
    const read = await t.call('read', 'role/svc');
    assert.deepEqual(read?.data?.token_policies, ['a', 'b']);
    assert.equal(read?.data?.token_period, 300);
    assert.deepEqual(read?.data?.secret_id_bound_cidrs, ['192.168.0.0/16']);
  });

  it('changes only the fields an update sends', async () => {
    const t = setup();
    await t.call('update', 'role/svc', { token_policies: 'a', token_ttl: 60 });
    await t.call('update', 'role/svc', { secret_id_num_uses: 5 });
    const read = await t.call('read', 'role/svc');
    assert.deepEqual(read?.data?.token_policies, ['a']);
    assert.equal(read?.data?.token_ttl, 60);
    assert.equal(read?.data?.secret_id_num_uses, 5);
  });

  it('refuses what Vault refuses, with a 400', async () => {
    const t = setup();
    const cases: Record<string, unknown>[] = [
      { secret_id_num_uses: -1 },
      { secret_id_num_uses: 'many' },
      { secret_id_ttl: 'forever' },
      { token_ttl: '2h', token_max_ttl: '1h' },
      { secret_id_bound_cidrs: '10.0.0.300/8' },
      { token_bound_cidrs: 'not-a-cidr' },
      { bind_secret_id: false },
      { token_type: 'batch' },
      { bind_secret_id: 'perhaps' },
      { role_id: 'x'.repeat(2000) },
      { secret_id_bound_cidrs: Array.from({ length: 300 }, (_, i) => `10.0.${i % 250}.0/24`) },
    ];
    for (const data of cases) {
      const err = await refusal(t.call('update', 'role/bad', data));
      assert.ok(err instanceof BadRequestError, `${JSON.stringify(data).slice(0, 80)}: ${err}`);
    }
    await assert.rejects(t.call('read', 'role/bad'), NotFoundError);
  });

  it('lets local_secret_ids be set at creation only', async () => {
    const t = setup();
    await t.call('update', 'role/svc', { enable_local_secret_ids: true });
    assert.equal((await t.call('read', 'role/svc'))?.data?.local_secret_ids, true);
    await assert.rejects(
      t.call('update', 'role/svc', { local_secret_ids: false }),
      /can only be modified during role creation/,
    );
  });

  it('moves the role ID index with a custom role ID and keeps role IDs unique', async () => {
    const t = setup();
    const old = await t.role('one');
    await t.call('update', 'role/one/role-id', { role_id: 'custom-one' });
    assert.equal((await t.call('read', 'role/one/role-id'))?.data?.role_id, 'custom-one');
    await t.call('update', 'role/two', { role_id: 'custom-two' });
    await assert.rejects(
      t.call('update', 'role/two/role-id', { role_id: 'custom-one' }),
      /role_id already in use/,
    );
    const { secret_id } = await t.secretId('one');
    await assert.rejects(t.login(old, secret_id), { message: INVALID });
    assert.ok((await t.login('custom-one', secret_id))?.auth);
    await assert.rejects(t.call('update', 'role/one/role-id', {}), /missing role_id/);
    await assert.rejects(
      t.call('update', 'role/ghost/role-id', { role_id: 'x' }),
      /does not exist/,
    );
  });

  it('deletes every secret ID of a deleted role, so a new role of that name starts clean', async () => {
    const t = setup();
    const roleId = await t.role('svc');
    const { secret_id } = await t.secretId('svc');
    await t.call('delete', 'role/svc');
    await assert.rejects(t.call('read', 'role/svc'), NotFoundError);
    const keys = [...(await t.storage.snapshot()).keys()];
    assert.deepEqual(keys, ['salt'], 'only the salt is left');
    await t.role('svc', { role_id: roleId });
    await assert.rejects(t.login(roleId, secret_id), { message: INVALID });
  });
});

describe('AppRole secret IDs', () => {
  it('issues a secret ID that only its salted hash in storage remembers', async () => {
    const t = setup();
    await t.role('svc', { secret_id_num_uses: 10, secret_id_ttl: 600 });
    const issued = await t.secretId('svc', {
      metadata: JSON.stringify({ host: 'web-1' }),
      cidr_list: '10.0.0.0/24',
      num_uses: 2,
    });
    assert.match(issued.secret_id, /^[0-9a-f-]{36}$/);
    assert.equal(issued.secret_id_num_uses, 2);
    assert.equal(issued.secret_id_ttl, 600);
    const everything = [...(await t.storage.snapshot())].join('\n');
    assert.equal(everything.includes(issued.secret_id), false, 'the secret ID is not stored');

    const byValue = await t.call('update', 'role/svc/secret-id/lookup', {
      secret_id: issued.secret_id,
    });
    assert.equal(byValue?.data?.secret_id_accessor, issued.secret_id_accessor);
    assert.deepEqual(byValue?.data?.metadata, { host: 'web-1' });
    assert.deepEqual(byValue?.data?.cidr_list, ['10.0.0.0/24']);
    assert.equal(byValue?.data?.secret_id_num_uses, 2);
    assert.equal(byValue?.data?.expiration_time, new Date(t.clock.ms + 600_000).toISOString());
    assert.equal(byValue?.data?.last_used_time, null);
    const byAccessor = await t.call('update', 'role/svc/secret-id-accessor/lookup', {
      secret_id_accessor: issued.secret_id_accessor,
    });
    assert.deepEqual(byAccessor?.data, byValue?.data);
    assert.deepEqual((await t.call('list', 'role/svc/secret-id/'))?.data?.keys, [
      issued.secret_id_accessor,
    ]);
  });

  it("holds a secret ID's limits within its role's", async () => {
    const t = setup();
    await t.role('svc', {
      secret_id_num_uses: 3,
      secret_id_ttl: 60,
      secret_id_bound_cidrs: '10.0.0.0/8',
      token_bound_cidrs: '10.1.0.0/16',
    });
    for (const [data, message] of [
      [{ num_uses: 4 }, /num_uses cannot be higher/],
      [{ num_uses: -1 }, /cannot be negative/],
      [{ ttl: 61 }, /ttl cannot be longer/],
      [{ cidr_list: '192.168.0.0/24' }, /CIDR restrictions/],
      [{ cidr_list: '10.0.0.0/7' }, /CIDR restrictions/],
      [{ token_bound_cidrs: '10.2.0.0/24' }, /CIDR restrictions/],
      [{ metadata: '{"a": 1}' }, /not a string/],
      [{ metadata: '{not json' }, /invalid JSON/],
      [{ metadata: JSON.stringify({ k: 'v'.repeat(600) }) }, /longer than 512/],
      [{ metadata: ['a'] }, /expected a JSON object/],
    ] as const) {
      await assert.rejects(t.call('update', 'role/svc/secret-id', data), message);
    }
    const ok = await t.secretId('svc', { cidr_list: '10.5.0.0/16', token_bound_cidrs: '10.1.2.3' });
    assert.equal(ok.secret_id_num_uses, 3, "the role's uses when none are asked for");
    await assert.rejects(t.call('update', 'role/ghost/secret-id'), /role "ghost" does not exist/);
  });

  it('registers a custom secret ID once, with metadata as hvac sends it', async () => {
    const t = setup();
    const roleId = await t.role('svc');
    const resp = await t.call('update', 'role/svc/custom-secret-id', {
      secret_id: 'my-own-secret',
      metadata: { team: 'ops' },
    });
    assert.equal(resp?.data?.secret_id, 'my-own-secret');
    await assert.rejects(
      t.call('update', 'role/svc/custom-secret-id', { secret_id: 'my-own-secret' }),
      /already registered/,
    );
    await assert.rejects(t.call('update', 'role/svc/custom-secret-id', {}), /missing secret_id/);
    await assert.rejects(
      t.call('update', 'role/svc/custom-secret-id', { secret_id: 's'.repeat(5000) }),
      /longer than/,
    );
    const auth = (await t.login(roleId, 'my-own-secret'))?.auth;
    assert.deepEqual(auth?.metadata, { team: 'ops', role_name: 'svc' });
  });

  it('destroys by value and by accessor; unknown ones are 404 on lookup', async () => {
    const t = setup();
    await t.role('svc');
    const a = await t.secretId('svc');
    const b = await t.secretId('svc');
    await t.call('update', 'role/svc/secret-id/destroy', { secret_id: a.secret_id });
    await t.call('update', 'role/svc/secret-id/destroy', { secret_id: a.secret_id });
    await t.call('delete', 'role/svc/secret-id-accessor/destroy', {
      secret_id_accessor: b.secret_id_accessor,
    });
    await assert.rejects(
      t.call('update', 'role/svc/secret-id/lookup', { secret_id: a.secret_id }),
      NotFoundError,
    );
    await assert.rejects(
      t.call('update', 'role/svc/secret-id-accessor/lookup', {
        secret_id_accessor: b.secret_id_accessor,
      }),
      NotFoundError,
    );
    await assert.rejects(t.call('list', 'role/svc/secret-id/'), NotFoundError);
    assert.deepEqual([...(await t.storage.snapshot()).keys()].filter(isSecretKey), []);
  });

  it("does not find another role's secret ID through an accessor", async () => {
    const t = setup();
    await t.role('one');
    await t.role('two');
    const a = await t.secretId('one');
    await assert.rejects(
      t.call('update', 'role/two/secret-id-accessor/lookup', {
        secret_id_accessor: a.secret_id_accessor,
      }),
      NotFoundError,
    );
  });
});

describe('AppRole login', () => {
  it("gives a token with the role's settings and the secret ID's metadata", async () => {
    const t = setup();
    const roleId = await t.role('svc', {
      token_policies: 'kv-read',
      token_ttl: '20m',
      token_max_ttl: '1h',
      token_num_uses: 4,
      token_bound_cidrs: '10.0.0.0/8',
    });
    const { secret_id } = await t.secretId('svc', { metadata: 'host=web-1,zone=a' });
    const auth = (await t.login(`  ${roleId}\n`, `${secret_id}\n`))?.auth;
    assert.deepEqual(auth?.policies, ['kv-read']);
    assert.equal(auth?.ttlSeconds, 1200);
    assert.equal(auth?.maxTtlSeconds, 3600);
    assert.equal(auth?.numUses, 4);
    assert.deepEqual(auth?.boundCidrs, ['10.0.0.0/8']);
    assert.deepEqual(auth?.metadata, { host: 'web-1', zone: 'a', role_name: 'svc' });
    assert.equal(t.counters['keep.approle.login.success'], 1);
  });

  it("puts the secret ID's token_bound_cidrs on the token instead of the role's", async () => {
    const t = setup();
    const roleId = await t.role('svc', { token_bound_cidrs: '10.0.0.0/8' });
    const { secret_id } = await t.secretId('svc', { token_bound_cidrs: '10.9.0.0/16' });
    assert.deepEqual((await t.login(roleId, secret_id))?.auth?.boundCidrs, ['10.9.0.0/16']);
  });

  it('counts uses down and refuses a used-up secret ID alike to a wrong one', async () => {
    const t = setup();
    const roleId = await t.role('svc');
    const { secret_id, secret_id_accessor } = await t.secretId('svc', { num_uses: 2 });
    assert.ok((await t.login(roleId, secret_id))?.auth);
    const lookup = await t.call('update', 'role/svc/secret-id-accessor/lookup', {
      secret_id_accessor,
    });
    assert.equal(lookup?.data?.secret_id_num_uses, 1);
    assert.ok((await t.login(roleId, secret_id))?.auth);
    const used = await refusal(t.login(roleId, secret_id));
    const wrongSecret = await refusal(t.login(roleId, 'not-the-secret'));
    const wrongRole = await refusal(t.login('not-a-role', secret_id));
    const noSecret = await refusal(t.login(roleId));
    for (const err of [used, wrongSecret, wrongRole, noSecret]) {
      assert.equal(err.status, 400);
      assert.equal(err.message, INVALID);
    }
    assert.deepEqual([...(await t.storage.snapshot()).keys()].filter(isSecretKey), []);
    assert.equal(t.counters['keep.approle.login.failure'], 4);
  });

  it('refuses and removes an expired secret ID', async () => {
    const t = setup();
    const roleId = await t.role('svc', { secret_id_ttl: 60 });
    const { secret_id } = await t.secretId('svc');
    t.clock.advanceSeconds(61);
    await assert.rejects(t.login(roleId, secret_id), { message: INVALID });
    assert.deepEqual([...(await t.storage.snapshot()).keys()].filter(isSecretKey), []);
  });

  it("refuses logins from outside the role's or the secret ID's networks", async () => {
    const t = setup();
    const roleId = await t.role('svc', { secret_id_bound_cidrs: '10.0.0.0/8' });
    const { secret_id } = await t.secretId('svc', { cidr_list: '10.1.0.0/16' });
    await assert.rejects(t.login(roleId, secret_id, '192.168.1.1'), { message: INVALID });
    await assert.rejects(t.login(roleId, secret_id, '10.2.0.1'), { message: INVALID });
    assert.ok((await t.login(roleId, secret_id, '::ffff:10.1.2.3'))?.auth);
  });

  it('logs in without a secret ID when the role binds none, from its networks only', async () => {
    const t = setup();
    const roleId = await t.role('svc', {
      bind_secret_id: false,
      secret_id_bound_cidrs: '10.0.0.0/8',
    });
    assert.ok((await t.login(roleId))?.auth);
    await assert.rejects(t.login(roleId, undefined, '172.16.0.1'), { message: INVALID });
    await assert.rejects(t.call('update', 'role/svc/secret-id'), /bind_secret_id is not set/);
  });

  it('asks for a role_id, and takes no object for one', async () => {
    const t = setup();
    await assert.rejects(t.call('update', 'login', {}), /missing role_id/);
    await assert.rejects(t.call('update', 'login', { role_id: { a: 1 } }), BadRequestError);
    await assert.rejects(
      t.call('update', 'login', { role_id: 'r'.repeat(100_000), secret_id: 'x' }),
      { message: INVALID },
    );
  });

  it('gives exactly one token when logins race for the last use of a secret ID', async () => {
    const t = setup();
    const roleId = await t.role('svc');
    const { secret_id } = await t.secretId('svc', { num_uses: 1 });
    const results = await Promise.allSettled(
      Array.from({ length: 25 }, () => t.login(roleId, secret_id)),
    );
    const won = results.filter((r) => r.status === 'fulfilled' && r.value?.auth);
    assert.equal(won.length, 1);
    assert.equal(results.filter((r) => r.status === 'rejected').length, 24);
  });
});

describe('AppRole login lockout', () => {
  const lockout = { threshold: 3, durationSeconds: 30, counterResetSeconds: 30 };

  it('locks a role after the threshold, even for good credentials, until the window passes', async () => {
    const t = setup({ lockout });
    const roleId = await t.role('svc');
    const { secret_id } = await t.secretId('svc');
    for (let i = 0; i < 3; i++) {
      await assert.rejects(t.login(roleId, 'wrong', `10.0.0.${i + 1}`), { message: INVALID });
    }
    await assert.rejects(t.login(roleId, secret_id, '10.0.1.1'), PermissionDeniedError);
    assert.equal(t.counters['keep.approle.login.locked'], 1);
    t.clock.advanceSeconds(31);
    assert.ok((await t.login(roleId, secret_id, '10.0.1.1'))?.auth);
  });

  it('locks a client address that fails against any role', async () => {
    const t = setup({ lockout });
    const good = await t.role('good');
    const { secret_id } = await t.secretId('good');
    for (let i = 0; i < 3; i++) {
      await assert.rejects(t.login(`made-up-${i}`, 'x', '10.9.9.9'), { message: INVALID });
    }
    await assert.rejects(t.login(good, secret_id, '10.9.9.9'), PermissionDeniedError);
    assert.ok((await t.login(good, secret_id, '10.9.9.10'))?.auth, 'other addresses still work');
  });

  it('does not spend a use of a secret ID while locked', async () => {
    const t = setup({ lockout });
    const roleId = await t.role('svc');
    const { secret_id } = await t.secretId('svc', { num_uses: 1 });
    for (let i = 0; i < 3; i++) await assert.rejects(t.login(roleId, 'wrong'));
    await assert.rejects(t.login(roleId, secret_id));
    t.clock.advanceSeconds(31);
    assert.ok((await t.login(roleId, secret_id))?.auth);
  });

  it('counts nothing when the mount disables lockout', async () => {
    const t = setup({ lockout: { disable: true, threshold: 1 } });
    const roleId = await t.role('svc');
    const { secret_id } = await t.secretId('svc');
    for (let i = 0; i < 10; i++) await assert.rejects(t.login(roleId, 'wrong'));
    assert.ok((await t.login(roleId, secret_id))?.auth);
  });
});

describe('AppRole last use of a secret ID', () => {
  it('shows the last login at once and writes it at most once per interval', async () => {
    const t = setup();
    const roleId = await t.role('svc');
    const { secret_id, secret_id_accessor } = await t.secretId('svc');
    const lookup = async () =>
      (await t.call('update', 'role/svc/secret-id-accessor/lookup', { secret_id_accessor }))
        ?.data ?? {};

    const writesBefore = t.storage.singleWrites + t.storage.transactions;
    await t.login(roleId, secret_id, '10.0.0.8');
    const first = await lookup();
    assert.equal(first.last_used_time, t.clock.now().toISOString());
    assert.equal(first.last_used_addr, '10.0.0.8');

    t.clock.advanceSeconds(5);
    for (let i = 0; i < 10; i++) await t.login(roleId, secret_id, '10.0.0.9');
    const second = await lookup();
    assert.equal(second.last_used_time, t.clock.now().toISOString(), 'the time moved');
    assert.equal(second.last_used_addr, '10.0.0.9');
    assert.equal(
      t.storage.singleWrites + t.storage.transactions,
      writesBefore,
      'logins with an unlimited secret ID write nothing on the request path',
    );

    await t.backend.cleanup?.(t.ctx);
    assert.equal(t.storage.singleWrites + t.storage.transactions, writesBefore + 1, 'one write');
    const stored = [...(await t.storage.snapshot())].find(([k]) => isSecretKey(k))?.[1] ?? '';
    assert.equal(JSON.parse(stored).lastUsedAddr, '10.0.0.9');
  });

  it('flushes in the background after the interval', async () => {
    const t = setup({ lastUseIntervalMs: 20 });
    const roleId = await t.role('svc');
    const { secret_id } = await t.secretId('svc');
    await t.login(roleId, secret_id);
    await new Promise((resolve) => setTimeout(resolve, 80));
    const stored = [...(await t.storage.snapshot())].find(([k]) => isSecretKey(k))?.[1] ?? '';
    assert.equal(JSON.parse(stored).lastUsedTimeMs, t.clock.ms);
    await t.backend.cleanup?.(t.ctx);
  });
});

describe('AppRole tidy', () => {
  it('answers 202 and removes expired secret IDs, orphans and dangling accessors', async () => {
    const t = setup();
    await t.role('svc');
    const keep = await t.secretId('svc');
    await t.secretId('svc', { ttl: 30 });
    await t.role('gone');
    await t.secretId('gone');
    // A role deleted behind the backend's back, and an accessor that points nowhere.
    await t.storage.delete('role/gone');
    await t.storage.put(
      'accessor/deadbeef',
      Buffer.from(JSON.stringify({ roleName: 'svc', secretIdHash: 'ab'.repeat(32) })),
    );
    t.clock.advanceSeconds(31);

    const resp = await t.call('update', 'tidy/secret-id');
    assert.equal(resp?.status, 202);
    assert.match(resp?.warnings?.[0] ?? '', /Tidy operation successfully started/);
    const again = await t.call('update', 'tidy/secret-id');
    assert.deepEqual(again?.warnings, ['Tidy operation already in progress.']);
    // The sweep runs in the background; wait until its last delete (the dangling accessor).
    const swept = async () => !(await t.storage.list('accessor/')).includes('deadbeef');
    for (let i = 0; i < 100 && !(await swept()); i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }

    const keys = [...(await t.storage.snapshot()).keys()];
    assert.equal(keys.filter(isSecretKey).length, 1);
    assert.equal(keys.filter((k) => k.startsWith('accessor/')).length, 1);
    const left = await t.call('list', 'role/svc/secret-id/');
    assert.deepEqual(left?.data?.keys, [keep.secret_id_accessor]);
  });
});

function isSecretKey(key: string): boolean {
  return key.startsWith('secret_id/');
}
