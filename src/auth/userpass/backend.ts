/**
 * The `userpass` auth method: users with passwords managed under `users/`,
 * logging in at `login/<username>` (unauthenticated), as Vault's is used by
 * hvac's `client.auth.userpass` and `vault login -method=userpass`.
 */
import { defineBackend } from '../../framework/backend.ts';
import type { Backend } from '../../framework/types.ts';
import { LoginLockout } from '../lockout.ts';
import { accountKey, loginPath } from './login.ts';
import { type PasswordKdf, scryptKdf } from './password.ts';
import { userPaths } from './users.ts';

export interface UserpassOptions {
  /** The password hashing; scrypt with SCRYPT_DEFAULTS unless a test swaps it. */
  kdf?: PasswordKdf;
  /** Clock of the lockout counters, for tests. */
  now?: () => number;
}

const HELP =
  'The userpass auth method lets users log in with a username and password. Passwords ' +
  'are stored as salted scrypt hashes. Failed logins lock an account and the client ' +
  "address for a while, as the mount's user_lockout_config says (sys/auth/<path>/tune).";

export function userpassBackend(opts: UserpassOptions = {}): Backend {
  const kdf = opts.kdf ?? scryptKdf();
  // One table per mount, in memory on this node, as Vault keeps its counters; each
  // login applies the mount's current user_lockout_config before counting.
  const lockout = new LoginLockout(undefined, { now: opts.now });

  return defineBackend({
    type: 'userpass',
    help: HELP,
    unauthenticatedPaths: ['login/*'],
    paths: [...userPaths(kdf, (name) => lockout.unlock(accountKey(name))), loginPath(kdf, lockout)],
  });
}
