/**
 * `keep provision` and `keep env` end to end: the built CLI against a real
 * `keep server -dev` (KV v2 at secret/, the config store on its own port).
 * A service is provisioned into a file drop, then `keep env` logs in with
 * the dropped AppRole credentials and starts a small program that prints
 * its environment; the test checks names, values, precedence, the conflict
 * warning, one-use secret IDs, wrapping, exit codes, signals, bad input, and
 * that keep itself never prints a secret value.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';
import {
  KEEP_BIN,
  type KeepProcess,
  removeDir,
  startDevKeep,
  tempDir,
} from './helpers/keep-server.ts';

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const SECRET_VALUES = [
  'prod-db-password-7f3a',
  'global-db-password-91c2',
  'api-key-prod-55e1',
  'shared-token-0b9d',
];
// The SDK's notice that later releases need Node 22 (LIBRARIES.md §18), once per process.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';

/** s3rver 3 (a devDependency, untyped): an S3 stand-in speaking the S3 wire format. */
interface S3rverServer {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
}
const S3rver = createRequire(import.meta.url)('s3rver') as new (opts: {
  address: string;
  port: number;
  directory: string;
  silent: boolean;
  configureBuckets: { name: string }[];
}) => S3rverServer;

const PRINT_ENV = `process.stdout.write(JSON.stringify(process.env))`;

describe('keep provision and keep env against a real server', () => {
  let server: KeepProcess;
  let work: string;
  let drop: string;

  function keep(
    args: string[],
    opts: {
      token?: string;
      env?: Record<string, string>;
      onSpawn?: (pid: number, out: () => string) => void;
    } = {},
  ): Promise<Run> {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: work,
      KEEP_ADDR: server.addr,
      KEEP_CONFIG_ADDR: server.consulAddr!,
      ...opts.env,
    };
    if (opts.token) env.KEEP_TOKEN = opts.token;
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [KEEP_BIN, ...args], { cwd: work, env });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => {
        stdout += c;
      });
      child.stderr.setEncoding('utf8').on('data', (c: string) => {
        stderr += c;
      });
      child.on('error', reject);
      child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
      child.stdin.end();
      opts.onSpawn?.(child.pid!, () => stdout);
    });
  }

  async function ok(args: string[], token?: string): Promise<Run> {
    const run = await keep(args, { token });
    assert.equal(run.code, 0, `keep ${args.join(' ')}: ${run.code}\n${run.stderr}${run.stdout}`);
    return run;
  }

  function assertNoSecrets(text: string, what: string) {
    for (const value of SECRET_VALUES)
      assert.ok(!text.includes(value), `${what} shows a secret value`);
  }

  const workloadDrop = (w = 'checkout-production') => `file://${join(drop, w)}`;
  const provision = (...extra: string[]) =>
    ok(
      [
        'provision',
        'create',
        '--service',
        'checkout',
        '--env',
        'production',
        '--drop',
        `file://${drop}`,
        ...extra,
      ],
      'root',
    );
  const envRun = (extra: string[], cmd: string[]) =>
    keep([
      'env',
      '-service=checkout',
      '-env=production',
      `-approle-from=${workloadDrop()}`,
      ...extra,
      '--',
      ...cmd,
    ]);

  before(async () => {
    server = await startDevKeep('root');
    work = tempDir('keep-env-');
    drop = join(work, 'drop');
    const put = (path: string, ...kv: string[]) =>
      ok(['kv', 'put', '-mount=secret', path, ...kv], 'root');
    await put(
      'checkout/global',
      `DB_PASSWORD=${SECRET_VALUES[1]}`,
      `SHARED_TOKEN=${SECRET_VALUES[3]}`,
    );
    await put(
      'checkout/production',
      `DB_PASSWORD=${SECRET_VALUES[0]}`,
      `API_KEY=${SECRET_VALUES[2]}`,
    );
    await put('payments/production', 'OTHER=not-yours');
    const config = (key: string, value: string) => ok(['config', 'put', key, value], 'root');
    await config('global/LOG_LEVEL', 'info');
    await config('global/REGION', 'eu-west-1');
    await config('checkout/global/LOG_LEVEL', 'debug');
    await config('checkout/global/db/pool-size', '10');
    await config('checkout/production/db/host', 'prod-db.internal');
    await config('checkout/production/API_KEY', 'config-api-key');
    await config('checkout/staging/db/host', 'staging-db.internal');
    await config('payments/production/db/host', 'payments-db');
  });

  after(async () => {
    await server?.stop();
    if (work) removeDir(work);
    for (const line of server?.output ?? []) assertNoSecrets(line, 'the server log');
  });

  it('provisions a policy, a role and a drop of 0600 files', async () => {
    const run = await provision();
    assertNoSecrets(run.stdout + run.stderr, 'provision');
    const dir = join(drop, 'checkout-production');
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(dir).sort(), ['role-id', 'secret-id']);
    for (const f of readdirSync(dir)) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600);
    const policy = JSON.parse(
      (await ok(['policy', 'read', '-format=json', 'svc-checkout-production'], 'root')).stdout,
    );
    const paths = [
      ...String(policy.policy ?? policy.rules ?? policy.data?.policy).matchAll(/path "([^"]+)"/g),
    ].map((m) => m[1]);
    assert.deepEqual(paths, [
      'secret/data/checkout/global',
      'secret/data/checkout/production',
      'config/global/*',
      'config/checkout/global/*',
      'config/checkout/production/*',
    ]);
    const role = JSON.parse(
      (await ok(['read', '-format=json', 'auth/approle/role/checkout-production'], 'root')).stdout,
    );
    assert.equal(role.data.secret_id_num_uses, 1);
    assert.equal(role.data.secret_id_ttl, 600);
    assert.deepEqual(role.data.token_policies, ['svc-checkout-production']);
  });

  it('starts the program with its secrets and config, by precedence, without the token', async () => {
    const run = await envRun(['-sanitize'], [process.execPath, '-e', PRINT_ENV]);
    assert.equal(run.code, 0, run.stderr);
    const env = JSON.parse(run.stdout) as Record<string, string>;
    assert.equal(env.DB_PASSWORD, SECRET_VALUES[0], 'service-env secret beats service-global');
    assert.equal(env.SHARED_TOKEN, SECRET_VALUES[3]);
    assert.equal(env.API_KEY, SECRET_VALUES[2], 'a secret beats config of the same name');
    assert.equal(env.LOG_LEVEL, 'debug', 'service-global config beats global');
    assert.equal(env.REGION, 'eu-west-1');
    assert.equal(env.db_host, 'prod-db.internal', '-sanitize, names relative to the prefix');
    assert.equal(env.db_pool_size, '10');
    assert.equal(env.OTHER, undefined);
    for (const name of ['KEEP_TOKEN', 'VAULT_TOKEN']) assert.equal(env[name], undefined);
    assert.match(
      run.stderr,
      /API_KEY is set both by secret\/checkout\/production and by config checkout\/production\/; the secret wins/,
    );
    assertNoSecrets(run.stderr, 'keep env stderr');
    assert.ok(!run.stderr.includes('config-api-key'), 'the losing config value is not shown');
  });

  it('refuses a second boot with the same one-use secret ID, clearly', async () => {
    const run = await envRun([], ['/bin/sh', '-c', 'echo started']);
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '', 'no child was started');
    assert.match(run.stderr, /already used/);
    assertNoSecrets(run.stderr, 'keep env stderr');
  });

  it('unwraps a wrapped secret ID exactly once', async () => {
    await provision('--wrap-ttl', '5m');
    const dir = join(drop, 'checkout-production');
    assert.deepEqual(readdirSync(dir).sort(), ['role-id', 'wrapped-secret-id']);
    const first = await envRun(['-upcase', '-sanitize'], [process.execPath, '-e', PRINT_ENV]);
    assert.equal(first.code, 0, first.stderr);
    const env = JSON.parse(first.stdout);
    assert.equal(env.DB_HOST, 'prod-db.internal');
    assert.equal(env.DB_POOL_SIZE, '10');
    const second = await envRun([], ['/bin/sh', '-c', 'echo started']);
    assert.equal(second.code, 2);
    assert.equal(second.stdout, '');
    assert.match(second.stderr, /cannot unwrap the secret ID/);
  });

  it('logs in from -role-id-file and a wrapped -secret-id-file', async () => {
    await provision('--wrap-ttl', '1m', '--workload', 'files');
    const dir = join(drop, 'files');
    const run = await keep([
      'env',
      '-service=checkout',
      '-env=production',
      `-role-id-file=${join(dir, 'role-id')}`,
      `-secret-id-file=${join(dir, 'wrapped-secret-id')}`,
      '-format=json',
    ]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout).DB_PASSWORD, SECRET_VALUES[0]);
  });

  it('passes the exit code and a fatal signal of the child through', async () => {
    await provision();
    const exit7 = await envRun([], [process.execPath, '-e', 'process.exit(7)']);
    assert.equal(exit7.code, 7, exit7.stderr);
    await provision();
    const killed = await envRun(
      [],
      [process.execPath, '-e', 'process.kill(process.pid, "SIGKILL")'],
    );
    assert.equal(killed.code, 128 + 9, killed.stderr);
  });

  it('refuses an expired secret ID, starting no child', async () => {
    await provision('--secret-id-ttl', '1s');
    await new Promise((r) => setTimeout(r, 2100));
    const run = await envRun([], ['/bin/sh', '-c', 'echo started']);
    assert.equal(run.code, 2);
    assert.equal(run.stdout, '');
    assert.match(run.stderr, /invalid role or secret ID[\s\S]*has expired/);
  });

  it('runs -exec through the shell, and -pristine passes only the loaded variables', async () => {
    await provision();
    const run = await keep([
      'env',
      '-service=checkout',
      '-env=production',
      `-approle-from=${workloadDrop()}`,
      '-pristine',
      `-exec=${process.execPath} -e '${PRINT_ENV}'`,
    ]);
    assert.equal(run.code, 0, run.stderr);
    const env = JSON.parse(run.stdout) as Record<string, string>;
    assert.equal(env.LOG_LEVEL, 'debug');
    assert.equal(env.KEEP_ADDR, undefined, "keep's own environment is not passed with -pristine");
  });

  it('forwards signals to the child', async () => {
    await provision();
    const script =
      'process.on("SIGTERM", () => { console.log("got SIGTERM"); process.exit(42) });' +
      'process.on("SIGUSR1", () => console.log("got SIGUSR1"));' +
      'console.log("ready"); setInterval(() => {}, 1000)';
    const run = await keep(
      [
        'env',
        '-service=checkout',
        '-env=production',
        `-approle-from=${workloadDrop()}`,
        '--',
        process.execPath,
        '-e',
        script,
      ],
      {
        onSpawn: (pid, out) => {
          const poll = setInterval(() => {
            if (out().includes('ready') && !out().includes('USR1')) {
              process.kill(pid, 'SIGUSR1');
              setTimeout(() => process.kill(pid, 'SIGTERM'), 300);
              clearInterval(poll);
            }
          }, 50);
        },
      },
    );
    assert.equal(run.code, 42, run.stderr);
    assert.match(run.stdout, /got SIGUSR1/);
    assert.match(run.stdout, /got SIGTERM/);
  });

  it('writes the environment to a 0600 file, and keeps stdout free of secrets when running a command', async () => {
    const out = join(work, 'app.env');
    const run = await keep(
      [
        'env',
        '-service=checkout',
        '-env=production',
        '-sanitize',
        '-upcase',
        '-format=dotenv',
        `-out=${out}`,
      ],
      { token: 'root' },
    );
    assert.equal(run.code, 0, run.stderr);
    assert.equal(statSync(out).mode & 0o777, 0o600);
    assertNoSecrets(run.stdout + run.stderr, 'keep env -out');
    const quiet = await keep(['env', '-service=checkout', '-env=production', '--', 'true'], {
      token: 'root',
    });
    assert.equal(quiet.code, 0, quiet.stderr);
    assertNoSecrets(quiet.stdout + quiet.stderr, 'keep env');
  });

  it('gives the token read on exactly its own paths', async () => {
    await provision();
    const run = await keep([
      'env',
      '-service=checkout',
      '-env=production',
      `-approle-from=${workloadDrop()}`,
      '-secret=secret/payments/production',
      '--',
      'true',
    ]);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /permission denied/i);
    assert.ok(!run.stderr.includes('not-yours'));
  });

  it('rotates a secret ID and deletes everything', async () => {
    await ok(
      ['provision', 'rotate', '-service=checkout', '-env=production', `-drop=file://${drop}`],
      'root',
    );
    const used = await envRun([], ['true']);
    assert.equal(used.code, 0, used.stderr);
    await ok(
      ['provision', 'delete', '-service=checkout', '-env=production', `-drop=file://${drop}`],
      'root',
    );
    assert.ok(!existsSync(join(drop, 'checkout-production')));
    const role = await keep(['read', 'auth/approle/role/checkout-production'], { token: 'root' });
    assert.notEqual(role.code, 0);
    const policy = await keep(['policy', 'read', 'svc-checkout-production'], { token: 'root' });
    assert.notEqual(policy.code, 0);
    // Again: nothing there is not an error.
    await ok(
      ['provision', 'delete', '-service=checkout', '-env=production', `-drop=file://${drop}`],
      'root',
    );
    const rotate = await keep(
      ['provision', 'rotate', '-service=checkout', '-env=production', `-drop=file://${drop}`],
      { token: 'root' },
    );
    assert.equal(rotate.code, 1);
    assert.match(rotate.stderr, /not provisioned/);
  });

  it('refuses bad input with a clear message and exit 1', async () => {
    const cases: [string[], RegExp, number][] = [
      [
        ['provision', 'create', '-env=production', `-drop=file://${drop}`],
        /-service is required/,
        1,
      ],
      [
        ['provision', 'create', '-service=a/b', '-env=production', `-drop=file://${drop}`],
        /not a valid name/,
        1,
      ],
      [
        ['provision', 'create', '-service=x', '-env=production', '-drop=ftp://host/x'],
        /invalid drop URL/,
        1,
      ],
      [['provision', 'create', '-service=x', '-env=production'], /-drop is required/, 1],
      [
        [
          'provision',
          'create',
          '-service=x',
          '-env=production',
          `-drop=file://${drop}`,
          '-cidr=300.1.1.1/8',
        ],
        /invalid -cidr/,
        1,
      ],
      [['env', '-env=production', '--', 'true'], /-service is required/, 1],
      [['env', '-service=checkout', '-env=production'], /no command given/, 1],
      [
        [
          'env',
          '-service=checkout',
          '-env=production',
          `-approle-from=file://${join(work, 'nope')}`,
          '--',
          'true',
        ],
        /cannot read the role ID from .*nope\/role-id: ENOENT/,
        1,
      ],
      [
        ['env', '-service=checkout', '-env=production', '-approle-from=gopher://x', '--', 'true'],
        /invalid drop URL/,
        1,
      ],
      [['env', '-service=checkout', '-env=production', '-format=yaml'], /invalid -format/, 1],
      [
        ['env', '-service=nosuch', '-env=production', '--', 'true'],
        /unknown service: nothing found for nosuch in production/,
        1,
      ],
    ];
    for (const [args, message, code] of cases) {
      const run = await keep(args, { token: 'root' });
      assert.equal(run.code, code, `${args.join(' ')}: ${run.code}\n${run.stderr}`);
      assert.match(run.stderr, message, args.join(' '));
    }
    const unreadable = join(work, 'unreadable');
    writeFileSync(unreadable, 'x');
    chmodSync(unreadable, 0o000);
    if (process.getuid?.() !== 0) {
      const run = await keep([
        'env',
        '-service=checkout',
        '-env=production',
        `-role-id-file=${unreadable}`,
        `-secret-id-file=${unreadable}`,
        '--',
        'true',
      ]);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /cannot read the role ID .*EACCES/);
    }
    const missing = await keep(
      ['env', '-service=checkout', '-env=production', '--', 'no-such-command-keep'],
      { token: 'root' },
    );
    assert.equal(missing.code, 127);
    assert.match(missing.stderr, /command not found: no-such-command-keep/);
  });

  it('restarts a watching child when its config changes', async () => {
    const script =
      'console.log("start " + process.env.LOG_LEVEL);' +
      'process.on("SIGTERM", () => process.exit(0)); setInterval(() => {}, 1000)';
    let changed = false;
    const run = await keep(
      ['env', '-service=checkout', '-env=production', '--', process.execPath, '-e', script],
      {
        token: 'root',
        onSpawn: (pid, out) => {
          const poll = setInterval(() => {
            if (!changed && out().includes('start debug')) {
              changed = true;
              void ok(['config', 'put', 'checkout/global/LOG_LEVEL', 'trace'], 'root');
            }
            if (out().includes('start trace')) {
              clearInterval(poll);
              process.kill(pid, 'SIGTERM');
            }
          }, 50);
        },
      },
    );
    await ok(['config', 'put', 'checkout/global/LOG_LEVEL', 'debug'], 'root');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /start debug\nstart trace\n/);
    assert.match(run.stderr, /values changed; restarting the command/);
  });

  it('drops into S3 and boots from there', async () => {
    const s3dir = join(work, 's3');
    const s3server = new S3rver({
      address: '127.0.0.1',
      port: 0,
      directory: s3dir,
      silent: true,
      configureBuckets: [{ name: 'drops' }],
    });
    const { port } = await s3server.run();
    const s3env = {
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'S3RVER',
      AWS_SECRET_ACCESS_KEY: 'S3RVER',
      AWS_ENDPOINT_URL_S3: `http://127.0.0.1:${port}`,
      KEEP_S3_FORCE_PATH_STYLE: 'true',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    const s3 = new S3Client({
      region: 'us-east-1',
      endpoint: s3env.AWS_ENDPOINT_URL_S3,
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    const keys = async () =>
      (
        (await s3.send(new ListObjectsV2Command({ Bucket: 'drops', Prefix: 'keep/' }))).Contents ??
        []
      )
        .map((o) => o.Key)
        .sort();
    try {
      const base = ['-service=checkout', '-env=production'];
      const created = await keep(
        ['provision', 'create', ...base, '-drop=s3://drops/keep', '-wrap-ttl=2m'],
        {
          token: 'root',
          env: s3env,
        },
      );
      assert.equal(created.code, 0, created.stderr);
      assertNoSecrets(created.stdout + created.stderr, 'provision to S3');
      assert.deepEqual(await keys(), [
        'keep/checkout-production/role-id',
        'keep/checkout-production/wrapped-secret-id',
      ]);
      const got = await s3.send(
        new GetObjectCommand({ Bucket: 'drops', Key: 'keep/checkout-production/role-id' }),
      );
      assert.match((await got.Body!.transformToString()).trim(), /^[0-9a-f-]{36}$/);

      const from = '-approle-from=s3://drops/keep/checkout-production';
      const run = await keep(
        ['env', ...base, from, '-sanitize', '--', process.execPath, '-e', PRINT_ENV],
        { env: s3env },
      );
      assert.equal(run.code, 0, run.stderr);
      assert.equal(JSON.parse(run.stdout).db_host, 'prod-db.internal');
      const again = await keep(['env', ...base, from, '--', 'true'], { env: s3env });
      assert.equal(again.code, 2);
      assert.match(again.stderr, /cannot unwrap/);

      await s3.send(
        new DeleteObjectCommand({ Bucket: 'drops', Key: 'keep/checkout-production/role-id' }),
      );
      const broken = await keep(['env', ...base, from, '--', 'true'], { env: s3env });
      assert.equal(broken.code, 1);
      assert.match(
        broken.stderr,
        /cannot read the role ID from s3:\/\/drops\/keep\/checkout-production\/role-id/,
      );

      const deleted = await keep(['provision', 'delete', ...base, '-drop=s3://drops/keep'], {
        token: 'root',
        env: s3env,
      });
      assert.equal(deleted.code, 0, deleted.stderr);
      assert.deepEqual(await keys(), []);
    } finally {
      s3.destroy();
      await s3server.close();
    }
  });
});
