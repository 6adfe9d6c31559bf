/**
 * Scheduled backups and the operator commands around snapshots: a server
 * with a `backup` stanza writes snapshots on its schedule and keeps exactly
 * `retain` of them; `keep operator backup` takes one now; and a restore
 * drill from the newest backup brings everything back on a fresh server.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { consul, initKeep, vault } from './helpers/consul-kit.ts';
import {
  KEEP_BIN,
  type KeepProcess,
  removeDir,
  startKeep,
  tempDir,
} from './helpers/keep-server.ts';

describe('scheduled backups and snapshot commands', () => {
  const dirs = [tempDir(), tempDir()];
  const backups = join(dirs[0]!, 'backups');
  let source: KeepProcess;
  let fresh: KeepProcess;
  let keys: { root: string; key: string };

  const snapshots = () =>
    readdirSync(backups)
      .filter((n) => n.endsWith('.snap.gz'))
      .sort();

  function keep(server: KeepProcess, token: string, args: string[]) {
    const env = {
      PATH: process.env.PATH ?? '',
      HOME: dirs[1]!,
      KEEP_ADDR: server.addr,
      KEEP_CONFIG_ADDR: server.consulAddr!,
      KEEP_TOKEN: token,
    };
    return new Promise<{ code: number | null; out: string; err: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [KEEP_BIN, ...args], { cwd: dirs[1], env });
      let out = '';
      let err = '';
      child.stdout.on('data', (c) => {
        out += c;
      });
      child.stderr.on('data', (c) => {
        err += c;
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.on('error', reject);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, out, err });
      });
    });
  }

  before(async () => {
    source = await startKeep({
      storage: 'sqlite',
      dir: dirs[0],
      consul: true,
      extraConfig: `backup {\n  path = "${backups}"\n  interval = "1s"\n  retain = 2\n}`,
    });
    keys = await initKeep(source);
    assert.equal(
      (await consul(source, 'PUT', '/v1/kv/app/release', { token: keys.root, body: 'v42' })).text,
      'true',
    );
    fresh = await startKeep({ storage: 'sqlite', dir: dirs[1], consul: true });
  });

  after(async () => {
    await source?.stop();
    await fresh?.stop();
    for (const dir of dirs) removeDir(dir);
  });

  it('backs up on its schedule and keeps exactly the last N', async () => {
    const written = () => source.output.filter((l) => l.includes('"msg":"backup written"')).length;
    const start = written();
    const deadline = Date.now() + 15_000;
    while (written() < start + 3 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(written() >= start + 3, `only ${written() - start} backups in 15 s`);
    assert.equal(snapshots().length, 2);
    for (const name of snapshots()) assert.match(name, /^keep-.+-\d{8}T\d{9}Z\.snap\.gz$/);
  });

  it('takes one now with keep operator backup', async () => {
    const res = await keep(source, keys.root, ['operator', 'backup']);
    assert.equal(res.code, 0, res.err);
    const file = /Backup written to: (.+)/.exec(res.out)?.[1];
    assert.ok(file && readFileSync(file).length > 0);
    assert.ok(snapshots().length <= 2);
  });

  it('saves with keep operator snapshot save', async () => {
    const file = join(dirs[1]!, 'manual.snap.gz');
    const res = await keep(source, keys.root, ['operator', 'snapshot', 'save', file]);
    assert.equal(res.code, 0, res.err);
    assert.equal(gunzipSync(readFileSync(file)).subarray(0, 9).toString(), 'KEEPSNAP\n');
  });

  it('restores the newest backup into a fresh server (restore drill)', async () => {
    const freshRoot = (await initKeep(fresh)).root;
    const newest = join(backups, snapshots().at(-1)!);
    const res = await keep(fresh, freshRoot, ['operator', 'snapshot', 'restore', newest]);
    assert.equal(res.code, 0, res.err);
    assert.match(res.out, /the server is sealed/);
    await vault(fresh, '', 'PUT', 'sys/unseal', { key: keys.key });
    const got = await consul(fresh, 'GET', '/v1/kv/app/release?raw', { token: keys.root });
    assert.equal(got.text, 'v42');

    const truncated = join(dirs[1]!, 'truncated.snap.gz');
    const bytes = readFileSync(newest);
    writeFileSync(truncated, bytes.subarray(0, bytes.length / 2));
    const refused = await keep(fresh, keys.root, ['operator', 'snapshot', 'restore', truncated]);
    assert.equal(refused.code, 2);
    assert.match(refused.err, /Code: 400/);
    assert.equal(
      (await consul(fresh, 'GET', '/v1/kv/app/release?raw', { token: keys.root })).text,
      'v42',
    );
  });
});
