/**
 * Commands driven through `run` against a stub that records requests: the
 * request shapes, the output and the exit codes. End-to-end tests against the
 * real server live in test/.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { run } from './main.ts';
import {
  type CapturedIO,
  captureIO,
  type RecordedRequest,
  type Stub,
  type StubHandler,
  startStub,
} from './testing/stub-server.ts';

const METADATA = {
  created_time: '2026-01-02T03:04:05.123456Z',
  custom_metadata: null,
  deletion_time: '',
  destroyed: false,
  version: 1,
};

/** Mount preflight answers: `secret/` is KV v2, `kv1/` is KV v1. */
function preflight(req: RecordedRequest) {
  const m = /^\/v1\/sys\/internal\/ui\/mounts\/(.*)$/.exec(req.path);
  if (!m) return undefined;
  if (m[1] === 'secret' || m[1].startsWith('secret/')) {
    return { body: { data: { path: 'secret/', type: 'kv', options: { version: '2' } } } };
  }
  if (m[1] === 'kv1' || m[1].startsWith('kv1/')) {
    return { body: { data: { path: 'kv1/', type: 'kv', options: { version: '1' } } } };
  }
  return { status: 404, body: { errors: [] } };
}

let stub: Stub | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

async function withStub(handler: StubHandler): Promise<Stub> {
  stub = await startStub((req) => preflight(req) ?? handler(req));
  return stub;
}

async function keep(
  argv: string[],
  opts: { stdin?: string; env?: Record<string, string>; home?: string } = {},
): Promise<{ code: number; io: CapturedIO }> {
  const io = captureIO({
    stdin: opts.stdin,
    env: {
      HOME: opts.home ?? mkdtempSync(join(tmpdir(), 'keep-home-')),
      KEEP_ADDR: stub?.url,
      KEEP_TOKEN: 'root-token',
      ...opts.env,
    },
  });
  const code = await run(argv, io);
  return { code, io };
}

const summary = (reqs: RecordedRequest[]) =>
  reqs.map((r) => ({ method: r.method, path: r.path, query: r.query, body: r.body }));

describe('keep kv put', () => {
  it('writes -mount=secret app/db user=x pass=@file to the v2 data path', async () => {
    const s = await withStub((req) =>
      req.path === '/v1/secret/data/app/db' ? { body: { data: METADATA } } : undefined,
    );
    const file = join(mkdtempSync(join(tmpdir(), 'keep-data-')), 'pass');
    writeFileSync(file, 'p@ss word\n');

    const { code, io } = await keep([
      'kv',
      'put',
      '-mount=secret',
      'app/db',
      'user=x',
      `pass=@${file}`,
    ]);

    assert.equal(code, 0, io.err);
    assert.deepEqual(summary(s.requests), [
      { method: 'GET', path: '/v1/sys/internal/ui/mounts/secret', query: {}, body: undefined },
      {
        method: 'PUT',
        path: '/v1/secret/data/app/db',
        query: {},
        body: { data: { user: 'x', pass: 'p@ss word\n' }, options: {} },
      },
    ]);
    assert.equal(s.requests[1].headers['x-vault-token'], 'root-token');
    assert.equal(
      io.out,
      [
        '=== Secret Path ===',
        'secret/data/app/db',
        '',
        '======= Metadata =======',
        'Key                Value',
        '---                -----',
        'created_time       2026-01-02T03:04:05.123456Z',
        'custom_metadata    <nil>',
        'deletion_time      n/a',
        'destroyed          false',
        'version            1',
        '',
      ].join('\n'),
    );
  });

  it('sends -cas in the options and finds the mount from the path-like form', async () => {
    const s = await withStub(() => ({ body: { data: METADATA } }));
    const { code } = await keep(['kv', 'put', '-cas=0', 'secret/app', 'k=v', 'k=w']);
    assert.equal(code, 0);
    assert.equal(s.requests[0].path, '/v1/sys/internal/ui/mounts/secret/app');
    assert.deepEqual(s.requests[1].body, { data: { k: ['v', 'w'] }, options: { cas: 0 } });
  });

  it('writes plain data to a KV v1 mount and reports success', async () => {
    const s = await withStub(() => ({ status: 204 }));
    const { code, io } = await keep(['kv', 'put', 'kv1/app', 'a=b']);
    assert.equal(code, 0);
    assert.deepEqual(summary(s.requests)[1], {
      method: 'PUT',
      path: '/v1/kv1/app',
      query: {},
      body: { a: 'b' },
    });
    assert.equal(io.out, 'Success! Data written to: kv1/app\n');
  });

  it('reads a value from stdin with key=-', async () => {
    const s = await withStub(() => ({ body: { data: METADATA } }));
    await keep(['kv', 'put', '-mount=secret', 'x', 'token=-'], { stdin: 'from-stdin' });
    assert.deepEqual(s.requests[1].body, { data: { token: 'from-stdin' }, options: {} });
  });

  it('prints the server’s refusal like Vault and exits 2', async () => {
    const s = await withStub(() => ({ status: 403, body: { errors: ['permission denied'] } }));
    const { code, io } = await keep(['kv', 'put', '-mount=secret', 'x', 'a=b']);
    assert.equal(code, 2);
    assert.equal(
      io.err,
      'Error writing data to secret/data/x: Error making API request.\n\n' +
        `URL: PUT ${s.url}/v1/secret/data/x\n` +
        'Code: 403. Errors:\n\n* permission denied\n',
    );
  });

  it('exits 1 without a request for bad flags, missing data or unreadable files', async () => {
    const s = await withStub(() => undefined);
    const cases: [string[], string][] = [
      [['kv', 'put', '-bogus', 'x', 'a=b'], 'flag provided but not defined: -bogus\n'],
      [['kv', 'put', 'secret/x'], 'Must supply data\n'],
      [['kv', 'put'], 'Not enough arguments (expected >1, got 0)\n'],
      [['kv', 'put', '-cas=x', 's/x', 'a=b'], 'invalid value "x" for flag -cas: parse error\n'],
      [
        ['kv', 'put', 'secret/x', 'a=@/no/such/file'],
        "Failed to parse K=V data: Invalid key/value pair 'a=@/no/such/file': error reading " +
          'file: open /no/such/file: no such file or directory\n',
      ],
    ];
    for (const [argv, message] of cases) {
      const { code, io } = await keep(argv);
      assert.equal(code, 1, argv.join(' '));
      assert.equal(io.err, message);
    }
    assert.equal(s.requests.length, 0);
  });
});

describe('keep kv get', () => {
  const v2Secret = {
    request_id: 'r1',
    lease_id: '',
    lease_duration: 0,
    renewable: false,
    data: { data: { pass: 's3cret', user: 'x' }, metadata: { ...METADATA, version: 2 } },
    warnings: null,
  };

  it('prints the Secret Path, Metadata and Data sections of a v2 secret', async () => {
    const s = await withStub((req) =>
      req.path === '/v1/secret/data/app/db' ? { body: v2Secret } : undefined,
    );
    const { code, io } = await keep(['kv', 'get', '-mount=secret', 'app/db']);
    assert.equal(code, 0);
    assert.equal(s.requests[1].method, 'GET');
    assert.equal(
      io.out,
      [
        '=== Secret Path ===',
        'secret/data/app/db',
        '',
        '======= Metadata =======',
        'Key                Value',
        '---                -----',
        'created_time       2026-01-02T03:04:05.123456Z',
        'custom_metadata    <nil>',
        'deletion_time      n/a',
        'destroyed          false',
        'version            2',
        '',
        '==== Data ====',
        'Key     Value',
        '---     -----',
        'pass    s3cret',
        'user    x',
        '',
      ].join('\n'),
    );
  });

  it('asks for a version with -version and prints one raw field with -field', async () => {
    const s = await withStub(() => ({ body: v2Secret }));
    const { code, io } = await keep(['kv', 'get', '-version=2', '-field=pass', 'secret/app/db']);
    assert.equal(code, 0);
    assert.deepEqual(s.requests[1].query, { version: '2' });
    assert.equal(io.out, 's3cret');
  });

  it('prints the server’s JSON with -format=json', async () => {
    await withStub(() => ({ body: v2Secret }));
    const { io } = await keep(['kv', 'get', '-format=json', 'secret/app/db']);
    assert.deepEqual(JSON.parse(io.out), v2Secret);
  });

  it('exits 2 with "No value found" when nothing is there', async () => {
    await withStub(() => undefined);
    const { code, io } = await keep(['kv', 'get', 'secret/none']);
    assert.equal(code, 2);
    assert.equal(io.err, 'No value found at secret/data/none\n');
  });

  it('leaves flags after the path as arguments and warns, as Vault does', async () => {
    const s = await withStub(() => undefined);
    const { code, io } = await keep(['kv', 'get', 'secret/x', '-format=json']);
    assert.equal(code, 1);
    assert.match(io.err, /Command flags must be provided before positional arguments/);
    assert.match(io.err, /\[-format=json\]/);
    assert.match(io.err, /Too many arguments \(expected 1, got 2\)/);
    assert.equal(s.requests.length, 0);
  });
});

describe('keep kv delete, list and metadata', () => {
  it('deletes given versions through the delete/ path, as strings like Vault sends', async () => {
    const s = await withStub(() => ({ status: 204 }));
    const { code, io } = await keep(['kv', 'delete', '-versions=1,2', '-versions=5', 'secret/app']);
    assert.equal(code, 0);
    assert.deepEqual(summary(s.requests)[1], {
      method: 'PUT',
      path: '/v1/secret/delete/app',
      query: {},
      body: { versions: ['1', '2', '5'] },
    });
    assert.equal(io.out, 'Success! Data deleted (if it existed) at: secret/delete/app\n');
  });

  it('deletes the latest version with DELETE on the data path', async () => {
    const s = await withStub(() => ({ status: 204 }));
    await keep(['kv', 'delete', '-mount=secret', 'app']);
    assert.equal(s.requests[1].method, 'DELETE');
    assert.equal(s.requests[1].path, '/v1/secret/data/app');
  });

  it('lists the metadata path with list=true', async () => {
    const s = await withStub(() => ({ body: { data: { keys: ['b', 'a/'] } } }));
    const { code, io } = await keep(['kv', 'list', '-mount=secret', 'team']);
    assert.equal(code, 0);
    assert.equal(s.requests[1].path, '/v1/secret/metadata/team');
    assert.deepEqual(s.requests[1].query, { list: 'true' });
    assert.equal(io.out, 'Keys\n----\na/\nb\n');
  });

  it('refuses undelete without -versions and on KV v1', async () => {
    await withStub(() => ({ status: 204 }));
    let r = await keep(['kv', 'undelete', 'secret/app']);
    assert.equal(r.code, 1);
    assert.match(r.io.err, /No versions provided/);
    r = await keep(['kv', 'undelete', '-versions=1', 'kv1/app']);
    assert.equal(r.code, 1);
    assert.equal(r.io.err, 'Undelete not supported on KV Version 1\n');
  });

  it('writes metadata settings that were given, and only those', async () => {
    const s = await withStub(() => ({ status: 204 }));
    const { code } = await keep([
      'kv',
      'metadata',
      'put',
      '-max-versions=5',
      '-cas-required',
      '-delete-version-after=1h',
      '-custom-metadata=owner=ops',
      'secret/app',
    ]);
    assert.equal(code, 0);
    assert.deepEqual(summary(s.requests)[1], {
      method: 'PUT',
      path: '/v1/secret/metadata/app',
      query: {},
      body: {
        max_versions: 5,
        cas_required: true,
        delete_version_after: '1h0m0s',
        custom_metadata: { owner: 'ops' },
      },
    });
  });

  it('patches with a JSON merge patch and falls back to read-then-write on 405', async () => {
    const s = await withStub((req) => {
      if (req.method === 'PATCH') return { status: 405, body: { errors: ['unsupported'] } };
      if (req.method === 'GET') {
        return { body: { data: { data: { a: '1', b: '2' }, metadata: { version: 4 } } } };
      }
      return { body: { data: METADATA } };
    });
    const { code } = await keep(['kv', 'patch', '-mount=secret', 'app', 'b=3']);
    assert.equal(code, 0);
    const [, patch, read, write] = s.requests;
    assert.equal(patch.method, 'PATCH');
    assert.equal(patch.headers['content-type'], 'application/merge-patch+json');
    assert.deepEqual(patch.body, { data: { b: '3' }, options: {} });
    assert.equal(read.method, 'GET');
    assert.deepEqual(write.body, { data: { a: '1', b: '3' }, options: { cas: 4 } });
  });
});

describe('keep status and operator', () => {
  const sealed = {
    type: 'shamir',
    initialized: true,
    sealed: true,
    t: 3,
    n: 5,
    progress: 1,
    nonce: 'n-1',
    version: '0.1.0',
    build_date: '',
    migration: false,
    recovery_seal: false,
    storage_type: 'memory',
  };

  it('exits 2 when sealed and prints Vault’s seal table', async () => {
    await withStub((req) => {
      if (req.path === '/v1/sys/seal-status') return { body: sealed };
      if (req.path === '/v1/sys/leader')
        return { status: 503, body: { errors: ['Keep is sealed'] } };
      return undefined;
    });
    const { code, io } = await keep(['status']);
    assert.equal(code, 2);
    assert.equal(
      io.out,
      [
        'Key                Value',
        '---                -----',
        'Seal Type          shamir',
        'Initialized        true',
        'Sealed             true',
        'Total Shares       5',
        'Threshold          3',
        'Unseal Progress    1/3',
        'Unseal Nonce       n-1',
        'Version            0.1.0',
        'Build Date         n/a',
        'Storage Type       memory',
        'HA Enabled         true',
        '',
      ].join('\n'),
    );
  });

  it('exits 0 when unsealed, and 1 when the server cannot be reached', async () => {
    await withStub((req) => {
      if (req.path === '/v1/sys/seal-status') return { body: { ...sealed, sealed: false } };
      if (req.path === '/v1/sys/leader') return { body: { ha_enabled: false } };
      return undefined;
    });
    assert.equal((await keep(['status'])).code, 0);
    const { code, io } = await keep(['status'], { env: { KEEP_ADDR: 'http://127.0.0.1:1' } });
    assert.equal(code, 1);
    assert.equal(
      io.err,
      'Error checking seal status: Get "http://127.0.0.1:1/v1/sys/seal-status": ' +
        'dial tcp 127.0.0.1:1: connect: connection refused\n',
    );
  });

  it('initializes with the share counts and prints the keys and root token', async () => {
    const s = await withStub(() => ({
      body: {
        keys: ['aa', 'bb', 'cc'],
        keys_base64: ['qg==', 'uw==', 'zA=='],
        root_token: 'hvs.root',
      },
    }));
    const { code, io } = await keep(['operator', 'init', '-key-shares=3', '-t', '2']);
    assert.equal(code, 0);
    assert.deepEqual(summary(s.requests), [
      {
        method: 'PUT',
        path: '/v1/sys/init',
        query: {},
        body: { secret_shares: 3, secret_threshold: 2 },
      },
    ]);
    assert.ok(
      io.out.startsWith(
        'Unseal Key 1: qg==\nUnseal Key 2: uw==\nUnseal Key 3: zA==\n\n' +
          'Initial Root Token: hvs.root\n\n',
      ),
    );
    assert.match(io.out, /Keep initialized with 3 key shares and a key threshold of 2\./);
  });

  it('gives Vault’s machine-readable init answer with -format=json', async () => {
    await withStub(() => ({ body: { keys: ['aa'], keys_base64: ['qg=='], root_token: 't' } }));
    const { io } = await keep([
      'operator',
      'init',
      '-format=json',
      '-key-shares=1',
      '-key-threshold=1',
    ]);
    const out = JSON.parse(io.out);
    assert.deepEqual(out.unseal_keys_b64, ['qg==']);
    assert.deepEqual(out.unseal_keys_hex, ['aa']);
    assert.equal(out.root_token, 't');
    assert.equal(out.unseal_threshold, 1);
  });

  it('reports init status through the exit code', async () => {
    await withStub(() => ({ body: { initialized: false } }));
    const { code, io } = await keep(['operator', 'init', '-status']);
    assert.equal(code, 2);
    assert.equal(io.out, 'Keep is not initialized\n');
  });

  it('unseals with a key read from stdin when there is no terminal', async () => {
    const s = await withStub((req) => {
      if (req.path === '/v1/sys/unseal') return { body: { ...sealed, progress: 2 } };
      if (req.path === '/v1/sys/leader') return { body: { ha_enabled: false } };
      return undefined;
    });
    const { code, io } = await keep(['operator', 'unseal'], { stdin: '  key-share-1\n' });
    assert.equal(code, 0);
    assert.deepEqual(s.requests[0].body, { key: 'key-share-1', reset: false, migrate: false });
    assert.match(io.out, /^Unseal Progress\s+2\/3$/m);
  });

  it('runs the rekey flow: init, then a key with its nonce, then the new keys', async () => {
    const s = await withStub((req) => {
      if (req.path === '/v1/sys/rekey/init' && req.method === 'PUT') {
        return { body: { nonce: 'rk-1', started: true, t: 2, n: 3, progress: 0, required: 3 } };
      }
      if (req.path === '/v1/sys/rekey/init') {
        return { body: { nonce: 'rk-1', started: true, t: 2, n: 3, progress: 2, required: 3 } };
      }
      if (req.path === '/v1/sys/rekey/update') {
        return {
          body: {
            nonce: 'rk-1',
            complete: true,
            keys: ['01', '02', '03'],
            keys_base64: ['AQ==', 'Ag==', 'Aw=='],
          },
        };
      }
      return undefined;
    });
    let r = await keep(['operator', 'rekey', '-init', '-key-shares=3', '-key-threshold=2']);
    assert.equal(r.code, 0);
    assert.deepEqual(s.requests[0].body, {
      secret_shares: 3,
      secret_threshold: 2,
      backup: false,
      require_verification: false,
    });
    assert.match(r.io.out, /^Nonce\s+rk-1$/m);

    r = await keep(['operator', 'rekey', 'old-key']);
    assert.equal(r.code, 1);
    assert.equal(r.io.err, 'Missing nonce value: specify it via the -nonce flag\n');

    r = await keep(['operator', 'rekey', '-nonce=rk-1', 'old-key']);
    assert.equal(r.code, 0);
    assert.deepEqual(s.requests.at(-1)!.body, { key: 'old-key', nonce: 'rk-1' });
    assert.match(r.io.out, /^Key 1: AQ==\nKey 2: Ag==\nKey 3: Aw==\n\nOperation nonce: rk-1$/m);
  });
});

describe('keep login', () => {
  it('checks the token with lookup-self and stores it, mode 0600, in ~/.keep-token', async () => {
    const s = await withStub((req) =>
      req.path === '/v1/auth/token/lookup-self'
        ? {
            body: {
              data: { id: 'tok-1', accessor: 'acc', policies: ['root'], ttl: 0, renewable: false },
            },
          }
        : undefined,
    );
    const home = mkdtempSync(join(tmpdir(), 'keep-home-'));
    const { code, io } = await keep(['login', 'tok-1'], { home, env: { KEEP_TOKEN: '' } });
    assert.equal(code, 0, io.err);
    assert.equal(s.requests[0].headers['x-vault-token'], 'tok-1');
    const file = join(home, '.keep-token');
    assert.equal(readFileSync(file, 'utf8'), 'tok-1');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.match(io.out, /^Success! You are now authenticated\./);
    assert.match(io.out, /^token_duration\s+∞$/m);
    assert.match(io.out, /^policies\s+\["root"\]$/m);
  });

  it('reads the token from stdin with -, storing nothing when the server refuses it', async () => {
    await withStub(() => ({ status: 403, body: { errors: ['permission denied'] } }));
    const home = mkdtempSync(join(tmpdir(), 'keep-home-'));
    const { code, io } = await keep(['login', '-'], {
      home,
      stdin: 'bad\n',
      env: { KEEP_TOKEN: '' },
    });
    assert.equal(code, 2);
    assert.match(
      io.err,
      /^Error authenticating: error looking up token: Error making API request\./,
    );
    assert.throws(() => statSync(join(home, '.keep-token')), /ENOENT/);
  });

  it('uses the stored token for later commands', async () => {
    const s = await withStub(() => ({ body: { data: { a: 'b' } } }));
    const home = mkdtempSync(join(tmpdir(), 'keep-home-'));
    writeFileSync(join(home, '.keep-token'), 'stored-token\n');
    await keep(['read', 'sys/x'], { home, env: { KEEP_TOKEN: '', VAULT_TOKEN: '' } });
    assert.equal(s.requests[0].headers['x-vault-token'], 'stored-token');
  });
});

describe('keep token', () => {
  it('creates an orphan token with policies, TTL and metadata, and prints one field', async () => {
    const s = await withStub(() => ({
      body: {
        auth: {
          client_token: 'hvs.new',
          accessor: 'a',
          policies: ['a', 'b', 'default'],
          token_policies: ['a', 'b', 'default'],
          metadata: { team: 'ops' },
          lease_duration: 3600,
          renewable: true,
        },
      },
    }));
    const { code, io } = await keep([
      'token',
      'create',
      '-policy=a',
      '-policy=b',
      '-ttl=1h',
      '-orphan',
      '-metadata',
      'team=ops',
      '-field=token',
    ]);
    assert.equal(code, 0);
    assert.equal(io.out, 'hvs.new');
    assert.deepEqual(summary(s.requests), [
      {
        method: 'POST',
        path: '/v1/auth/token/create-orphan',
        query: {},
        body: {
          display_name: '',
          num_uses: 0,
          renewable: true,
          ttl: '1h0m0s',
          explicit_max_ttl: '0s',
          period: '0s',
          type: 'service',
          entity_alias: '',
          policies: ['a', 'b'],
          meta: { team: 'ops' },
          no_parent: true,
        },
      },
    ]);
  });

  it('revokes by accessor and rejects conflicting flags locally', async () => {
    const s = await withStub(() => ({ status: 204 }));
    let r = await keep(['token', 'revoke', '-accessor', 'acc-1']);
    assert.equal(r.code, 0);
    assert.deepEqual(summary(s.requests)[0], {
      method: 'POST',
      path: '/v1/auth/token/revoke-accessor',
      query: {},
      body: { accessor: 'acc-1' },
    });
    assert.equal(r.io.out, 'Success! Revoked token (if it existed)\n');
    r = await keep(['token', 'revoke', '-self', '-accessor']);
    assert.equal(r.code, 1);
    assert.equal(r.io.err, 'Cannot use -self with -accessor!\n');
  });

  it('lists capabilities of the own token on a path, sorted', async () => {
    const s = await withStub(() => ({
      body: { data: { capabilities: ['read', 'create'], 'secret/x': ['read', 'create'] } },
    }));
    const { code, io } = await keep(['token', 'capabilities', 'secret/x']);
    assert.equal(code, 0);
    assert.deepEqual(s.requests[0].body, { paths: ['secret/x'] });
    assert.equal(s.requests[0].path, '/v1/sys/capabilities-self');
    assert.equal(io.out, 'create, read\n');
  });

  it('renews with the increment in whole seconds', async () => {
    const s = await withStub(() => ({
      body: {
        auth: {
          client_token: 't',
          accessor: 'a',
          policies: [],
          metadata: null,
          lease_duration: 1800,
          renewable: true,
        },
      },
    }));
    await keep(['token', 'renew', '-increment=30m']);
    assert.deepEqual(summary(s.requests)[0], {
      method: 'PUT',
      path: '/v1/auth/token/renew-self',
      query: {},
      body: { increment: 1800 },
    });
  });
});

describe('keep policy, secrets, auth and the generic commands', () => {
  it('uploads a policy from stdin under its lowercased name', async () => {
    const s = await withStub(() => ({ status: 204 }));
    const rules = 'path "secret/*" { capabilities = ["read"] }\n';
    const { code, io } = await keep(['policy', 'write', 'Ops', '-'], { stdin: rules });
    assert.equal(code, 0);
    assert.deepEqual(summary(s.requests), [
      { method: 'PUT', path: '/v1/sys/policies/acl/ops', query: {}, body: { policy: rules } },
    ]);
    assert.equal(io.out, 'Success! Uploaded policy: ops\n');
  });

  it('reads a policy’s rules and exits 2 for an unknown one', async () => {
    await withStub((req) =>
      req.path === '/v1/sys/policies/acl/ops'
        ? { body: { data: { name: 'ops', policy: 'path "x" {}\n' } } }
        : undefined,
    );
    assert.equal((await keep(['policy', 'read', 'ops'])).io.out, 'path "x" {}\n');
    const missing = await keep(['policy', 'read', 'nope']);
    assert.equal(missing.code, 2);
    assert.equal(missing.io.err, 'No policy named: nope\n');
  });

  it('formats a policy file in place', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'keep-pol-')), 'p.hcl');
    writeFileSync(file, 'path "a" {capabilities=["read"]}');
    const { code, io } = await keep(['policy', 'fmt', file]);
    assert.equal(code, 0);
    assert.equal(io.out, `Success! Formatted policy: ${file}\n`);
    assert.equal(readFileSync(file, 'utf8'), 'path "a" {\n  capabilities = ["read"]\n}\n');
  });

  it('enables kv-v2 as kv with version 2 at the chosen path', async () => {
    const s = await withStub(() => ({ status: 204 }));
    const { code, io } = await keep([
      'secrets',
      'enable',
      '-path=secret',
      '-description=app',
      'kv-v2',
    ]);
    assert.equal(code, 0);
    assert.deepEqual(summary(s.requests), [
      {
        method: 'POST',
        path: '/v1/sys/mounts/secret/',
        query: {},
        body: {
          type: 'kv',
          description: 'app',
          config: { default_lease_ttl: '0s', max_lease_ttl: '0s', force_no_cache: false },
          local: false,
          seal_wrap: false,
          external_entropy_access: false,
          options: { version: '2' },
        },
      },
    ]);
    assert.equal(io.out, 'Success! Enabled the kv-v2 secrets engine at: secret/\n');
  });

  it('lists secrets engines as Vault’s table', async () => {
    await withStub(() => ({
      body: {
        data: {
          'secret/': { type: 'kv', accessor: 'kv_1', description: '', options: { version: '2' } },
          'cubbyhole/': { type: 'cubbyhole', accessor: 'cubbyhole_2', description: 'per-token' },
        },
      },
    }));
    const { io } = await keep(['secrets', 'list']);
    assert.equal(
      io.out,
      [
        'Path          Type         Accessor       Description',
        '----          ----         --------       -----------',
        'cubbyhole/    cubbyhole    cubbyhole_2    per-token',
        'secret/       kv           kv_1           n/a',
        '',
      ].join('\n'),
    );
  });

  it('tunes only the settings given', async () => {
    const s = await withStub(() => ({ status: 204 }));
    await keep(['secrets', 'tune', '-max-lease-ttl=72h', 'pki']);
    assert.deepEqual(summary(s.requests)[0], {
      method: 'POST',
      path: '/v1/sys/mounts/pki/tune',
      query: {},
      body: { default_lease_ttl: '', max_lease_ttl: '72h0m0s' },
    });
  });

  it('enables and disables auth methods', async () => {
    const s = await withStub(() => ({ status: 204 }));
    assert.equal(
      (await keep(['auth', 'enable', 'userpass'])).io.out,
      'Success! Enabled userpass auth method at: userpass/\n',
    );
    assert.equal(s.requests[0].path, '/v1/sys/auth/userpass/');
    const r = await keep(['auth', 'disable', 'userpass']);
    assert.equal(r.io.out, 'Success! Disabled the auth method (if it existed) at: userpass/\n');
    assert.equal(s.requests[1].method, 'DELETE');
  });

  it('writes K=V data with write, and needs data or -force', async () => {
    const s = await withStub(() => ({ status: 204 }));
    let r = await keep(['write', 'sys/rotate']);
    assert.equal(r.code, 1);
    assert.equal(r.io.err, 'Must supply data or use -force\n');
    r = await keep(['write', '-f', 'sys/rotate']);
    assert.equal(r.code, 0);
    assert.equal(r.io.out, 'Success! Data written to: sys/rotate\n');
    assert.deepEqual(s.requests[0].body, {});
  });

  it('reads with a table including refresh_interval and lists with a trailing slash', async () => {
    const s = await withStub((req) =>
      req.query.list
        ? { body: { data: { keys: ['x'] } } }
        : { body: { lease_duration: 2764800, lease_id: '', data: { foo: 'bar' } } },
    );
    const read = await keep(['read', 'kv1/a']);
    assert.equal(
      read.io.out,
      'Key                 Value\n---                 -----\n' +
        'refresh_interval    768h\nfoo                 bar\n',
    );
    await keep(['list', 'kv1']);
    assert.equal(s.requests[1].path, '/v1/kv1/');
  });
});

describe('dispatch', () => {
  it('prints usage and exits 127 with no command or an unknown one', async () => {
    for (const argv of [[], ['nope']]) {
      const { code, io } = await keep(argv);
      assert.equal(code, 127);
      assert.match(io.err, /^Usage: keep <command> \[args\]/);
    }
  });

  it('prints command help on -h anywhere before --, exit 0; a bare group exits 1', async () => {
    let r = await keep(['kv', 'get', 'secret/x', '-h']);
    assert.equal(r.code, 0);
    assert.match(r.io.err, /^Usage: keep kv get \[options\] KEY/);
    assert.match(r.io.err, /-mount=<string>/);
    r = await keep(['kv']);
    assert.equal(r.code, 1);
    assert.match(r.io.err, /Subcommands:\n.*delete/);
    r = await keep(['--help']);
    assert.equal(r.code, 0);
  });

  it('exits 2 naming the address when the server is down', async () => {
    const { code, io } = await keep(['kv', 'get', 'secret/x'], {
      env: { KEEP_ADDR: 'http://127.0.0.1:1' },
    });
    assert.equal(code, 2);
    assert.match(
      io.err,
      /http:\/\/127\.0\.0\.1:1\/v1\/sys\/internal\/ui\/mounts\/secret\/x.*connection refused/,
    );
  });

  it('uses -address over KEEP_ADDR', async () => {
    const s = await withStub(() => ({ body: { data: { a: 'b' } } }));
    const { code } = await keep(['read', `-address=${s.url}`, 'x'], {
      env: { KEEP_ADDR: 'http://127.0.0.1:1' },
    });
    assert.equal(code, 0);
    assert.equal(s.requests.length, 1);
  });
});
