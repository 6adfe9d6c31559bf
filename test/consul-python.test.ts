/**
 * Debian's python3-consul drives the Consul face of a SQLite-backed server
 * with Keep tokens: put/get with flags, recurse, keys with a separator,
 * check-and-set, a blocking query woken by another client, a lock that a
 * second session cannot take, and a read-only token refused a write.
 * Then the history shows who made each change.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { consul, initKeep, tokenWithPolicy } from './helpers/consul-kit.ts';
import {
  type KeepProcess,
  pythonModuleAvailable,
  removeDir,
  requirePackage,
  SYSTEM_PYTHON,
  startKeep,
  tempDir,
} from './helpers/keep-server.ts';

const skip = requirePackage(pythonModuleAvailable('consul'), 'python3-consul');
const SCRIPT = join(import.meta.dirname, 'clients', 'consul_flow.py');

describe('python3-consul against the Consul face', { skip }, () => {
  const dir = tempDir();
  let server: KeepProcess;
  let writer: { token: string; accessor: string };
  let reader: { token: string; accessor: string };

  before(async () => {
    server = await startKeep({ storage: 'sqlite', dir, consul: true, logLevel: 'debug' });
    const { root } = await initKeep(server);
    writer = await tokenWithPolicy(
      server,
      root,
      'config-writer',
      'path "config/*" { capabilities = ["create", "read", "update", "delete", "list"] }',
    );
    reader = await tokenWithPolicy(
      server,
      root,
      'config-reader',
      'path "config/app/*" { capabilities = ["read", "list"] }',
    );
  });

  after(async () => {
    await server?.stop();
    removeDir(dir);
  });

  it('runs the whole flow a Consul user would', async () => {
    const url = new URL(server.consulAddr!);
    const run = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const child = spawn(SYSTEM_PYTHON, [
        SCRIPT,
        url.hostname,
        url.port,
        writer.token,
        reader.token,
      ]);
      let out = '';
      let err = '';
      child.stdout.on('data', (c) => {
        out += c;
      });
      child.stderr.on('data', (c) => {
        err += c;
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve({ code, out, err });
      });
    });
    assert.equal(run.code, 0, `consul flow failed:\n${run.out}\n${run.err}`);
    assert.deepEqual(run.out.trim().split('\n'), [
      'ok put and get with flags',
      'ok missing key answers 404 with an index',
      'ok recurse and keys with separator',
      'ok cas create-only and update',
      'ok blocking query woken by another client',
      'ok blocking query answers after its wait',
      'ok a lock one session holds and another cannot take',
      'ok destroying a session releases its lock',
      'ok a read-only token cannot write',
      'ok delete and delete recurse',
      'ok status leader known',
    ]);
  });

  it('kept the history of every change with its author, never the token', async () => {
    const res = await consul(server, 'GET', '/v1/keep/history/app/db/host', {
      token: writer.token,
    });
    assert.equal(res.status, 200, res.text);
    const entries = JSON.parse(res.text) as {
      action: string;
      before: { value: string } | null;
      after: { value: string } | null;
      author: { display_name: string; accessor: string; remote_addr: string };
    }[];
    assert.deepEqual(
      entries.map((e) => e.action),
      ['delete', 'update', 'create'],
    );
    const decode = (v: { value: string } | null) => v && Buffer.from(v.value, 'base64').toString();
    assert.equal(decode(entries[1]!.before), 'db1.internal');
    assert.equal(decode(entries[1]!.after), 'db2.internal');
    for (const entry of entries) {
      assert.equal(entry.author.accessor, writer.accessor);
      assert.equal(entry.author.display_name, 'token-config-writer');
      assert.equal(entry.author.remote_addr, '127.0.0.1');
    }
    // The reader's token may read history under app/ only.
    const mine = await consul(server, 'GET', '/v1/keep/history?prefix=service/', {
      token: reader.token,
    });
    assert.deepEqual(JSON.parse(mine.text), []);
  });

  // Key names are storage paths, readable there as every Keep path is; values are not.
  it('stored values, history and sessions only as barrier ciphertext', () => {
    const dataDir = join(dir, 'data');
    const files = readdirSync(dataDir).map((f) => readFileSync(join(dataDir, f)));
    assert.ok(files.length > 0);
    for (const plain of ['db1.internal', 'db2.internal', 'worker-1']) {
      for (const form of [plain, Buffer.from(plain).toString('base64')]) {
        assert.ok(!files.some((f) => f.includes(form)), `${form} is readable in the SQLite files`);
      }
    }
  });

  it('logged requests with the ?token= value hidden', () => {
    const log = server.output.join('\n');
    assert.match(log, /"msg":"consul request"/);
    assert.ok(!log.includes(writer.token), 'the writer token reached the log');
    assert.ok(!log.includes(reader.token), 'the reader token reached the log');
    assert.match(log, /token=<hidden>/);
  });
});
