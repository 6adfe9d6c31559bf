/**
 * `keep provision`'s work against the server: the service's policy
 * `svc-S-E` (read on exactly its convention paths), its AppRole role `S-E`
 * and a fresh secret ID. Every step is a put of a known state, so a retry
 * after a partial failure ends where a clean run would.
 */
import type { ApiClient } from '../cli/client.ts';
import { LocalError } from '../cli/errors.ts';
import { parseCidr } from '../lib/cidr.ts';
import { conventionLayout } from './env-vars.ts';

export interface ProvisionOptions {
  service: string;
  env: string;
  /** AppRole mount, `approle` unless told. */
  approleMount: string;
  secretMount: string;
  cidrs: string[];
  /** Seconds. */
  secretIdTtl: number;
  /** Seconds; 0: not wrapped. */
  wrapTtl: number;
}

export const policyName = (service: string, env: string) => `svc-${service}-${env}`;
export const roleNameOf = (service: string, env: string) => `${service}-${env}`;

/** HCL for `svc-S-E`: read on the two secrets, read and list under the three config prefixes. */
export function servicePolicy(service: string, env: string, secretMount = 'secret'): string {
  const layout = conventionLayout(service, env, secretMount);
  const secrets = layout.secrets.map(
    (s) => `path "${s.mount}/data/${s.path}" {\n  capabilities = ["read"]\n}\n`,
  );
  const config = layout.configPrefixes.map(
    (p) => `path "config/${p}*" {\n  capabilities = ["read", "list"]\n}\n`,
  );
  return [...secrets, ...config].join('\n');
}

/** Enables AppRole at the mount when nothing is mounted there yet. */
export async function ensureAppRole(client: ApiClient, mount: string): Promise<void> {
  const auth = (await client.call<Record<string, unknown>>('GET', 'sys/auth')) ?? {};
  const table = (auth.data && typeof auth.data === 'object' ? auth.data : auth) as Record<
    string,
    { type?: string }
  >;
  const existing = table[`${mount}/`];
  if (existing) {
    if (existing.type !== 'approle') {
      throw new Error(`auth mount ${mount}/ is of type ${existing.type}, not approle`);
    }
    return;
  }
  await client.call('POST', `sys/auth/${mount}`, { body: { type: 'approle' } });
}

/** Writes the policy and the role; returns the role's ID. */
export async function applyRole(client: ApiClient, o: ProvisionOptions): Promise<string> {
  const policy = policyName(o.service, o.env);
  await client.call('PUT', `sys/policies/acl/${policy}`, {
    body: { policy: servicePolicy(o.service, o.env, o.secretMount) },
  });
  await ensureAppRole(client, o.approleMount);
  const role = roleNameOf(o.service, o.env);
  await client.write(`auth/${o.approleMount}/role/${role}`, {
    token_policies: [policy],
    secret_id_num_uses: 1,
    secret_id_ttl: o.secretIdTtl,
    secret_id_bound_cidrs: o.cidrs,
    token_bound_cidrs: o.cidrs,
  });
  const answer = await client.read(`auth/${o.approleMount}/role/${role}/role-id`);
  const roleId = answer?.data?.role_id;
  if (typeof roleId !== 'string' || !roleId) throw new Error(`role ${role} has no role ID`);
  return roleId;
}

export interface IssuedSecretId {
  /** The secret ID, or the wrapping token when wrapped. */
  value: string;
  wrapped: boolean;
  /** The secret ID's accessor, or the wrapping token's accessor. */
  accessor: string;
}

/** Issues one secret ID for the role, wrapped when `wrapTtl` is set. */
export async function issueSecretId(
  client: ApiClient,
  o: ProvisionOptions,
): Promise<IssuedSecretId> {
  const role = roleNameOf(o.service, o.env);
  const headers: Record<string, string> =
    o.wrapTtl > 0 ? { 'X-Vault-Wrap-TTL': `${o.wrapTtl}s` } : {};
  const answer = await client.write(
    `auth/${o.approleMount}/role/${role}/secret-id`,
    {},
    {
      method: 'POST',
      headers,
    },
  );
  if (o.wrapTtl > 0) {
    const info = answer?.wrap_info;
    if (!info?.token) throw new Error('the server did not wrap the secret ID');
    return { value: info.token, wrapped: true, accessor: info.accessor ?? '' };
  }
  const id = answer?.data?.secret_id;
  if (typeof id !== 'string' || !id) throw new Error('the server returned no secret ID');
  return { value: id, wrapped: false, accessor: String(answer?.data?.secret_id_accessor ?? '') };
}

/** Deletes the role (and with it every secret ID it issued) and the policy; absent is fine. */
export async function removeRole(client: ApiClient, o: ProvisionOptions): Promise<void> {
  const role = roleNameOf(o.service, o.env);
  try {
    await client.delete(`auth/${o.approleMount}/role/${role}`);
  } catch (err) {
    if ((err as { status?: number }).status !== 404) throw err;
  }
  try {
    await client.call('DELETE', `sys/policies/acl/${policyName(o.service, o.env)}`);
  } catch (err) {
    if ((err as { status?: number }).status !== 404) throw err;
  }
}

/** `-cidr` values (repeatable, or comma-separated), each checked; a LocalError names a bad one. */
export function checkedCidrList(values: string[]): string[] {
  const out: string[] = [];
  for (const part of values.flatMap((v) => v.split(','))) {
    const cidr = part.trim();
    if (!cidr) continue;
    try {
      parseCidr(cidr);
    } catch {
      throw new LocalError(
        `invalid -cidr ${JSON.stringify(cidr)}: expected a network like 10.0.0.0/8`,
      );
    }
    out.push(cidr);
  }
  return out;
}
