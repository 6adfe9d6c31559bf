import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_LOCKOUT, LoginLockout, lockoutSettingsFor } from './lockout.ts';

describe('LoginLockout', () => {
  const settings = { threshold: 3, durationMs: 60_000, counterResetMs: 30_000 };

  it('locks a key after the threshold and lifts the lock after its duration', () => {
    let now = 1_000_000;
    const lock = new LoginLockout(settings, { now: () => now });
    assert.equal(lock.fail(['user/alice']).locked, false);
    assert.equal(lock.fail(['user/alice']).locked, false);
    const third = lock.fail(['user/alice']);
    assert.deepEqual(third, { locked: true, retryAfterSeconds: 60 });
    assert.equal(lock.state(['user/bob']).locked, false);
    now += 59_000;
    assert.equal(lock.state(['user/alice']).locked, true);
    now += 1_001;
    assert.equal(lock.state(['user/alice']).locked, false);
  });

  it('forgets failures older than the counter reset, and on success', () => {
    let now = 0;
    const lock = new LoginLockout(settings, { now: () => now });
    lock.fail(['k']);
    lock.fail(['k']);
    now += 31_000;
    assert.equal(lock.fail(['k']).locked, false, 'the old failures no longer count');
    lock.fail(['k']);
    lock.succeed(['k']);
    assert.equal(lock.fail(['k']).locked, false);
  });

  it('locks when any of several keys is locked', () => {
    const lock = new LoginLockout(settings, { now: () => 0 });
    for (let i = 0; i < 3; i++) lock.fail([`addr/10.0.0.1`, `user/u${i}`]);
    assert.equal(lock.state(['addr/10.0.0.1', 'user/new']).locked, true);
    assert.equal(lock.state(['addr/10.0.0.2', 'user/u0']).locked, false);
  });

  it('stays bounded under a flood of distinct keys, and can be disabled', () => {
    const lock = new LoginLockout(settings, { now: () => 0, maxKeys: 100 });
    for (let i = 0; i < 1000; i++) lock.fail([`user/${i}`]);
    assert.equal(lock.size, 100);
    const off = new LoginLockout({ ...settings, threshold: 0 });
    for (let i = 0; i < 10; i++) assert.equal(off.fail(['k']).locked, false);
  });
});

describe('lockoutSettingsFor', () => {
  it("fills a mount's partial user_lockout_config from the defaults", () => {
    assert.deepEqual(lockoutSettingsFor(undefined), DEFAULT_LOCKOUT);
    assert.deepEqual(lockoutSettingsFor({ threshold: 2, durationSeconds: 3 }), {
      threshold: 2,
      durationMs: 3000,
      counterResetMs: DEFAULT_LOCKOUT.counterResetMs,
    });
    assert.equal(lockoutSettingsFor({ disable: true, threshold: 9 }).threshold, 0);
  });
});
