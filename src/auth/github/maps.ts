/**
 * `map/teams/<team>` and `map/users/<user>`: policies granted to members of
 * a GitHub team, or to one GitHub user, as a comma-separated `value`. Keys
 * are case-insensitive (stored lowercased), and a mapping named `default`
 * applies to everyone who logs in, as in Vault's github method.
 */
import type { PathSpec } from '../../framework/backend.ts';
import { BadRequestError, NotFoundError } from '../../lib/errors.ts';
import type { Storage } from '../../storage/types.ts';

export type MapKind = 'teams' | 'users';

interface Mapping {
  key: string;
  value: string;
}

const DEFAULT_KEY = 'default';
const MAX_KEY_CHARS = 256;
const MAX_VALUE_CHARS = 8192;

const prefixOf = (kind: MapKind) => `map/${kind}/`;

async function loadMapping(
  storage: Storage,
  kind: MapKind,
  key: string,
): Promise<Mapping | undefined> {
  const raw = await storage.get(prefixOf(kind) + key.toLowerCase());
  return raw ? (JSON.parse(raw.toString('utf8')) as Mapping) : undefined;
}

/** The union of the policies mapped to `names` and to `default`, in no particular order. */
export async function mappedPolicies(
  storage: Storage,
  kind: MapKind,
  names: readonly string[],
): Promise<string[]> {
  const out = new Set<string>();
  for (const name of new Set([DEFAULT_KEY, ...names.map((n) => n.toLowerCase())])) {
    const mapping = await loadMapping(storage, kind, name);
    for (const policy of mapping?.value.split(',') ?? []) {
      if (policy.trim() !== '') out.add(policy.trim());
    }
  }
  return [...out];
}

export function mapPaths(kind: MapKind): PathSpec[] {
  const what = kind === 'teams' ? 'team' : 'user';
  return [
    {
      pattern: `map/${kind}/?`,
      synopsis: `List the ${what} mappings.`,
      operations: {
        // Vault answers a plain read of the folder with the list too.
        list: async (_req, _f, ctx) => listMappings(ctx.storage, kind),
        read: async (_req, _f, ctx) => listMappings(ctx.storage, kind),
      },
    },
    {
      pattern: `map/${kind}/(?<key>[-\\w]+)`,
      fields: {
        key: { type: 'string', description: `The GitHub ${what} name; case does not matter.` },
        value: { type: 'string', description: 'Comma-separated policies.' },
      },
      synopsis: `Read, write or delete the policies of a GitHub ${what}.`,
      exists: async (_req, f, ctx) =>
        (await loadMapping(ctx.storage, kind, f.string('key'))) !== undefined,
      operations: {
        create: async (_req, f, ctx) =>
          writeMapping(ctx.storage, kind, f.string('key'), f.string('value')),
        update: async (_req, f, ctx) =>
          writeMapping(ctx.storage, kind, f.string('key'), f.string('value')),
        read: async (_req, f, ctx) => {
          const mapping = await loadMapping(ctx.storage, kind, f.string('key'));
          if (!mapping) throw new NotFoundError();
          return { data: { key: mapping.key, value: mapping.value } };
        },
        delete: async (_req, f, ctx) => {
          await ctx.storage.delete(prefixOf(kind) + f.string('key').toLowerCase());
          return undefined;
        },
      },
    },
  ];
}

async function writeMapping(
  storage: Storage,
  kind: MapKind,
  key: string,
  value: string,
): Promise<undefined> {
  if (key.length > MAX_KEY_CHARS) {
    throw new BadRequestError(`name is too long: at most ${MAX_KEY_CHARS} characters`);
  }
  if (value.length > MAX_VALUE_CHARS) {
    throw new BadRequestError(`value is too long: at most ${MAX_VALUE_CHARS} characters`);
  }
  const mapping: Mapping = { key: key.toLowerCase(), value };
  await storage.put(prefixOf(kind) + mapping.key, Buffer.from(JSON.stringify(mapping)));
  return undefined;
}

async function listMappings(storage: Storage, kind: MapKind) {
  const keys = await storage.list(prefixOf(kind));
  if (keys.length === 0) throw new NotFoundError();
  return { data: { keys } };
}
