/**
 * Requests on the Consul face go through Keep's audit devices like those
 * on the Vault listener: one request and one response entry each, strings
 * HMAC'd (the token that came as ?token= included), refused requests on
 * record too, and nothing served or written when no device can record.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { consul, initKeep, tokenWithPolicy, vault } from './helpers/consul-kit.ts';
import { type KeepProcess, removeDir, startKeep, tempDir } from './helpers/keep-server.ts';

/** A TCP audit collector that can be stopped and started again on the same port. */
class Collector {
  port = 0;
  lines: string[] = [];
  #server: net.Server | undefined;
  readonly #sockets = new Set<net.Socket>();

  async start(port = 0): Promise<void> {
    this.#server = net.createServer((socket) => {
      this.#sockets.add(socket);
      socket.on('data', (d) => this.lines.push(...d.toString().split('\n').filter(Boolean)));
      socket.on('close', () => this.#sockets.delete(socket));
      socket.on('error', () => {});
    });
    await new Promise<void>((r) => this.#server!.listen(port, '127.0.0.1', r));
    this.port = (this.#server.address() as net.AddressInfo).port;
  }

  async stop(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise((r) => this.#server?.close(r));
  }
}

describe('the Consul face and the audit log', () => {
  const dir = tempDir();
  const auditLog = join(dir, 'audit.log');
  const collector = new Collector();
  let server: KeepProcess;
  let root: string;
  let writer: { token: string; accessor: string };

  const entries = () =>
    readFileSync(auditLog, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map(
        (l) =>
          JSON.parse(l) as {
            type: string;
            request: {
              path: string;
              operation: string;
              client_token?: string;
              mount_type?: string;
            };
            response?: { status: number };
            error?: string;
          },
      );

  before(async () => {
    server = await startKeep({ storage: 'sqlite', dir, consul: true });
    ({ root } = await initKeep(server));
    writer = await tokenWithPolicy(
      server,
      root,
      'app-writer',
      'path "config/app/*" { capabilities = ["create", "read", "update"] }',
    );
    await vault(server, root, 'PUT', 'sys/audit/file', {
      type: 'file',
      options: { file_path: auditLog },
    });
    await collector.start();
  });

  after(async () => {
    await server?.stop();
    await collector.stop();
    removeDir(dir);
  });

  it('records each request and response with the token and value HMACd', async () => {
    const put = await consul(server, 'PUT', `/v1/kv/app/color?token=${writer.token}`, {
      body: 'ultraviolet',
    });
    assert.equal(put.text, 'true');
    const refused = await consul(server, 'GET', '/v1/kv/ops/keys', { token: writer.token });
    assert.equal(refused.status, 403);

    const mine = entries().filter((e) => e.request.path.startsWith('config/'));
    assert.deepEqual(
      mine.map((e) => [e.type, e.request.path, e.request.operation, e.response?.status]),
      [
        ['request', 'config/app/color', 'update', undefined],
        ['response', 'config/app/color', 'update', 200],
        ['request', 'config/ops/keys', 'read', undefined],
        ['response', 'config/ops/keys', 'read', 403],
      ],
    );
    assert.ok(mine.every((e) => e.request.mount_type === 'consul'));
    assert.match(mine[0]!.request.client_token ?? '', /^hmac-sha256:/);
    assert.match(mine[3]!.error ?? '', /lacks permission 'key:read' on "ops\/keys"/);
    const raw = readFileSync(auditLog, 'utf8');
    assert.ok(!raw.includes(writer.token), 'the token is in the audit log');
    assert.ok(!raw.includes('ultraviolet'), 'the value is in the audit log');
    assert.ok(!raw.includes(Buffer.from('ultraviolet').toString('base64')));
  });

  it('serves and writes nothing while no device can record', async () => {
    await vault(server, root, 'PUT', 'sys/audit/net', {
      type: 'socket',
      options: { address: `127.0.0.1:${collector.port}`, socket_type: 'tcp' },
    });
    await vault(server, root, 'DELETE', 'sys/audit/file');
    await collector.stop();

    const write = await consul(server, 'PUT', '/v1/kv/app/unaudited', {
      token: writer.token,
      body: 'x',
    });
    assert.equal(write.status, 500);
    const read = await consul(server, 'GET', '/v1/kv/app/color?raw', { token: writer.token });
    assert.equal(read.status, 500);
    assert.ok(!read.text.includes('ultraviolet'), 'the value left the server unaudited');

    await collector.start(collector.port);
    let status = 0;
    for (let i = 0; i < 50 && status !== 200; i++) {
      status = (await fetch(`${server.addr}/v1/sys/health`)).status;
      if (status !== 200) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(status, 200, 'the socket device records again');
    assert.equal(
      (await consul(server, 'GET', '/v1/kv/app/unaudited', { token: root })).status,
      404,
    );
  });
});
