/**
 * `login/<username>` and the failed-login lockout that guards it.
 *
 * Every failure looks alike to the client: an unknown user and a wrong
 * password both answer 400 "invalid username or password", and both cost one
 * scrypt (an unknown user is checked against a dummy hash). After the
 * mount's `user_lockout_config` threshold of failures (Vault's defaults: 5
 * within 15 minutes), the account and the client address are each locked
 * (15 minutes); while locked, a login answers 403 "permission denied"
 * without checking the password, as Vault's user lockout documents.
 * Unknown usernames are counted like known ones, so the lock gives away
 * nothing about who exists.
 */
import type { PathSpec } from '../../framework/backend.ts';
import type { BackendContext, LogicalRequest } from '../../framework/types.ts';
import { cidrMatcher, plainAddress } from '../../lib/cidr.ts';
import { BadRequestError, PermissionDeniedError } from '../../lib/errors.ts';
import { type LoginLockout, lockoutSettingsFor } from '../lockout.ts';
import { authFromSettings } from '../token-fields.ts';
import type { PasswordKdf } from './password.ts';
import { checkPasswordSize, isValidUsername, loadUser, rehashIfWeak } from './users.ts';

const INVALID = 'invalid username or password';

export const accountKey = (name: string) => `account/${name}`;
const addressKey = (req: LogicalRequest) => `address/${plainAddress(req.remoteAddr)}`;

/** Counters on the core's metrics registry: keep.userpass.login.success, ... */
function count(ctx: BackendContext, name: string): void {
  ctx.system.metrics?.incr(`keep.userpass.${name}`, 1, { mount: ctx.mount.path });
}

export function loginPath(kdf: PasswordKdf, lockout: LoginLockout): PathSpec {
  return {
    pattern: 'login/(?<username>[^/]+)',
    fields: {
      username: { type: 'string', description: 'Username; case does not matter.' },
      password: { type: 'string', description: 'Password of the user.' },
    },
    synopsis: 'Log in with a username and password.',
    description:
      "Answers with a token carrying the user's token settings. Failures answer 400 " +
      '"invalid username or password" whatever failed. After repeated failures the ' +
      "account and the client address are locked for a while (the mount's " +
      'user_lockout_config, set with sys/auth/<path>/tune) and logins answer 403 until ' +
      'the lock lifts.',
    operations: {
      update: async (req, f, ctx) => {
        const name = f.string('username').toLowerCase();
        const password = f.string('password');
        if (password === '') throw new BadRequestError('missing password');
        checkPasswordSize(password);
        lockout.settings = lockoutSettingsFor(ctx.mount.userLockout);

        // A name no user can have counts against the address only (so junk names
        // cannot fill the lockout table) and skips the KDF: the answer tells no more.
        const valid = isValidUsername(name);
        const keys = valid ? [accountKey(name), addressKey(req)] : [addressKey(req)];
        if (lockout.state(keys).locked) {
          count(ctx, 'login.locked');
          throw new PermissionDeniedError();
        }

        const entry = valid ? await loadUser(ctx.storage, name) : undefined;
        const hash = entry?.passwordHash ?? (valid ? kdf.dummy() : undefined);
        const matches = hash !== undefined && (await kdf.verify(password, hash));
        if (!entry || !matches) {
          count(ctx, 'login.failure');
          if (lockout.fail(keys).locked) {
            count(ctx, 'lockout.engaged');
            ctx.system.logger?.warn(
              {
                mount: ctx.mount.path,
                username: valid ? name : undefined,
                remote_addr: req.remoteAddr,
              },
              'userpass logins locked after repeated failures',
            );
          }
          throw new BadRequestError(INVALID);
        }

        if (!cidrMatcher(entry.token.boundCidrs)(req.remoteAddr)) {
          count(ctx, 'login.failure');
          throw new PermissionDeniedError();
        }
        lockout.succeed([accountKey(name)]);
        await rehashIfWeak(ctx.storage, name, { entry, password, kdf });

        const auth = authFromSettings(entry.token, {
          displayName: name,
          metadata: { username: name },
          aliasName: name,
        });
        count(ctx, 'login.success');
        return { auth };
      },
    },
  };
}
