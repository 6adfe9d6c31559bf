/**
 * `config`: the organization users must belong to, the GitHub API to ask
 * (`base_url`, for GitHub Enterprise or a stand-in), and the token settings
 * of every token a GitHub login issues.
 */
import type { PathSpec } from '../../framework/backend.ts';
import type { FieldData } from '../../framework/fields.ts';
import { BadRequestError } from '../../lib/errors.ts';
import type { Storage } from '../../storage/types.ts';
import {
  DEFAULT_TOKEN_SETTINGS,
  describeTokenSettings,
  TOKEN_FIELDS,
  type TokenSettings,
  updateTokenSettings,
} from '../token-fields.ts';
import { GITHUB_API, GithubClient, type GithubClientOptions } from './client.ts';

export interface GithubConfig {
  organization: string;
  organization_id: number;
  /** As configured, ending in `/`; empty means api.github.com. */
  base_url: string;
  token: TokenSettings;
}

const CONFIG_KEY = 'config';

export async function loadConfig(storage: Storage): Promise<GithubConfig | undefined> {
  const raw = await storage.get(CONFIG_KEY);
  return raw ? (JSON.parse(raw.toString('utf8')) as GithubConfig) : undefined;
}

export async function saveConfig(storage: Storage, config: GithubConfig): Promise<void> {
  await storage.put(CONFIG_KEY, Buffer.from(JSON.stringify(config)));
}

export function apiRoot(config: GithubConfig): string {
  return config.base_url || GITHUB_API;
}

/** The client options a mount uses; tests shorten the limits. */
export type ClientLimits = Omit<GithubClientOptions, 'baseUrl' | 'token'>;

export function configPath(limits: ClientLimits): PathSpec {
  return {
    pattern: 'config',
    fields: {
      organization: { type: 'string', description: 'The organization users must be part of.' },
      organization_id: {
        type: 'int',
        description: "The organization's numeric id; looked up from the name when not given.",
      },
      base_url: {
        type: 'string',
        description: 'The API root for GitHub Enterprise, e.g. https://ghe.example.com/api/v3/.',
      },
      ...TOKEN_FIELDS,
    },
    synopsis: 'Configure the organization, the GitHub API and the tokens issued.',
    description:
      'organization_id is what logins check, so a renamed organization keeps working; ' +
      'when it is not given it is looked up once, here, from the organization name ' +
      '(trust on first use, as Vault does).',
    // Vault checks a first write against `create` and later ones against `update`.
    exists: async (_req, _f, ctx) => (await loadConfig(ctx.storage)) !== undefined,
    operations: {
      read: async (_req, _f, ctx) => {
        const c = await loadConfig(ctx.storage);
        if (!c) return undefined;
        return {
          data: {
            organization: c.organization,
            organization_id: c.organization_id,
            base_url: c.base_url,
            ...describeTokenSettings(c.token),
          },
        };
      },
      update: async (_req, f, ctx) => {
        const current = await loadConfig(ctx.storage);
        const next = nextConfig(f, current);
        if (next.organization_id === 0) {
          const client = new GithubClient({ ...limits, baseUrl: apiRoot(next) });
          next.organization_id = await lookupOrgId(client, next.organization);
        }
        await saveConfig(ctx.storage, next);
        return undefined;
      },
    },
  };
}

function nextConfig(f: FieldData, current: GithubConfig | undefined): GithubConfig {
  const organization = f.has('organization')
    ? f.string('organization').trim()
    : current?.organization;
  if (!organization) throw new BadRequestError('organization is a required parameter');
  // GitHub's own names are letters, digits and hyphens (GHE adds `_`), at most 39 long.
  if (!/^[\w.-]{1,100}$/.test(organization)) {
    throw new BadRequestError('invalid organization: letters, digits, "-", "_" and "." only');
  }

  // A new organization name without an id means a new lookup, not the old org's id.
  const renamed = current !== undefined && organization !== current.organization;
  let organizationId = renamed ? 0 : (current?.organization_id ?? 0);
  if (f.has('organization_id')) organizationId = f.int('organization_id');
  if (organizationId < 0) throw new BadRequestError('organization_id cannot be negative');

  return {
    organization,
    organization_id: organizationId,
    base_url: f.has('base_url')
      ? normaliseBaseUrl(f.string('base_url'))
      : (current?.base_url ?? ''),
    token: updateTokenSettings(f, current?.token ?? DEFAULT_TOKEN_SETTINGS),
  };
}

/** An http(s) URL without credentials, query or fragment, ending in `/`; "" for github.com. */
export function normaliseBaseUrl(text: string): string {
  const trimmed = text.trim();
  if (trimmed === '') return '';
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw new BadRequestError('error parsing given base_url: not an absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new BadRequestError('base_url must be an http or https URL');
  }
  if (url.username || url.password || url.search || url.hash) {
    throw new BadRequestError('base_url cannot carry credentials, a query or a fragment');
  }
  return url.href.endsWith('/') ? url.href : `${url.href}/`;
}

async function lookupOrgId(client: GithubClient, organization: string): Promise<number> {
  const org = await client.org(organization);
  if (!org) throw new BadRequestError(`organization "${organization}" was not found on GitHub`);
  return org.id;
}
