/**
 * Audit devices on a real SQLite-backed server: file and socket devices,
 * HMAC'd values that sys/audit-hash can match, fail closed when no device
 * can record, 531 on sys/health while that lasts, rotation on SIGHUP, the
 * table surviving a restart, and python3-hvac's audit calls.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { existsSync, readFileSync, renameSync, statSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AuditLine } from '../src/audit/search.ts';
import {
  KEEP_BIN,
  type KeepProcess,
  pythonModuleAvailable,
  removeDir,
  requirePackage,
  SYSTEM_PYTHON,
  startKeep,
  tempDir,
} from './helpers/keep-server.ts';

const SECRET = 'audit-s3cr3t-value';

/** A TCP collector that keeps every line it receives; it can go down and come back. */
class Collector {
  lines: string[] = [];
  #server: net.Server | undefined;
  #sockets = new Set<net.Socket>();
  port = 0;

  async start(port = 0): Promise<void> {
    this.#server = net.createServer((socket) => {
      this.#sockets.add(socket);
      let buf = '';
      socket.on('data', (d) => {
        buf += d.toString();
        let nl = buf.indexOf('\n');
        while (nl !== -1) {
          this.lines.push(buf.slice(0, nl));
          buf = buf.slice(nl + 1);
          nl = buf.indexOf('\n');
        }
      });
      socket.on('close', () => this.#sockets.delete(socket));
      socket.on('error', () => {});
    });
    await new Promise<void>((r) => this.#server!.listen(port, '127.0.0.1', r));
    this.port = (this.#server.address() as net.AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise((r) => this.#server?.close(r));
  }
}

describe('audit devices', () => {
  const dir = tempDir();
  const auditLog = join(dir, 'audit.log');
  let server: KeepProcess;
  let keys: string[];
  let root: string;
  const collector = new Collector();

  async function call(method: string, path: string, body?: unknown, token: string = root) {
    const res = await fetch(`${server.addr}/v1/${path}`, {
      method,
      headers: { 'X-Vault-Token': token },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, text, json: text ? JSON.parse(text) : undefined };
  }

  async function unseal() {
    for (const key of keys.slice(0, 3)) {
      await fetch(`${server.addr}/v1/sys/unseal`, { method: 'PUT', body: JSON.stringify({ key }) });
    }
  }

  // biome-ignore lint/suspicious/noExplicitAny: audit lines are free-form JSON read back
  function fileEntries(path = auditLog): Array<Record<string, any>> {
    return readFileSync(path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
  }

  before(async () => {
    await collector.start();
    server = await startKeep({ storage: 'sqlite', dir });
    const init = await (
      await fetch(`${server.addr}/v1/sys/init`, {
        method: 'PUT',
        body: JSON.stringify({ secret_shares: 5, secret_threshold: 3 }),
      })
    ).json();
    keys = init.keys;
    root = init.root_token;
    await unseal();
    assert.equal(
      (await call('POST', 'sys/mounts/secret', { type: 'kv', options: { version: '2' } })).status,
      204,
    );
  });

  after(async () => {
    await server?.stop();
    await collector.stop();
    removeDir(dir);
  });

  it('enables file and socket devices and lists them', async () => {
    const file = await call('PUT', 'sys/audit/file', {
      type: 'file',
      description: 'local file',
      options: { file_path: auditLog },
    });
    assert.equal(file.status, 204, file.text);
    const sock = await call('PUT', 'sys/audit/siem', {
      type: 'socket',
      options: { address: `127.0.0.1:${collector.port}`, socket_type: 'tcp' },
    });
    assert.equal(sock.status, 204, sock.text);
    const list = await call('GET', 'sys/audit');
    assert.equal(list.status, 200);
    assert.deepEqual(Object.keys(list.json.data).sort(), ['file/', 'siem/']);
    assert.equal(list.json.data['file/'].options.file_path, auditLog);
    assert.equal(list.json['file/'].type, 'file', 'old clients read the top level');
    assert.equal(statSync(auditLog).mode & 0o777, 0o600);
  });

  it('refuses bad device settings with a 400 and enables nothing', async () => {
    for (const body of [
      { type: 'carrier-pigeon' },
      { type: 'file', options: {} },
      { type: 'file', options: { file_path: join(dir, 'no-such-dir', 'x.log') } },
      { type: 'file', options: { file_path: auditLog, mode: 'rw' } },
      { type: 'file', options: { file_path: auditLog, log_raw: 'perhaps' } },
      { type: 'socket', options: { address: 'nowhere' } },
      // Nothing listens there: a device that can never record is not enabled.
      { type: 'socket', options: { address: '127.0.0.1:1', socket_type: 'tcp' } },
      { type: 'file', options: { file_path: auditLog, colour: 'red' } },
    ]) {
      const res = await call('PUT', 'sys/audit/bad', body);
      assert.equal(res.status, 400, `${JSON.stringify(body)} → ${res.text}`);
      assert.ok(Array.isArray(res.json.errors));
    }
    assert.equal(
      (await call('PUT', 'sys/audit/file', { type: 'file', options: { file_path: auditLog } }))
        .status,
      400,
    );
    assert.deepEqual(Object.keys((await call('GET', 'sys/audit')).json.data).sort(), [
      'file/',
      'siem/',
    ]);
  });

  it('records requests and responses with every secret HMAC’d, on every device', async () => {
    const write = await call('POST', 'secret/data/app/db', { data: { password: SECRET } });
    assert.equal(write.status, 200);
    const read = await call('GET', 'secret/data/app/db');
    assert.equal(read.json.data.data.password, SECRET);

    const text = readFileSync(auditLog, 'utf8');
    assert.equal(text.includes(SECRET), false, 'the secret is in the audit file');
    assert.equal(text.includes(root), false, 'the root token is in the audit file');
    assert.equal(collector.lines.join('\n').includes(SECRET), false);

    const entries = fileEntries();
    const response = entries.find(
      (e) =>
        e.type === 'response' &&
        e.request.path === 'secret/data/app/db' &&
        e.request.operation === 'read',
    );
    assert.ok(response, 'the read is on record');
    assert.equal(response.request.mount_type, 'kv');
    assert.equal(response.response.status, 200);
    assert.equal(response.auth.display_name, 'root');
    const logged = response.response.data.data.password as string;
    assert.match(logged, /^hmac-sha256:[0-9a-f]{64}$/);

    // sys/audit-hash gives the same HMAC, so the value can be found in the log.
    const hash = await call('POST', 'sys/audit-hash/file', { input: SECRET });
    assert.equal(hash.status, 200);
    assert.equal(hash.json.data.hash, logged);
    // Each device has its own salt.
    const other = await call('POST', 'sys/audit-hash/siem', { input: SECRET });
    assert.notEqual(other.json.data.hash, logged);
    const tokenHash = await call('POST', 'sys/audit-hash/file', { input: root });
    assert.equal(response.auth.client_token, tokenHash.json.data.hash);

    const viaSocket = collector.lines.map((l) => JSON.parse(l));
    assert.ok(
      viaSocket.some((e) => e.type === 'request' && e.request.path === 'secret/data/app/db'),
      'the socket device got the request too',
    );
  });

  it('records refused requests', async () => {
    const denied = await call('GET', 'secret/data/app/db', undefined, 'not-a-token');
    assert.equal(denied.status, 403);
    const entry = fileEntries().find((e) => e.error === 'permission denied');
    assert.ok(entry, 'the refusal is on record');
    assert.equal(entry.request.path, 'secret/data/app/db');
  });

  it('logs raw values only when a device asks for log_raw', async () => {
    const rawLog = join(dir, 'raw.log');
    assert.equal(
      (
        await call('PUT', 'sys/audit/raw', {
          type: 'file',
          options: { file_path: rawLog, log_raw: 'true' },
        })
      ).status,
      204,
    );
    await call('GET', 'secret/data/app/db');
    assert.ok(readFileSync(rawLog, 'utf8').includes(SECRET));
    assert.equal(readFileSync(auditLog, 'utf8').includes(SECRET), false);
    assert.equal((await call('DELETE', 'sys/audit/raw')).status, 204);
  });

  it('sends entries to a UDP collector', async () => {
    const udp = dgram.createSocket('udp4');
    const got: string[] = [];
    udp.on('message', (m) => got.push(m.toString()));
    await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
    const port = udp.address().port;
    try {
      const res = await call('PUT', 'sys/audit/udp', {
        type: 'socket',
        options: { address: `127.0.0.1:${port}`, socket_type: 'udp' },
      });
      assert.equal(res.status, 204, res.text);
      await call('GET', 'secret/data/app/db');
      for (let i = 0; i < 50 && !got.some((g) => g.includes('secret/data/app/db')); i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(got.some((g) => JSON.parse(g).request.path === 'secret/data/app/db'));
      assert.equal(got.join('').includes(SECRET), false);
      assert.equal((await call('DELETE', 'sys/audit/udp')).status, 204);
    } finally {
      udp.close();
    }
  });

  it('goes on while one device of several can record', async () => {
    assert.equal(
      (await call('PUT', 'sys/audit/full', { type: 'file', options: { file_path: '/dev/full' } }))
        .status,
      204,
    );
    const read = await call('GET', 'secret/data/app/db');
    assert.equal(read.status, 200);
    const health = await fetch(`${server.addr}/v1/sys/health`);
    assert.equal(health.status, 200);
  });

  it('fails closed when no device can record, and says so on sys/health', async () => {
    // Left: /dev/full (always ENOSPC) and the socket device, whose collector goes down.
    assert.equal((await call('DELETE', 'sys/audit/file')).status, 204);
    await collector.stop();

    const read = await call('GET', 'secret/data/app/db');
    assert.equal(read.status, 500);
    assert.ok(Array.isArray(read.json.errors));
    assert.equal(read.text.includes(SECRET), false, 'the secret left the server unaudited');

    const write = await call('POST', 'secret/data/app/unaudited', { data: { a: 'b' } });
    assert.equal(write.status, 500);

    const health = await fetch(`${server.addr}/v1/sys/health`);
    assert.equal(health.status, 531);
    const body = await health.json();
    assert.equal(body.degraded, true);
    assert.equal(body.faults[0].component, 'audit');
    const overridden = await fetch(`${server.addr}/v1/sys/health?degradedcode=299`);
    assert.equal(overridden.status, 299);
    await overridden.body?.cancel();
  });

  it('heals once a device can record again, and nothing unaudited was written', async () => {
    await collector.start(collector.port);
    let status = 0;
    for (let i = 0; i < 40 && status !== 200; i++) {
      status = (await fetch(`${server.addr}/v1/sys/health`)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 200, 'sys/health probed the devices and found one working');
    assert.equal((await call('GET', 'secret/data/app/unaudited')).status, 404);
    assert.equal((await call('GET', 'secret/data/app/db')).status, 200);
    assert.equal((await call('DELETE', 'sys/audit/full')).status, 204);
  });

  it('reopens its file on SIGHUP, for log rotation', async () => {
    assert.equal(
      (await call('PUT', 'sys/audit/file', { type: 'file', options: { file_path: auditLog } }))
        .status,
      204,
    );
    await call('GET', 'secret/data/app/db');
    renameSync(auditLog, `${auditLog}.1`);
    process.kill(server.proc.pid!, 'SIGHUP');
    let reopened = false;
    for (let i = 0; i < 50 && !reopened; i++) {
      await new Promise((r) => setTimeout(r, 20));
      reopened = server.output.some((l) => l.includes('reopening audit files'));
    }
    assert.ok(reopened, 'the server logged the SIGHUP');
    await call('GET', 'secret/data/app/db');
    assert.ok(existsSync(auditLog), 'a new audit file was opened');
    assert.ok(fileEntries().some((e) => e.request?.path === 'secret/data/app/db'));
  });

  it('finds who read a secret with keep audit search, matching the value by its HMAC', () => {
    const env = { ...process.env, KEEP_ADDR: server.addr, KEEP_TOKEN: root, HOME: dir };
    const keep = (...args: string[]) =>
      spawnSync(process.execPath, [KEEP_BIN, 'audit', 'search', ...args], {
        encoding: 'utf8',
        env,
      });
    const found = keep(
      '-device=file/',
      '-since=1h',
      '-operation=read',
      '-type=response',
      '-path=secret/data/+/db',
      `-value=${SECRET}`,
      '-format=json',
    );
    assert.equal(found.status, 0, found.stderr);
    const entries = JSON.parse(found.stdout) as AuditLine[];
    assert.ok(entries.length >= 1);
    for (const e of entries) {
      assert.equal(e.request.path, 'secret/data/app/db');
      assert.equal(e.auth.display_name, 'root');
    }
    const none = keep('-device=file/', '-value=a-value-never-written', '-format=json');
    assert.equal(none.status, 0, none.stderr);
    assert.deepEqual(JSON.parse(none.stdout), []);
    const table = keep('-device=file/', '-operation=read', '-path=secret/data/app/db');
    assert.match(table.stdout, /secret\/data\/app\/db/);
    assert.equal(table.stdout.includes(SECRET), false);
    const bad = keep('-type=sideways', '-device=file/');
    assert.equal(bad.status, 1);
  });

  it('keeps its devices across a restart', async () => {
    await server.stop();
    server = await startKeep({ storage: 'sqlite', dir });
    await unseal();
    const list = await call('GET', 'sys/audit');
    assert.deepEqual(Object.keys(list.json.data).sort(), ['file/', 'siem/']);
    const before_ = fileEntries().length;
    await call('GET', 'secret/data/app/db');
    assert.ok(fileEntries().length > before_);
    const logs = server.output.join('\n');
    assert.equal(logs.includes(SECRET), false);
  });

  it('speaks hvac’s audit calls', {
    skip: requirePackage(pythonModuleAvailable('hvac'), 'python3-hvac'),
  }, () => {
    const script = `
import hvac, sys, json
c = hvac.Client(url=sys.argv[1], token=sys.argv[2])
c.sys.enable_audit_device('file', path='hv', options={'file_path': sys.argv[3]})
devices = c.sys.list_enabled_audit_devices()
assert 'hv/' in devices['data'], devices
h = c.sys.calculate_hash('hv', 'x')
assert h['data']['hash'].startswith('hmac-sha256:'), h
c.sys.disable_audit_device('hv')
assert 'hv/' not in c.sys.list_enabled_audit_devices()['data']
print('ok')
`;
    const run = spawnSync(SYSTEM_PYTHON, ['-c', script, server.addr, root, join(dir, 'hv.log')], {
      encoding: 'utf8',
    });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), 'ok');
  });
});
