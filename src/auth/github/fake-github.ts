/**
 * Test support: a stand-in for the GitHub REST API on loopback (node:http),
 * answering the endpoints a GitHub login calls with GitHub's JSON shapes and
 * headers: `GET /user`, `/user/orgs` and `/user/teams` (paginated with
 * `Link` headers, `rel="next"`/`"last"`/`"first"`/`"prev"`), `/orgs/{org}`,
 * and GitHub's 401 and 404 bodies. An optional path prefix (`/api/v3`)
 * makes it look like GitHub Enterprise. Not imported by backend code.
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeOrg {
  login: string;
  id: number;
}

export interface FakeTeam {
  name: string;
  slug: string;
  org: FakeOrg;
}

export interface FakeUser {
  login: string;
  id: number;
  orgs: FakeOrg[];
  teams: FakeTeam[];
}

export interface FakeGithubOptions {
  /** Personal access token → user. */
  users: Record<string, FakeUser>;
  /** Organizations `GET /orgs/{org}` knows (those of the users are known anyway). */
  orgs?: FakeOrg[];
  /** Page size cap, so a few teams already span several pages. GitHub's is 100. */
  maxPerPage?: number;
  /** `/api/v3` for a GitHub Enterprise-like root. */
  prefix?: string;
}

export interface RecordedGithubRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  authorization?: string;
}

export interface FakeGithub {
  /** The API root to configure as `base_url`, ending in `/`. */
  baseUrl: string;
  requests: RecordedGithubRequest[];
  close(): Promise<void>;
}

const DOCS = 'https://docs.github.com/rest';

export async function startFakeGithub(opts: FakeGithubOptions): Promise<FakeGithub> {
  const prefix = opts.prefix ?? '';
  const requests: RecordedGithubRequest[] = [];
  const knownOrgs = new Map<string, FakeOrg>();
  for (const org of opts.orgs ?? []) knownOrgs.set(org.login.toLowerCase(), org);
  for (const user of Object.values(opts.users)) {
    for (const org of user.orgs) knownOrgs.set(org.login.toLowerCase(), org);
  }

  let origin = '';
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    requests.push({
      method: req.method ?? '',
      url: req.url ?? '',
      authorization: req.headers.authorization,
    });
    const send = (status: number, body: unknown, extra: Record<string, string> = {}) => {
      const text = JSON.stringify(body);
      res.writeHead(status, {
        'Content-Type': 'application/json; charset=utf-8',
        'Content-Length': Buffer.byteLength(text),
        'X-GitHub-Media-Type': 'github.v3; format=json',
        'X-GitHub-Api-Version-Selected': '2022-11-28',
        'X-RateLimit-Limit': '5000',
        'X-RateLimit-Remaining': '4999',
        'X-RateLimit-Reset': String(Math.floor(Date.now() / 1000) + 3600),
        'X-RateLimit-Used': '1',
        'X-RateLimit-Resource': 'core',
        'X-GitHub-Request-Id': `FAKE:${requests.length}`,
        ...extra,
      });
      res.end(text);
    };
    const notFound = () =>
      send(404, { message: 'Not Found', documentation_url: DOCS, status: '404' });

    if (req.method !== 'GET' || !url.pathname.startsWith(`${prefix}/`)) return notFound();
    const path = url.pathname.slice(prefix.length);

    const org = /^\/orgs\/([^/]+)$/.exec(path);
    if (org) {
      const found = knownOrgs.get(decodeURIComponent(org[1]!).toLowerCase());
      return found ? send(200, orgFull(found, origin + prefix)) : notFound();
    }

    const token = /^(?:Bearer|token) (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const user = token === undefined ? undefined : opts.users[token];
    if (['/user', '/user/orgs', '/user/teams'].includes(path) && !user) {
      return send(401, { message: 'Bad credentials', documentation_url: DOCS, status: '401' });
    }
    const api = origin + prefix;
    if (path === '/user') return send(200, userFull(user!, api));
    if (path === '/user/orgs') {
      return sendPage(
        url,
        api,
        user!.orgs.map((o) => orgSummary(o, api)),
      );
    }
    if (path === '/user/teams') {
      return sendPage(
        url,
        api,
        user!.teams.map((t, i) => teamFull(t, i, api)),
      );
    }
    return notFound();

    function sendPage(url: URL, api: string, all: unknown[]) {
      const perPage = Math.min(
        Number(url.searchParams.get('per_page') ?? 30),
        opts.maxPerPage ?? 100,
      );
      const page = Math.max(1, Number(url.searchParams.get('page') ?? 1));
      const last = Math.max(1, Math.ceil(all.length / perPage));
      const at = (n: number) => {
        const u = new URL(`${api}${url.pathname.slice(prefix.length)}`);
        u.searchParams.set('per_page', String(perPage));
        u.searchParams.set('page', String(n));
        return `<${u}>`;
      };
      const links: string[] = [];
      if (page > 1) links.push(`${at(page - 1)}; rel="prev"`);
      if (page < last) links.push(`${at(page + 1)}; rel="next"`, `${at(last)}; rel="last"`);
      if (page > 1) links.push(`${at(1)}; rel="first"`);
      const items = all.slice((page - 1) * perPage, page * perPage);
      send(200, items, links.length ? { Link: links.join(', ') } : {});
    }
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    baseUrl: `${origin}${prefix}/`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function userFull(u: FakeUser, api: string) {
  return {
    login: u.login,
    id: u.id,
    node_id: `MDQ6VXNlcj${u.id}`,
    avatar_url: `https://avatars.githubusercontent.com/u/${u.id}?v=4`,
    gravatar_id: '',
    url: `${api}/users/${u.login}`,
    html_url: `https://github.com/${u.login}`,
    followers_url: `${api}/users/${u.login}/followers`,
    organizations_url: `${api}/users/${u.login}/orgs`,
    repos_url: `${api}/users/${u.login}/repos`,
    type: 'User',
    user_view_type: 'private',
    site_admin: false,
    name: u.login,
    company: null,
    blog: '',
    location: null,
    email: null,
    hireable: null,
    bio: null,
    twitter_username: null,
    public_repos: 3,
    public_gists: 0,
    followers: 1,
    following: 0,
    created_at: '2015-01-02T03:04:05Z',
    updated_at: '2026-11-01T10:00:00Z',
  };
}

function orgSummary(o: FakeOrg, api: string) {
  return {
    login: o.login,
    id: o.id,
    node_id: `MDEyOk9yZ2FuaXphdGlvbj${o.id}`,
    url: `${api}/orgs/${o.login}`,
    repos_url: `${api}/orgs/${o.login}/repos`,
    events_url: `${api}/orgs/${o.login}/events`,
    hooks_url: `${api}/orgs/${o.login}/hooks`,
    issues_url: `${api}/orgs/${o.login}/issues`,
    members_url: `${api}/orgs/${o.login}/members{/member}`,
    public_members_url: `${api}/orgs/${o.login}/public_members{/member}`,
    avatar_url: `https://avatars.githubusercontent.com/u/${o.id}?v=4`,
    description: null,
  };
}

function orgFull(o: FakeOrg, api: string) {
  return {
    ...orgSummary(o, api),
    name: o.login,
    company: null,
    blog: '',
    location: null,
    email: null,
    is_verified: false,
    has_organization_projects: true,
    has_repository_projects: true,
    public_repos: 10,
    public_gists: 0,
    followers: 0,
    following: 0,
    html_url: `https://github.com/${o.login}`,
    created_at: '2014-05-06T07:08:09Z',
    updated_at: '2026-10-01T10:00:00Z',
    archived_at: null,
    type: 'Organization',
  };
}

function teamFull(t: FakeTeam, index: number, api: string) {
  const id = 9000 + index;
  return {
    name: t.name,
    id,
    node_id: `MDQ6VGVhbT${id}`,
    slug: t.slug,
    description: '',
    privacy: 'closed',
    notification_setting: 'notifications_enabled',
    url: `${api}/teams/${id}`,
    html_url: `https://github.com/orgs/${t.org.login}/teams/${t.slug}`,
    members_url: `${api}/teams/${id}/members{/member}`,
    repositories_url: `${api}/teams/${id}/repos`,
    permission: 'pull',
    parent: null,
    members_count: 3,
    repos_count: 1,
    created_at: '2020-01-01T00:00:00Z',
    updated_at: '2026-01-01T00:00:00Z',
    organization: orgFull(t.org, api),
  };
}
