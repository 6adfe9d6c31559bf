/**
 * The Vault API over real HTTP, fuzzed: thousands of requests with hostile
 * paths, methods, bodies and headers against one dev server, over one
 * keep-alive connection. Properties: the server stays up and answers
 * sys/health; every answer has a status a Vault client expects, errors in
 * `{"errors": [...]}`; nothing is a 500; a planted secret never appears in an
 * error, nor in any answer to a token that may not read it; and requests that
 * fail leave storage exactly as it was.
 *
 * `KEEP_FUZZ_RUNS=20000 npm test fuzz-http` soaks; a failure names its seed.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { fuzz } from './helpers/fuzz.ts';
import { type KeepProcess, startDevKeep } from './helpers/keep-server.ts';

const ROOT = 'fuzz-http-root';
/** The planted secret: stored before the run, never to appear in an error. */
const SECRET = `planted-${Math.random().toString(36).slice(2)}-value`;
/** Sent inside request bodies; an error must not echo it either. */
const BODY_SECRET = 'body-secret-ZQX81';

interface Answer {
  status: number;
  type: string | null;
  text: string;
}

describe('the Vault API under hostile input', () => {
  let server: KeepProcess;
  let limitedToken = '';
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

  /** One request through node:http, which sends the path exactly as given. */
  function call(
    method: string,
    path: string,
    init: { body?: string | Buffer; headers?: Record<string, string>; token?: string | null } = {},
  ): Promise<Answer> {
    const headers: Record<string, string> = { ...init.headers };
    const token = init.token === undefined ? ROOT : init.token;
    if (token !== null) headers['X-Vault-Token'] = token;
    const url = new URL(server.addr);
    return new Promise<Answer>((resolve, reject) => {
      const req = http.request(
        { host: url.hostname, port: url.port, method, path, headers, agent, timeout: 15_000 },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              type: res.headers['content-type'] ?? null,
              text: Buffer.concat(chunks).toString(),
            }),
          );
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer in 15 s: ${method} ${path}`)));
      req.on('error', reject);
      req.end(init.body);
    });
  }

  const enc = (path: string) => path.split('/').map(encodeURIComponent).join('/');

  /** Everything a failed request must leave alone: the KV tree, policies, mounts, auth methods. */
  async function snapshot(): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    const json = async (path: string) => {
      const res = await call('GET', path);
      assert.equal(res.status, 200, `${path}: ${res.text}`);
      return JSON.parse(res.text);
    };
    async function walk(prefix: string) {
      const res = await call('GET', `/v1/secret/metadata/${enc(prefix)}?list=true`);
      if (res.status === 404) return;
      for (const key of JSON.parse(res.text).data.keys as string[]) {
        if (key.endsWith('/')) await walk(prefix + key);
        else out[`kv:${prefix}${key}`] = (await json(`/v1/secret/metadata/${enc(prefix + key)}`)).data;
      }
    }
    await walk('');
    out.planted = (await json('/v1/secret/data/app/planted')).data.data;
    const policies = (await json('/v1/sys/policy')).data.policies as string[];
    for (const name of policies) {
      out[`policy:${name}`] = (await json(`/v1/sys/policy/${encodeURIComponent(name)}`)).data.rules;
    }
    const mounts = (await json('/v1/sys/mounts')).data;
    out.mounts = Object.fromEntries(Object.entries(mounts).map(([k, v]) => [k, (v as { type: string }).type]));
    out.auth = Object.keys((await json('/v1/sys/auth')).data).sort();
    return out;
  }

  async function assertAlive() {
    assert.equal(server.proc.exitCode, null, 'the server process is alive');
    assert.equal(server.proc.signalCode, null, 'the server process is alive');
    const health = await call('GET', '/v1/sys/health', { token: null });
    assert.equal(health.status, 200, health.text);
    assert.equal(JSON.parse(health.text).sealed, false);
  }

  before(async () => {
    server = await startDevKeep(ROOT);
    const put = await call('POST', '/v1/secret/data/app/planted', {
      body: JSON.stringify({ data: { password: SECRET } }),
    });
    assert.equal(put.status, 200, put.text);
    for (const [path, value] of [
      ['app/config', '1'],
      ['open/x', '2'],
      ['closed/y', '3'],
    ]) {
      const res = await call('POST', `/v1/secret/data/${path}`, {
        body: JSON.stringify({ data: { v: value } }),
      });
      assert.equal(res.status, 200, res.text);
    }
    // A token that may write under secret/data/open/ and read nothing else of secret/.
    const policy = await call('PUT', '/v1/sys/policy/fuzz-open', {
      body: JSON.stringify({
        policy: `path "secret/data/open/*" { capabilities = ["create", "read", "update", "delete"] }
path "secret/metadata/open/*" { capabilities = ["list", "read"] }
path "secret/data/app/*" { capabilities = ["deny"] }`,
      }),
    });
    assert.equal(policy.status, 204, policy.text);
    const token = await call('POST', '/v1/auth/token/create', {
      body: JSON.stringify({ policies: ['fuzz-open'], ttl: '1h' }),
    });
    assert.equal(token.status, 200, token.text);
    limitedToken = JSON.parse(token.text).auth.client_token;
  });

  after(async () => {
    agent.destroy();
    await server?.stop();
  });

  // ---- generators ---------------------------------------------------------

  /** Segments a path must be refused for, as sent on the wire. */
  const refused = fc.constantFrom(
    '..',
    '.',
    '%2e',
    '%2E',
    '%2e%2e',
    '.%2e',
    '%2E.',
    '%2f',
    'a%2Fb',
    '%5c',
    'a%5Cb',
    '\\',
    '%00',
    'x%00y',
    '%c0%ae', // overlong "."
    '%c0%ae%c0%ae',
    '%e0%80%ae',
    '%c0%af', // overlong "/"
    '%c1%9c', // overlong "\"
    '%c0%80', // overlong NUL
    '%ed%a0%80', // a surrogate
    '%f8%80%80%80%af',
    '%ff',
    '%',
    '%2',
    '%zz',
    '%u002e',
    'k'.repeat(4200),
  );

  /** Segments that are odd but legal key names (look-alikes, spaces, long, any Unicode). */
  const odd = fc.oneof(
    fc.constantFrom(
      '．', // fullwidth full stop
      '．．',
      '。',
      '‥',
      '\u2024\u2024',
      'app ',
      ' app',
      'app\t',
      'ａｐｐ',
      'ＡＰＰ',
      'App',
      'closed ',
      'clos\u0435d', // Cyrillic e
      'open\u200b',
      '\u202eedoc',
      '%2e', // a literal "%2e", encoded below as %252e
      '%',
      '...',
      '.hidden',
      'x.',
      '__proto__',
      'constructor',
    ),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }),
    fc.string({ unit: 'binary', minLength: 1, maxLength: 10 }),
    fc.integer({ min: 200, max: 1500 }).map((n) => 'é'.repeat(n)),
  );

  const PREFIXES = [
    '',
    'secret/',
    'secret/data/',
    'secret/data/app/',
    'secret/data/open/',
    'secret/data/closed/',
    'secret/metadata/',
    'secret/metadata/app/',
    'secret/delete/app/',
    'secret/undelete/app/',
    'secret/destroy/app/',
    'secret/subkeys/app/',
    'secret/config/',
    'sys/policy/',
    'sys/policies/acl/',
    'sys/mounts/',
    'sys/auth/',
    'sys/capabilities-self/',
    'sys/internal/ui/mounts/',
    'sys/leases/lookup/',
    'sys/tools/hash/',
    'sys/tools/random/',
    'sys/wrapping/lookup/',
    'sys/health/',
    'sys/metrics/',
    'sys/audit/',
    'auth/token/lookup/',
    'auth/token/roles/',
    'cubbyhole/',
    'identity/',
    'nowhere/',
  ];
  const prefix = fc.constantFrom(...PREFIXES);
  const method = fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'LIST');

  const query = fc.oneof(
    { weight: 4, arbitrary: fc.constant('') },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '?list=true',
        '?list=maybe',
        '?list=%ZZ',
        '?version=abc',
        '?version=-1',
        '?cas=x',
        '?format=prometheus',
        '?standbyok=x&perfstandbyok=1',
        '?a=1&a=2&a[b]=3',
        '?__proto__[x]=1',
        '?%00=%00',
        `?token=${ROOT}`,
      ),
    },
  );

  /** Malformed JSON that carries a secret: the parse error must not quote it. */
  const brokenJson = fc
    .tuple(fc.nat(60), fc.constantFrom('', 'x', '}', ',', '"', '\\', '\u0000'))
    .map(([cut, tail]) => {
      const text = `{"data":{"password":"${BODY_SECRET}","token":"${BODY_SECRET}"},"x":[1,2,{"y":null}]}`;
      const i = 20 + (cut % (text.length - 20));
      return text.slice(0, i) + tail + text.slice(i);
    });

  const body = fc.oneof(
    { weight: 2, arbitrary: fc.constant(undefined) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
    {
      weight: 2,
      arbitrary: fc
        .dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 })
        .map((data) => JSON.stringify({ data: { ...data, password: BODY_SECRET } })),
    },
    {
      weight: 2,
      arbitrary: fc
        .record(
          {
            data: fc.jsonValue({ maxDepth: 2 }),
            options: fc.jsonValue({ maxDepth: 2 }),
            policy: fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 1 })),
            type: fc.constantFrom('kv', 'pki', 'nope', '', 1),
            ttl: fc.oneof(fc.string({ maxLength: 6 }), fc.integer()),
            max_versions: fc.oneof(fc.string({ maxLength: 4 }), fc.integer()),
            cas: fc.oneof(fc.string({ maxLength: 4 }), fc.integer()),
            versions: fc.jsonValue({ maxDepth: 1 }),
            policies: fc.jsonValue({ maxDepth: 1 }),
            token: fc.constantFrom('', 'hvs.nope', ROOT),
            bytes: fc.oneof(fc.integer(), fc.string({ maxLength: 4 })),
            paths: fc.jsonValue({ maxDepth: 1 }),
          },
          { requiredKeys: [] },
        )
        .map((v) => JSON.stringify(v)),
    },
    { weight: 2, arbitrary: brokenJson },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 60 }) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 60 }).map((a) => Buffer.from(a)) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '{"data":{"a":1e400}}',
        '{"data":{"a":-0}}',
        '{"__proto__":{"admin":true},"data":{"a":"1"}}',
        '{"constructor":{"prototype":{"x":1}}}',
        '{"data":{"a":"1"},"data":{"b":"2"}}',
        '\ufeff{"data":{"a":"1"}}',
        '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[',
        `${'['.repeat(400)}${']'.repeat(400)}`,
        `{"data":${'{"a":'.repeat(400)}1${'}'.repeat(400)}}`,
        'null',
        'true',
        '"string"',
        `{"data":{"a":"${'x'.repeat(70_000)}"}}`,
      ),
    },
  );

  const headerValue = fc.stringMatching(/^[\x20-\x7e]{0,40}$/);
  const headers = fc.record(
    {
      'Content-Type': fc.constantFrom(
        'application/json',
        'application/merge-patch+json',
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/json; charset=utf-16',
        '',
      ),
      'X-Vault-Wrap-TTL': fc.constantFrom('5m', '0', '-1', 'abc', '99999999999999h', '1e10', ''),
      'X-Forwarded-For': fc.oneof(headerValue, fc.constantFrom('1.2.3.4', '::1, 10.0.0.1', 'x')),
      'X-Vault-Request': fc.constantFrom('true', 'false', ''),
      'X-Vault-Namespace': fc.constantFrom('ns1/', '', '../'),
      Authorization: fc.oneof(headerValue, fc.constant(`Bearer ${ROOT}`)),
      'X-Vault-Index': headerValue,
      Accept: headerValue,
    },
    { requiredKeys: [] },
  );

  /** Whose request it is: root, a token limited to secret/data/open/, none, or garbage. */
  const who = fc.oneof(
    { weight: 4, arbitrary: fc.constant<'root'>('root') },
    { weight: 3, arbitrary: fc.constant<'limited'>('limited') },
    { weight: 1, arbitrary: fc.constant<'none'>('none') },
    {
      weight: 1,
      arbitrary: fc.oneof(
        headerValue,
        fc.constantFrom('', 'hvs.nope', `${ROOT} `, ROOT.toUpperCase(), 'x'.repeat(6000)),
      ),
    },
  );

  function tokenFor(w: string): string | null {
    if (w === 'root') return ROOT;
    if (w === 'limited') return limitedToken;
    if (w === 'none') return null;
    return w;
  }

  /** Statuses a Vault client knows how to read. */
  const EXPECTED = new Set([200, 204, 307, 400, 403, 404, 405, 409, 412, 413, 415, 429]);

  function assertVaultAnswer(res: Answer, secretMayAppear: boolean): void {
    assert.ok(EXPECTED.has(res.status), `unexpected status ${res.status}: ${res.text.slice(0, 300)}`);
    if (res.status >= 400) {
      assert.equal(res.type, 'application/json', `error content type: ${res.text.slice(0, 300)}`);
      const parsed = JSON.parse(res.text);
      assert.ok(Array.isArray(parsed.errors), `errors array: ${res.text.slice(0, 300)}`);
      for (const e of parsed.errors) assert.equal(typeof e, 'string');
      assert.ok(!res.text.includes(SECRET), `the planted secret in an error: ${res.text}`);
      assert.ok(!res.text.includes(BODY_SECRET), `a body secret in an error: ${res.text}`);
    } else if (!secretMayAppear) {
      assert.ok(!res.text.includes(SECRET), `the planted secret leaked: ${res.text}`);
    }
  }

  // ---- properties ---------------------------------------------------------

  it('refuses every path with a dot, empty, encoded-slash, NUL or overlong segment, changing nothing', async () => {
    const beforeAll = await snapshot();
    const hostilePath = fc
      .tuple(
        prefix,
        fc.array(odd.map(encodeURIComponent), { maxLength: 3 }),
        fc.oneof(refused, fc.constant('')),
        fc.array(odd.map(encodeURIComponent), { minLength: 1, maxLength: 3 }),
        fc.boolean(),
      )
      .map(([p, pre, bad, post, trailing]) => {
        // An empty segment needs something after it, or it is a trailing slash.
        const segments = [...pre, bad, ...post];
        return `/v1/${p}${segments.join('/')}${trailing ? '/' : ''}`;
      });
    let cases = 0;
    await fuzz(
      fc.asyncProperty(method, hostilePath, query, body, headers, who, async (m, path, q, b, h, w) => {
        const res = await call(m, path + q, { body: b, headers: h, token: tokenFor(w) });
        assertVaultAnswer(res, false);
        assert.equal(res.status, 400, `${m} ${path}: ${res.status} ${res.text.slice(0, 300)}`);
        if (++cases % 250 === 0) await assertAlive();
      }),
      1500,
    );
    await assertAlive();
    assert.deepEqual(await snapshot(), beforeAll, 'refused requests changed storage');
  });

  it('answers any method, odd path, body and headers in Vault’s shape, never a 500', async () => {
    const oddPath = fc
      .tuple(prefix, fc.array(odd.map(encodeURIComponent), { maxLength: 3 }), fc.boolean())
      .map(([p, segments, trailing]) => `/v1/${p}${segments.join('/')}${trailing ? '/' : ''}`);
    let baseline = await snapshot();
    let wrote = false;
    let cases = 0;
    let checked = 0;
    await fuzz(
      fc.asyncProperty(method, oddPath, query, body, headers, who, async (m, path, q, b, h, w) => {
        const res = await call(m, path + q, { body: b, headers: h, token: tokenFor(w) });
        // Root may read the planted secret back; nobody else may see it anywhere.
        assertVaultAnswer(res, w === 'root');
        if (res.status < 300 && m !== 'GET' && m !== 'LIST') wrote = true;
        if (++cases % 40 === 0) {
          await assertAlive();
          const now = await snapshot();
          // Only failed requests since the baseline: storage must be exactly as it was.
          if (!wrote) {
            assert.deepEqual(now, baseline, 'failed requests changed storage');
            checked++;
          }
          baseline = now;
          wrote = false;
        }
      }),
      1500,
    );
    await assertAlive();
    assert.ok(checked > 0, 'at least one window held only failed requests');
    // Whatever root wrote, the planted secret is where it was.
    assert.deepEqual((await snapshot()).planted, { password: SECRET });
  });

  it('keeps the limited token to its policy however the path is spelled', async () => {
    const beforeAll = await snapshot();
    const spelled = fc
      .tuple(
        fc.constantFrom('secret/data/', 'secret/metadata/', 'secret/subkeys/', 'secret/data/open/', 'secret/'),
        fc.array(
          fc.oneof(
            fc
              .constantFrom(
                'app',
                'App',
                'APP',
                'app ',
                'ａｐｐ',
                'planted',
                'Planted',
                'planted ',
                'open',
                'closed',
                'y',
                'data',
                '*',
                '+',
              )
              .map(encodeURIComponent),
            // Spellings sent as they are: percent-encoded letters and dots.
            fc.constantFrom('%61pp', '%70lanted', '%2e%2e', '..', '.', '%2E'),
            odd.map(encodeURIComponent),
          ),
          { minLength: 1, maxLength: 4 },
        ),
      )
      .map(([p, segments]) => `/v1/${p}${segments.join('/')}`);
    await fuzz(
      fc.asyncProperty(method, spelled, query, body, async (m, path, q, b) => {
        const res = await call(m, path + q, { body: b, token: limitedToken });
        assertVaultAnswer(res, false);
      }),
      1000,
    );
    await assertAlive();
    const afterAll = await snapshot();
    // The limited token may only have written under open/; everything else is as it was.
    const outside = (s: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(s).filter(([k]) => !k.startsWith('kv:open/')));
    assert.deepEqual(outside(afterAll), outside(beforeAll));
  });
});
