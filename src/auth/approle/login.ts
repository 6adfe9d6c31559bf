/**
 * `auth/approle/login`: a role ID, and a secret ID unless the role does
 * not bind one, for a token with the role's token settings.
 *
 * Every refusal of the credentials reads the same ("invalid role or secret
 * ID", 400, as Vault and OpenBao answer), whichever part was wrong: unknown
 * role ID, unknown, used-up or expired secret ID, a client outside the
 * role's or the secret ID's networks, or a lock. Failures count against the
 * role and against the client address (`LoginLockout`); once either is
 * locked, logins are refused until the lock lifts, even with good
 * credentials. The lock settings are the mount's `user_lockout_config`.
 */
import type { FieldData } from '../../framework/fields.ts';
import type { BackendContext, LogicalRequest, LogicalResponse } from '../../framework/types.ts';
import { cidrMatcher, plainAddress } from '../../lib/cidr.ts';
import { BadRequestError, PermissionDeniedError } from '../../lib/errors.ts';
import { type LoginLockout, lockoutSettingsFor } from '../lockout.ts';
import { authFromSettings } from '../token-fields.ts';
import { MAX_ID_LENGTH } from './role.ts';
import type { AppRoleStore } from './store.ts';

export const INVALID_CREDENTIALS = 'invalid role or secret ID';

export const LOGIN_FIELDS = {
  role_id: { type: 'string', description: 'The role ID of the role.' },
  secret_id: { type: 'string', description: 'A secret ID of the role.' },
} as const;

export async function login(
  req: LogicalRequest,
  f: FieldData,
  ctx: BackendContext,
  state: { store: AppRoleStore; lockout: LoginLockout },
): Promise<LogicalResponse> {
  const { store, lockout } = state;
  // Vault trims both: a secret ID pasted with a newline still works.
  const roleId = f.string('role_id').trim();
  const secretId = f.string('secret_id').trim();
  if (roleId === '') throw new BadRequestError('missing role_id');

  const remoteAddr = req.remoteAddr;
  const labels = { mount: ctx.mount.path };
  const metrics = ctx.system.metrics;
  lockout.settings = lockoutSettingsFor(ctx.mount.userLockout);

  // Over-long values cannot match anything stored: refuse them unhashed.
  const tooLong = roleId.length > MAX_ID_LENGTH || secretId.length > MAX_ID_LENGTH;
  const role = tooLong ? undefined : await store.roleByRoleId(roleId);
  const keys = [`addr:${plainAddress(remoteAddr)}`];
  if (role) keys.push(`role:${role.name}`);

  if (lockout.state(keys).locked) {
    metrics?.incr('keep.approle.login.locked', 1, labels);
    // Vault's user lockout answers a locked login with permission denied.
    throw new PermissionDeniedError();
  }
  const refuse = (): never => {
    metrics?.incr('keep.approle.login.failure', 1, labels);
    if (lockout.fail(keys).locked) {
      ctx.system.logger?.warn(
        { mount: ctx.mount.path, role: role?.name, remote_addr: remoteAddr },
        'approle logins locked after repeated failures',
      );
    }
    throw new BadRequestError(INVALID_CREDENTIALS);
  };

  if (!role) return refuse();
  if (!cidrMatcher(role.secretIdBoundCidrs)(remoteAddr)) return refuse();

  let metadata: Record<string, string> = {};
  let tokenBoundCidrs = role.token.boundCidrs;
  if (role.bindSecretId) {
    // A missing secret ID is refused like a wrong one, so the answer does
    // not tell whether the role ID was right.
    if (secretId === '') return refuse();
    const used = await store.useSecretId(role.name, secretId, remoteAddr);
    if (typeof used === 'string') return refuse();
    metadata = used.metadata;
    if (used.tokenBoundCidrs.length > 0) tokenBoundCidrs = used.tokenBoundCidrs;
  }

  lockout.succeed(keys);
  metrics?.incr('keep.approle.login.success', 1, labels);
  return {
    auth: authFromSettings(
      { ...role.token, boundCidrs: tokenBoundCidrs },
      {
        // Vault's approle tokens are named after the mount alone (`approle`).
        displayName: '',
        metadata: { ...metadata, role_name: role.name },
        aliasName: role.roleId,
      },
    ),
  };
}
