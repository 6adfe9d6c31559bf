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
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { type Answer, fuzz, fuzzRuns, rawRequest } from './helpers/fuzz.ts';
import { type KeepProcess, startDevKeep } from './helpers/keep-server.ts';

const ROOT = 'fuzz-http-root';
/** The planted secret: stored before the run, never to appear in an error. */
const SECRET = `planted-${Math.random().toString(36).slice(2)}-value`;
/** Sent inside request bodies; an error must not echo it either. */
const BODY_SECRET = 'body-secret-ZQX81';

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
    return rawRequest(server.addr, agent, method, path, headers, init.body);
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
        else
          out[`kv:${prefix}${key}`] = (await json(`/v1/secret/metadata/${enc(prefix + key)}`)).data;
      }
    }
    await walk('');
    out.planted = (await json('/v1/secret/data/app/planted')).data.data;
    const policies = (await json('/v1/sys/policy')).data.policies as string[];
    for (const name of policies) {
      out[`policy:${name}`] = (await json(`/v1/sys/policy/${encodeURIComponent(name)}`)).data.rules;
    }
    const mounts = (await json('/v1/sys/mounts')).data;
    out.mounts = Object.fromEntries(
      Object.entries(mounts).map(([k, v]) => [k, (v as { type: string }).type]),
    );
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
    { weight: 3, arbitrary: fc.stringMatching(/^[a-z0-9_-]{1,8}$/) },
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
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
    {
      weight: 3,
      arbitrary: fc
        .dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 })
        .map((data) => JSON.stringify({ data: { ...data, password: BODY_SECRET } })),
    },
    {
      weight: 3,
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

  /** Present in about one request in eight. */
  const rarely = <T>(arb: fc.Arbitrary<T>) =>
    fc.oneof({ weight: 7, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });
  const headerValue = fc.stringMatching(/^[\x20-\x7e]{0,40}$/);
  const headers = fc
    .record(
      {
        'Content-Type': fc.constantFrom(
          'application/json',
          'application/merge-patch+json',
          'text/plain',
          'application/x-www-form-urlencoded',
          'multipart/form-data; boundary=x',
          'application/json; charset=utf-16',
          '',
          ';',
          'json',
          '/',
        ),
        'X-Vault-Wrap-TTL': rarely(
          fc.constantFrom('5m', '0', '-1', 'abc', '99999999999999h', '1e10', ''),
        ),
        'X-Forwarded-For': fc.oneof(headerValue, fc.constantFrom('1.2.3.4', '::1, 10.0.0.1', 'x')),
        'X-Vault-Request': fc.constantFrom('true', 'false', ''),
        'X-Vault-Namespace': fc.constantFrom('ns1/', '', '../'),
        Authorization: fc.oneof(headerValue, fc.constant(`Bearer ${ROOT}`)),
        'X-Vault-Index': headerValue,
        Accept: headerValue,
      },
      { requiredKeys: [] },
    )
    .map(
      (h) =>
        Object.fromEntries(Object.entries(h).filter(([, v]) => v !== undefined)) as Record<
          string,
          string
        >,
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
  const EXPECTED = new Set([200, 204, 307, 400, 403, 404, 405, 409, 412, 413, 415, 429, 431]);

  function assertVaultAnswer(res: Answer, secretMayAppear: boolean): void {
    assert.ok(
      EXPECTED.has(res.status),
      `unexpected status ${res.status}: ${res.text.slice(0, 300)}`,
    );
    if (res.status >= 400) {
      assert.equal(res.type, 'application/json', `error content type: ${res.text.slice(0, 300)}`);
      const parsed = JSON.parse(res.text);
      if (res.status === 404 && parsed.errors === undefined) {
        // Vault's KV v2 answers a path outside its API (`secret/data/x/`) with a
        // 404 carrying the envelope and a warning, not errors; Keep does the same.
        // So does a read of a deleted version: a 404 with the version's metadata.
        assert.ok(
          typeof parsed.request_id === 'string' && (parsed.warnings?.length > 0 || parsed.data),
          `404 without errors, warnings or data: ${res.text}`,
        );
      } else {
        assert.ok(Array.isArray(parsed.errors), `errors array: ${res.text.slice(0, 300)}`);
        for (const e of parsed.errors) assert.equal(typeof e, 'string');
      }
      assert.ok(!res.text.includes(SECRET), `the planted secret in an error: ${res.text}`);
      assert.ok(!res.text.includes(BODY_SECRET), `a body secret in an error: ${res.text}`);
    } else if (!secretMayAppear) {
      assert.ok(!res.text.includes(SECRET), `the planted secret leaked: ${res.text}`);
    }
  }

  // ---- properties ---------------------------------------------------------

  it('reads the body whatever the Content-Type says, as Vault does', async () => {
    // fastify refused a Content-Type that is not a media type with a 415.
    for (const type of ['', ';', 'json', 'text/plain']) {
      const res = await call('POST', '/v1/secret/data/content-type', {
        body: JSON.stringify({ data: { a: '1' } }),
        headers: { 'Content-Type': type },
      });
      assert.equal(res.status, 200, `${JSON.stringify(type)}: ${res.text}`);
    }
    assert.equal((await call('DELETE', '/v1/secret/metadata/content-type')).status, 204);
  });

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
      fc.asyncProperty(
        method,
        hostilePath,
        query,
        body,
        headers,
        who,
        async (m, path, q, b, h, w) => {
          const res = await call(m, path + q, { body: b, headers: h, token: tokenFor(w) });
          assertVaultAnswer(res, false);
          // 431 when the request line and headers are over Node's 16 KiB limit.
          const head =
            path.length + q.length + Object.values(h).join('').length + (tokenFor(w)?.length ?? 0);
          const expected = head > 15_000 ? [400, 431] : [400];
          assert.ok(
            expected.includes(res.status),
            `${m} ${path.slice(0, 200)}: ${res.status} ${res.text.slice(0, 300)}`,
          );
          if (++cases % 250 === 0) await assertAlive();
        },
      ),
      4000,
    );
    assert.equal(cases, fuzzRuns(4000));
    await assertAlive();
    assert.deepEqual(await snapshot(), beforeAll, 'refused requests changed storage');
  });

  it('answers any method, odd path, body and headers in Vault’s shape, never a 500', async (t) => {
    const oddPath = fc
      .tuple(prefix, fc.array(odd.map(encodeURIComponent), { maxLength: 3 }), fc.boolean())
      .map(
        ([p, segments, trailing]) =>
          `/v1/${p}${segments.join('/')}${trailing && segments.length > 0 ? '/' : ''}`,
      );
    let baseline = await snapshot();
    let wrote = false;
    let cases = 0;
    let checked = 0;
    const statuses: Record<number, number> = {};
    await fuzz(
      fc.asyncProperty(method, oddPath, query, body, headers, who, async (m, path, q, b, h, w) => {
        const res = await call(m, path + q, { body: b, headers: h, token: tokenFor(w) });
        statuses[res.status] = (statuses[res.status] ?? 0) + 1;
        if (process.env.FUZZ_DEBUG && res.status === 400)
          console.error('E400', m, path.slice(0, 60), res.text.slice(0, 90));
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
      4000,
    );
    await assertAlive();
    if (!wrote) {
      assert.deepEqual(await snapshot(), baseline, 'failed requests changed storage');
      checked++;
    }
    t.diagnostic(`statuses ${JSON.stringify(statuses)}; ${checked} storage checks`);
    assert.ok(checked > 0, 'at least one window held only failed requests');
    // Whatever root wrote, the planted secret is where it was.
    assert.deepEqual((await snapshot()).planted, { password: SECRET });
  });

  it('answers raw, malformed HTTP in Vault’s shape or not at all, and stays up', async (t) => {
    const beforeAll = await snapshot();
    const seen: Record<string, number> = {};
    const port = Number(new URL(server.addr).port);
    /** Sends raw bytes on a new connection, half-closes, and returns everything the server wrote. */
    const raw = (request: Buffer) =>
      new Promise<string>((resolve, reject) => {
        const sock = connect(port, '127.0.0.1');
        const chunks: Buffer[] = [];
        const timer = setTimeout(() => {
          sock.destroy();
          reject(
            new Error(
              `no end in 10 s: ${JSON.stringify(request.toString('latin1').slice(0, 300))}`,
            ),
          );
        }, 10_000);
        sock.on('data', (d: Buffer) => chunks.push(d));
        sock.on('close', () => {
          clearTimeout(timer);
          resolve(Buffer.concat(chunks).toString('latin1'));
        });
        sock.on('error', () => undefined);
        sock.end(request);
      });
    /** The first nine times in ten, the second otherwise. */
    const mostly = <T>(usual: fc.Arbitrary<T>, odd: fc.Arbitrary<T>) =>
      fc.oneof({ weight: 9, arbitrary: usual }, { weight: 1, arbitrary: odd });
    const line = fc.oneof(
      {
        weight: 6,
        arbitrary: fc.constantFrom(`X-Vault-Token: ${ROOT}`, 'Content-Type: application/json'),
      },
      {
        weight: 2,
        arbitrary: fc.constantFrom(
          `X-Vault-Token: ${ROOT}`,
          `X-Vault-Token: ${ROOT}\u0001`,
          'X-Vault-Token: \u0000',
          'Content-Length: abc',
          'Content-Length: -1',
          'Content-Length: 5',
          'Content-Length: 99999999999999999999',
          'Content-Length: 3\r\nContent-Length: 4',
          'Transfer-Encoding: chunked',
          'Transfer-Encoding: gzip, chunked',
          'Transfer-Encoding: chunked\r\nContent-Length: 3',
          '  folded continuation',
          'No-Colon-Here',
          'Host : x',
          ': empty-name',
          'Content-Type: ;',
          'X-Vault-Wrap-TTL: 1s',
          'LIST /v1/secret/metadata/ HTTP/1.1',
          `X-Long: ${'a'.repeat(9000)}`,
          'Ümlaut: wert',
        ),
      },
      {
        weight: 1,
        arbitrary: fc
          .tuple(fc.stringMatching(/^[!-9;-~]{1,12}$/), fc.uint8Array({ maxLength: 20 }))
          .map(([name, value]) => `${name}: ${Buffer.from(value).toString('latin1')}`),
      },
    );
    const rawRequest = fc
      .record({
        method: mostly(
          fc.constantFrom('GET', 'PUT', 'POST', 'DELETE', 'PATCH', 'LIST'),
          fc.constantFrom('get', 'FOO', 'G T', '', 'GET\u0000'),
        ),
        path: mostly(
          fc.constantFrom(
            '/v1/sys/health',
            '/v1/secret/data/raw/x',
            '/v1/secret/data/raw/../../app/planted',
            '/v1/secret/data/raw/x#frag',
            '/v1/secret/data/raw/x y',
            '/v1/secret/data/raw/\u00e9',
            '/v1/secret/data/raw/\u0000',
            'http://evil/v1/secret/data/raw/y',
            '/v1/secret/metadata/?list=true',
            '*',
            '',
            '/',
            '/v1',
            '/v1/',
          ),
          fc.string({ unit: 'binary-ascii', maxLength: 30 }).map((p) => `/v1/${p}`),
        ),
        version: mostly(
          fc.constantFrom('HTTP/1.1', 'HTTP/1.0'),
          fc.constantFrom('HTTP/2.0', 'HTTP/1.1x', '', 'HTTP/9'),
        ),
        headers: fc.array(line, { maxLength: 3 }),
        eol: mostly(fc.constant('\r\n'), fc.constantFrom('\n', '\r')),
        body: fc.oneof(
          fc.constant(''),
          fc.constant(JSON.stringify({ data: { password: BODY_SECRET } })),
          fc.string({ unit: 'binary', maxLength: 40 }),
          fc.constant('0\r\n\r\n'),
          fc.constant('5\r\nabc\r\n0\r\n\r\n'),
        ),
      })
      .map(({ method, path, version, headers, eol, body }) => {
        const head = [
          `${method} ${path} ${version}`.trim(),
          'Host: x',
          ...headers,
          'Connection: close',
        ];
        // Usually framed; unframed, the body reads as a second, malformed request.
        const framed = headers.some((h) => /^(content-length|transfer-encoding)/i.test(h));
        if (!framed && body !== '' && body.length % 5 !== 0) {
          head.push(`Content-Length: ${Buffer.byteLength(body, 'latin1')}`);
        }
        return Buffer.from(`${head.join(eol)}${eol}${eol}${body}`, 'latin1');
      });
    let cases = 0;
    await fuzz(
      fc.asyncProperty(rawRequest, async (request) => {
        const text = await raw(request);
        const first = text.slice(9, 12) || 'none';
        seen[first] = (seen[first] ?? 0) + 1;
        // One or more answers (a valid request may be followed by a malformed one).
        for (const m of text.matchAll(/HTTP\/1\.[01] (\d{3}) /g)) {
          const status = Number(m[1]);
          assert.ok(
            EXPECTED.has(status) || status === 408,
            `status ${status} to ${JSON.stringify(request.toString('latin1').slice(0, 300))}: ${text.slice(0, 300)}`,
          );
        }
        if (text !== '') {
          assert.match(text, /^HTTP\/1\.[01] \d{3} /, text.slice(0, 300));
          const status = Number(text.slice(9, 12));
          if (status >= 400) {
            assert.match(text, /content-type: application\/json\r\n/i, text.slice(0, 300));
            const start = text.indexOf('\r\n\r\n') + 4;
            const end = text.indexOf('HTTP/1.', start);
            const body = text.slice(start, end === -1 ? undefined : end);
            if (!/transfer-encoding: chunked/i.test(text.slice(0, start))) {
              assert.ok(
                Array.isArray(JSON.parse(body).errors) || status === 404,
                text.slice(0, 300),
              );
            }
          }
        }
        // Root may read back what root stored; errors never quote a secret.
        const errors = [...text.matchAll(/HTTP\/1\.[01] [45]\d\d [\s\S]*?(?=HTTP\/1\.|$)/g)].join(
          '',
        );
        assert.ok(
          !errors.includes(SECRET) && !errors.includes(BODY_SECRET),
          'a secret in an error',
        );
        const asRoot = request.includes(ROOT);
        assert.ok(
          asRoot || (!text.includes(SECRET) && !text.includes(BODY_SECRET)),
          'a secret leaked',
        );
        if (++cases % 100 === 0) await assertAlive();
      }),
      1000,
    );
    t.diagnostic(`first statuses ${JSON.stringify(seen)}`);
    await assertAlive();
    // Root's well-formed writes may add keys under raw/; everything that was there is as it was.
    const afterAll = await snapshot();
    for (const [key, value] of Object.entries(beforeAll))
      assert.deepEqual(afterAll[key], value, key);
  });

  it('keeps the limited token to its policy however the path is spelled', async () => {
    const beforeAll = await snapshot();
    const spelled = fc
      .tuple(
        fc.constantFrom(
          'secret/data/',
          'secret/metadata/',
          'secret/subkeys/',
          'secret/data/open/',
          'secret/',
        ),
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
      3000,
    );
    await assertAlive();
    const afterAll = await snapshot();
    // The limited token may only have written under open/; everything else is as it was.
    const outside = (s: Record<string, unknown>) =>
      Object.fromEntries(Object.entries(s).filter(([k]) => !k.startsWith('kv:open/')));
    assert.deepEqual(outside(afterAll), outside(beforeAll));
  });
});
