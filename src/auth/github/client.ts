/**
 * The few GitHub REST calls a GitHub login needs, on node's fetch: the
 * calls Vault's github method makes (`GET /user`, `GET /user/orgs`,
 * `GET /user/teams`, and `GET /orgs/{org}` to learn an organization's id),
 * with lists followed page by page through the `Link` header.
 *
 * Every call has a deadline and a cap on the bytes it reads, follows no
 * redirects (a redirect could carry the token elsewhere), and never puts the
 * token anywhere but the Authorization header: error messages name the API
 * path, never the token or the full URL.
 */
import { BadRequestError, KeepError } from '../../lib/errors.ts';
import { KEEP_VERSION } from '../../lib/version.ts';

export const GITHUB_API = 'https://api.github.com/';

export interface GithubUser {
  login: string;
  id: number;
}

export interface GithubOrg {
  login: string;
  id: number;
}

export interface GithubTeam {
  name: string;
  slug: string;
  organization: GithubOrg;
}

/** 502: GitHub could not be reached, or answered in a way that is GitHub's fault. */
export class GithubUnavailableError extends KeepError {
  constructor(message: string) {
    super(message, { status: 502, code: 'upstream' });
  }
}

export interface GithubClientOptions {
  /** API root ending in `/`: GITHUB_API, or `https://ghe.example.com/api/v3/`. */
  baseUrl: string;
  /** A personal access token; unauthenticated calls without one. */
  token?: string;
  /** Deadline for each request, body included; default 10 s. */
  timeoutMs?: number;
  /** Most bytes read from one response; default 4 MiB. */
  maxBytes?: number;
  /** Most pages read from one list; default 50 (5,000 items). */
  maxPages?: number;
}

const PER_PAGE = 100;

export class GithubClient {
  readonly #opts: Required<Omit<GithubClientOptions, 'token'>> & { token?: string };

  constructor(opts: GithubClientOptions) {
    this.#opts = { timeoutMs: 10_000, maxBytes: 4 * 1024 * 1024, maxPages: 50, ...opts };
  }

  async user(): Promise<GithubUser> {
    return checkAccount(await this.#get('user'), 'user');
  }

  /** The organizations the token's user belongs to. */
  async orgs(): Promise<GithubOrg[]> {
    return (await this.#list('user/orgs')).map((o) => checkAccount(o, 'user/orgs'));
  }

  /** The teams of the token's user, across all organizations. */
  async teams(): Promise<GithubTeam[]> {
    return (await this.#list('user/teams')).map((raw) => {
      const t = raw as Partial<GithubTeam>;
      if (typeof t.name !== 'string' || typeof t.slug !== 'string') {
        throw unexpected('user/teams');
      }
      return {
        name: t.name,
        slug: t.slug,
        organization: checkAccount(t.organization, 'user/teams'),
      };
    });
  }

  /** An organization by name; undefined when GitHub does not know it. */
  async org(name: string): Promise<GithubOrg | undefined> {
    const path = `orgs/${encodeURIComponent(name)}`;
    const { status, body } = await this.#request(path, 'orgs', { missingOk: true });
    return status === 404 ? undefined : checkAccount(body, 'orgs');
  }

  /** Every page of a list, following `rel="next"` as go-github does: by page number. */
  async #list(path: string): Promise<unknown[]> {
    const items: unknown[] = [];
    let page = 1;
    for (let n = 0; n < this.#opts.maxPages; n++) {
      const { body, next } = await this.#request(`${path}?per_page=${PER_PAGE}&page=${page}`, path);
      if (!Array.isArray(body)) throw unexpected(path);
      items.push(...body);
      if (next === undefined || next <= page) return items;
      page = next;
    }
    throw new GithubUnavailableError(
      `GitHub's ${path} list has more than ${this.#opts.maxPages} pages`,
    );
  }

  async #get(path: string): Promise<unknown> {
    return (await this.#request(path, path)).body;
  }

  async #request(
    pathAndQuery: string,
    path: string,
    opts: { missingOk?: boolean } = {},
  ): Promise<{ status: number; body: unknown; next?: number }> {
    const headers: Record<string, string> = {
      Accept: 'application/vnd.github+json',
      'User-Agent': `keep/${KEEP_VERSION}`,
      'X-GitHub-Api-Version': '2022-11-28',
    };
    if (this.#opts.token) headers.Authorization = `Bearer ${this.#opts.token}`;

    let res: Response;
    let text: string;
    try {
      res = await fetch(new URL(pathAndQuery, this.#opts.baseUrl), {
        headers,
        redirect: 'error',
        signal: AbortSignal.timeout(this.#opts.timeoutMs),
      });
      text = await readCapped(res, this.#opts.maxBytes, path);
    } catch (err) {
      if (err instanceof KeepError) throw err;
      const why = (err as Error).name === 'TimeoutError' ? 'timed out' : 'failed';
      throw new GithubUnavailableError(`GitHub API request for /${path} ${why}`);
    }

    if (res.status === 404 && opts.missingOk) return { status: 404, body: undefined };
    if (!res.ok) throw statusError(res.status, path, text);
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw unexpected(path);
    }
    return { status: res.status, body, next: nextPage(res.headers.get('link')) };
  }
}

async function readCapped(res: Response, maxBytes: number, path: string): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? '0');
  const tooBig = () => new GithubUnavailableError(`GitHub's answer to /${path} is too large`);
  if (declared > maxBytes) {
    await res.body?.cancel();
    throw tooBig();
  }
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of res.body) {
    total += chunk.byteLength;
    if (total > maxBytes) throw tooBig();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** The page number of `rel="next"` in a Link header, if any. */
export function nextPage(link: string | null): number | undefined {
  if (!link) return undefined;
  for (const part of link.split(',')) {
    const m = /<([^>]*)>\s*;\s*rel="?next"?/.exec(part);
    if (!m) continue;
    try {
      const page = Number(new URL(m[1]!).searchParams.get('page'));
      return Number.isSafeInteger(page) && page > 0 ? page : undefined;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * A refusal from GitHub. 401 means the token is bad; other 4xx (a missing
 * `read:org` scope, a rate limit) are passed on with GitHub's own message,
 * which names no secret; 5xx is GitHub's trouble.
 */
function statusError(status: number, path: string, text: string): KeepError {
  if (status === 401) return new BadRequestError('invalid GitHub token: GitHub answered 401');
  const message = githubMessage(text);
  const said = message ? `: ${message}` : '';
  if (status >= 500)
    return new GithubUnavailableError(`GitHub answered ${status} for /${path}${said}`);
  return new BadRequestError(`GitHub answered ${status} for /${path}${said}`);
}

function githubMessage(text: string): string {
  try {
    const { message } = JSON.parse(text) as { message?: unknown };
    if (typeof message !== 'string') return '';
    // It is shown to the caller: keep it short and printable.
    return message.replace(/[^\x20-\x7e]/g, ' ').slice(0, 200);
  } catch {
    return '';
  }
}

function checkAccount(value: unknown, path: string): GithubOrg {
  const v = value as Partial<GithubOrg> | null;
  if (!v || typeof v.login !== 'string' || !Number.isSafeInteger(v.id)) throw unexpected(path);
  return { login: v.login, id: v.id! };
}

function unexpected(path: string): GithubUnavailableError {
  return new GithubUnavailableError(`GitHub answered /${path} with an unexpected body`);
}
