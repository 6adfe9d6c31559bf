import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import type {
  Backend,
  BackendContext,
  LogicalResponse,
  Operation,
  UserLockoutConfig,
} from '../../framework/types.ts';
import { KeepError } from '../../lib/errors.ts';
import { MemoryStorage } from '../../storage/memory.ts';
import { DEFAULT_TOKEN_SETTINGS } from '../token-fields.ts';
import { userpassBackend } from './backend.ts';
import { type PasswordKdf, scryptKdf } from './password.ts';

/** Cheap scrypt for tests, recording every verification and the hash it was given. */
function recordingKdf(inner = scryptKdf({ logN: 10, r: 1, p: 1 })) {
  const verified: string[] = [];
  const kdf: PasswordKdf = {
    ...inner,
    async verify(password, encoded) {
      verified.push(encoded);
      return inner.verify(password, encoded);
    },
  };
  return { kdf, verified };
}

interface Harness {
  backend: Backend;
  ctx: BackendContext;
  storage: MemoryStorage;
  verified: string[];
  dummy: string;
  counters: Map<string, number>;
  clock: { ms: number };
  send(
    op: Operation,
    path: string,
    data?: Record<string, unknown>,
    remoteAddr?: string,
  ): Promise<LogicalResponse | undefined>;
  /** The error a request fails with; fails the test if it succeeds. */
  refused(
    op: Operation,
    path: string,
    data?: Record<string, unknown>,
    remoteAddr?: string,
  ): Promise<KeepError>;
}

async function harness(
  kdfOverride?: PasswordKdf,
  userLockout?: UserLockoutConfig,
): Promise<Harness> {
  const { kdf, verified } = recordingKdf(kdfOverride);
  const clock = { ms: 1_000_000 };
  const backend = userpassBackend({ kdf, now: () => clock.ms });
  const storage = new MemoryStorage();
  const counters = new Map<string, number>();
  const ctx: BackendContext = {
    storage,
    mount: {
      path: 'auth/userpass/',
      type: 'userpass',
      uuid: 'u-1',
      accessor: 'userpass_1',
      description: '',
      options: {},
      defaultLeaseTtlSeconds: 0,
      maxLeaseTtlSeconds: 0,
      userLockout,
    },
    system: {
      defaultLeaseTtlSeconds: 2_764_800,
      maxLeaseTtlSeconds: 2_764_800,
      now: () => new Date(clock.ms),
      metrics: {
        incr(name, value = 1, labels) {
          const key = `${name}{${labels?.mount}}`;
          counters.set(key, (counters.get(key) ?? 0) + value);
        },
        timing() {},
      },
    },
  };
  const send: Harness['send'] = async (op, path, data = {}, remoteAddr = '10.0.0.7') => {
    const req = {
      id: 'r',
      operation: op,
      path: `auth/userpass/${path}`,
      relPath: path,
      mountPoint: 'auth/userpass/',
      data,
      query: {},
      remoteAddr,
      headers: {},
    };
    if (req.operation === 'update' && (await backend.exists(req, ctx)) === false) {
      req.operation = 'create';
    }
    return backend.handle(req, ctx);
  };
  const refused: Harness['refused'] = async (op, path, data, remoteAddr) => {
    try {
      await send(op, path, data, remoteAddr);
    } catch (err) {
      assert.ok(err instanceof KeepError, `expected a KeepError, got ${err}`);
      return err;
    }
    assert.fail(`${op} ${path} succeeded`);
  };
  return { backend, ctx, storage, verified, dummy: kdf.dummy(), counters, clock, send, refused };
}

const METRIC = (name: string) => `keep.userpass.${name}{auth/userpass/}`;

describe('userpass users', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });

  it('creates a user under its lowercased name, lists and reads it without any password', async () => {
    await h.send('update', 'users/Alice', {
      password: 'correct horse',
      token_policies: 'Dev, ops',
      token_ttl: '1h',
    });
    await h.send('update', 'users/bob.smith', { password: 'pw', policies: ['legacy'] });

    const list = await h.send('list', 'users/');
    assert.deepEqual(list?.data?.keys, ['alice', 'bob.smith']);

    const read = await h.send('read', 'users/ALICE');
    assert.deepEqual(read?.data?.token_policies, ['dev', 'ops']);
    assert.equal(read?.data?.token_ttl, 3600);
    assert.equal(JSON.stringify(read).includes('correct horse'), false);
    assert.equal('password' in (read?.data ?? {}), false);

    const stored = (await h.storage.get('user/alice'))!.toString('utf8');
    assert.equal(stored.includes('correct horse'), false, 'the password is stored hashed');
    assert.match(stored, /"passwordHash":"\$scrypt\$ln=10,r=1,p=1\$/);
  });

  it('updates only the fields sent, and changes passwords and policies on their own paths', async () => {
    await h.send('update', 'users/alice', { password: 'one', token_policies: 'a', token_ttl: 60 });
    await h.send('update', 'users/alice', { token_max_ttl: '2h' });
    let read = await h.send('read', 'users/alice');
    assert.deepEqual(read?.data?.token_policies, ['a']);
    assert.equal(read?.data?.token_ttl, 60);
    assert.equal(read?.data?.token_max_ttl, 7200);
    assert.ok(await h.send('update', 'login/alice', { password: 'one' }));

    await h.send('update', 'users/alice/password', { password: 'two' });
    assert.equal((await h.refused('update', 'login/alice', { password: 'one' })).status, 400);
    assert.ok(await h.send('update', 'login/alice', { password: 'two' }));

    await h.send('update', 'users/alice/policies', { policies: 'x,Y' });
    read = await h.send('read', 'users/alice');
    assert.deepEqual(read?.data?.token_policies, ['x', 'y']);
    assert.equal(read?.data?.token_ttl, 60, 'other settings stay');
  });

  it('refuses bad input with a 400 that says what is wrong', async () => {
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['users/alice', {}, /missing password/],
      ['users/alice', { password: '' }, /missing password/],
      ['users/alice', { password: { a: 1 } }, /field "password": expected a string/],
      ['users/alice', { password: 'p', password_hash: '$2a$10$x' }, /password_hash is not/],
      ['users/alice', { password: 'x'.repeat(5000) }, /password is too long/],
      ['users/alice', { password: 'p', token_ttl: 'soon' }, /token_ttl/],
      ['users/alice', { password: 'p', token_bound_cidrs: 'nowhere' }, /invalid CIDR/],
      ['users/-alice', { password: 'p' }, /invalid username/],
      ['users/alice.', { password: 'p' }, /invalid username/],
      [`users/${'a'.repeat(200)}`, { password: 'p' }, /invalid username/],
      ['users/nobody/password', { password: 'p' }, /"nobody" does not exist/],
      ['users/nobody/policies', { policies: 'p' }, /"nobody" does not exist/],
    ];
    assert.equal((await h.refused('list', 'users/')).status, 404, 'an empty list is a 404');
    for (const [path, data, message] of cases) {
      const err = await h.refused('update', path, data);
      assert.equal(err.status, 400, `${path} ${JSON.stringify(data).slice(0, 60)}`);
      assert.match(err.message, message);
    }
    await h.send('update', 'users/alice', { password: 'p' });
    const noPolicies = await h.refused('update', 'users/alice/policies', {});
    assert.match(noPolicies.message, /policies must be provided/);
    assert.equal((await h.refused('read', 'users/carol')).status, 404);
  });

  it('deletes a user, after which it cannot log in', async () => {
    await h.send('update', 'users/alice', { password: 'pw' });
    await h.send('delete', 'users/alice');
    assert.equal(await h.storage.get('user/alice'), undefined);
    assert.equal((await h.refused('update', 'login/alice', { password: 'pw' })).status, 400);
  });
});

describe('userpass login', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
    await h.send('update', 'users/alice', {
      password: 'pw-alice',
      token_policies: 'dev',
      token_ttl: '1h',
      token_max_ttl: '2h',
    });
  });

  it('answers with an auth block carrying the user settings, whatever case the name has', async () => {
    const resp = await h.send('update', 'login/ALICE', { password: 'pw-alice' });
    assert.deepEqual(resp?.auth?.policies, ['dev']);
    assert.deepEqual(resp?.auth?.metadata, { username: 'alice' });
    assert.equal(resp?.auth?.displayName, 'alice');
    assert.equal(resp?.auth?.ttlSeconds, 3600);
    assert.equal(resp?.auth?.maxTtlSeconds, 7200);
    assert.equal(h.counters.get(METRIC('login.success')), 1);
  });

  it('fails an unknown user exactly as a wrong password, after the same KDF work', async () => {
    const aliceHash = JSON.parse((await h.storage.get('user/alice'))!.toString()).passwordHash;

    const wrong = await h.refused('update', 'login/alice', { password: 'nope' });
    assert.deepEqual(h.verified, [aliceHash]);

    const unknown = await h.refused('update', 'login/mallory', { password: 'nope' });
    assert.deepEqual(h.verified, [aliceHash, h.dummy], 'the dummy hash was checked');

    assert.equal(wrong.status, 400);
    assert.deepEqual([unknown.status, unknown.message], [wrong.status, wrong.message]);
    assert.equal(wrong.message, 'invalid username or password');
    assert.equal(h.counters.get(METRIC('login.failure')), 2);
  });

  it('refuses missing, mistyped and oversized input with a 400 and no token', async () => {
    const cases: Array<[string, Record<string, unknown>, RegExp]> = [
      ['login/alice', {}, /missing password/],
      ['login/alice', { password: '' }, /missing password/],
      ['login/alice', { password: ['a', 'b'] }, /expected a string/],
      ['login/alice', { password: { x: 1 } }, /expected a string/],
      ['login/alice', { password: 'x'.repeat(100_000) }, /password is too long/],
      [`login/${'a'.repeat(10_000)}`, { password: 'pw' }, /invalid username or password/],
      ['login/bad%name', { password: 'pw' }, /invalid username or password/],
    ];
    for (const [path, data, message] of cases) {
      const err = await h.refused('update', path, data);
      assert.equal(err.status, 400, path.slice(0, 40));
      assert.match(err.message, message);
    }
    assert.equal(h.verified.length, 0, 'none of these reached the KDF');
  });

  it('refuses a login from outside the bound CIDRs with a 403', async () => {
    await h.send('update', 'users/alice', { token_bound_cidrs: '192.168.0.0/16' });
    const err = await h.refused('update', 'login/alice', { password: 'pw-alice' }, '10.0.0.7');
    assert.equal(err.status, 403);
  });

  it('upgrades a hash made with weaker parameters on the next good login', async () => {
    const weak = scryptKdf({ logN: 10, r: 1, p: 1 });
    const strong = await harness(scryptKdf({ logN: 11, r: 1, p: 1 }));
    await strong.storage.put(
      'user/bob',
      Buffer.from(
        JSON.stringify({ passwordHash: await weak.hash('pw'), token: DEFAULT_TOKEN_SETTINGS }),
      ),
    );
    assert.ok(await strong.send('update', 'login/bob', { password: 'pw' }));
    const stored = JSON.parse((await strong.storage.get('user/bob'))!.toString());
    assert.match(stored.passwordHash, /^\$scrypt\$ln=11,r=1,p=1\$/);
  });
});

describe('userpass lockout', () => {
  const lockout = { threshold: 3, durationSeconds: 60, counterResetSeconds: 30 };
  let h: Harness;
  beforeEach(async () => {
    h = await harness(undefined, lockout);
    await h.send('update', 'users/alice', { password: 'pw-alice' });
  });

  it('locks an account after the threshold, answers 403 without checking passwords, and lifts', async () => {
    for (let i = 0; i < 3; i++) {
      const err = await h.refused('update', 'login/alice', { password: 'wrong' }, `10.0.0.${i}`);
      assert.equal(err.status, 400);
    }
    const checks = h.verified.length;
    const locked = await h.refused('update', 'login/alice', { password: 'pw-alice' }, '10.9.9.9');
    assert.deepEqual([locked.status, locked.message], [403, 'permission denied']);
    assert.equal(h.verified.length, checks, 'a locked account costs no KDF work');
    assert.equal(h.counters.get(METRIC('lockout.engaged')), 1);
    assert.equal(h.counters.get(METRIC('login.locked')), 1);

    h.clock.ms += 61_000;
    assert.ok(await h.send('update', 'login/alice', { password: 'pw-alice' }, '10.9.9.9'));
  });

  it('locks a client address that guesses across many usernames, known or not', async () => {
    for (const name of ['alice', 'bob', 'carol']) {
      await h.refused('update', `login/${name}`, { password: 'guess' }, '10.6.6.6');
    }
    const err = await h.refused('update', 'login/alice', { password: 'pw-alice' }, '10.6.6.6');
    assert.equal(err.status, 403);
    assert.ok(await h.send('update', 'login/alice', { password: 'pw-alice' }, '10.0.0.1'));
  });

  it('locks unknown usernames too, so the lock reveals nothing about who exists', async () => {
    for (let i = 0; i < 3; i++) {
      await h.refused('update', 'login/ghost', { password: 'x' }, `10.1.0.${i}`);
    }
    assert.equal((await h.refused('update', 'login/ghost', { password: 'x' })).status, 403);
  });

  it("follows the mount's user_lockout_config as it is tuned, and can be disabled", async () => {
    h.ctx.mount.userLockout = { disable: true };
    for (let i = 0; i < 5; i++) await h.refused('update', 'login/alice', { password: 'bad' });
    assert.ok(await h.send('update', 'login/alice', { password: 'pw-alice' }));

    h.ctx.mount.userLockout = { threshold: 1 };
    await h.refused('update', 'login/alice', { password: 'bad' });
    const err = await h.refused('update', 'login/alice', { password: 'pw-alice' });
    assert.equal(err.status, 403, 'one failure locks now');
  });

  it("uses Vault's defaults without a user_lockout_config: 5 failures lock", async () => {
    const fresh = await harness();
    await fresh.send('update', 'users/alice', { password: 'pw' });
    for (let i = 0; i < 4; i++) await fresh.refused('update', 'login/alice', { password: 'x' });
    assert.ok(await fresh.send('update', 'login/alice', { password: 'pw' }), 'four do not');
    for (let i = 0; i < 5; i++) await fresh.refused('update', 'login/alice', { password: 'x' });
    assert.equal((await fresh.refused('update', 'login/alice', { password: 'pw' })).status, 403);
    fresh.clock.ms += 15 * 60_000 + 1;
    assert.ok(await fresh.send('update', 'login/alice', { password: 'pw' }), '15 minutes later');
  });

  it('clears the lock of an account that is deleted', async () => {
    for (let i = 0; i < 3; i++) {
      await h.refused('update', 'login/alice', { password: 'bad' }, `10.2.0.${i}`);
    }
    await h.send('delete', 'users/alice');
    await h.send('update', 'users/alice', { password: 'new' });
    assert.ok(await h.send('update', 'login/alice', { password: 'new' }, '10.3.0.1'));
  });
});
