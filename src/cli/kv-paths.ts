/**
 * Where a `kv` command's request goes. Like Vault's CLI, the mount's KV
 * version is learnt from `GET sys/internal/ui/mounts/<path>` before each
 * command, and KV v2 paths get their `data/`, `metadata/`, `delete/`,
 * `undelete/` or `destroy/` segment after the mount.
 *
 * Two spellings reach the same secret: `kv get secret/app` (mount and path in
 * one argument) and `kv get -mount=secret app`.
 */
import type { ApiClient } from './client.ts';

/** Go's `path.Join`: non-empty parts joined by `/`, then cleaned. */
export function joinPath(...parts: string[]): string {
  const joined = parts.filter((p) => p !== '').join('/');
  if (joined === '') return '';
  const rooted = joined.startsWith('/');
  const out: string[] = [];
  for (const seg of joined.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.length > 0 && out[out.length - 1] !== '..') out.pop();
      else if (!rooted) out.push('..');
      continue;
    }
    out.push(seg);
  }
  const cleaned = (rooted ? '/' : '') + out.join('/');
  return cleaned || (rooted ? '/' : '.');
}

/** Trims whitespace, then leading and trailing slashes. */
export function sanitizePath(path: string): string {
  return path.trim().replace(/^\/+/, '').replace(/\/+$/, '');
}

/**
 * Inserts the API segment after the mount: (`secret/app`, `secret/`, `data`)
 * gives `secret/data/app`; the mount itself gives `secret/data`.
 */
export function addPrefixToKVPath(path: string, opts: { mount: string; prefix: string }): string {
  const { mount: mountPath, prefix: apiPrefix } = opts;
  if (path === mountPath || path === mountPath.replace(/\/$/, '')) {
    return joinPath(mountPath, apiPrefix);
  }

  let mount = mountPath;
  let rest = path.startsWith(mount) ? path.slice(mount.length) : path;
  // A mount path may carry leading segments (a namespace) that the path lacks.
  while (rest === path) {
    const parts = mount.split('/');
    if (parts.length <= 1 || parts.slice(1).join('/') === '') break;
    mount = parts.slice(1).join('/').replace(/\/$/, '');
    rest = rest.startsWith(mount) ? rest.slice(mount.length) : rest;
  }
  return joinPath(mount, apiPrefix, rest);
}

export interface KvMount {
  /** The mount as the server names it, with a trailing slash (`secret/`); may be empty. */
  mountPath: string;
  version: 1 | 2;
}

/**
 * Asks the server which mount serves `path` and its KV version. A 404 means
 * a server without the endpoint, taken as KV v1, as Vault's CLI does.
 */
export async function kvPreflight(client: ApiClient, path: string): Promise<KvMount> {
  let body: { data?: { path?: string; options?: { version?: string } | null } } | null;
  try {
    body = await client.call('GET', `sys/internal/ui/mounts/${path}`);
  } catch (err) {
    if ((err as { status?: number }).status === 404) return { mountPath: '', version: 1 };
    throw err;
  }
  if (!body) throw new Error('nil response from pre-flight request');
  const data = body.data ?? {};
  return { mountPath: data.path ?? '', version: data.options?.version === '2' ? 2 : 1 };
}

export interface KvTarget {
  client: ApiClient;
  mountPath: string;
  v2: boolean;
  /** The path to which the API segment is added (v2) or which is used as is (v1). */
  partialPath: string;
  mountFlagSyntax: boolean;
}

/**
 * Resolves a `kv` command's path argument and `-mount` flag (empty when not
 * given). `trimAll` (default) sanitizes the path as put, patch and delete do;
 * `kv get` only drops a leading slash, as in Vault.
 */
export async function resolveKvTarget(
  client: ApiClient,
  opts: { path: string; mount: string; trimAll?: boolean },
): Promise<KvTarget> {
  const mountFlag = opts.mount;
  let partialPath = opts.trimAll === false ? opts.path.replace(/^\//, '') : sanitizePath(opts.path);
  const mountFlagSyntax = mountFlag !== '';

  if (!mountFlagSyntax) {
    const { mountPath, version } = await kvPreflight(client, partialPath);
    return { client, mountPath, v2: version === 2, partialPath, mountFlagSyntax };
  }

  const mount = sanitizePath(mountFlag);
  const found = await kvPreflight(client, mount);
  // Without the preflight endpoint the flag is the only record of the mount.
  const mountPath = found.mountPath || `${mount}/`;
  if (found.version === 2) partialPath = joinPath(mountPath, partialPath);
  return { client, mountPath, v2: found.version === 2, partialPath, mountFlagSyntax };
}

/** The request path: v2 gets `apiPrefix` after the mount; v1 uses the plain path. */
export function kvPath(target: KvTarget, apiPrefix: string): string {
  if (target.v2) {
    return addPrefixToKVPath(target.partialPath, { mount: target.mountPath, prefix: apiPrefix });
  }
  return target.mountFlagSyntax
    ? joinPath(target.mountPath, target.partialPath)
    : target.partialPath;
}
