/** `sys/mounts` and `sys/auth`: enable, disable, list and tune mounts. */
import type { PathSpec } from '../../framework/backend.ts';
import type { FieldData } from '../../framework/fields.ts';
import { parseDuration } from '../../lib/duration.ts';
import { BadRequestError } from '../../lib/errors.ts';
import type { Core } from '../core.ts';
import type { MountEntry, MountKind, StoredUserLockout } from '../mounts.ts';
import { parseUserLockout } from './user-lockout.ts';

/** A mount as `sys/mounts` shows it (Vault's field names). */
export function describeMount(entry: MountEntry): Record<string, unknown> {
  return {
    type: entry.type,
    description: entry.description,
    accessor: entry.accessor,
    uuid: entry.uuid,
    config: {
      default_lease_ttl: entry.config.default_lease_ttl,
      max_lease_ttl: entry.config.max_lease_ttl,
      force_no_cache: false,
    },
    options: Object.keys(entry.options).length ? entry.options : null,
    local: entry.local,
    seal_wrap: entry.seal_wrap,
    external_entropy_access: false,
    plugin_version: '',
    running_plugin_version: '',
    running_plugin_sha256: '',
    deprecation_status: 'supported',
  };
}

const mountFields = {
  path: { type: 'string' },
  type: { type: 'string' },
  description: { type: 'string' },
  config: { type: 'map' },
  options: { type: 'string_map' },
  local: { type: 'bool' },
  seal_wrap: { type: 'bool' },
  plugin_name: { type: 'string' },
  default_lease_ttl: { type: 'string' },
  max_lease_ttl: { type: 'string' },
  user_lockout_config: { type: 'map' },
} as const;

/**
 * `user_lockout_config`, when sent: only auth methods have logins to lock,
 * so a secrets mount refuses it rather than keep a setting nothing reads.
 */
function lockoutConfig(
  kind: MountKind,
  raw: unknown,
  current: StoredUserLockout | undefined,
): { user_lockout_config?: StoredUserLockout } {
  if (raw === undefined || raw === null) return {};
  if (kind !== 'auth') {
    throw new BadRequestError('"user_lockout_config" applies to auth methods only');
  }
  return { user_lockout_config: parseUserLockout(raw, current) };
}

function ttlConfig(raw: Record<string, unknown> | undefined, fields?: FieldData) {
  const out: Partial<MountEntry['config']> = {};
  for (const key of ['default_lease_ttl', 'max_lease_ttl'] as const) {
    const value = fields?.has(key) ? fields.raw[key] : raw?.[key];
    if (value === undefined || value === '' || value === null) continue;
    if (value === 'system') {
      out[key] = 0;
      continue;
    }
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new BadRequestError(`invalid ${key}`);
    }
    out[key] = parseDuration(value);
  }
  return out;
}

function stringOptions(value: unknown): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new BadRequestError('options must be a map of strings');
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) out[k] = String(v);
  return out;
}

function listing(core: Core, kind: MountKind): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const mounted of core.unsealed.router.list(kind)) {
    out[mounted.entry.path] = describeMount(mounted.entry);
  }
  return out;
}

export function mountPaths(core: Core, kind: MountKind): PathSpec[] {
  const base = kind === 'secret' ? 'mounts' : 'auth';
  const router = () => core.unsealed.router;
  return [
    {
      pattern: `${base}/(?<path>.+?)/tune/?`,
      fields: mountFields,
      synopsis: 'Read or tune the settings of a mount.',
      operations: {
        read: async (_req, f) => {
          const mounted = router().get(kind, f.string('path'));
          if (!mounted)
            throw new BadRequestError(`cannot fetch sysview for path "${f.string('path')}"`);
          const e = mounted.entry;
          return {
            legacyTopLevel: true,
            data: {
              description: e.description,
              default_lease_ttl: e.config.default_lease_ttl || core.system.defaultLeaseTtlSeconds,
              max_lease_ttl: e.config.max_lease_ttl || core.system.maxLeaseTtlSeconds,
              force_no_cache: false,
              options: Object.keys(e.options).length ? e.options : undefined,
              user_lockout_config: e.config.user_lockout_config,
            },
          };
        },
        update: async (_req, f) => {
          const current = router().get(kind, f.string('path'))?.entry.config;
          const config = {
            ...ttlConfig(f.get('config'), f),
            ...lockoutConfig(kind, f.raw.user_lockout_config, current?.user_lockout_config),
          };
          const options = stringOptions(f.raw.options);
          await router().tune(kind, f.string('path'), {
            config,
            options,
            description: f.has('description') ? f.string('description') : undefined,
          });
          return undefined;
        },
      },
    },
    {
      pattern: `${base}/(?<path>.+)`,
      fields: mountFields,
      synopsis:
        kind === 'secret'
          ? 'Enable or disable a secrets engine.'
          : 'Enable or disable an auth method.',
      operations: {
        read: async (_req, f) => {
          const mounted = router().get(kind, f.string('path'));
          if (!mounted) throw new BadRequestError(`no mount at "${f.string('path')}"`);
          return { legacyTopLevel: true, data: describeMount(mounted.entry) };
        },
        update: async (_req, f) => {
          let type = f.string('type') || f.string('plugin_name');
          if (!type) throw new BadRequestError('backend type must be specified as a string');
          const options = stringOptions(f.raw.options) ?? {};
          if (type === 'kv-v2') {
            type = 'kv';
            options.version = '2';
          }
          await router().mount(kind, {
            path: f.string('path'),
            type,
            description: f.string('description'),
            config: {
              ...ttlConfig(f.get('config')),
              ...lockoutConfig(
                kind,
                f.get<Record<string, unknown>>('config').user_lockout_config,
                undefined,
              ),
            },
            options,
            local: f.bool('local'),
            seal_wrap: f.bool('seal_wrap'),
          });
          return undefined;
        },
        delete: async (_req, f) => {
          await router().unmount(kind, f.string('path'));
          return undefined;
        },
      },
    },
    {
      pattern: base,
      synopsis: 'List the mounted engines.',
      operations: {
        read: async () => ({ legacyTopLevel: true, data: listing(core, kind) }),
      },
    },
  ];
}
