/** `sys/policy`, `sys/policies/acl` and the `sys/capabilities*` family. */
import type { PathSpec } from '../../framework/backend.ts';
import type { LogicalRequest } from '../../framework/types.ts';
import { BadRequestError, NotFoundError, PermissionDeniedError } from '../../lib/errors.ts';
import type { Core } from '../core.ts';

export function policyPaths(core: Core): PathSpec[] {
  const store = () => core.unsealed.policies;
  const name = { type: 'string' } as const;
  return [
    {
      pattern: 'policy/?',
      synopsis: 'List the ACL policies.',
      operations: {
        read: async () => {
          const names = await store().list();
          return { legacyTopLevel: true, data: { keys: names, policies: names } };
        },
      },
    },
    {
      pattern: 'policy/(?<name>.+)',
      fields: { name, policy: { type: 'string' }, rules: { type: 'string' } },
      synopsis: 'Read, write or delete an ACL policy (legacy path).',
      operations: {
        read: async (_req, f) => {
          const policy = await readPolicy(core, f.string('name'));
          return { legacyTopLevel: true, data: { name: policy.name, rules: policy.raw } };
        },
        update: async (_req, f) => {
          await store().put(f.string('name'), policyText(f.string('policy') || f.string('rules')));
          return undefined;
        },
        delete: async (_req, f) => {
          await store().delete(f.string('name'));
          return undefined;
        },
      },
    },
    {
      pattern: 'policies/acl/?',
      synopsis: 'List the ACL policies.',
      operations: {
        list: async () => ({
          data: { keys: await store().list(), policies: await store().list() },
        }),
      },
    },
    {
      pattern: 'policies/acl/(?<name>.+)',
      fields: { name, policy: { type: 'string' } },
      synopsis: 'Read, write or delete an ACL policy.',
      operations: {
        read: async (_req, f) => {
          const policy = await readPolicy(core, f.string('name'));
          return { data: { name: policy.name, policy: policy.raw } };
        },
        update: async (_req, f) => {
          await store().put(f.string('name'), policyText(f.string('policy')));
          return undefined;
        },
        delete: async (_req, f) => {
          await store().delete(f.string('name'));
          return undefined;
        },
      },
    },
    capabilitiesPath(core, 'capabilities', async (_req, token) => {
      if (!token) throw new BadRequestError("missing 'token' parameter");
      return (await core.lookupToken(token))?.policies;
    }),
    capabilitiesPath(core, 'capabilities-self', async (req) => req.caller?.policies),
    capabilitiesPath(core, 'capabilities-accessor', async (_req, _token, accessor) => {
      if (!accessor) throw new BadRequestError("missing 'accessor' parameter");
      return (await core.unsealed.tokens.lookupAccessor(accessor))?.policies;
    }),
  ];
}

async function readPolicy(core: Core, name: string) {
  if (name === 'root') return { name: 'root', raw: '' };
  const policy = await core.unsealed.policies.get(name);
  if (!policy) throw new NotFoundError();
  return policy;
}

type PolicySource = (
  req: LogicalRequest,
  token: string,
  accessor: string,
) => Promise<string[] | undefined>;

/**
 * Vault answers with one list per path, keyed by the path, plus a
 * `capabilities` list for the first path (the single-path form old clients read).
 */
function capabilitiesPath(core: Core, pattern: string, source: PolicySource): PathSpec {
  return {
    pattern,
    fields: {
      token: { type: 'string' },
      accessor: { type: 'string' },
      path: { type: 'comma_string_list' },
      paths: { type: 'comma_string_list' },
    },
    synopsis: 'Report the capabilities a token has on paths.',
    operations: {
      update: async (req, f) => {
        const paths = [...f.strings('paths'), ...f.strings('path')];
        if (paths.length === 0) throw new BadRequestError("missing 'paths' parameter");
        const policies = await source(req, f.string('token'), f.string('accessor'));
        if (!policies) throw new PermissionDeniedError('invalid token');
        const acl = await core.unsealed.policies.aclFor(policies);
        const data: Record<string, unknown> = {};
        for (const path of paths) data[path] = acl.capabilities(path.replace(/^\/+/, ''));
        data.capabilities = data[paths[0]];
        return { legacyTopLevel: true, data };
      },
    },
  };
}

/**
 * The policy text of a write. As in Vault, an empty policy is refused and a
 * base64-encoded one is accepted (some tools send policies that way).
 */
export function policyText(value: string): string {
  const text = value.trim();
  if (text === '') throw new BadRequestError("'policy' parameter not supplied or empty");
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(text) && text.length % 4 === 0) {
    const decoded = Buffer.from(text, 'base64').toString('utf8');
    // Only a decoding that reads as a policy document counts: HCL or JSON.
    if (/\bpath\b|^\s*\{/.test(decoded) && !decoded.includes('\uFFFD')) return decoded;
  }
  return value;
}
