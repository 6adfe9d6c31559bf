/**
 * Userpass users: storage, and the `users/` paths that manage them. A user
 * is a password hash and the token settings of the tokens it logs in to.
 * Usernames are lowercased, as in Vault, so `Mary` and `mary` are one user.
 */
import type { PathSpec } from '../../framework/backend.ts';
import { FieldData, type FieldSchemas } from '../../framework/fields.ts';
import { BadRequestError, NotFoundError } from '../../lib/errors.ts';
import type { Storage } from '../../storage/types.ts';
import {
  describeTokenSettings,
  TOKEN_FIELDS,
  type TokenSettings,
  updateTokenSettings,
} from '../token-fields.ts';
import type { PasswordKdf } from './password.ts';

export interface UserEntry {
  /** scrypt in PHC form (password.ts); never the password. */
  passwordHash: string;
  token: TokenSettings;
}

const USER_PREFIX = 'user/';

/** Vault's rule: letters, digits, `_`, `-` and `.`; no `-` or `.` first, no `.` last. */
const USERNAME = /^\w(?:[\w.-]*\w)?$/;
const MAX_USERNAME_CHARS = 128;

/** Long passphrases are welcome; megabytes are not. */
export const MAX_PASSWORD_BYTES = 4096;

export function isValidUsername(name: string): boolean {
  return name.length <= MAX_USERNAME_CHARS && USERNAME.test(name);
}

/** The lowercased username from the path, or a 400 saying what is allowed. */
export function usernameOf(f: FieldData): string {
  const name = f.string('username').toLowerCase();
  if (!isValidUsername(name)) {
    throw new BadRequestError(
      `invalid username: use at most ${MAX_USERNAME_CHARS} letters, digits, "_", "-" and ".", ` +
        'not starting with "-" or "." nor ending with "."',
    );
  }
  return name;
}

export function checkPasswordSize(password: string): void {
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) {
    throw new BadRequestError(`password is too long: at most ${MAX_PASSWORD_BYTES} bytes`);
  }
}

export async function loadUser(storage: Storage, name: string): Promise<UserEntry | undefined> {
  const raw = await storage.get(USER_PREFIX + name);
  return raw ? (JSON.parse(raw.toString('utf8')) as UserEntry) : undefined;
}

async function saveUser(storage: Storage, name: string, entry: UserEntry): Promise<void> {
  await storage.put(USER_PREFIX + name, Buffer.from(JSON.stringify(entry)));
}

/** Stores a new hash for `name` when its old one is below the current cost. */
export async function rehashIfWeak(
  storage: Storage,
  name: string,
  opts: { entry: UserEntry; password: string; kdf: PasswordKdf },
): Promise<void> {
  if (!opts.kdf.needsRehash(opts.entry.passwordHash)) return;
  const passwordHash = await opts.kdf.hash(opts.password);
  await saveUser(storage, name, { ...opts.entry, passwordHash });
}

const USERNAME_FIELD: FieldSchemas = {
  username: { type: 'string', description: 'Username; lowercased.' },
};

const PASSWORD_FIELD: FieldSchemas = {
  password: { type: 'string', description: 'Password; stored only as a scrypt hash.' },
};

const USER_FIELDS: FieldSchemas = {
  ...USERNAME_FIELD,
  ...PASSWORD_FIELD,
  password_hash: {
    type: 'string',
    description: 'Not supported: Keep stores scrypt hashes and cannot take bcrypt ones.',
  },
  ...TOKEN_FIELDS,
};

const POLICY_FIELDS: FieldSchemas = {
  ...USERNAME_FIELD,
  policies: { type: 'comma_string_list', description: 'Deprecated: use token_policies.' },
  token_policies: { type: 'comma_string_list', description: 'Policies of tokens issued.' },
};

export function userPaths(kdf: PasswordKdf, onDelete: (name: string) => void): PathSpec[] {
  const newHash = async (f: FieldData): Promise<string> => {
    const password = f.string('password');
    if (password === '') throw new BadRequestError('missing password');
    checkPasswordSize(password);
    return kdf.hash(password);
  };

  const existing = async (storage: Storage, name: string): Promise<UserEntry> => {
    const entry = await loadUser(storage, name);
    if (!entry) throw new BadRequestError(`username "${name}" does not exist`);
    return entry;
  };

  return [
    {
      pattern: 'users/?',
      synopsis: 'List the users.',
      operations: {
        list: async (_req, _f, ctx) => {
          const keys = await ctx.storage.list(USER_PREFIX);
          if (keys.length === 0) throw new NotFoundError();
          return { data: { keys } };
        },
      },
    },
    {
      pattern: 'users/(?<username>[^/]+)',
      fields: USER_FIELDS,
      synopsis: 'Create, read, update or delete a user.',
      description:
        'A write creates the user (a password is required then) or changes the settings ' +
        'sent, leaving the others as they were. Deleting a user does not revoke the tokens ' +
        'it logged in to.',
      exists: async (_req, f, ctx) => {
        const name = f.string('username').toLowerCase();
        return isValidUsername(name) && (await loadUser(ctx.storage, name)) !== undefined;
      },
      operations: {
        create: async (_req, f, ctx) => {
          const name = usernameOf(f);
          refusePasswordHash(f);
          const token = updateTokenSettings(f);
          const passwordHash = await newHash(f);
          await saveUser(ctx.storage, name, { passwordHash, token });
          return undefined;
        },
        update: async (_req, f, ctx) => {
          const name = usernameOf(f);
          refusePasswordHash(f);
          const entry = await loadUser(ctx.storage, name);
          // Reached when the existence check raced a delete: a write without a user is a create.
          if (!entry) throw new BadRequestError('missing password');
          const token = updateTokenSettings(f, entry.token);
          const passwordHash = f.has('password') ? await newHash(f) : entry.passwordHash;
          await saveUser(ctx.storage, name, { passwordHash, token });
          return undefined;
        },
        read: async (_req, f, ctx) => {
          const entry = await loadUser(ctx.storage, usernameOf(f));
          if (!entry) throw new NotFoundError();
          return { data: describeTokenSettings(entry.token) };
        },
        delete: async (_req, f, ctx) => {
          const name = usernameOf(f);
          await ctx.storage.delete(USER_PREFIX + name);
          onDelete(name);
          return undefined;
        },
      },
    },
    {
      pattern: 'users/(?<username>[^/]+)/password',
      fields: { ...USERNAME_FIELD, ...PASSWORD_FIELD },
      synopsis: "Reset a user's password.",
      operations: {
        update: async (_req, f, ctx) => {
          const name = usernameOf(f);
          const entry = await existing(ctx.storage, name);
          const passwordHash = await newHash(f);
          await saveUser(ctx.storage, name, { ...entry, passwordHash });
          return undefined;
        },
      },
    },
    {
      pattern: 'users/(?<username>[^/]+)/policies',
      fields: POLICY_FIELDS,
      synopsis: "Replace a user's token policies.",
      operations: {
        update: async (_req, f, ctx) => {
          const name = usernameOf(f);
          const entry = await existing(ctx.storage, name);
          const field = f.has('token_policies') ? 'token_policies' : 'policies';
          if (!f.has(field)) throw new BadRequestError('policies must be provided');
          // Through the shared settings code, so names are normalised as on every other path.
          const only = new FieldData({ token_policies: f.strings(field) }, TOKEN_FIELDS);
          const token = updateTokenSettings(only, entry.token);
          await saveUser(ctx.storage, name, { ...entry, token });
          return undefined;
        },
      },
    },
  ];
}

function refusePasswordHash(f: FieldData): void {
  if (f.string('password_hash') !== '') {
    throw new BadRequestError(
      'password_hash is not supported by this server: it stores scrypt hashes, not bcrypt; ' +
        'send "password" instead',
    );
  }
}
