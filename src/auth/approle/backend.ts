/**
 * The AppRole auth method (`vault auth enable approle`): machines log in
 * with a role ID and a secret ID. Paths, fields and answers are Vault's
 * (`auth/approle/...`), as hvac's `auth.approle` and node-vault's approle
 * calls use them:
 *
 *   login                                   POST  role_id, secret_id → auth
 *   role                                    LIST
 *   role/:name                              GET POST DELETE
 *   role/:name/role-id                      GET POST
 *   role/:name/secret-id                    POST (issue) LIST (accessors)
 *   role/:name/custom-secret-id             POST
 *   role/:name/secret-id/lookup|destroy     POST (destroy also DELETE)
 *   role/:name/secret-id-accessor/lookup|destroy
 *   tidy/secret-id                          POST → 202, runs in the background
 *
 * Storage is described in store.ts, the login rules in login.ts.
 */
import { defineBackend, type PathSpec } from '../../framework/backend.ts';
import type { FieldData } from '../../framework/fields.ts';
import type { Backend, BackendContext, LogicalResponse } from '../../framework/types.ts';
import { BadRequestError, NotFoundError } from '../../lib/errors.ts';
import { LoginLockout } from '../lockout.ts';
import { LOGIN_FIELDS, login } from './login.ts';
import {
  applyRoleFields,
  checkedRoleId,
  describeRole,
  MAX_ID_LENGTH,
  ROLE_FIELDS,
  ROLE_NAME_PATTERN,
  type RoleEntry,
} from './role.ts';
import { describeSecretId, SECRET_ID_FIELDS, secretIdParams } from './secret-id.ts';
import { AppRoleStore } from './store.ts';

export interface AppRoleBackendOptions {
  /** Shortest time between two last-use writes for one secret ID; default 60 s. */
  lastUseIntervalMs?: number;
}

const ROLE = `role/${ROLE_NAME_PATTERN}`;

const ROLE_NAME_FIELD = { role_name: ROLE_FIELDS.role_name };

const TIDY_STARTED =
  'Tidy operation successfully started. Any information from the operation will be ' +
  "printed to the server's log.";

export function approleBackend(opts: AppRoleBackendOptions = {}): Backend {
  let state: { store: AppRoleStore; lockout: LoginLockout } | undefined;
  let tidying: Promise<void> | undefined;

  /** The mount's state, made on first use; a mount's storage view never changes. */
  function stateOf(ctx: BackendContext) {
    if (state?.store.storage !== ctx.storage) {
      state?.store.close();
      const now = () => ctx.system.now().getTime();
      state = {
        store: new AppRoleStore(ctx.storage, {
          now,
          lastUseIntervalMs: opts.lastUseIntervalMs,
          onError: (err) =>
            ctx.system.logger?.warn(
              { mount: ctx.mount.path, err: String(err) },
              'approle: could not record the last use of a secret ID',
            ),
        }),
        lockout: new LoginLockout(undefined, { now }),
      };
    }
    return state;
  }
  const storeOf = (ctx: BackendContext) => stateOf(ctx).store;

  const roleNamed = async (f: FieldData, ctx: BackendContext): Promise<RoleEntry> => {
    const name = roleName(f);
    const role = await storeOf(ctx).readRole(name);
    if (!role) throw new BadRequestError(`role "${name}" does not exist`);
    return role;
  };

  /** Issues a secret ID, random or the caller's, under the role's lock. */
  const issue = (custom: boolean) => async (_req: unknown, f: FieldData, ctx: BackendContext) => {
    const store = storeOf(ctx);
    const name = roleName(f);
    const chosen = custom ? customSecretId(f) : undefined;
    const { secretId, entry } = await store.withRole(name, async () => {
      const role = await roleNamed(f, ctx);
      return store.createSecretId(role, secretIdParams(f, role), chosen);
    });
    return {
      data: {
        secret_id_accessor: entry.accessor,
        secret_id: secretId,
        secret_id_ttl: entry.ttlSeconds,
        secret_id_num_uses: entry.numUses,
      },
    };
  };

  const paths: PathSpec[] = [
    {
      pattern: 'login',
      fields: LOGIN_FIELDS,
      synopsis: 'Log in with a role ID and a secret ID.',
      description:
        "Answers with a token carrying the role's token settings. Every refusal reads " +
        '"invalid role or secret ID", whichever part was wrong.',
      operations: { update: (req, f, ctx) => login(req, f, ctx, stateOf(ctx)) },
    },
    {
      pattern: 'role/?',
      synopsis: 'List the roles.',
      operations: {
        list: async (_req, _f, ctx) => {
          const keys = await storeOf(ctx).listRoles();
          if (keys.length === 0) throw new NotFoundError();
          return { data: { keys } };
        },
      },
    },
    {
      pattern: ROLE,
      fields: ROLE_FIELDS,
      synopsis: 'Create, read, update or delete a role.',
      description:
        'Fields not sent on an update keep their values. Names are case-insensitive. ' +
        'Deleting a role deletes every secret ID it issued.',
      exists: async (_req, f, ctx) => (await storeOf(ctx).readRole(roleName(f))) !== undefined,
      operations: {
        read: async (_req, f, ctx) => {
          const role = await storeOf(ctx).readRole(roleName(f));
          if (!role) throw new NotFoundError();
          return { data: describeRole(role) };
        },
        update: async (_req, f, ctx) => {
          const store = storeOf(ctx);
          const name = roleName(f);
          const role = await store.withRole(name, async () => {
            const current = await store.readRole(name);
            const next = applyRoleFields(f, name, current);
            await store.writeRole(next, current);
            return next;
          });
          return withWarnings(ttlWarnings(role, ctx));
        },
        delete: async (_req, f, ctx) => {
          const store = storeOf(ctx);
          const name = roleName(f);
          await store.withRole(name, async () => {
            const role = await store.readRole(name);
            if (role) await store.deleteRole(role);
          });
          return undefined;
        },
      },
    },
    {
      pattern: `${ROLE}/role-id`,
      fields: { ...ROLE_NAME_FIELD, role_id: ROLE_FIELDS.role_id },
      synopsis: 'Read or set the role ID of a role.',
      operations: {
        read: async (_req, f, ctx) => {
          const role = await storeOf(ctx).readRole(roleName(f));
          if (!role) throw new NotFoundError();
          return { data: { role_id: role.roleId } };
        },
        update: async (_req, f, ctx) => {
          const roleId = checkedRoleId(f.string('role_id'));
          const store = storeOf(ctx);
          await store.withRole(roleName(f), async () => {
            const role = await roleNamed(f, ctx);
            await store.writeRole({ ...role, roleId }, role);
          });
          return undefined;
        },
      },
    },
    {
      pattern: `${ROLE}/secret-id/?`,
      fields: SECRET_ID_FIELDS,
      synopsis: 'Issue a secret ID for a role, or list the accessors of its secret IDs.',
      description:
        'The secret ID is shown once, in this answer; the server keeps only its salted hash.',
      operations: {
        update: issue(false),
        list: async (_req, f, ctx) => {
          const role = await roleNamed(f, ctx);
          const keys = await storeOf(ctx).listAccessors(role.name);
          if (keys.length === 0) throw new NotFoundError();
          return { data: { keys } };
        },
      },
    },
    {
      pattern: `${ROLE}/custom-secret-id`,
      fields: {
        ...SECRET_ID_FIELDS,
        secret_id: { type: 'string', description: 'The secret ID to register.' },
      },
      synopsis: "Register a secret ID of the caller's choosing for a role.",
      operations: { update: issue(true) },
    },
    {
      pattern: `${ROLE}/secret-id/lookup`,
      fields: { ...ROLE_NAME_FIELD, secret_id: { type: 'string', description: 'The secret ID.' } },
      synopsis: 'Show the properties of a secret ID (never the secret ID itself).',
      operations: {
        update: async (_req, f, ctx) => {
          const secretId = required(f, 'secret_id');
          const role = await roleNamed(f, ctx);
          const store = storeOf(ctx);
          const entry = await store.readSecretId(role.name, secretId);
          if (!entry) throw new NotFoundError();
          return { data: describeSecretId(entry, store.unflushedUse(entry)) };
        },
      },
    },
    {
      pattern: `${ROLE}/secret-id/destroy`,
      fields: { ...ROLE_NAME_FIELD, secret_id: { type: 'string', description: 'The secret ID.' } },
      synopsis: 'Destroy a secret ID. Destroying one that does not exist succeeds.',
      operations: {
        update: destroyBySecretId,
        delete: destroyBySecretId,
      },
    },
    {
      pattern: `${ROLE}/secret-id-accessor/lookup`,
      fields: ACCESSOR_FIELDS,
      synopsis: 'Show the properties of a secret ID by its accessor.',
      operations: {
        update: async (_req, f, ctx) => {
          const store = storeOf(ctx);
          const entry = await entryByAccessor(f, ctx);
          return { data: describeSecretId(entry, store.unflushedUse(entry)) };
        },
      },
    },
    {
      pattern: `${ROLE}/secret-id-accessor/destroy`,
      fields: ACCESSOR_FIELDS,
      synopsis: 'Destroy a secret ID by its accessor.',
      operations: {
        update: destroyByAccessor,
        delete: destroyByAccessor,
      },
    },
    {
      pattern: 'tidy/secret-id',
      synopsis: 'Delete expired secret IDs and accessor entries that point at nothing.',
      description:
        'Answers 202 at once and sweeps in the background, as Vault does; the counts go to ' +
        "the server's log. A request while a sweep runs starts no second one.",
      operations: {
        update: async (_req, _f, ctx) => {
          if (tidying) return { warnings: ['Tidy operation already in progress.'] };
          const mount = ctx.mount.path;
          const logger = ctx.system.logger;
          tidying = storeOf(ctx)
            .tidy()
            .then((report) => logger?.info({ mount, ...report }, 'approle secret ID tidy finished'))
            .catch((err: unknown) =>
              logger?.error({ mount, err: String(err) }, 'approle secret ID tidy failed'),
            )
            .finally(() => {
              tidying = undefined;
            });
          return { status: 202, warnings: [TIDY_STARTED] };
        },
      },
    },
  ];

  async function destroyBySecretId(_req: unknown, f: FieldData, ctx: BackendContext) {
    const secretId = required(f, 'secret_id');
    const role = await roleNamed(f, ctx);
    const store = storeOf(ctx);
    const entry = await store.readSecretId(role.name, secretId);
    if (entry) await store.destroySecretId(entry);
    return undefined;
  }

  async function destroyByAccessor(_req: unknown, f: FieldData, ctx: BackendContext) {
    const entry = await entryByAccessor(f, ctx);
    await storeOf(ctx).destroySecretId(entry);
    return undefined;
  }

  async function entryByAccessor(f: FieldData, ctx: BackendContext) {
    const accessor = required(f, 'secret_id_accessor');
    const role = await roleNamed(f, ctx);
    const entry = await storeOf(ctx).readByAccessor(role.name, accessor);
    if (!entry) throw new NotFoundError();
    return entry;
  }

  return defineBackend({
    type: 'approle',
    help: HELP,
    paths,
    unauthenticatedPaths: ['login'],
    initialize: async (ctx) => {
      stateOf(ctx);
    },
    cleanup: async () => {
      // Last uses noted in memory reach storage before the instance goes. A
      // running tidy is not waited for: each of its deletes is a whole
      // transaction, so one cut short by the seal leaves nothing half done.
      await state?.store.flushLastUse();
      state?.store.close();
      state = undefined;
    },
  });
}

const ACCESSOR_FIELDS = {
  ...ROLE_NAME_FIELD,
  secret_id_accessor: { type: 'string', description: 'Accessor of the secret ID.' },
} as const;

/** Role names are case-insensitive, as in Vault: one role, stored in lower case. */
function roleName(f: FieldData): string {
  return f.string('role_name').toLowerCase();
}

function required(f: FieldData, name: string): string {
  const value = f.string(name);
  if (value === '') throw new BadRequestError(`missing ${name}`);
  return value;
}

function customSecretId(f: FieldData): string {
  const value = required(f, 'secret_id');
  if (value.length > MAX_ID_LENGTH) {
    throw new BadRequestError(`secret_id is longer than ${MAX_ID_LENGTH} characters`);
  }
  return value;
}

/** Vault's warnings when a role asks for more than its mount allows. */
function ttlWarnings(role: RoleEntry, ctx: BackendContext): string[] {
  const mountMax = ctx.mount.maxLeaseTtlSeconds || ctx.system.maxLeaseTtlSeconds;
  const warnings: string[] = [];
  if (role.token.maxTtlSeconds > mountMax) {
    warnings.push(
      "token_max_ttl is greater than the mount's maximum TTL value; issued tokens' max TTL " +
        'value will be truncated',
    );
  }
  return warnings;
}

function withWarnings(warnings: string[]): LogicalResponse | undefined {
  return warnings.length > 0 ? { warnings } : undefined;
}

const HELP =
  'AppRole lets machines and services log in with a role ID (like a user name, not ' +
  'secret) and a secret ID (like a password, shown once when issued). Secret IDs can be ' +
  'limited in uses, life and networks; the server stores only their salted hashes.';
