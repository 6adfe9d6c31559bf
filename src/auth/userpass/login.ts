/**
 * `login/<username>` and the failed-login lockout that guards it.
 *
 * Every failure looks alike to the client: an unknown user and a wrong
 * password both answer 400 "invalid username or password", and both cost one
 * scrypt (an unknown user is checked against a dummy hash). After
 * `lockout_threshold` failures within `lockout_counter_reset`, the account
 * and the client address are each locked for `lockout_duration`; while
 * locked, a login answers 403 "permission denied" without checking the
 * password, as Vault's user lockout does. Unknown usernames are counted
 * like known ones, so the lock gives away nothing about who exists.
 */
import type { PathSpec } from '../../framework/backend.ts';
import type { BackendContext, LogicalRequest } from '../../framework/types.ts';
import { cidrMatcher, plainAddress } from '../../lib/cidr.ts';
import { BadRequestError, PermissionDeniedError } from '../../lib/errors.ts';
import { DEFAULT_LOCKOUT, type LockoutSettings, LoginLockout } from '../lockout.ts';
import { authFromSettings } from '../token-fields.ts';
import type { PasswordKdf } from './password.ts';
import { checkPasswordSize, isValidUsername, loadUser, rehashIfWeak } from './users.ts';

const INVALID = 'invalid username or password';
const LOCKOUT_KEY = 'config/lockout';

/** `config/lockout` as stored, with Vault's `user_lockout_config` names. */
export interface LockoutConfig {
  lockout_threshold: number;
  lockout_duration: number;
  lockout_counter_reset: number;
  lockout_disable: boolean;
}

export const DEFAULT_LOCKOUT_CONFIG: LockoutConfig = {
  lockout_threshold: DEFAULT_LOCKOUT.threshold,
  lockout_duration: DEFAULT_LOCKOUT.durationMs / 1000,
  lockout_counter_reset: DEFAULT_LOCKOUT.counterResetMs / 1000,
  lockout_disable: false,
};

export function lockoutSettings(c: LockoutConfig): LockoutSettings {
  return {
    threshold: c.lockout_disable ? 0 : c.lockout_threshold,
    durationMs: c.lockout_duration * 1000,
    counterResetMs: c.lockout_counter_reset * 1000,
  };
}

export async function loadLockoutConfig(ctx: BackendContext): Promise<LockoutConfig> {
  const raw = await ctx.storage.get(LOCKOUT_KEY);
  if (!raw) return { ...DEFAULT_LOCKOUT_CONFIG };
  return { ...DEFAULT_LOCKOUT_CONFIG, ...(JSON.parse(raw.toString('utf8')) as LockoutConfig) };
}

export const accountKey = (name: string) => `account/${name}`;
const addressKey = (req: LogicalRequest) => `address/${plainAddress(req.remoteAddr)}`;

/** Counters on the core's metrics registry, labelled with the mount. */
function count(ctx: BackendContext, name: string): void {
  ctx.system.metrics?.incr(`keep.auth.${name}`, 1, { method: 'userpass', mount: ctx.mount.path });
}

export function loginPaths(kdf: PasswordKdf, lockout: LoginLockout): PathSpec[] {
  return [
    {
      pattern: 'login/(?<username>[^/]+)',
      fields: {
        username: { type: 'string', description: 'Username; case does not matter.' },
        password: { type: 'string', description: 'Password of the user.' },
      },
      synopsis: 'Log in with a username and password.',
      description:
        'Answers with a token carrying the user\'s token settings. Failures answer 400 ' +
        '"invalid username or password" whatever failed; after repeated failures the account ' +
        'and the client address are locked for a while (see config/lockout) and logins ' +
        'answer 403 until the lock lifts.',
      operations: {
        update: async (req, f, ctx) => {
          const name = f.string('username').toLowerCase();
          const password = f.string('password');
          if (password === '') throw new BadRequestError('missing password');
          checkPasswordSize(password);

          // A name no user can have counts against the address only (so junk names
          // cannot fill the lockout table) and skips the KDF: the answer tells no more.
          const valid = isValidUsername(name);
          const keys = valid ? [accountKey(name), addressKey(req)] : [addressKey(req)];
          if (lockout.state(keys).locked) {
            count(ctx, 'login.locked_out');
            throw new PermissionDeniedError();
          }

          const entry = valid ? await loadUser(ctx.storage, name) : undefined;
          const hash = entry?.passwordHash ?? (valid ? kdf.dummy() : undefined);
          const matches = hash !== undefined && (await kdf.verify(password, hash));
          if (!entry || !matches) {
            count(ctx, 'login.failure');
            if (lockout.fail(keys).locked) count(ctx, 'lockout.engaged');
            throw new BadRequestError(INVALID);
          }

          if (!cidrMatcher(entry.token.boundCidrs)(req.remoteAddr)) {
            count(ctx, 'login.failure');
            throw new PermissionDeniedError();
          }
          lockout.succeed([accountKey(name)]);
          await rehashIfWeak(ctx.storage, name, { entry, password, kdf });
          count(ctx, 'login.success');

          return {
            auth: authFromSettings(entry.token, {
              displayName: name,
              metadata: { username: name },
              aliasName: name,
            }),
          };
        },
      },
    },
    {
      pattern: 'config/lockout',
      fields: {
        lockout_threshold: {
          type: 'int',
          description: 'Failed logins that lock an account or address; default 5.',
        },
        lockout_duration: {
          type: 'duration',
          description: 'How long a lock lasts; default 15m.',
        },
        lockout_counter_reset: {
          type: 'duration',
          description: 'Failures older than this stop counting; default 15m.',
        },
        lockout_disable: { type: 'bool', description: 'Turn lockout off for this mount.' },
      },
      synopsis: 'Failed-login lockout settings of this mount.',
      description:
        'The names are those of Vault\'s user_lockout_config. Counters live in memory on ' +
        'this node and start again after a restart or a seal.',
      operations: {
        read: async (_req, _f, ctx) => ({ data: { ...(await loadLockoutConfig(ctx)) } }),
        update: async (_req, f, ctx) => {
          const next = await loadLockoutConfig(ctx);
          if (f.has('lockout_threshold')) next.lockout_threshold = f.int('lockout_threshold');
          if (f.has('lockout_duration')) next.lockout_duration = f.get('lockout_duration');
          if (f.has('lockout_counter_reset')) {
            next.lockout_counter_reset = f.get('lockout_counter_reset');
          }
          if (f.has('lockout_disable')) next.lockout_disable = f.bool('lockout_disable');
          if (next.lockout_threshold < 1) {
            throw new BadRequestError('lockout_threshold must be at least 1');
          }
          if (next.lockout_duration <= 0 || next.lockout_counter_reset <= 0) {
            throw new BadRequestError('lockout_duration and lockout_counter_reset must be positive');
          }
          await ctx.storage.put(LOCKOUT_KEY, Buffer.from(JSON.stringify(next)));
          lockout.settings = lockoutSettings(next);
          return undefined;
        },
      },
    },
  ];
}
