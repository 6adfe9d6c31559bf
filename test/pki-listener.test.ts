/**
 * Keep's own listener on a certificate from its own PKI mount: it starts on a
 * self-signed bootstrap certificate it announces, issues its certificate once
 * unsealed, and renews it while clients keep connecting — every new
 * handshake verifies against the Keep root, none fails, and the serial changes.
 */
import assert from 'node:assert/strict';
import * as https from 'node:https';
import { after, before, describe, it } from 'node:test';
import type { TLSSocket } from 'node:tls';
import { type KeepProcess, removeDir, startKeep, tempDir } from './helpers/keep-server.ts';

interface Answer {
  status: number;
  body: Record<string, unknown>;
  serial: string;
  fingerprint: string;
}

/** One request on a fresh connection (so a fresh handshake), verified against `ca` unless insecure. */
function request(
  url: string,
  opts: { method?: string; body?: unknown; token?: string; ca?: string; insecure?: boolean },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: opts.method ?? 'GET',
        agent: false,
        ca: opts.ca,
        rejectUnauthorized: !opts.insecure,
        servername: 'localhost',
        headers: opts.token ? { 'X-Vault-Token': opts.token } : {},
        timeout: 5000,
      },
      (res) => {
        const peer = (res.socket as TLSSocket).getPeerCertificate();
        let text = '';
        res.on('data', (d) => {
          text += d;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: text ? JSON.parse(text) : {},
            serial: peer.serialNumber,
            fingerprint: peer.fingerprint256,
          }),
        );
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end(opts.body === undefined ? undefined : JSON.stringify(opts.body));
  });
}

describe('a listener certificate issued and renewed from Keep PKI', () => {
  const dir = tempDir('keep-pki-listener-');
  let server: KeepProcess;
  let token = '';
  let rootPem = '';

  before(async () => {
    server = await startKeep({
      storage: 'inmem',
      dir,
      tls: true,
      listenerExtra:
        'tls_pki_mount = "pki"\n  tls_pki_role = "listener"\n  tls_pki_common_name = "localhost"',
    });
  });

  after(async () => {
    await server?.stop();
    removeDir(dir);
  });

  it('serves the self-signed bootstrap certificate it announced while sealed', async () => {
    const logged = server.output.find((l) => l.includes('bootstrap certificate'));
    assert.ok(logged, 'no bootstrap announcement in the log');
    const fingerprint = JSON.parse(logged).fingerprint;
    const status = await request(`${server.addr}/v1/sys/seal-status`, { insecure: true });
    assert.equal(status.status, 200);
    assert.equal(status.fingerprint, fingerprint);
    // A client that verifies refuses it.
    await assert.rejects(request(`${server.addr}/v1/sys/seal-status`, {}), /self.signed/);
  });

  it('issues its certificate from the pki mount once unsealed', async () => {
    const init = await request(`${server.addr}/v1/sys/init`, {
      method: 'PUT',
      body: { secret_shares: 1, secret_threshold: 1 },
      insecure: true,
    });
    token = String(init.body.root_token);
    await request(`${server.addr}/v1/sys/unseal`, {
      method: 'PUT',
      body: { key: (init.body.keys as string[])[0] },
      insecure: true,
    });
    const write = (path: string, body: unknown) =>
      request(`${server.addr}/v1/${path}`, { method: 'POST', body, token, insecure: true });
    assert.equal(
      (await write('sys/mounts/pki', { type: 'pki', config: { max_lease_ttl: '87600h' } })).status,
      204,
    );
    const root = await write('pki/root/generate/internal', {
      common_name: 'Listener Root',
      key_type: 'ec',
      ttl: '8760h',
    });
    rootPem = String((root.body.data as Record<string, unknown>).certificate);
    const role = await write('pki/roles/listener', {
      allowed_domains: 'localhost',
      allow_bare_domains: true,
      key_type: 'ec',
      ttl: '12s',
      max_ttl: '12s',
    });
    assert.equal(role.status, 200);

    const deadline = Date.now() + 10_000;
    let answer: Answer | undefined;
    while (Date.now() < deadline) {
      answer = await request(`${server.addr}/v1/sys/health`, { ca: rootPem }).catch(
        () => undefined,
      );
      if (answer) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(answer, 'the listener never served a certificate from the Keep root');
    assert.equal(answer.status, 200);
    assert.ok(server.output.some((l) => l.includes('listener certificate issued from pki')));
  });

  it('renews before expiry while a client keeps connecting: new handshakes see the new serial, none fails', async () => {
    const first = await request(`${server.addr}/v1/sys/health`, { ca: rootPem });
    const serials = new Set([first.serial]);
    let requests = 0;
    const deadline = Date.now() + 20_000;
    while (serials.size < 3 && Date.now() < deadline) {
      const answer = await request(`${server.addr}/v1/sys/health`, { ca: rootPem });
      assert.equal(answer.status, 200);
      serials.add(answer.serial);
      requests++;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(
      serials.size >= 3,
      `saw serials ${[...serials].join(', ')} over ${requests} requests`,
    );
    assert.equal(server.output.join('\n').includes('PRIVATE KEY'), false);
  });
});
