import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InspectableStorage, TestClock } from '../../engines/kv/test-kit.ts';
import type { SystemView } from '../../framework/types.ts';
import { BadRequestError } from '../../lib/errors.ts';
import { lookupData } from './entry.ts';
import { TokenStore } from './store.ts';

function setup() {
  const clock = new TestClock();
  const storage = new InspectableStorage();
  const system: SystemView = {
    defaultLeaseTtlSeconds: 2_764_800,
    maxLeaseTtlSeconds: 2_764_800,
    now: clock.now,
  };
  const tokens = new TokenStore({ storage, system });
  return { clock, storage, tokens };
}

describe('login tokens bound to networks', () => {
  it('work from inside their bound CIDRs and are unknown from outside', async () => {
    const { tokens } = setup();
    const { token, entry } = await tokens.createFromAuth(
      { policies: ['app'], boundCidrs: ['10.0.0.0/8', ' 192.168.1.5 '] },
      { path: 'auth/approle/login' },
    );
    assert.deepEqual(entry.boundCidrs, ['10.0.0.0/8', '192.168.1.5']);
    assert.ok(await tokens.lookup(token, { from: '10.20.30.40' }));
    assert.ok(await tokens.lookup(token, { from: '::ffff:192.168.1.5' }));
    assert.equal(await tokens.lookup(token, { from: '192.168.1.6' }), undefined);
    assert.equal(await tokens.lookup(token, { from: '127.0.0.1' }), undefined);
    assert.ok(await tokens.lookup(token), 'a lookup that is not a use does not check the address');
    assert.deepEqual(lookupData(entry, '', 0).bound_cidrs, ['10.0.0.0/8', '192.168.1.5']);
  });

  it('are refused at creation when a CIDR does not parse', async () => {
    const { tokens } = setup();
    await assert.rejects(
      tokens.createFromAuth(
        { policies: [], boundCidrs: ['10.0.0.0/33'] },
        { path: 'auth/x/login' },
      ),
      BadRequestError,
    );
  });

  it('without bound CIDRs work from anywhere', async () => {
    const { tokens } = setup();
    const { token } = await tokens.createFromAuth({ policies: [] }, { path: 'auth/x/login' });
    assert.ok(await tokens.lookup(token, { from: '203.0.113.1' }));
  });
});

describe('login token lifetimes', () => {
  it("follow the issuing mount's tuned TTLs", async () => {
    const { tokens } = setup();
    const ttls = { defaultLeaseTtlSeconds: 3600, maxLeaseTtlSeconds: 7200 };
    const plain = await tokens.createFromAuth({ policies: [] }, { path: 'auth/a/login', ttls });
    assert.equal(plain.entry.ttlSeconds, 3600);
    const asked = await tokens.createFromAuth(
      { policies: [], ttlSeconds: 10_800 },
      { path: 'auth/a/login', ttls },
    );
    assert.equal(asked.entry.ttlSeconds, 7200);
    assert.match(asked.warnings.join(), /capped/);
  });

  it('take the display name from the mount point they came through', async () => {
    const { tokens } = setup();
    const { entry } = await tokens.createFromAuth(
      { policies: [], displayName: '' },
      { path: 'auth/team/approle/login', mountPoint: 'auth/team/approle/' },
    );
    assert.equal(entry.displayName, 'team-approle');
  });
});

describe('token last use', () => {
  it('is shown at once and written to the entry by the flush, once', async () => {
    const { tokens, storage, clock } = setup();
    const { token, entry } = await tokens.createFromAuth(
      { policies: [] },
      { path: 'auth/a/login' },
    );
    const writes = () => storage.singleWrites + storage.transactions;
    const before = writes();
    for (let i = 0; i < 5; i++) {
      clock.advanceSeconds(1);
      await tokens.lookup(token, { from: `10.0.0.${i}` });
    }
    assert.equal(writes(), before, 'no write on the request path');
    const shown = lookupData(entry, '', clock.ms, tokens.unflushedUse(entry));
    assert.equal(shown.last_used_time, clock.now().toISOString());
    assert.equal(shown.last_used_addr, '10.0.0.4');

    await tokens.flushLastUse();
    assert.equal(writes(), before + 1);
    const stored = await tokens.lookup(token);
    assert.equal(stored?.lastUsedTimeMs, clock.ms);
    assert.equal(stored?.lastUsedAddr, '10.0.0.4');
    assert.equal(lookupData(stored!, '', clock.ms).last_used_addr, '10.0.0.4');
  });

  it('is never written back for a token revoked before the flush', async () => {
    const { tokens, storage } = setup();
    const { token, entry } = await tokens.createFromAuth(
      { policies: [] },
      { path: 'auth/a/login' },
    );
    await tokens.lookup(token, { from: '10.0.0.1' });
    await tokens.revoke(entry);
    await tokens.flushLastUse();
    const keys = [...(await storage.snapshot()).keys()];
    assert.deepEqual(keys, ['salt']);
  });

  it('reads null before the first use', async () => {
    const { tokens } = setup();
    const { entry } = await tokens.createFromAuth({ policies: [] }, { path: 'auth/a/login' });
    const shown = lookupData(entry, '', 0, tokens.unflushedUse(entry));
    assert.equal(shown.last_used_time, null);
    assert.equal(shown.last_used_addr, null);
  });
});
