/**
 * A real Vault client (Debian's python3-hvac) against the real server on a
 * SQLite file: init 5/3, unseal, the KV v2 life cycle, policies, token
 * expiry, seal; then a restart on the same file keeps everything.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  type KeepProcess,
  pythonModuleAvailable,
  removeDir,
  requirePackage,
  SYSTEM_PYTHON,
  startKeep,
  tempDir,
} from './helpers/keep-server.ts';

const skip = requirePackage(pythonModuleAvailable('hvac'), 'python3-hvac');
const SCRIPT = join(import.meta.dirname, 'clients', 'hvac_flow.py');

describe('python3-hvac against a SQLite-backed server', { skip }, () => {
  const dir = tempDir();
  let server: KeepProcess;
  let state: { keys: string[]; root_token: string };
  const logs: string[][] = [];

  before(async () => {
    server = await startKeep({ storage: 'sqlite', dir });
  });

  after(async () => {
    await server?.stop();
    removeDir(dir);
  });

  it('runs the whole flow a Vault user would', () => {
    const stateFile = join(dir, 'state.json');
    const run = spawnSync(SYSTEM_PYTHON, [SCRIPT, server.addr, stateFile], { encoding: 'utf8' });
    assert.equal(run.status, 0, `hvac flow failed:\n${run.stdout}\n${run.stderr}`);
    const steps = run.stdout.trim().split('\n');
    assert.deepEqual(steps, [
      'ok init 5/3',
      'ok unseal with shares 1, 3, 5',
      'ok kv v2 mounted',
      'ok kv v2 write, cas, versions',
      'ok kv v2 delete, undelete, destroy',
      'ok kv v2 list with the LIST verb',
      'ok policy allows one subtree and denies another',
      'ok token with a ttl expires',
      'ok unknown token refused',
      'ok sealed, and reads answer 503',
    ]);
    state = JSON.parse(readFileSync(stateFile, 'utf8'));
  });

  it('stores no secret, token or key in plaintext in the SQLite files', () => {
    const dataDir = join(dir, 'data');
    const bytes = Buffer.concat(readdirSync(dataDir).map((f) => readFileSync(join(dataDir, f))));
    for (const needle of ['s3cr3t-one', 's3cr3t-two', 'abc"', state.root_token]) {
      assert.equal(bytes.includes(Buffer.from(needle)), false, `found ${needle} in the database`);
    }
    for (const key of state.keys) {
      assert.equal(bytes.includes(Buffer.from(key, 'hex')), false, 'found an unseal share');
    }
  });

  it('comes back sealed after a restart, and unseals to the same data', async () => {
    await server.stop();
    logs.push(server.output);
    server = await startKeep({ storage: 'sqlite', dir });
    logs.push(server.output);
    const status = await (await fetch(`${server.addr}/v1/sys/seal-status`)).json();
    assert.equal(status.initialized, true);
    assert.equal(status.sealed, true);
    for (const key of state.keys.slice(1, 4)) {
      await fetch(`${server.addr}/v1/sys/unseal`, { method: 'PUT', body: JSON.stringify({ key }) });
    }
    const res = await fetch(`${server.addr}/v1/secret/data/app/db`, {
      headers: { 'X-Vault-Token': state.root_token },
    });
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.data.data.password, 's3cr3t-two');
    assert.equal(body.data.metadata.version, 2);
  });

  it('never wrote a secret or token to its log', () => {
    const log = logs.flat().join('\n');
    assert.ok(log.includes('"msg":"unsealed"'), "the log is the server's");
    for (const needle of ['s3cr3t', state.root_token, ...state.keys]) {
      assert.equal(log.includes(needle), false, 'log holds a secret');
    }
  });
});
