/**
 * The `token` auth method at `auth/token/`: Vault's token API over the token
 * store. Handlers read and check the request, then call the store; what a
 * caller may create, and how long a token lives, is decided in `plan.ts` and
 * `ttl.ts`, not here.
 */
import { defineBackend, type PathSpec } from '../../framework/backend.ts';
import type { FieldData } from '../../framework/fields.ts';
import type {
  Backend,
  BackendContext,
  LogicalRequest,
  LogicalResponse,
} from '../../framework/types.ts';
import { parseDuration } from '../../lib/duration.ts';
import { BadRequestError, NotFoundError, PermissionDeniedError } from '../../lib/errors.ts';
import { authResultFor, lookupData, type TokenEntry } from './entry.ts';
import type { CreateTokenParams } from './plan.ts';
import type { TidyReport, TokenStore } from './store.ts';

/** The parts of the token store this backend calls. */
export type TokenApi = Pick<
  TokenStore,
  | 'create'
  | 'lookup'
  | 'lookupByHash'
  | 'lookupAccessor'
  | 'listAccessors'
  | 'renew'
  | 'revoke'
  | 'revokeOrphan'
  | 'revokeAccessor'
  | 'tidy'
  | 'unflushedUse'
>;

export interface TokenBackendOptions {
  /**
   * Whether the caller's policies grant `sudo` on the request's path. Sudo on
   * `create` lets a caller choose the token id, make orphans with `no_parent`,
   * make periodic tokens and hand out policies it does not hold itself.
   */
  hasSudo: (req: LogicalRequest) => Promise<boolean>;
}

const ROLES_UNSUPPORTED = 'token roles are not supported by this server yet';

export function tokenBackend(tokens: TokenApi, opts: TokenBackendOptions): Backend {
  // One sweep at a time: a second request while one runs waits for its report.
  let tidying: Promise<TidyReport> | undefined;

  const create = (orphan: boolean) => async (req: LogicalRequest, f: FieldData) => {
    const params = createParams(f, orphan);
    const parent = await callerEntry(tokens, req);
    params.sudo = await opts.hasSudo(req);

    const created = await tokens.create(params, parent);
    return {
      auth: authResultFor(created.entry, created.token),
      warnings: nonEmpty(created.warnings),
    };
  };

  const lookupSelf = async (req: LogicalRequest, _f: FieldData, ctx: BackendContext) => {
    const entry = await callerEntry(tokens, req, { includePending: true });
    return {
      data: lookupData(entry, req.clientToken ?? '', nowMs(ctx), tokens.unflushedUse(entry)),
    };
  };

  const paths: PathSpec[] = [
    {
      pattern: 'create',
      fields: CREATE_FIELDS,
      synopsis: 'Create a token, a child of the calling token unless no_parent is set.',
      description:
        'Without policies the token gets those of its parent. Choosing an id, no_parent, ' +
        'a period or policies the caller does not hold needs root or sudo on this path.',
      operations: { update: create(false) },
    },
    {
      pattern: 'create-orphan',
      fields: CREATE_FIELDS,
      synopsis: 'Create a token without a parent.',
      description:
        'Like create, but the token survives the revocation of the calling token. The ACL ' +
        'on this path guards it, so sudo is not needed.',
      operations: { update: create(true) },
    },
    {
      pattern: 'lookup',
      fields: { token: { type: 'string', description: 'The token to look up.' } },
      synopsis: 'Show the properties of a token.',
      operations: {
        update: async (req, f, ctx) => {
          const token = f.string('token');
          // Vault looks up the calling token when none is given.
          if (token === '') return lookupSelf(req, f, ctx);
          const entry = await tokens.lookup(token, { includePending: true });
          if (!entry) throw new PermissionDeniedError('bad token');
          return { data: lookupData(entry, token, nowMs(ctx), tokens.unflushedUse(entry)) };
        },
      },
    },
    {
      pattern: 'lookup-self',
      fields: { token: { type: 'string', description: 'Unused: the calling token is shown.' } },
      synopsis: 'Show the properties of the calling token.',
      operations: { read: lookupSelf, update: lookupSelf },
    },
    {
      pattern: 'lookup-accessor',
      fields: { accessor: { type: 'string', description: 'Accessor of the token to look up.' } },
      synopsis: 'Show the properties of a token by its accessor, without the token itself.',
      operations: {
        update: async (_req, f, ctx) => {
          const entry = await entryByAccessor(tokens, f);
          return { data: lookupData(entry, '', nowMs(ctx), tokens.unflushedUse(entry)) };
        },
      },
    },
    {
      pattern: 'renew',
      fields: { token: { type: 'string', description: 'The token to renew.' }, ...INCREMENT },
      synopsis: 'Extend the life of a token, within its max TTL.',
      operations: {
        update: async (_req, f) => {
          const token = required(f, 'token', 'missing token ID');
          const increment = durationSeconds(f, 'increment') ?? 0;
          const entry = await tokens.lookup(token);
          if (!entry) throw new BadRequestError('token not found');
          return renewed(await tokens.renew(entry, increment), token);
        },
      },
    },
    {
      pattern: 'renew-self',
      fields: {
        token: { type: 'string', description: 'Unused: the calling token is renewed.' },
        ...INCREMENT,
      },
      synopsis: 'Extend the life of the calling token, within its max TTL.',
      operations: {
        update: async (req, f) => {
          const increment = durationSeconds(f, 'increment') ?? 0;
          const entry = await callerEntry(tokens, req);
          return renewed(await tokens.renew(entry, increment), req.clientToken ?? '');
        },
      },
    },
    {
      pattern: 'renew-accessor',
      fields: {
        accessor: { type: 'string', description: 'Accessor of the token to renew.' },
        ...INCREMENT,
      },
      synopsis: 'Extend the life of a token by its accessor; the answer omits the token.',
      operations: {
        update: async (_req, f) => {
          const increment = durationSeconds(f, 'increment') ?? 0;
          const entry = await entryByAccessor(tokens, f);
          return renewed(await tokens.renew(entry, increment), '');
        },
      },
    },
    {
      pattern: 'revoke',
      fields: { token: { type: 'string', description: 'The token to revoke.' } },
      synopsis: 'Revoke a token and every token below it.',
      description: 'Revoking a token that does not exist, or no longer does, succeeds.',
      operations: {
        update: async (_req, f) => {
          const token = required(f, 'token', 'missing token ID');
          // Pending too: a token on its last use is revoked now, not at the end of its request.
          const entry = await tokens.lookup(token, { includePending: true });
          if (entry) await tokens.revoke(entry);
          return undefined;
        },
      },
    },
    {
      pattern: 'revoke-self',
      synopsis: 'Revoke the calling token and every token below it.',
      operations: {
        update: async (req) => {
          const entry = await callerEntry(tokens, req, { includePending: true });
          await tokens.revoke(entry);
          return undefined;
        },
      },
    },
    {
      pattern: 'revoke-accessor',
      fields: { accessor: { type: 'string', description: 'Accessor of the token to revoke.' } },
      synopsis: 'Revoke a token, and every token below it, by its accessor.',
      operations: {
        update: async (_req, f) => {
          const accessor = required(f, 'accessor', 'missing accessor');
          if (!(await tokens.revokeAccessor(accessor)))
            throw new BadRequestError('invalid accessor');
          return undefined;
        },
      },
    },
    {
      pattern: 'revoke-orphan',
      fields: { token: { type: 'string', description: 'The token to revoke.' } },
      synopsis: 'Revoke a token but keep its children, which become orphans. Needs sudo.',
      operations: {
        update: async (_req, f) => {
          const token = required(f, 'token', 'missing token ID');
          const entry = await tokens.lookup(token);
          if (!entry) throw new BadRequestError('token to revoke not found');
          await tokens.revokeOrphan(entry);
          return undefined;
        },
      },
    },
    {
      pattern: 'accessors/?',
      synopsis: 'List the accessors of every token. Needs sudo.',
      operations: {
        list: async () => {
          const keys = await tokens.listAccessors();
          if (keys.length === 0) throw new NotFoundError();
          return { data: { keys } };
        },
      },
    },
    {
      pattern: 'tidy',
      synopsis: 'Remove expired tokens and index entries that point nowhere.',
      description:
        'Answers 202 as Vault does. Vault sweeps in the background and logs what it did; ' +
        'this server finishes the sweep first and returns the counts in data.',
      operations: {
        update: async () => {
          tidying ??= tokens.tidy().finally(() => {
            tidying = undefined;
          });
          const report = await tidying;
          return {
            status: 202,
            data: {
              revoked: report.revoked,
              stranded: report.stranded,
              stale_indexes: report.staleIndexes,
            },
          };
        },
      },
    },
    ...rolePaths(),
  ];

  return defineBackend({
    type: 'token',
    help: HELP,
    paths,
    // `revoke-orphan` and `accessors` reach or revoke tokens the caller did not make.
    sudoPaths: ['revoke-orphan', 'accessors'],
  });
}

const CREATE_FIELDS = {
  id: { type: 'string', description: 'The token value; root or sudo only.' },
  policies: { type: 'comma_string_list', description: "Policies; default: the parent token's." },
  meta: { type: 'string_map', description: 'Metadata shown on lookups and in audit.' },
  no_parent: { type: 'bool', description: 'Make an orphan; root or sudo only.' },
  no_default_policy: { type: 'bool', description: 'Leave out the default policy.' },
  renewable: { type: 'bool', default: true, description: 'Whether renewals are allowed.' },
  ttl: { type: 'string', description: 'Initial TTL (duration or seconds).' },
  lease: { type: 'string', description: 'Deprecated spelling of ttl.' },
  explicit_max_ttl: { type: 'string', description: 'Life that no renewal can extend.' },
  display_name: { type: 'string', description: 'Shown as token-<name>.' },
  num_uses: { type: 'int', description: 'Uses before the token is revoked; 0 is unlimited.' },
  period: { type: 'string', description: 'Each renewal grants this TTL; root or sudo only.' },
  type: { type: 'string', description: 'Only "service" is supported.' },
  entity_alias: { type: 'string', description: 'Needs a token role; not supported.' },
} as const;

const INCREMENT = {
  increment: {
    type: 'string',
    description: 'TTL asked for, from now (duration or seconds); default the current TTL.',
  },
} as const;

function createParams(f: FieldData, orphan: boolean): CreateTokenParams {
  const type = f.string('type');
  if (type === 'batch')
    throw new BadRequestError('batch tokens are not supported by this server yet');
  if (type !== '' && type !== 'service') throw new BadRequestError("invalid 'token_type' value");
  // Vault accepts an entity alias only together with a role.
  if (f.string('entity_alias') !== '') {
    throw new BadRequestError(`"entity_alias" needs a token role; ${ROLES_UNSUPPORTED}`);
  }

  return {
    id: f.string('id') || undefined,
    policies: f.strings('policies'),
    meta: f.get<Record<string, string>>('meta'),
    displayName: f.string('display_name'),
    ttlSeconds: durationSeconds(f, 'ttl') ?? durationSeconds(f, 'lease'),
    explicitMaxTtlSeconds: durationSeconds(f, 'explicit_max_ttl'),
    periodSeconds: durationSeconds(f, 'period'),
    numUses: f.int('num_uses'),
    renewable: f.has('renewable') ? f.bool('renewable') : undefined,
    noDefaultPolicy: f.bool('no_default_policy'),
    noParent: f.bool('no_parent'),
    orphan,
    path: orphan ? 'auth/token/create-orphan' : 'auth/token/create',
  };
}

/**
 * A duration field in seconds; undefined when absent or "", which Vault
 * reads as "not set" (clients send `"ttl": ""` for an unset flag).
 */
function durationSeconds(f: FieldData, name: string): number | undefined {
  const text = f.string(name);
  if (text === '') return undefined;
  try {
    return parseDuration(text);
  } catch {
    throw new BadRequestError(`error converting input for field "${name}": expected a duration`);
  }
}

function required(f: FieldData, name: string, message: string): string {
  const value = f.string(name);
  if (value === '') throw new BadRequestError(message);
  return value;
}

/**
 * The calling token's entry. `includePending` also finds a token whose last
 * use this very request spends, so it can still look itself up or revoke itself.
 */
async function callerEntry(
  tokens: TokenApi,
  req: LogicalRequest,
  opts: { includePending?: boolean } = {},
): Promise<TokenEntry> {
  const hash = req.caller?.tokenHash;
  const entry = hash ? await tokens.lookupByHash(hash, opts) : undefined;
  if (!entry) throw new PermissionDeniedError('bad token');
  return entry;
}

async function entryByAccessor(tokens: TokenApi, f: FieldData): Promise<TokenEntry> {
  const entry = await tokens.lookupAccessor(required(f, 'accessor', 'missing accessor'));
  if (!entry) throw new BadRequestError('invalid accessor');
  return entry;
}

/** Vault's renewal answer: the `auth` block again, with the token only where the caller sent it. */
function renewed(
  result: { entry: TokenEntry; warnings: string[] },
  clientToken: string,
): LogicalResponse {
  return { auth: authResultFor(result.entry, clientToken), warnings: nonEmpty(result.warnings) };
}

/**
 * Token roles (`create/<role>`, `roles/<name>`) are not implemented: writes
 * fail with a message that says so rather than a bare 404, and reads find no
 * role. Remove once roles exist.
 */
function rolePaths(): PathSpec[] {
  const refuse = async (): Promise<never> => {
    throw new BadRequestError(ROLES_UNSUPPORTED);
  };
  const none = async (): Promise<never> => {
    throw new NotFoundError();
  };
  return [
    {
      pattern: 'create/(?<role_name>.+)',
      synopsis: 'Create a token against a role (not supported yet).',
      operations: { update: refuse },
    },
    {
      pattern: 'roles/?',
      synopsis: 'List token roles (none exist: roles are not supported yet).',
      operations: { list: none },
    },
    {
      pattern: 'roles/(?<role_name>.+)',
      synopsis: 'Token roles (not supported yet).',
      operations: { read: none, update: refuse, delete: async () => undefined },
    },
  ];
}

function nonEmpty(warnings: string[]): string[] | undefined {
  return warnings.length > 0 ? warnings : undefined;
}

function nowMs(ctx: BackendContext): number {
  return ctx.system.now().getTime();
}

const HELP =
  'The token auth method creates, looks up, renews and revokes tokens. Every other auth ' +
  'method ends in a token from this store. A token made with create is a child of the ' +
  'calling token and is revoked with it; orphans are not.';
