import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { KeepError } from '../../lib/errors.ts';
import { GithubClient, nextPage } from './client.ts';
import { type FakeGithub, startFakeGithub } from './fake-github.ts';

const ACME = { login: 'acme', id: 1001 };
const OTHER = { login: 'other-co', id: 2002 };

describe('GithubClient against a GitHub stand-in', () => {
  let gh: FakeGithub;
  before(async () => {
    gh = await startFakeGithub({
      maxPerPage: 2,
      prefix: '/api/v3',
      users: {
        ghp_alice: {
          login: 'Alice',
          id: 1,
          orgs: [OTHER, ACME],
          teams: [
            { name: 'Platform Team', slug: 'platform-team', org: ACME },
            { name: 'SRE', slug: 'sre', org: ACME },
            { name: 'Web', slug: 'web', org: OTHER },
            { name: 'Data', slug: 'data', org: ACME },
            { name: 'Ops', slug: 'ops', org: ACME },
          ],
        },
      },
    });
  });
  after(() => gh.close());

  it('reads the user, and every page of orgs and teams through Link headers', async () => {
    const client = new GithubClient({ baseUrl: gh.baseUrl, token: 'ghp_alice' });
    assert.deepEqual(await client.user(), { login: 'Alice', id: 1 });
    assert.deepEqual(await client.orgs(), [OTHER, ACME]);
    const teams = await client.teams();
    assert.deepEqual(
      teams.map((t) => [t.slug, t.organization.id]),
      [
        ['platform-team', 1001],
        ['sre', 1001],
        ['web', 2002],
        ['data', 1001],
        ['ops', 1001],
      ],
    );
    const teamPages = gh.requests.filter((r) => r.url.startsWith('/api/v3/user/teams'));
    assert.deepEqual(
      teamPages.map((r) => r.url),
      [
        '/api/v3/user/teams?per_page=100&page=1',
        '/api/v3/user/teams?per_page=100&page=2',
        '/api/v3/user/teams?per_page=100&page=3',
      ],
    );
    assert.ok(
      gh.requests.every((r) => !r.url.includes('ghp_alice')),
      'the token is never in a URL',
    );
    assert.equal(teamPages[0]!.authorization, 'Bearer ghp_alice');
  });

  it('says "invalid GitHub token" with a 400 when GitHub answers 401', async () => {
    const client = new GithubClient({ baseUrl: gh.baseUrl, token: 'ghp_wrong' });
    await assert.rejects(client.user(), (err: KeepError) => {
      assert.equal(err.status, 400);
      assert.match(err.message, /^invalid GitHub token/);
      assert.equal(err.message.includes('ghp_wrong'), false);
      return true;
    });
  });

  it('finds an organization by name, and nothing for an unknown one', async () => {
    const client = new GithubClient({ baseUrl: gh.baseUrl });
    assert.deepEqual(await client.org('ACME'), ACME);
    assert.equal(await client.org('no-such-org'), undefined);
  });

  it('reads the next page number from a Link header', () => {
    const link =
      '<https://api.github.com/user/teams?per_page=100&page=2>; rel="next", ' +
      '<https://api.github.com/user/teams?per_page=100&page=7>; rel="last"';
    assert.equal(nextPage(link), 2);
    assert.equal(nextPage('<https://x/y?page=1>; rel="prev"'), undefined);
    assert.equal(nextPage(null), undefined);
    assert.equal(nextPage('garbage'), undefined);
  });
});

describe('GithubClient against a misbehaving server', () => {
  let server: http.Server;
  let base = '';
  let handler: (req: http.IncomingMessage, res: http.ServerResponse) => void = () => {};
  before(async () => {
    server = http.createServer((req, res) => handler(req, res));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  after(() => {
    server.closeAllConnections();
    return new Promise<void>((r) => server.close(() => r()));
  });

  const failsWith = async (status: number, message: RegExp, opts = {}) => {
    const client = new GithubClient({ baseUrl: base, token: 't0ken', ...opts });
    await assert.rejects(client.user(), (err: KeepError) => {
      assert.equal(err.status, status, err.message);
      assert.match(err.message, message);
      assert.equal(err.message.includes('t0ken'), false);
      return true;
    });
  };

  it('gives up on a server that does not answer in time, with a 502', async () => {
    handler = () => {};
    await failsWith(502, /request for \/user timed out/, { timeoutMs: 200 });
  });

  it('stops reading an answer larger than the cap', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(`{"login":"${'x'.repeat(10_000)}","id":1}`);
    };
    await failsWith(502, /too large/, { maxBytes: 1000 });
    handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('['.repeat(600));
      res.end(']'.repeat(600));
    };
    await failsWith(502, /too large/, { maxBytes: 1000 });
  });

  it('follows no redirect, which could carry the token elsewhere', async () => {
    handler = (_req, res) => {
      res.writeHead(302, { Location: 'http://127.0.0.1:1/steal' });
      res.end();
    };
    await failsWith(502, /request for \/user failed/);
  });

  it('reports GitHub errors by status: 5xx as 502, other refusals as 400 with its message', async () => {
    handler = (_req, res) => {
      res.writeHead(503, { 'Content-Type': 'application/json' });
      res.end('{"message":"Service Unavailable"}');
    };
    await failsWith(502, /GitHub answered 503 for \/user: Service Unavailable/);
    handler = (_req, res) => {
      res.writeHead(403, { 'Content-Type': 'application/json' });
      res.end('{"message":"API rate limit exceeded"}');
    };
    await failsWith(400, /GitHub answered 403 for \/user: API rate limit exceeded/);
    handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('<html>not json</html>');
    };
    await failsWith(502, /unexpected body/);
    handler = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end('{"login":42}');
    };
    await failsWith(502, /unexpected body/);
  });

  it('reports an unreachable server as a 502', async () => {
    const client = new GithubClient({ baseUrl: 'http://127.0.0.1:1/', token: 't0ken' });
    await assert.rejects(client.user(), (err: KeepError) => err.status === 502);
  });
});
