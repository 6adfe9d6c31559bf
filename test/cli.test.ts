/**
 * The `keep` command line end to end: the built binary (`node dist/keep.mjs`,
 * what `npx keep` runs) as a child process against a real server on SQLite,
 * through the README's quick start and the Vault habits operators bring:
 * exit codes 0/1/2, `-format=json`, `-field`, `~/.keep-token`, policies and
 * child tokens, sealing, and nothing secret in the server's log.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  KEEP_BIN,
  type KeepProcess,
  removeDir,
  startKeep,
  tempDir,
} from './helpers/keep-server.ts';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

interface RunOptions {
  /** Sent as KEEP_TOKEN; without it the CLI falls back to ~/.keep-token. */
  token?: string;
  stdin?: string;
  home?: string;
  /** Extra variables; `undefined` removes one (KEEP_ADDR, say). */
  env?: Record<string, string | undefined>;
  /** Close the reading end of stdout at once, as `| head -1` does once it has its line. */
  closeStdout?: boolean;
  /** The script to run instead of dist/keep.mjs. */
  bin?: string;
}

/** A loopback port nothing listens on: bound, then closed again. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const { port } = probe.address() as { port: number };
  await new Promise((r) => probe.close(r));
  return port;
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l !== '');
}

describe('the keep CLI against a real server', () => {
  let server: KeepProcess;
  let dataDir: string;
  let home: string;
  let work: string;
  /** Every log line of every server process this suite started. */
  const serverLogs: string[][] = [];

  let unsealKeys: string[] = [];
  let unsealKeysHex: string[] = [];
  let rootToken = '';
  let childToken = '';

  /** Runs `keep` with `cmd` as its arguments: an array, or a string split on spaces. */
  function keep(cmd: string | string[], opts: RunOptions = {}): Promise<Run> {
    const args = typeof cmd === 'string' ? cmd.split(' ') : cmd;
    // Built from nothing, so a KEEP_TOKEN or VAULT_* of the developer's shell cannot leak in.
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '',
      HOME: opts.home ?? home,
      KEEP_ADDR: server.addr,
    };
    if (opts.token !== undefined) env.KEEP_TOKEN = opts.token;
    for (const [name, value] of Object.entries(opts.env ?? {})) {
      if (value === undefined) delete env[name];
      else env[name] = value;
    }
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [opts.bin ?? KEEP_BIN, ...args], {
        cwd: work,
        env,
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => {
        stdout += c;
      });
      child.stderr.setEncoding('utf8').on('data', (c: string) => {
        stderr += c;
      });
      if (opts.closeStdout) child.stdout.destroy();
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
      child.stdin.end(opts.stdin ?? '');
    });
  }

  /** Runs a command that must succeed; the failure message carries its stderr. */
  async function ok(cmd: string | string[], opts: RunOptions = {}): Promise<Run> {
    const run = await keep(cmd, opts);
    const shown = typeof cmd === 'string' ? cmd : cmd.join(' ');
    assert.equal(run.code, 0, `keep ${shown} failed:\n${run.stderr}${run.stdout}`);
    return run;
  }

  async function okJson(cmd: string | string[], opts: RunOptions = {}) {
    const run = await ok(cmd, opts);
    return JSON.parse(run.stdout);
  }

  function assertExit(run: Run, code: number, what: string) {
    assert.equal(run.code, code, `${what}: exit ${run.code}\n${run.stderr}${run.stdout}`);
  }

  async function startServer(): Promise<void> {
    server = await startKeep({ storage: 'sqlite', dir: dataDir });
    serverLogs.push(server.output);
  }

  before(async () => {
    dataDir = tempDir('keep-e2e-cli-data-');
    home = tempDir('keep-e2e-cli-home-');
    work = tempDir('keep-e2e-cli-work-');
    await startServer();
  });

  after(async () => {
    await server?.stop();
    for (const dir of [dataDir, home, work]) if (dir) removeDir(dir);
  });

  describe('the quick start', () => {
    it('status exits 2 on an uninitialised server and says it is sealed', async () => {
      const run = await keep('status');
      assertExit(run, 2, 'status before init');
      assert.match(run.stdout, /^Initialized\s+false$/m);
      assert.match(run.stdout, /^Sealed\s+true$/m);
      assert.match(run.stdout, /^Storage Type\s+sqlite$/m);

      const initStatus = await keep('operator init -status');
      assertExit(initStatus, 2, 'operator init -status before init');
      assert.equal(initStatus.stdout.trim(), 'Keep is not initialized');
    });

    it('operator init -format=json gives five unseal keys and a root token', async () => {
      const init = await okJson('operator init -key-shares=5 -key-threshold=3 -format=json');
      assert.equal(init.unseal_shares, 5);
      assert.equal(init.unseal_threshold, 3);
      assert.equal(init.unseal_keys_b64.length, 5);
      assert.equal(init.unseal_keys_hex.length, 5);
      assert.equal(new Set(init.unseal_keys_b64).size, 5, 'the shares differ');
      for (const [i, b64] of (init.unseal_keys_b64 as string[]).entries()) {
        assert.equal(Buffer.from(b64, 'base64').toString('hex'), init.unseal_keys_hex[i]);
      }
      assert.match(init.root_token, /^hvs\.[A-Za-z0-9]{20,}$/);
      unsealKeys = init.unseal_keys_b64;
      unsealKeysHex = init.unseal_keys_hex;
      rootToken = init.root_token;

      const again = await keep('operator init -format=json');
      assertExit(again, 2, 'a second init');
      assert.match(again.stderr, /already initialized/i);

      const status = await keep('status');
      assertExit(status, 2, 'status after init, still sealed');
      assert.match(status.stdout, /^Initialized\s+true$/m);
      assert.match(status.stdout, /^Unseal Progress\s+0\/3$/m);
    });

    it('operator unseal takes three keys, showing progress, then status exits 0', async () => {
      const first = await ok(['operator', 'unseal', unsealKeys[0]]);
      assert.match(first.stdout, /^Sealed\s+true$/m);
      assert.match(first.stdout, /^Unseal Progress\s+1\/3$/m);

      const second = await ok(['operator', 'unseal', unsealKeys[1]]);
      assert.match(second.stdout, /^Unseal Progress\s+2\/3$/m);

      const third = await ok(['operator', 'unseal', unsealKeys[2]]);
      assert.match(third.stdout, /^Sealed\s+false$/m);
      assert.doesNotMatch(third.stdout, /Unseal Progress/);

      const status = await keep('status -format=json');
      assertExit(status, 0, 'status once unsealed');
      const body = JSON.parse(status.stdout);
      assert.equal(body.sealed, false);
      assert.equal(body.initialized, true);
      assert.equal(body.t, 3);
      assert.equal(body.n, 5);
    });

    it('refuses commands while no token is set or stored', async () => {
      const run = await keep('token lookup');
      assertExit(run, 2, 'token lookup without a token');
      assert.match(run.stderr, /Code: 403/);
      assert.match(run.stderr, /permission denied/);
    });

    it('login stores the token in ~/.keep-token, mode 0600, for later commands', async () => {
      const tokenFile = join(home, '.keep-token');
      // A stale, world-readable file from before: login must replace it and tighten it.
      writeFileSync(tokenFile, 'stale-token', { mode: 0o644 });
      assert.equal(statSync(tokenFile).mode & 0o777, 0o644);

      const refused = await keep('login not-a-real-token');
      assertExit(refused, 2, 'login with a token the server does not know');
      assert.match(refused.stderr, /permission denied/);
      assert.equal(readFileSync(tokenFile, 'utf8'), 'stale-token', 'a refused token is not stored');

      const login = await ok(['login', rootToken]);
      assert.match(login.stdout, /Success! You are now authenticated/);
      assert.match(login.stdout, /^token_policies\s+\["root"\]$/m);
      assert.equal(readFileSync(tokenFile, 'utf8').trim(), rootToken);
      assert.equal(statSync(tokenFile).mode & 0o777, 0o600);

      const lookup = await okJson('token lookup -format=json');
      assert.deepEqual(lookup.data.policies, ['root']);
      assert.equal(lookup.data.id, rootToken);
    });

    it('login - reads the token from stdin, through bin/keep.js as npx keep runs it', async () => {
      const otherHome = tempDir('keep-e2e-cli-home-stdin-');
      try {
        const bin = join(dirname(KEEP_BIN), '..', 'bin', 'keep.js');
        const login = await ok('login -', { home: otherHome, stdin: `${rootToken}\n`, bin });
        assert.match(login.stdout, /Success! You are now authenticated/);
        const tokenFile = join(otherHome, '.keep-token');
        assert.equal(readFileSync(tokenFile, 'utf8'), rootToken, 'stored without the newline');
        assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
        const lookup = await okJson('token lookup -format=json', { home: otherHome, bin });
        assert.equal(lookup.data.id, rootToken);
      } finally {
        removeDir(otherHome);
      }
    });
  });

  describe('kv v2', () => {
    it('secrets enable mounts KV v2 at secret/, and secrets list shows it', async () => {
      const enable = await ok('secrets enable -path=secret -version=2 kv');
      assert.equal(enable.stdout.trim(), 'Success! Enabled the kv secrets engine at: secret/');

      const table = await ok('secrets list');
      assert.match(table.stdout, /^secret\/\s+kv\s+\S+/m);
      assert.match(table.stdout, /^sys\/\s+system\s/m);

      const mounts = await okJson('secrets list -format=json');
      assert.equal(mounts['secret/'].type, 'kv');
      assert.equal(mounts['secret/'].options.version, '2');

      const twice = await keep('secrets enable -path=secret -version=2 kv');
      assertExit(twice, 2, 'enabling a taken path');
      assert.match(twice.stderr, /Code: 400/);
    });

    it('kv put writes version 1 and kv get prints it as a table', async () => {
      const put = await ok('kv put -mount=secret app/db user=svc password=hunter2');
      assert.match(put.stdout, /^secret\/data\/app\/db$/m);
      assert.match(put.stdout, /^version\s+1$/m);

      const get = await ok('kv get -mount=secret app/db');
      assert.match(get.stdout, /^=+ Secret Path =+$/m);
      assert.match(get.stdout, /^=+ Data =+$/m);
      assert.match(get.stdout, /^password\s+hunter2$/m);
      assert.match(get.stdout, /^user\s+svc$/m);
      assert.match(get.stdout, /^version\s+1$/m);
      assert.match(get.stdout, /^created_by\s+map\[accessor:\S+ display_name:root /m);
      assert.ok(!get.stdout.includes(rootToken), 'created_by names the accessor, not the token');
    });

    it('kv get -format=json and -field=password print what scripts read', async () => {
      const json = await okJson('kv get -mount=secret -format=json app/db');
      assert.deepEqual(json.data.data, { user: 'svc', password: 'hunter2' });
      assert.equal(json.data.metadata.version, 1);
      assert.equal(json.data.metadata.destroyed, false);

      const field = await ok('kv get -mount=secret -field=password app/db');
      assert.equal(field.stdout, 'hunter2', 'just the value, no newline on a pipe');
      assert.equal(field.stderr, '');

      const pathLike = await ok('kv get -field=user secret/app/db');
      assert.equal(pathLike.stdout, 'svc');

      const missingField = await keep('kv get -mount=secret -field=nope app/db');
      assertExit(missingField, 1, 'a field the secret lacks');
      assert.match(missingField.stderr, /Field "nope" not present in secret/);

      const missing = await keep('kv get -mount=secret app/nothing');
      assertExit(missing, 2, 'a secret that does not exist');
      assert.match(missing.stderr, /No value found at secret\/data\/app\/nothing/);
    });

    it('a second kv put makes version 2, and kv get -version=1 still reads the first', async () => {
      const put = await ok('kv put -mount=secret app/db user=svc password=rotated-2');
      assert.match(put.stdout, /^version\s+2$/m);

      const latest = await ok('kv get -mount=secret -field=password app/db');
      assert.equal(latest.stdout, 'rotated-2');
      const first = await ok('kv get -mount=secret -version=1 -field=password app/db');
      assert.equal(first.stdout, 'hunter2');
      const v1 = await okJson('kv get -mount=secret -version=1 -format=json app/db');
      assert.equal(v1.data.metadata.version, 1);
    });

    it('kv patch merges into the latest version as version 3', async () => {
      const patch = await ok('kv patch -mount=secret app/db port=5432');
      assert.match(patch.stdout, /^version\s+3$/m);

      const json = await okJson('kv get -mount=secret -format=json app/db');
      assert.deepEqual(json.data.data, { user: 'svc', password: 'rotated-2', port: '5432' });
      assert.equal(json.data.metadata.version, 3);
    });

    it('kv list shows the keys under a folder and the folders of the mount', async () => {
      await ok('kv put -mount=secret app/cache url=redis://cache');
      const table = await ok('kv list -mount=secret app');
      assert.deepEqual(lines(table.stdout), ['Keys', '----', 'cache', 'db']);

      const json = await okJson('kv list -mount=secret -format=json');
      assert.deepEqual(json, ['app/']);

      const missing = await keep('kv list -mount=secret nowhere');
      assertExit(missing, 2, 'listing an empty folder');
      assert.match(missing.stderr, /No value found at secret\/metadata\/nowhere/);
    });

    it('kv delete, undelete -versions=2 and destroy -versions=1 act on versions', async () => {
      const del = await ok('kv delete -mount=secret app/db');
      assert.equal(
        del.stdout.trim(),
        'Success! Data deleted (if it existed) at: secret/data/app/db',
      );
      const deleted = await okJson('kv get -mount=secret -format=json app/db');
      assert.equal(deleted.data.data, null, 'the latest version is deleted');
      assert.equal(deleted.data.metadata.version, 3);
      assert.notEqual(deleted.data.metadata.deletion_time, '');
      const noData = await keep('kv get -mount=secret -field=password app/db');
      assertExit(noData, 2, '-field on a deleted version');
      assert.match(noData.stderr, /No data found at secret\/data\/app\/db/);

      await ok('kv delete -mount=secret -versions=2 app/db');
      const v2gone = await okJson('kv get -mount=secret -version=2 -format=json app/db');
      assert.equal(v2gone.data.data, null, 'version 2 is deleted');

      const undelete = await ok('kv undelete -mount=secret -versions=2 app/db');
      assert.equal(undelete.stdout.trim(), 'Success! Data written to: secret/undelete/app/db');
      const v2 = await ok('kv get -mount=secret -version=2 -field=password app/db');
      assert.equal(v2.stdout, 'rotated-2');

      const destroy = await ok('kv destroy -mount=secret -versions=1 app/db');
      assert.equal(destroy.stdout.trim(), 'Success! Data written to: secret/destroy/app/db');
      const v1 = await okJson('kv get -mount=secret -version=1 -format=json app/db');
      assert.equal(v1.data.data, null);
      assert.equal(v1.data.metadata.destroyed, true);
      const undestroy = await ok('kv undelete -mount=secret -versions=1 app/db');
      assert.match(undestroy.stdout, /Success!/);
      const stillGone = await okJson('kv get -mount=secret -version=1 -format=json app/db');
      assert.equal(stillGone.data.data, null, 'a destroyed version cannot be undeleted');

      const noVersions = await keep('kv undelete -mount=secret app/db');
      assertExit(noVersions, 1, 'undelete without -versions');
      assert.match(noVersions.stderr, /No versions provided/);
    });

    it('kv metadata get shows every version and its state', async () => {
      const meta = await okJson('kv metadata get -mount=secret -format=json app/db');
      assert.equal(meta.data.current_version, 3);
      assert.deepEqual(Object.keys(meta.data.versions).sort(), ['1', '2', '3']);
      assert.equal(meta.data.versions['1'].destroyed, true);
      assert.equal(meta.data.versions['2'].destroyed, false);
      assert.equal(meta.data.versions['2'].deletion_time, '', 'version 2 was undeleted');
      assert.notEqual(meta.data.versions['3'].deletion_time, '', 'version 3 is still deleted');

      const table = await ok('kv metadata get -mount=secret app/db');
      assert.match(table.stdout, /^=+ Metadata Path =+$/m);
      assert.match(table.stdout, /^current_version\s+3$/m);
      for (const n of [1, 2, 3]) {
        assert.match(table.stdout, new RegExp(`^=+ Version ${n} =+$`, 'm'));
      }
      assert.ok(!table.stdout.includes('hunter2'), 'metadata carries no secret values');

      await ok('kv undelete -mount=secret -versions=3 app/db');
      const latest = await okJson('kv get -mount=secret -format=json app/db');
      assert.equal(latest.data.metadata.version, 3);
      assert.equal(latest.data.data.port, '5432', 'version 3 is back');
    });
  });

  describe('policies and tokens', () => {
    const policy = [
      'path "secret/data/app/*" {',
      '  capabilities = ["read"]',
      '}',
      '',
      'path "secret/metadata/app/*" {',
      '  capabilities = ["list"]',
      '}',
      '',
    ].join('\n');

    it('policy write uploads an HCL file, and policy read and list show it', async () => {
      const file = join(work, 'app-reader.hcl');
      writeFileSync(file, policy);
      const write = await ok(['policy', 'write', 'app-reader', file]);
      assert.equal(write.stdout.trim(), 'Success! Uploaded policy: app-reader');

      const read = await ok('policy read app-reader');
      assert.equal(read.stdout.trim(), policy.trim());
      const readJson = await okJson('policy read -format=json app-reader');
      assert.equal(readJson.policy, policy);

      const list = await ok('policy list');
      assert.deepEqual(lines(list.stdout), ['app-reader', 'default', 'root']);
      assert.deepEqual(await okJson('policy list -format=json'), ['app-reader', 'default', 'root']);

      const noFile = await keep(['policy', 'write', 'broken', join(work, 'no-such.hcl')]);
      assertExit(noFile, 1, 'a policy file that does not exist');
      assert.match(noFile.stderr, /Error opening policy file/);

      const unknown = await keep('policy read no-such-policy');
      assertExit(unknown, 2, 'reading a policy that does not exist');
      assert.match(unknown.stderr, /No policy named: no-such-policy/);
    });

    it('token create -policy -ttl -format=json gives a token with that policy and TTL', async () => {
      const created = await okJson('token create -policy=app-reader -ttl=10m -format=json');
      assert.deepEqual([...created.auth.policies].sort(), ['app-reader', 'default']);
      assert.equal(created.auth.lease_duration, 600);
      assert.equal(created.auth.renewable, true);
      assert.match(created.auth.client_token, /^hvs\./);
      assert.notEqual(created.auth.client_token, rootToken);
      childToken = created.auth.client_token;
    });

    it('the child token (KEEP_TOKEN, over the stored root token) reads only its subtree', async () => {
      await ok('kv put -mount=secret other/x flag=red');

      const inside = await ok('kv get -mount=secret -field=user app/db', {
        token: childToken,
      });
      assert.equal(inside.stdout, 'svc');
      const listed = await okJson('kv list -mount=secret -format=json app', {
        token: childToken,
      });
      assert.deepEqual(listed, ['cache', 'db']);

      const outside = await keep('kv get -mount=secret other/x', { token: childToken });
      assertExit(outside, 2, 'reading outside the policy');
      assert.match(outside.stderr, /Code: 403/);
      assert.match(outside.stderr, /permission denied/);
      assert.equal(outside.stdout, '');
      assert.ok(!outside.stderr.includes('red'), 'nothing of the secret leaks into the error');

      const write = await keep('kv put -mount=secret app/db user=evil', {
        token: childToken,
      });
      assertExit(write, 2, 'writing with a read-only policy');
      assert.match(write.stderr, /permission denied/);
      const unchanged = await ok('kv get -mount=secret -field=user app/db');
      assert.equal(unchanged.stdout, 'svc');
    });

    it('token lookup and token capabilities describe the child token', async () => {
      const self = await okJson('token lookup -format=json', { token: childToken });
      assert.deepEqual([...self.data.policies].sort(), ['app-reader', 'default']);
      assert.ok(self.data.ttl > 0 && self.data.ttl <= 600, `ttl ${self.data.ttl}`);
      assert.equal(self.data.creation_ttl, 600);
      assert.equal(self.data.path, 'auth/token/create');

      const byRoot = await okJson(['token', 'lookup', '-format=json', childToken]);
      assert.equal(byRoot.data.accessor, self.data.accessor);

      const table = await ok('token lookup', { token: childToken });
      assert.match(table.stdout, /^policies\s+\[app-reader default\]$/m);

      const own = await ok('token capabilities secret/data/app/db', { token: childToken });
      assert.equal(own.stdout.trim(), 'read');
      const denied = await ok('token capabilities secret/data/other/x', {
        token: childToken,
      });
      assert.equal(denied.stdout.trim(), 'deny');
      const asked = await ok(['token', 'capabilities', childToken, 'secret/metadata/app/db']);
      assert.equal(asked.stdout.trim(), 'list');
      const root = await ok('token capabilities secret/data/other/x');
      assert.equal(root.stdout.trim(), 'root');
    });

    it('token revoke ends the child token', async () => {
      const revoke = await ok(['token', 'revoke', childToken]);
      assert.equal(revoke.stdout.trim(), 'Success! Revoked token (if it existed)');

      const lookup = await keep('token lookup', { token: childToken });
      assertExit(lookup, 2, 'looking up a revoked token');
      assert.match(lookup.stderr, /permission denied/);
      const read = await keep('kv get -mount=secret app/db', { token: childToken });
      assertExit(read, 2, 'reading with a revoked token');

      const still = await okJson('token lookup -format=json');
      assert.equal(still.data.id, rootToken, 'the stored root token is untouched');
    });
  });

  describe('the generic read, write, list and delete', () => {
    it('work on a KV v1 mount', async () => {
      await ok('secrets enable -path=config -version=1 kv');
      const write = await ok('write config/feature flag=on limit=3');
      assert.equal(write.stdout.trim(), 'Success! Data written to: config/feature');

      const read = await okJson('read -format=json config/feature');
      assert.deepEqual(read.data, { flag: 'on', limit: '3' });
      const field = await ok('read -field=flag config/feature');
      assert.equal(field.stdout, 'on');
      const table = await ok('read config/feature');
      assert.match(table.stdout, /^flag\s+on$/m);
      assert.match(table.stdout, /^limit\s+3$/m);

      const kvGet = await ok('kv get -mount=config -field=limit feature');
      assert.equal(kvGet.stdout, '3', 'kv get finds a v1 mount too');

      const list = await ok('list config');
      assert.deepEqual(lines(list.stdout), ['Keys', '----', 'feature']);

      const del = await ok('delete config/feature');
      assert.equal(del.stdout.trim(), 'Success! Data deleted (if it existed) at: config/feature');
      const gone = await keep('read config/feature');
      assertExit(gone, 2, 'reading a deleted v1 key');
      assert.match(gone.stderr, /No value found at config\/feature/);

      const noData = await keep('write config/empty');
      assertExit(noData, 1, 'write without data');
      assert.match(noData.stderr, /Must supply data or use -force/);
    });

    it('work on sys/ paths', async () => {
      const rules = 'path "config/*" { capabilities = ["read"] }';
      await ok(['write', 'sys/policies/acl/config-reader', `policy=${rules}`]);

      const read = await ok('read -field=policy sys/policies/acl/config-reader');
      assert.equal(read.stdout, rules);
      const list = await okJson('list -format=json sys/policies/acl');
      assert.deepEqual(list, ['app-reader', 'config-reader', 'default', 'root']);

      const tune = await okJson('read -format=json sys/mounts/secret/tune');
      assert.equal(tune.data.options.version, '2');

      await ok('delete sys/policies/acl/config-reader');
      const gone = await keep('read sys/policies/acl/config-reader');
      assertExit(gone, 2, 'reading a deleted policy');
      assert.deepEqual(await okJson('policy list -format=json'), ['app-reader', 'default', 'root']);
    });
  });

  describe('configuration from the environment', () => {
    it('falls back to VAULT_ADDR and VAULT_TOKEN, and KEEP_ADDR wins over VAULT_ADDR', async () => {
      const emptyHome = tempDir('keep-e2e-cli-home-vault-');
      try {
        const vault = await ok('kv get -mount=secret -field=user app/db', {
          home: emptyHome,
          env: { KEEP_ADDR: undefined, VAULT_ADDR: server.addr, VAULT_TOKEN: rootToken },
        });
        assert.equal(vault.stdout, 'svc');

        const dead = `http://127.0.0.1:${await closedPort()}`;
        const keepFirst = await ok('kv get -mount=secret -field=user app/db', {
          token: rootToken,
          home: emptyHome,
          env: { VAULT_ADDR: dead },
        });
        assert.equal(keepFirst.stdout, 'svc');

        const flagFirst = await ok(
          ['kv', 'get', `-address=${server.addr}`, '-mount=secret', '-field=user', 'app/db'],
          { token: rootToken, home: emptyHome, env: { KEEP_ADDR: dead } },
        );
        assert.equal(flagFirst.stdout, 'svc');
      } finally {
        removeDir(emptyHome);
      }
    });
  });

  describe('sealing', () => {
    it('after operator seal, kv get exits 2 and says the server is sealed', async () => {
      const seal = await ok('operator seal');
      assert.equal(seal.stdout.trim(), 'Success! Keep is sealed.');

      const status = await keep('status');
      assertExit(status, 2, 'status once sealed');
      assert.match(status.stdout, /^Sealed\s+true$/m);

      const get = await keep('kv get -mount=secret app/db');
      assertExit(get, 2, 'kv get while sealed');
      assert.match(get.stderr, /Code: 503/);
      assert.match(get.stderr, /is sealed/);
      assert.equal(get.stdout, '');

      const read = await keep('read secret/data/app/db');
      assertExit(read, 2, 'read while sealed');
      assert.match(read.stderr, /is sealed/);
    });

    it('unseals again with other keys, one of them from stdin, and the data is there', async () => {
      await ok(['operator', 'unseal', unsealKeys[3]]);
      const stdin = await ok('operator unseal -', { stdin: `${unsealKeysHex[4]}\n` });
      assert.match(stdin.stdout, /^Unseal Progress\s+2\/3$/m, 'a hex key from stdin counts');
      const last = await ok(['operator', 'unseal', unsealKeys[0]]);
      assert.match(last.stdout, /^Sealed\s+false$/m);

      const get = await ok('kv get -mount=secret -field=password app/db');
      assert.equal(get.stdout, 'rotated-2');
    });

    it('a restarted server on the same SQLite data starts sealed and keeps everything', async () => {
      await server.stop();
      await startServer();

      const status = await keep('status');
      assertExit(status, 2, 'status after restart');
      assert.match(status.stdout, /^Initialized\s+true$/m);
      for (const key of unsealKeys.slice(1, 4)) await ok(['operator', 'unseal', key]);
      await ok('status');

      const v2 = await okJson('kv get -mount=secret -format=json app/db');
      assert.equal(v2.data.metadata.version, 3);
      const first = await ok('kv get -mount=secret -version=2 -field=user app/db');
      assert.equal(first.stdout, 'svc');
      assert.deepEqual(await okJson('policy list -format=json'), ['app-reader', 'default', 'root']);
    });
  });

  describe('bad input and unreachable servers', () => {
    it('an unknown flag exits 1 naming the flag, without asking the server', async () => {
      const run = await keep('kv get -bogus=1 -mount=secret app/db', {
        env: { KEEP_ADDR: `http://127.0.0.1:${await closedPort()}` },
      });
      assertExit(run, 1, 'an unknown flag');
      assert.equal(run.stderr.trim(), 'flag provided but not defined: -bogus');
      assert.equal(run.stdout, '');
    });

    it('usage errors exit 1 and say what is wrong', async () => {
      const trailing = await keep('kv get -mount=secret app/db -format=json');
      assertExit(trailing, 1, 'a flag after the path');
      assert.match(trailing.stderr, /Command flags must be provided before positional arguments/);
      assert.match(trailing.stderr, /Too many arguments \(expected 1, got 2\)/);

      const none = await keep('kv get -mount=secret');
      assertExit(none, 1, 'kv get without a key');
      assert.match(none.stderr, /Not enough arguments \(expected 1, got 0\)/);

      const format = await keep('kv get -format=yaml -mount=secret app/db');
      assertExit(format, 1, 'an unknown format');
      assert.match(format.stderr, /Invalid output format: yaml/);

      const badInt = await keep('kv get -version=two -mount=secret app/db');
      assertExit(badInt, 1, 'a non-numeric -version');
      assert.match(badInt.stderr, /invalid value "two" for flag -version/);

      const noData = await keep('kv put -mount=secret app/db');
      assertExit(noData, 1, 'kv put without data');
      assert.match(noData.stderr, /Must supply data/);

      const unknown = await keep('frobnicate');
      assertExit(unknown, 127, 'an unknown command');
      assert.match(unknown.stderr, /^Usage: keep <command> \[args\]/);

      const help = await keep('kv get -h');
      assertExit(help, 0, 'kv get -h');
      assert.match(help.stderr, /^Usage: keep kv get \[options\] KEY/);
    });

    it('ends quietly when the reader of its output goes away, as Vault on SIGPIPE', async () => {
      const run = await keep('kv metadata get -mount=secret app/db', {
        closeStdout: true,
      });
      assert.equal(run.stderr, '', 'no EPIPE stack trace');
      assertExit(run, 141, 'writing into a closed pipe');
    });

    it('without a reachable server, commands exit 2 and status exits 1, as Vault', async () => {
      const dead = `http://127.0.0.1:${await closedPort()}`;
      const env = { KEEP_ADDR: dead };

      const get = await keep('kv get -mount=secret app/db', { env });
      assertExit(get, 2, 'kv get against a closed port');
      assert.match(get.stderr, /connection refused/);
      assert.ok(get.stderr.includes(dead.replace('http://', '')), 'names the address');

      const lookup = await keep('token lookup', { env });
      assertExit(lookup, 2, 'token lookup against a closed port');
      assert.match(lookup.stderr, /connection refused/);

      const put = await keep('kv put -mount=secret app/db password=hunter2', { env });
      assertExit(put, 2, 'kv put against a closed port');

      // For status, 2 means "sealed"; an error is 1.
      const status = await keep('status', { env });
      assertExit(status, 1, 'status against a closed port');
      assert.match(status.stderr, /Error checking seal status: .*connection refused/);
    });
  });

  describe('the server log', () => {
    it('holds no secret value, token or unseal key', () => {
      const log = serverLogs.flat().join('\n');
      assert.equal(serverLogs.length, 2, 'both server runs were captured');
      assert.match(log, /"msg":"listening"/, 'the log was captured at all');
      assert.match(log, /"msg":"unsealed"/, 'the log covers the session');
      const secrets = [
        'hunter2',
        'rotated-2',
        'redis://cache',
        rootToken,
        childToken,
        ...unsealKeys,
        ...unsealKeysHex,
      ];
      for (const secret of secrets) {
        assert.ok(secret.length > 0);
        assert.ok(!log.includes(secret), `the server log contains ${secret.slice(0, 8)}…`);
      }
    });
  });
});
