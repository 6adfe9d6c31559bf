import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TestClock, testContext } from '../../engines/kv/test-kit.ts';
import type {
  AuthResult,
  LogicalRequest,
  LogicalResponse,
  Operation,
} from '../../framework/types.ts';
import { BadRequestError, NotFoundError, PermissionDeniedError } from '../../lib/errors.ts';
import { MemoryStorage } from '../../storage/memory.ts';
import { tokenBackend } from './backend.ts';
import { TokenStore } from './store.ts';

/** Policies that stand for "sudo on the requested path" in these tests. */
const SUDO_POLICY = 'sudoer';

async function setup() {
  const clock = new TestClock();
  const ctx = testContext(new MemoryStorage(), { clock, type: 'token' });
  const tokens = new TokenStore({ storage: new MemoryStorage(), system: ctx.system });
  const sudoAsked: string[] = [];
  const backend = tokenBackend(tokens, {
    hasSudo: async (req) => {
      sudoAsked.push(req.path);
      return req.caller?.policies.includes(SUDO_POLICY) ?? false;
    },
  });
  const { token: root } = await tokens.createRoot();

  /**
   * One request as the core sends it: resolve the token (403 when unknown),
   * hand the request to the backend, then count the use.
   */
  async function call(
    token: string,
    operation: Operation,
    relPath: string,
    data: Record<string, unknown> = {},
  ): Promise<LogicalResponse | undefined> {
    const entry = await tokens.lookup(token);
    if (!entry) throw new PermissionDeniedError();
    const req: LogicalRequest = {
      id: 'req-1',
      operation,
      path: `auth/token/${relPath}`,
      relPath,
      mountPoint: 'auth/token/',
      data,
      query: {},
      clientToken: token,
      caller: {
        accessor: entry.accessor,
        displayName: entry.displayName,
        policies: entry.policies,
        entityId: entry.entityId,
        meta: entry.meta,
        tokenHash: entry.hash,
        remoteAddr: '10.0.0.7',
      },
      remoteAddr: '10.0.0.7',
      headers: {},
    };
    const resp = await backend.handle(req, ctx);
    await tokens.useToken(entry);
    return resp;
  }

  async function create(
    token: string,
    data: Record<string, unknown> = {},
    path = 'create',
  ): Promise<AuthResult & { clientToken: string; accessor: string }> {
    const auth = (await call(token, 'update', path, data))?.auth;
    assert.ok(auth?.clientToken && auth.accessor);
    return auth as AuthResult & { clientToken: string; accessor: string };
  }

  async function lookup(token: string) {
    return (await call(root, 'update', 'lookup', { token }))?.data ?? undefined;
  }

  return { clock, tokens, backend, root, call, create, lookup, sudoAsked };
}

describe('token backend', () => {
  it('creates a child token with the policies, TTL, use limit and metadata asked for', async () => {
    const { root, create, lookup } = await setup();
    const auth = await create(root, {
      policies: 'app, reports',
      ttl: '1h',
      num_uses: '3',
      meta: { team: 'ops' },
      display_name: 'ci job',
    });

    assert.match(auth.clientToken, /^hvs\./);
    assert.deepEqual(auth.policies, ['app', 'default', 'reports']);
    assert.deepEqual(auth.tokenPolicies, ['app', 'default', 'reports']);
    assert.deepEqual(auth.metadata, { team: 'ops' });
    assert.equal(auth.ttlSeconds, 3600);
    assert.equal(auth.renewable, true);
    assert.equal(auth.orphan, false);
    assert.equal(auth.numUses, 3);
    assert.equal(auth.tokenType, 'service');

    const data = await lookup(auth.clientToken);
    assert.equal(data?.id, auth.clientToken);
    assert.equal(data?.accessor, auth.accessor);
    assert.equal(data?.display_name, 'token-ci-job');
    assert.equal(data?.path, 'auth/token/create');
    assert.equal(data?.num_uses, 3);
    assert.equal(data?.ttl, 3600);
    assert.deepEqual(data?.meta, { team: 'ops' });
  });

  it('gives a child the policies of its parent when none are asked for', async () => {
    const { root, create } = await setup();
    const parent = await create(root, { policies: ['app'], no_default_policy: true });
    assert.deepEqual(parent.policies, ['app']);
    const child = await create(parent.clientToken);
    assert.deepEqual(child.policies, ['app']);
  });

  it('refuses a child policy its non-sudo parent does not hold', async () => {
    const { root, create, call } = await setup();
    const parent = await create(root, { policies: ['app'] });
    await assert.rejects(
      call(parent.clientToken, 'update', 'create', { policies: ['admin'] }),
      (err: unknown) =>
        err instanceof BadRequestError && err.message === 'child policies must be subset of parent',
    );
  });

  it('revokes every descendant when a token is revoked', async () => {
    const { root, create, call, lookup } = await setup();
    const parent = await create(root, { policies: ['app'] });
    const child = await create(parent.clientToken);
    const grandchild = await create(child.clientToken);

    assert.equal(await call(root, 'update', 'revoke', { token: parent.clientToken }), undefined);

    for (const token of [parent, child, grandchild].map((a) => a.clientToken)) {
      await assert.rejects(lookup(token), { status: 403, message: 'bad token' });
    }
  });

  it('keeps an orphan made through create-orphan alive when its creator is revoked', async () => {
    const { root, create, call, lookup } = await setup();
    const parent = await create(root, { policies: ['app'] });
    const orphan = await create(parent.clientToken, {}, 'create-orphan');
    assert.equal(orphan.orphan, true);

    await call(root, 'update', 'revoke', { token: parent.clientToken });

    const data = await lookup(orphan.clientToken);
    assert.equal(data?.orphan, true);
    assert.equal(data?.path, 'auth/token/create-orphan');
  });

  it('revoke-orphan revokes a token but leaves its children as orphans', async () => {
    const { root, create, call, lookup } = await setup();
    const parent = await create(root, { policies: ['app'] });
    const child = await create(parent.clientToken);
    assert.equal((await lookup(child.clientToken))?.orphan, false);

    const resp = await call(root, 'update', 'revoke-orphan', { token: parent.clientToken });
    assert.equal(resp, undefined);

    await assert.rejects(lookup(parent.clientToken), PermissionDeniedError);
    assert.equal((await lookup(child.clientToken))?.orphan, true);
    await assert.rejects(call(root, 'update', 'revoke-orphan', { token: parent.clientToken }), {
      status: 400,
      message: 'token to revoke not found',
    });
  });

  it('declares revoke-orphan and the accessor list as sudo paths', async () => {
    const { backend } = await setup();
    assert.deepEqual(backend.sudoPaths, ['revoke-orphan', 'accessors']);
  });

  it('looks a token up by accessor without revealing the token', async () => {
    const { root, create, call } = await setup();
    const auth = await create(root, { policies: ['app'], ttl: '10m' });

    const data = (await call(root, 'update', 'lookup-accessor', { accessor: auth.accessor }))?.data;
    assert.equal(data?.id, '');
    assert.equal(data?.accessor, auth.accessor);
    assert.deepEqual(data?.policies, ['app', 'default']);
    assert.equal(data?.ttl, 600);

    await assert.rejects(call(root, 'update', 'lookup-accessor', { accessor: 'nope' }), {
      status: 400,
      message: 'invalid accessor',
    });
    await assert.rejects(call(root, 'update', 'lookup-accessor', {}), {
      status: 400,
      message: 'missing accessor',
    });
  });

  it('answers 403 "bad token" for a lookup of an unknown token', async () => {
    const { root, call } = await setup();
    await assert.rejects(call(root, 'update', 'lookup', { token: 'hvs.unknown' }), {
      status: 403,
      message: 'bad token',
    });
  });

  it('shows the calling token through lookup-self on GET and POST', async () => {
    const { root, create, call } = await setup();
    const auth = await create(root, { policies: ['app'] });
    for (const op of ['read', 'update'] as const) {
      const data = (await call(auth.clientToken, op, 'lookup-self'))?.data;
      assert.equal(data?.id, auth.clientToken);
      assert.equal(data?.accessor, auth.accessor);
    }
    const viaLookup = (await call(auth.clientToken, 'update', 'lookup'))?.data;
    assert.equal(viaLookup?.accessor, auth.accessor, 'lookup without a token shows the caller');
  });

  it('renews within explicit_max_ttl and caps the last renewal at it', async () => {
    const { root, clock, create, call } = await setup();
    const auth = await create(root, { policies: ['app'], ttl: '1h', explicit_max_ttl: '2h' });

    clock.advanceSeconds(30 * 60);
    const first = await call(root, 'update', 'renew', {
      token: auth.clientToken,
      increment: '1h',
    });
    assert.equal(first?.auth?.ttlSeconds, 3600);
    assert.equal(first?.auth?.clientToken, auth.clientToken);
    assert.equal(first?.warnings, undefined);

    clock.advanceSeconds(60 * 60);
    const capped = await call(auth.clientToken, 'update', 'renew-self', { increment: 3600 });
    assert.equal(capped?.auth?.ttlSeconds, 30 * 60);
    assert.equal(capped?.auth?.clientToken, auth.clientToken);
    assert.match(capped?.warnings?.[0] ?? '', /capped/);

    clock.advanceSeconds(30 * 60 + 1);
    await assert.rejects(call(auth.clientToken, 'read', 'lookup-self'), PermissionDeniedError);
  });

  it('renews by accessor without revealing the token', async () => {
    const { root, clock, create, call } = await setup();
    const auth = await create(root, { policies: ['app'], ttl: '10m' });
    clock.advanceSeconds(5 * 60);

    const resp = await call(root, 'update', 'renew-accessor', { accessor: auth.accessor });
    assert.equal(resp?.auth?.clientToken, '');
    assert.equal(resp?.auth?.accessor, auth.accessor);
    assert.equal(resp?.auth?.ttlSeconds, 600, 'no increment grants the TTL again');
  });

  it('refuses to renew a token without a TTL or one that is not renewable', async () => {
    const { root, create, call } = await setup();
    await assert.rejects(call(root, 'update', 'renew-self'), {
      status: 400,
      message: 'lease is not renewable',
    });
    const fixed = await create(root, { policies: ['app'], renewable: false });
    assert.equal(fixed.renewable, false);
    await assert.rejects(call(root, 'update', 'renew', { token: fixed.clientToken }), {
      status: 400,
      message: 'lease is not renewable',
    });
    await assert.rejects(call(root, 'update', 'renew', { token: 'hvs.unknown' }), {
      status: 400,
      message: 'token not found',
    });
  });

  it('lets a token with a TTL expire, and tidy revokes it without a lookup', async () => {
    const { root, clock, create, call, tokens } = await setup();
    const brief = await create(root, { policies: ['app'], ttl: 60 });
    const accessorsBefore = await tokens.listAccessors();
    assert.ok(accessorsBefore.includes(brief.accessor));

    clock.advanceSeconds(61);
    const resp = await call(root, 'update', 'tidy');
    assert.equal(resp?.status, 202);
    assert.deepEqual(resp?.data, { revoked: 1, stranded: 0, stale_indexes: 0 });
    assert.ok(!(await tokens.listAccessors()).includes(brief.accessor));
    await assert.rejects(call(brief.clientToken, 'read', 'lookup-self'), PermissionDeniedError);
  });

  it('lets a token on its last use look itself up, and is gone afterwards', async () => {
    const { root, create, call } = await setup();
    const once = await create(root, { policies: ['app'], num_uses: 1 });
    const data = (await call(once.clientToken, 'read', 'lookup-self'))?.data;
    assert.equal(data?.accessor, once.accessor);
    await assert.rejects(call(once.clientToken, 'read', 'lookup-self'), PermissionDeniedError);
  });

  it('revokes the calling token and its children through revoke-self', async () => {
    const { root, create, call, lookup } = await setup();
    const parent = await create(root, { policies: ['app'] });
    const child = await create(parent.clientToken);
    assert.equal(await call(parent.clientToken, 'update', 'revoke-self'), undefined);
    await assert.rejects(lookup(parent.clientToken), PermissionDeniedError);
    await assert.rejects(lookup(child.clientToken), PermissionDeniedError);
  });

  it('lets a limited-use token revoke itself', async () => {
    const { root, create, call, tokens } = await setup();
    const limited = await create(root, { policies: ['app'], num_uses: 2 });
    assert.equal(await call(limited.clientToken, 'update', 'revoke-self'), undefined);
    assert.equal(await tokens.lookup(limited.clientToken, { includePending: true }), undefined);
  });

  it('answers 204 when revoking a token that does not exist', async () => {
    const { root, call } = await setup();
    assert.equal(await call(root, 'update', 'revoke', { token: 'hvs.unknown' }), undefined);
    await assert.rejects(call(root, 'update', 'revoke', {}), {
      status: 400,
      message: 'missing token ID',
    });
  });

  it('revokes a token and its children by accessor', async () => {
    const { root, create, call, lookup } = await setup();
    const parent = await create(root, { policies: ['app'] });
    const child = await create(parent.clientToken);
    await call(root, 'update', 'revoke-accessor', { accessor: parent.accessor });
    await assert.rejects(lookup(child.clientToken), PermissionDeniedError);
    await assert.rejects(call(root, 'update', 'revoke-accessor', { accessor: parent.accessor }), {
      status: 400,
      message: 'invalid accessor',
    });
  });

  it('lists the accessor of every live token', async () => {
    const { root, create, call } = await setup();
    const a = await create(root, { policies: ['app'] });
    const b = await create(root, { policies: ['app'] });
    const keys = (await call(root, 'list', 'accessors/'))?.data?.keys as string[];
    assert.equal(keys.length, 3);
    assert.ok(keys.includes(a.accessor) && keys.includes(b.accessor));
  });

  it('refuses wrong types with a 400 before creating anything', async () => {
    const { root, call, tokens } = await setup();
    const before = (await tokens.listAccessors()).length;
    const bad: Record<string, unknown>[] = [
      { ttl: 'forever' },
      { ttl: -5 },
      { explicit_max_ttl: { h: 1 } },
      { period: '1 hour' },
      { num_uses: 'many' },
      { num_uses: -1 },
      { policies: { a: 1 } },
      { meta: { nested: { a: 1 } } },
      { meta: { list: ['a'] } },
      { meta: 'team=ops' },
      { renewable: 'maybe' },
      { no_parent: 'sometimes' },
    ];
    for (const data of bad) {
      await assert.rejects(
        call(root, 'update', 'create', data),
        BadRequestError,
        JSON.stringify(data),
      );
    }
    await assert.rejects(
      call(root, 'update', 'renew-self', { increment: 'soon' }),
      BadRequestError,
    );
    assert.equal((await tokens.listAccessors()).length, before);
  });

  it('reads an empty duration as unset, as clients send for unset flags', async () => {
    const { root, create } = await setup();
    const auth = await create(root, {
      policies: ['app'],
      ttl: '',
      explicit_max_ttl: '',
      period: '',
    });
    assert.equal(auth.ttlSeconds, 2_764_800);
  });

  it('refuses a custom id, no_parent or a period without sudo', async () => {
    const { root, create, call } = await setup();
    const plain = await create(root, { policies: ['app'] });
    const cases: [Record<string, unknown>, string][] = [
      [{ id: 'my-token' }, 'root or sudo privileges required to specify token id'],
      [{ no_parent: true }, 'root or sudo privileges required to create orphan token'],
      [{ period: '1h' }, 'root or sudo privileges required to create periodic token'],
    ];
    for (const [data, message] of cases) {
      await assert.rejects(call(plain.clientToken, 'update', 'create', data), {
        status: 400,
        message,
      });
    }
  });

  it('accepts a custom id and no_parent from a caller with sudo on create', async () => {
    const { root, create, lookup, sudoAsked } = await setup();
    const admin = await create(root, { policies: [SUDO_POLICY] });
    const made = await create(admin.clientToken, {
      id: 'my-token',
      no_parent: true,
      policies: ['other'],
    });
    assert.equal(made.clientToken, 'my-token');
    assert.equal(made.orphan, true);
    assert.deepEqual(made.policies, ['default', 'other']);
    assert.equal((await lookup('my-token'))?.orphan, true);
    assert.ok(sudoAsked.includes('auth/token/create'));
  });

  it('fails loudly on batch tokens, entity aliases and token roles', async () => {
    const { root, call } = await setup();
    await assert.rejects(call(root, 'update', 'create', { type: 'batch' }), {
      status: 400,
      message: 'batch tokens are not supported by this server yet',
    });
    await assert.rejects(call(root, 'update', 'create', { type: 'weird' }), BadRequestError);
    await assert.rejects(call(root, 'update', 'create', { entity_alias: 'bob' }), BadRequestError);
    await assert.rejects(call(root, 'update', 'create/ci', {}), {
      status: 400,
      message: 'token roles are not supported by this server yet',
    });
    await assert.rejects(call(root, 'list', 'roles/'), NotFoundError);
  });

  it('accepts the empty entity_alias and service type the Vault CLI always sends', async () => {
    const { root, create } = await setup();
    const auth = await create(root, {
      policies: ['app'],
      entity_alias: '',
      type: 'service',
      ttl: '0s',
    });
    assert.equal(auth.tokenType, 'service');
  });

  it('refuses child tokens from a limited-use token', async () => {
    const { root, create, call } = await setup();
    const limited = await create(root, { policies: ['app'], num_uses: 5 });
    await assert.rejects(call(limited.clientToken, 'update', 'create', {}), {
      status: 400,
      message: 'restricted use token cannot generate child tokens',
    });
  });
});
