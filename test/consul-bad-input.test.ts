/**
 * Malformed and hostile requests to the Consul face get Consul's status
 * and plain-text message, and leave the store exactly as it was: the same
 * entries, the same index.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { consul, initKeep, kvSnapshot, tokenWithPolicy, vault } from './helpers/consul-kit.ts';
import { type KeepProcess, removeDir, startKeep, tempDir } from './helpers/keep-server.ts';

const KV_MAX = 1024;
const b64 = (s: string | Buffer) => Buffer.from(s).toString('base64');

describe('bad input on the Consul face', () => {
  const dir = tempDir();
  let server: KeepProcess;
  let root: string;
  let unsealKey: string;
  let reader: { token: string; accessor: string };
  let before_: Awaited<ReturnType<typeof kvSnapshot>>;

  const call = (method: string, path: string, opts: Parameters<typeof consul>[3] = {}) =>
    consul(server, method, path, { token: root, ...opts });

  function assertText(
    res: { status: number; headers: http.IncomingHttpHeaders; text: string },
    status: number,
    text: string | RegExp,
  ) {
    assert.equal(res.status, status, res.text);
    if (typeof text === 'string') assert.equal(res.text, text);
    else assert.match(res.text, text);
    if (res.text !== '') assert.equal(res.headers['content-type'], 'text/plain; charset=utf-8');
  }

  before(async () => {
    server = await startKeep({ storage: 'sqlite', dir, consul: `kv_max_value_size = ${KV_MAX}` });
    ({ root, key: unsealKey } = await initKeep(server));
    reader = await tokenWithPolicy(
      server,
      root,
      'app-reader',
      'path "config/app/*" { capabilities = ["read", "list"] }\n' +
        'path "config/app/mine/*" { capabilities = ["create", "update", "read", "delete"] }',
    );
    for (const [key, value] of [
      ['app/a', '1'],
      ['app/b', '2'],
      ['app/mine/x', 'x'],
      ['ops/secret', 's'],
    ]) {
      assert.equal((await call('PUT', `/v1/kv/${key}`, { body: value })).text, 'true');
    }
    before_ = await kvSnapshot(server, root);
  });

  after(async () => {
    await server?.stop();
    removeDir(dir);
  });

  it('refuses malformed transaction bodies with 400 and Go decoder words', async () => {
    const cases: [string, string][] = [
      ['', 'Failed to parse body: EOF'],
      [
        '[{"KV": {"Verb": "set",}}]',
        "Failed to parse body: invalid character '}' looking for beginning of object key string",
      ],
      ['[{"KV": {"Verb": "set"', 'Failed to parse body: unexpected EOF'],
      [
        '{"KV": {}}',
        'Failed to parse body: json: cannot unmarshal object into Go value of type api.TxnOps',
      ],
      [
        '[{"KV": {"Verb": "set", "Key": "k", "Value": "not base64!"}}]',
        'Failed to parse body: illegal base64 data at input byte 3',
      ],
      [
        '[{"KV": {"Verb": "set", "Key": "k", "Flags": "7"}}]',
        'Failed to parse body: json: cannot unmarshal string into Go struct field KVTxnOp.KV.Flags of type uint64',
      ],
      [
        '[{"KV": {"Verb": "set", "Key": "k", "Flags": -1}}]',
        'Failed to parse body: json: cannot unmarshal number -1 into Go struct field KVTxnOp.KV.Flags of type uint64',
      ],
      [
        "[{'KV': 1}]",
        "Failed to parse body: invalid character '\\'' looking for beginning of object key string",
      ],
      ["['KV']", "Failed to parse body: invalid character '\\'' looking for beginning of value"],
    ];
    for (const [body, text] of cases) {
      assertText(await call('PUT', '/v1/txn', { body }), 400, text);
    }
  });

  it('refuses transactions over the limits with 413', async () => {
    const ops = Array.from({ length: 129 }, (_, i) => ({ KV: { Verb: 'get', Key: `k${i}` } }));
    assertText(
      await call('PUT', '/v1/txn', { body: JSON.stringify(ops) }),
      413,
      'Transaction contains too many operations (129 > 128)',
    );
    const big = [{ KV: { Verb: 'set', Key: 'app/big', Value: b64(Buffer.alloc(KV_MAX + 1)) } }];
    assertText(
      await call('PUT', '/v1/txn', { body: JSON.stringify(big) }),
      413,
      `Value for key "app/big" is too large (${KV_MAX + 1} > ${KV_MAX} bytes)`,
    );
    const huge = JSON.stringify([
      { KV: { Verb: 'set', Key: 'k', Value: b64(Buffer.alloc(600_000)) } },
    ]);
    assertText(
      await call('PUT', '/v1/txn', { body: huge }),
      413,
      `Request body(${huge.length} bytes) too large, max size: 524288 bytes. See https://www.consul.io/docs/agent/config/config-files#txn_max_req_len.`,
    );
  });

  it('refuses a value over kv_max_value_size with 413, announced or chunked', async () => {
    assertText(
      await call('PUT', '/v1/kv/app/big', { body: Buffer.alloc(KV_MAX + 1) }),
      413,
      `Request body(${KV_MAX + 1} bytes) too large, max size: ${KV_MAX} bytes. See https://developer.hashicorp.com/docs/agent/config/config-files#kv_max_value_size.`,
    );
    // Without a Content-Length the limit still holds, on the bytes read.
    const url = new URL(server.consulAddr!);
    const chunked = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          method: 'PUT',
          path: '/v1/kv/app/big',
          headers: { 'X-Consul-Token': root, 'Transfer-Encoding': 'chunked' },
        },
        (res) => {
          let text = '';
          res.on('data', (c) => {
            text += c;
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.write(Buffer.alloc(700));
      req.end(Buffer.alloc(700));
    });
    assert.equal(chunked.status, 413);
    assert.match(chunked.text, /^Request body too large, max size: 1024 bytes/);
    assert.equal((await call('GET', '/v1/kv/app/big')).status, 404);
  });

  it('answers bad query values with Consul statuses and texts', async () => {
    assertText(
      await call('PUT', '/v1/kv/app/a?cas=abc', { body: 'x' }),
      500,
      'strconv.ParseUint: parsing "abc": invalid syntax',
    );
    assertText(
      await call('PUT', '/v1/kv/app/a?flags=-3', { body: 'x' }),
      500,
      'strconv.ParseUint: parsing "-3": invalid syntax',
    );
    assertText(
      await call('DELETE', '/v1/kv/app/a?cas=99999999999999999999'),
      500,
      'strconv.ParseUint: parsing "99999999999999999999": value out of range',
    );
    assertText(
      await call('PUT', '/v1/kv/app/a?cas=1&acquire=x&token=never-echoed', { body: 'x' }),
      400,
      'Conflicting flags: acquire=x&cas=1\n',
    );
    assertText(
      await call('DELETE', '/v1/kv/app/?recurse&cas=1'),
      400,
      'Conflicting flags: cas=1&recurse=\n',
    );
    assertText(await call('GET', '/v1/kv/app/a?index=soon'), 400, 'Invalid index');
    assertText(await call('GET', '/v1/kv/app/a?index=1&wait=10'), 400, 'Invalid wait time');
    assertText(
      await call('GET', '/v1/kv/app/a?stale&consistent'),
      400,
      'Cannot specify ?stale with ?consistent, conflicting semantics.',
    );
    assertText(await call('GET', '/v1/kv/app/a?dc=elsewhere'), 500, 'No path to datacenter');
  });

  it('refuses bad keys and paths', async () => {
    assertText(await call('GET', '/v1/kv/'), 400, 'Missing key name');
    assertText(await call('PUT', '/v1/kv/', { body: 'x' }), 400, 'Missing key name');
    assertText(await call('DELETE', '/v1/kv/'), 400, 'Missing key name');
    assertText(
      await call('PUT', '/v1/kv//etc/passwd', { body: 'x' }),
      400,
      "key must not begin with a '/'",
    );
    assertText(
      await call('GET', '/v1/kv/app/../ops/secret'),
      400,
      'URL path contains invalid traversal sequence',
    );
    assertText(
      await call('GET', '/v1/kv/app/%2e%2e%2fops/secret'),
      400,
      'URL path contains encoded traversal sequence',
    );
    assertText(
      await call('PUT', '/v1/kv/app/a%00b', { body: 'x' }),
      400,
      'key must not contain a NUL character',
    );
    assertText(await call('PUT', '/v1/kv/app/a%ZZ', { body: 'x' }), 400, '400 Bad Request');
    assertText(await call('PUT', '/v1/kv/app/a%FF', { body: 'x' }), 400, 'key must be valid UTF-8');
    const txn = await call('PUT', '/v1/txn', {
      body: JSON.stringify([
        { KV: { Verb: 'set', Key: '' } },
        { KV: { Verb: 'set', Key: '/abs' } },
      ]),
    });
    assert.equal(txn.status, 409);
    assert.deepEqual(JSON.parse(txn.text).Errors, [
      { OpIndex: 0, What: 'Must provide key' },
      { OpIndex: 1, What: "key must not begin with a '/'" },
    ]);
  });

  it('refuses unknown sessions and bad session requests', async () => {
    const unknown = '0f3e1c5a-9f62-4b7e-9a53-2d1f6c0b7e44';
    assertText(
      await call('PUT', `/v1/kv/app/a?acquire=${unknown}`, { body: 'x' }),
      500,
      `invalid session "${unknown}"`,
    );
    assertText(await call('PUT', '/v1/kv/app/a?acquire=', { body: 'x' }), 500, 'missing session');
    assert.equal(
      (await call('PUT', `/v1/kv/app/a?release=${unknown}`, { body: 'x' })).text,
      'false',
    );
    assertText(
      await call('PUT', `/v1/session/renew/${unknown}`),
      404,
      `Session id '${unknown}' not found`,
    );
    assertText(
      await call('PUT', `/v1/session/destroy/${unknown}`),
      500,
      `Unknown session "${unknown}"`,
    );
    assertText(await call('PUT', '/v1/session/destroy/'), 400, 'Missing session');
    assert.equal((await call('GET', `/v1/session/info/${unknown}`)).text, '[]');
    assertText(
      await call('PUT', '/v1/session/create', { body: '{"TTL": "5s"}' }),
      500,
      "Invalid Session TTL '5000000000', must be between [10s=24h0m0s]",
    );
    assertText(
      await call('PUT', '/v1/session/create', { body: '{"TTL": "soon"}' }),
      500,
      'Session TTL \'soon\' invalid: time: invalid duration "soon"',
    );
    assertText(
      await call('PUT', '/v1/session/create', { body: '{"Behavior": "explode"}' }),
      500,
      "Invalid Behavior setting 'explode'",
    );
    assertText(
      await call('PUT', '/v1/session/create', { body: '{"Node": "elsewhere"}' }),
      500,
      'Missing node registration',
    );
    assertText(
      await call('PUT', '/v1/session/create', { body: '{"Checks": ["service:web"]}' }),
      500,
      "Missing check 'service:web' registration",
    );
    assertText(
      await call('PUT', '/v1/session/create', { body: '{"Name": 5}' }),
      400,
      'Request decode failed: json: cannot unmarshal number into Go struct field Session.Name of type string',
    );
    assert.equal(
      JSON.parse((await call('GET', '/v1/session/list')).text).length,
      0,
      'no session was created',
    );
  });

  it('refuses missing and unknown tokens and wrong methods', async () => {
    assertText(
      await consul(server, 'GET', '/v1/kv/app/a'),
      403,
      "Permission denied: token with AccessorID '00000000-0000-0000-0000-000000000002' lacks permission 'key:read' on \"app/a\"",
    );
    assertText(
      await consul(server, 'PUT', '/v1/kv/app/a', { token: 'hvs.nope', body: 'x' }),
      403,
      'ACL not found',
    );
    assertText(await consul(server, 'GET', '/v1/kv/app/a?token=hvs.nope'), 403, 'ACL not found');
    assertText(
      await consul(server, 'PUT', '/v1/txn', { body: '[]' }),
      403,
      /^Permission denied: token with AccessorID/,
    );
    const post = await call('POST', '/v1/kv/app/a', { body: 'x' });
    assertText(post, 405, 'method POST not allowed');
    assert.equal(post.headers.allow, 'GET,PUT,DELETE');
    assertText(await call('GET', '/v1/txn'), 405, 'method GET not allowed');
    assertText(await call('GET', '/v1/session/create'), 405, 'method GET not allowed');
    const nowhere = await call('GET', '/v1/agent/self');
    assert.equal(nowhere.status, 404);
    assert.equal(nowhere.text, '');
  });

  it('holds a token to its policy: filters lists, refuses writes, and a refused prefix delete removes nothing', async () => {
    const token = reader.token;
    const denied = (perm: string, key: string) =>
      `Permission denied: token with AccessorID '${reader.accessor}' lacks permission '${perm}' on "${key}"`;
    assertText(
      await consul(server, 'GET', '/v1/kv/ops/secret', { token }),
      403,
      denied('key:read', 'ops/secret'),
    );
    assertText(
      await consul(server, 'PUT', '/v1/kv/app/a', { token, body: 'x' }),
      403,
      denied('key:write', 'app/a'),
    );
    assert.equal(
      (await consul(server, 'PUT', '/v1/kv/app/mine/y', { token, body: 'y' })).text,
      'true',
    );

    const all = await consul(server, 'GET', '/v1/kv/?recurse', { token });
    assert.equal(all.status, 200);
    assert.equal(all.headers['x-consul-results-filtered-by-acls'], 'true');
    assert.deepEqual(
      JSON.parse(all.text).map((e: { Key: string }) => e.Key),
      ['app/a', 'app/b', 'app/mine/x', 'app/mine/y'],
    );
    assert.deepEqual(
      JSON.parse((await consul(server, 'GET', '/v1/kv/?keys&separator=/', { token })).text),
      ['app/'],
    );
    assert.equal((await consul(server, 'GET', '/v1/kv/ops/?recurse', { token })).status, 404);

    assertText(
      await consul(server, 'DELETE', '/v1/kv/app/?recurse', { token }),
      403,
      denied('key:write', 'app/a'),
    );
    assert.equal(
      (await call('GET', '/v1/kv/app/mine/x')).status,
      200,
      'the refused delete removed nothing',
    );

    const txn = await consul(server, 'PUT', '/v1/txn', {
      token,
      body: JSON.stringify([
        { KV: { Verb: 'set', Key: 'app/mine/z', Value: b64('z') } },
        { KV: { Verb: 'set', Key: 'ops/secret', Value: b64('stolen') } },
      ]),
    });
    assert.equal(txn.status, 409);
    assert.deepEqual(JSON.parse(txn.text).Errors, [
      { OpIndex: 1, What: denied('key:write', 'ops/secret') },
    ]);
    assert.equal((await call('GET', '/v1/kv/app/mine/z')).status, 404);
    assert.equal((await call('DELETE', '/v1/kv/app/mine/y')).text, 'true');
  });

  it('left the store exactly as it was', async () => {
    const after_ = await kvSnapshot(server, root);
    // The reader's own write and delete of app/mine/y moved the index; nothing else changed.
    assert.equal(after_.body, before_.body);
    assert.ok(Number(after_.index) > Number(before_.index));
    const history = JSON.parse((await call('GET', '/v1/keep/history?limit=50')).text) as {
      key: string;
    }[];
    assert.deepEqual([...new Set(history.map((e) => e.key))].sort(), [
      'app/a',
      'app/b',
      'app/mine/x',
      'app/mine/y',
      'ops/secret',
    ]);
  });

  it('answers 503 with a plain reason while sealed, and the leader as unknown', async () => {
    await vault(server, root, 'PUT', 'sys/seal');
    try {
      assertText(await call('GET', '/v1/kv/app/a'), 503, 'Keep is sealed');
      assertText(await call('PUT', '/v1/txn', { body: '[]' }), 503, 'Keep is sealed');
      assert.equal((await call('GET', '/v1/status/leader')).text, '""');
    } finally {
      await vault(server, '', 'PUT', 'sys/unseal', { key: unsealKey });
    }
    assert.equal((await call('GET', '/v1/kv/app/a?raw')).text, '1');
  });
});

describe('the Consul listener', () => {
  let blocker: Server;
  let port: number;

  before(async () => {
    blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    port = (blocker.address() as { port: number }).port;
  });

  after(() => {
    blocker.close();
  });

  it('fails to start with a clear message when its port is taken', async () => {
    const dir = tempDir();
    try {
      await assert.rejects(
        startKeep({
          storage: 'inmem',
          dir,
          consul: `address = "127.0.0.1:${port}"`,
        }),
        (err: Error) => {
          assert.match(err.message, /server exited with 1/);
          assert.match(
            err.message,
            new RegExp(
              `the config listener cannot use 127\\.0\\.0\\.1:${port}: the address is already in use`,
            ),
          );
          return true;
        },
      );
    } finally {
      removeDir(dir);
    }
  });

  it('answers 503 before the server is initialised', async () => {
    const dir = tempDir();
    const fresh = await startKeep({ storage: 'inmem', dir, consul: true });
    try {
      const res = await consul(fresh, 'GET', '/v1/kv/a', { token: 'x' });
      assert.equal(res.status, 503);
      assert.equal(res.text, 'Keep is not initialized');
    } finally {
      await fresh.stop();
      removeDir(dir);
    }
  });
});
