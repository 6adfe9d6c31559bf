/**
 * What `secrets` and `auth` share: mount paths, TTL values on the wire, and
 * the list tables of `secrets list` and `auth list`.
 */
import { formatGoDuration } from '../duration.ts';
import { boolFlag, durationFlag, mapFlag, stringFlag } from '../flags.ts';
import { compareStrings, formatValue, table } from '../output.ts';

/** Trimmed, with exactly the trailing slash Vault prints mount paths with. */
export function mountPath(path: string): string {
  const trimmed = path.trim().replace(/^\/+/, '').replace(/\/+$/, '');
  return trimmed === '' ? '' : `${trimmed}/`;
}

/** Vault's `ttlToAPI`: unset is "", negative is "system", else Go's duration text. */
export function ttlToApi(ns: number): string {
  if (ns === 0) return '';
  if (ns < 0) return 'system';
  return formatGoDuration(ns);
}

export const mountFlags = {
  path: stringFlag('Place where the engine or method will be accessible. Defaults to TYPE.'),
  description: stringFlag('Human-friendly description for the purpose of this mount.'),
  'default-lease-ttl': durationFlag(
    'The default lease TTL for this mount. If unspecified, the server default is used.',
  ),
  'max-lease-ttl': durationFlag(
    'The maximum lease TTL for this mount. If unspecified, the server default is used.',
  ),
  local: boolFlag('Mark the mount as local-only. Local mounts are not replicated.'),
  'seal-wrap': boolFlag('Enable seal wrapping of critical values in this mount.'),
  options: mapFlag('Key-value pair provided as key=value for the mount options.'),
};

export const detailedFlag = {
  detailed: boolFlag('Print detailed information such as TTLs and replication status.'),
};

interface MountEntry {
  type?: string;
  description?: string;
  accessor?: string;
  local?: boolean;
  seal_wrap?: boolean;
  options?: Record<string, string> | null;
  config?: { default_lease_ttl?: number; max_lease_ttl?: number; force_no_cache?: boolean };
}

/** The path → mount map of a `sys/mounts` or `sys/auth` answer. */
export function mountsOf(body: Record<string, unknown> | null): Record<string, MountEntry> {
  const data = (body?.data ?? body ?? {}) as Record<string, unknown>;
  const out: Record<string, MountEntry> = {};
  for (const [path, value] of Object.entries(data)) {
    // Old-style answers repeat the envelope keys next to the mounts.
    if (path.endsWith('/') && value && typeof value === 'object') out[path] = value as MountEntry;
  }
  return out;
}

export function mountsTable(mounts: Record<string, MountEntry>, detailed: boolean): string {
  const paths = Object.keys(mounts).sort(compareStrings);
  if (!detailed) {
    return table(
      ['Path', 'Type', 'Accessor', 'Description'],
      paths.map((p) => {
        const m = mounts[p];
        return [p, m.type ?? '', m.accessor ?? '', m.description ?? ''];
      }),
    );
  }

  const ttl = (type: string | undefined, value: number | undefined) =>
    ['system', 'cubbyhole', 'identity', 'token'].includes(type ?? '') && !value
      ? ''
      : value
        ? String(value)
        : 'system';
  return table(
    [
      'Path',
      'Plugin',
      'Accessor',
      'Default TTL',
      'Max TTL',
      'Force No Cache',
      'Replication',
      'Seal Wrap',
      'Options',
      'Description',
    ],
    paths.map((p) => {
      const m = mounts[p];
      return [
        p,
        m.type ?? '',
        m.accessor ?? '',
        ttl(m.type, m.config?.default_lease_ttl),
        ttl(m.type, m.config?.max_lease_ttl),
        String(m.config?.force_no_cache ?? false),
        m.local ? 'local' : 'replicated',
        String(m.seal_wrap ?? false),
        formatValue(m.options ?? null),
        m.description ?? '',
      ];
    }),
  );
}
