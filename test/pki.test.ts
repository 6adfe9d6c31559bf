/**
 * The PKI engine end to end: the real server (`keep server -dev`), driven
 * over HTTP and by python3-hvac, with every certificate checked by openssl
 * (`verify`, `x509 -text`, `crl -text`) and by real TLS handshakes (node's
 * tls module and `openssl s_client`) with client-certificate verification.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as tls from 'node:tls';
import {
  KEEP_BIN,
  type KeepProcess,
  pythonModuleAvailable,
  removeDir,
  requirePackage,
  SYSTEM_PYTHON,
  startDevKeep,
  tempDir,
} from './helpers/keep-server.ts';

const opensslMissing = spawnSync('openssl', ['version']).status !== 0;
const skip = opensslMissing ? requirePackage(false, 'openssl') : false;
const hvacSkip = requirePackage(pythonModuleAvailable('hvac'), 'python3-hvac');
const TOKEN = 'pki-root';

interface Api {
  status: number;
  body: { data?: Record<string, unknown>; errors?: string[]; warnings?: string[] | null };
}

describe('PKI engine on the real server', { skip }, () => {
  let server: KeepProcess;
  const dir = tempDir('keep-pki-');

  async function api(
    method: string,
    path: string,
    body?: unknown,
    token: string | null = TOKEN,
  ): Promise<Api> {
    const headers: Record<string, string> = {};
    if (token) headers['X-Vault-Token'] = token;
    const res = await fetch(`${server.addr}/v1/${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : {} };
  }

  async function ok(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<Record<string, unknown>> {
    const r = await api(method, path, body);
    assert.ok(
      r.status === 200 || r.status === 204,
      `${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`,
    );
    return r.body.data ?? {};
  }

  async function raw(path: string): Promise<{ status: number; type: string; body: Buffer }> {
    const res = await fetch(`${server.addr}/v1/${path}`);
    return {
      status: res.status,
      type: res.headers.get('content-type') ?? '',
      body: Buffer.from(await res.arrayBuffer()),
    };
  }

  function file(name: string, text: string | Buffer): string {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  }

  function openssl(...args: string[]): { code: number; out: string } {
    const r = spawnSync('openssl', args, { encoding: 'utf8' });
    return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
  }

  before(async () => {
    server = await startDevKeep(TOKEN);
    for (const path of ['pki', 'pki_int']) {
      await ok('POST', `sys/mounts/${path}`, { type: 'pki', config: { max_lease_ttl: '87600h' } });
    }
    await ok('POST', 'pki/root/generate/internal', {
      common_name: 'Keep Test Root',
      key_type: 'rsa',
      key_bits: 2048,
      ttl: '87600h',
      organization: 'Keep',
    });
    file('root.pem', (await raw('pki/ca/pem')).body);
    await ok('POST', 'pki/config/urls', {
      issuing_certificates: `${server.addr}/v1/pki/ca`,
      crl_distribution_points: `${server.addr}/v1/pki/crl`,
    });
    await ok('POST', 'pki/roles/web', {
      allowed_domains: 'example.com',
      allow_subdomains: true,
      allow_ip_sans: true,
      max_ttl: '720h',
      key_type: 'ec',
    });
    await ok('POST', 'pki/roles/strict', {
      allowed_domains: 'example.com',
      allow_subdomains: true,
      allow_ip_sans: false,
      max_ttl: '1h',
      key_type: 'ec',
    });
  });

  after(async () => {
    await server?.stop();
    removeDir(dir);
  });

  it('serves the root CA without a token, as PEM and DER', async () => {
    const pem = await raw('pki/ca/pem');
    assert.equal(pem.status, 200);
    assert.equal(pem.type, 'application/pem-certificate-chain');
    const der = await raw('pki/ca');
    assert.equal(der.type, 'application/pkix-cert');
    file('root.pem', pem.body);
    file('root.der', der.body);
    const text = openssl(
      'x509',
      '-in',
      join(dir, 'root.der'),
      '-inform',
      'DER',
      '-noout',
      '-text',
    ).out;
    assert.match(text, /Subject: O ?= ?Keep, CN ?= ?Keep Test Root/);
    assert.match(text, /CA:TRUE/);
    assert.match(text, /Certificate Sign, CRL Sign/);
    assert.match(text, /Public-Key: \(2048 bit\)/);
  });

  it('issues a certificate that openssl verifies, with the SANs, usages, URLs and validity asked for', async () => {
    const data = await ok('POST', 'pki/issue/web', {
      common_name: 'api.example.com',
      alt_names: 'www.example.com',
      ip_sans: '127.0.0.1',
      ttl: '48h',
    });
    const leaf = file('leaf.pem', String(data.certificate));
    const v = openssl('verify', '-CAfile', join(dir, 'root.pem'), leaf);
    assert.equal(v.code, 0, v.out);
    assert.match(v.out, /leaf\.pem: OK/);
    const text = openssl('x509', '-in', leaf, '-noout', '-text').out;
    assert.match(text, /Subject: CN ?= ?api\.example\.com/);
    assert.match(text, /DNS:api\.example\.com, DNS:www\.example\.com, IP Address:127\.0\.0\.1/);
    assert.match(
      text,
      /X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment, Key Agreement/,
    );
    assert.match(text, /TLS Web Server Authentication, TLS Web Client Authentication/);
    assert.match(text, new RegExp(`CA Issuers - URI:${server.addr}/v1/pki/ca`));
    assert.match(text, new RegExp(`URI:${server.addr}/v1/pki/crl`));
    assert.match(text, /ASN1 OID: prime256v1/);
    const enddate = openssl('x509', '-in', leaf, '-noout', '-enddate')
      .out.trim()
      .replace('notAfter=', '');
    const hours = (Date.parse(enddate) - Date.now()) / 3600e3;
    assert.ok(hours > 47.9 && hours <= 48, `notAfter ${enddate}`);
    assert.equal(
      openssl('x509', '-in', leaf, '-noout', '-serial').out.trim(),
      `serial=${String(data.serial_number).replace(/:/g, '').toUpperCase()}`,
    );
  });

  it('signs a CSR made by openssl', async () => {
    const key = join(dir, 'csr.key');
    const csr = join(dir, 'req.csr');
    const made = openssl(
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      csr,
      '-subj',
      '/CN=svc.example.com',
      '-addext',
      'subjectAltName=DNS:svc-alt.example.com,IP:10.9.8.7',
    );
    assert.equal(made.code, 0, made.out);
    const data = await ok('POST', 'pki/sign/web', { csr: readFileSync(csr, 'utf8'), ttl: '1h' });
    assert.equal(data.private_key, undefined);
    const signed = file('signed.pem', String(data.certificate));
    assert.equal(openssl('verify', '-CAfile', join(dir, 'root.pem'), signed).code, 0);
    const text = openssl('x509', '-in', signed, '-noout', '-text').out;
    assert.match(text, /DNS:svc\.example\.com, DNS:svc-alt\.example\.com, IP Address:10\.9\.8\.7/);
    // The certificate carries the CSR's key.
    const pub1 = openssl('x509', '-in', signed, '-noout', '-pubkey').out;
    const pub2 = openssl('pkey', '-in', key, '-pubout').out;
    assert.equal(pub1, pub2);
  });

  it('chains a leaf through an intermediate in another mount', async () => {
    const gen = await ok('POST', 'pki_int/intermediate/generate/internal', {
      common_name: 'Keep Test Intermediate',
      key_type: 'ec',
      key_bits: 384,
    });
    const signed = await ok('POST', 'pki/root/sign-intermediate', {
      csr: gen.csr,
      common_name: 'Keep Test Intermediate',
      ttl: '43800h',
      format: 'pem_bundle',
    });
    await ok('POST', 'pki_int/intermediate/set-signed', { certificate: signed.certificate });
    await ok('POST', 'pki_int/roles/svc', {
      allowed_domains: 'svc.internal',
      allow_subdomains: true,
      key_type: 'ec',
    });
    const leaf = await ok('POST', 'pki_int/issue/svc', {
      common_name: 'db.svc.internal',
      ttl: '2h',
    });
    const chain = leaf.ca_chain as string[];
    assert.equal(chain.length, 2);
    const intPem = file('int.pem', chain[0]!);
    const leafPem = file('int-leaf.pem', String(leaf.certificate));
    const v = openssl('verify', '-CAfile', join(dir, 'root.pem'), '-untrusted', intPem, leafPem);
    assert.equal(v.code, 0, v.out);
    // Without the intermediate the leaf does not verify against the root.
    assert.notEqual(openssl('verify', '-CAfile', join(dir, 'root.pem'), leafPem).code, 0);
    assert.equal(chain[1]!.trim(), readFileSync(join(dir, 'root.pem'), 'utf8').trim());
    const rawChain = (await raw('pki_int/ca_chain')).body.toString();
    assert.equal(rawChain.match(/BEGIN CERTIFICATE/g)!.length, 2);
    const text = openssl('x509', '-in', intPem, '-noout', '-text').out;
    assert.match(text, /CA:TRUE/);
    assert.match(text, /Issuer: O ?= ?Keep, CN ?= ?Keep Test Root/);
  });

  it("refuses what the role or CA does not allow with a 400 and Vault's reason, storing nothing", async () => {
    const before = await ok('LIST', 'pki/certs');
    const cases: [string, Record<string, unknown>, RegExp][] = [
      [
        'pki/issue/web',
        { common_name: 'www.evil.org' },
        /^common name www\.evil\.org not allowed by this role$/,
      ],
      [
        'pki/issue/strict',
        { common_name: 'a.example.com', ip_sans: '10.0.0.1' },
        /^IP Subject Alternative Names are not allowed in this role, but was provided 10\.0\.0\.1$/,
      ],
      [
        'pki/issue/web',
        { common_name: 'a.example.com', not_after: '2199-01-01T00:00:00Z' },
        /^cannot satisfy request, as TTL would result in notAfter of 2199-01-01T00:00:00Z that is beyond the expiration of the CA certificate at /,
      ],
      [
        'pki/sign/web',
        { csr: '-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----' },
        /^certificate request could not be parsed$/,
      ],
      ['pki/sign/web', { csr: 'not pem at all' }, /^csr is not valid PEM data$/],
      [
        'pki/issue/web',
        { common_name: 'a.example.com', ttl: { nested: true } },
        /expected a duration/,
      ],
      [
        'pki/issue/web',
        { common_name: 'a.example.com', ip_sans: 'x'.repeat(2_000_000) },
        /longer than 1024 characters/,
      ],
      [
        'pki/roles/bad',
        { key_type: 'rsa', key_bits: 99999999999 },
        /unsupported bit length for RSA key/,
      ],
      [
        'pki/config/ca',
        { pem_bundle: '-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----' },
        /^pem_bundle is not valid PEM data$/,
      ],
    ];
    // A CSR whose signature does not verify.
    const csrPath = join(dir, 'bad.csr');
    openssl(
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      join(dir, 'bad.key'),
      '-out',
      csrPath,
      '-outform',
      'DER',
      '-subj',
      '/CN=bad.example.com',
    );
    const der = readFileSync(csrPath);
    der[der.length - 3]! ^= 0x55;
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der
      .toString('base64')
      .match(/.{1,64}/g)!
      .join('\n')}\n-----END CERTIFICATE REQUEST-----\n`;
    cases.push(['pki/sign/web', { csr: tampered }, /^request signature invalid/]);
    for (const [path, body, message] of cases) {
      const r = await api('POST', path, body);
      assert.equal(r.status, 400, `${path} ${JSON.stringify(r.body).slice(0, 200)}`);
      assert.equal(r.body.errors?.length, 1);
      assert.match(r.body.errors![0]!, message);
    }
    assert.deepEqual(await ok('LIST', 'pki/certs'), before);
    assert.equal((await api('GET', 'pki/roles/bad')).status, 404);
  });

  it('caps a TTL over the role maximum with a warning, as Vault does', async () => {
    const r = await api('POST', 'pki/issue/strict', { common_name: 'a.example.com', ttl: '5h' });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.warnings, [
      'TTL "5h0m0s" is longer than permitted maxTTL "1h0m0s", so maxTTL is being used',
    ]);
  });

  it('revokes a certificate; openssl finds it on the CRL and refuses it', async () => {
    const data = await ok('POST', 'pki/issue/web', { common_name: 'gone.example.com' });
    const leaf = file('gone.pem', String(data.certificate));
    const rev = await ok('POST', 'pki/revoke', { serial_number: data.serial_number });
    assert.ok(Number(rev.revocation_time) > 0);
    const crl = await raw('pki/crl/pem');
    assert.equal(crl.status, 200);
    const crlPath = file('crl.pem', crl.body);
    const text = openssl('crl', '-in', crlPath, '-noout', '-text').out;
    const hex = String(data.serial_number).replace(/:/g, '').toUpperCase();
    assert.match(text, new RegExp(`Serial Number: ${hex}`));
    assert.match(text, /X509v3 CRL Number:/);
    assert.match(
      openssl('crl', '-in', crlPath, '-noout', '-CAfile', join(dir, 'root.pem')).out,
      /verify OK/,
    );
    const v = openssl(
      'verify',
      '-crl_check',
      '-CRLfile',
      crlPath,
      '-CAfile',
      join(dir, 'root.pem'),
      leaf,
    );
    assert.notEqual(v.code, 0);
    assert.match(v.out, /certificate revoked/);
    // The DER CRL parses too.
    const derCrl = file('crl.der', (await raw('pki/crl')).body);
    assert.match(
      openssl('crl', '-in', derCrl, '-inform', 'DER', '-noout', '-text').out,
      new RegExp(hex),
    );
    assert.ok(
      ((await ok('LIST', 'pki/certs/revoked')).keys as string[]).includes(
        String(data.serial_number),
      ),
    );
  });

  it('completes TLS handshakes with client-certificate verification (node tls and openssl s_client)', async () => {
    const srv = await ok('POST', 'pki/issue/web', {
      common_name: 'localhost.example.com',
      alt_names: 'localhost',
      ip_sans: '127.0.0.1',
    });
    const cli = await ok('POST', 'pki/issue/web', { common_name: 'client.example.com' });
    const ca = readFileSync(join(dir, 'root.pem'), 'utf8');
    const server = tls.createServer(
      {
        key: String(srv.private_key),
        cert: String(srv.certificate),
        ca,
        requestCert: true,
        rejectUnauthorized: true,
      },
      (socket) => {
        const peer = socket.getPeerCertificate();
        socket.end(`hello ${peer.subject?.CN}\n`);
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const greeting = await new Promise<string>((resolve, reject) => {
        const socket = tls.connect(
          {
            host: '127.0.0.1',
            port,
            servername: 'localhost',
            ca,
            key: String(cli.private_key),
            cert: String(cli.certificate),
          },
          () => {
            assert.equal(socket.authorized, true, String(socket.authorizationError));
          },
        );
        let buf = '';
        socket.on('data', (d) => {
          buf += d;
        });
        socket.on('end', () => resolve(buf));
        socket.on('error', reject);
      });
      assert.equal(greeting, 'hello client.example.com\n');

      // Without a client certificate the server refuses the handshake.
      const refusedErr = await new Promise<Error | undefined>((resolve) => {
        const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ca });
        socket.on('data', () => {});
        socket.on('error', (e) => resolve(e));
        socket.on('end', () => resolve(undefined));
      });
      assert.ok(refusedErr, 'a client without a certificate was served');

      const keyPath = file('client.key', String(cli.private_key));
      const certPath = file('client.pem', String(cli.certificate));
      const out = await runAsync(
        'openssl',
        [
          's_client',
          '-connect',
          `127.0.0.1:${port}`,
          '-servername',
          'localhost',
          '-verify_return_error',
          '-ign_eof',
          '-CAfile',
          join(dir, 'root.pem'),
          '-cert',
          certPath,
          '-key',
          keyPath,
          '-verify_hostname',
          'localhost',
        ],
        { anyExit: true },
      );
      assert.match(out, /Verify return code: 0 \(ok\)/);
      assert.match(out, /hello client\.example\.com/);
    } finally {
      server.close();
    }
  });

  it('python3-hvac generates a root, creates a role, issues, revokes and reads the CRL', {
    skip: hvacSkip,
  }, async () => {
    const out = tempDir('keep-hvac-pki-');
    try {
      const run = await runAsync(SYSTEM_PYTHON, [
        join(import.meta.dirname, 'clients', 'hvac_pki.py'),
        server.addr,
        TOKEN,
        out,
      ]);
      const lines = run.trim().split('\n');
      assert.deepEqual(
        lines.slice(0, -1),
        [
          'ok generate root',
          'ok set urls',
          'ok create role',
          'ok issue',
          'ok refused outside the role',
          'ok revoke',
          'ok read crl',
        ],
        run,
      );
      const serial = lines.at(-1)!.replace('serial ', '');
      const v = openssl('verify', '-CAfile', join(out, 'root.pem'), join(out, 'leaf.pem'));
      assert.equal(v.code, 0, v.out);
      assert.match(
        openssl('crl', '-in', join(out, 'crl.pem'), '-noout', '-text').out,
        new RegExp(`Serial Number: ${serial}`),
      );
    } finally {
      removeDir(out);
    }
  });

  it('keep pki issue writes the certificate, the key (0600) and the chain; list and revoke find it', () => {
    const out = join(dir, 'cli');
    mkdirSync(out);
    const env = { ...process.env, KEEP_ADDR: server.addr, KEEP_TOKEN: TOKEN };
    const keep = (...args: string[]) =>
      spawnSync(process.execPath, [KEEP_BIN, ...args], { encoding: 'utf8', env });
    const issued = keep(
      'pki',
      'issue',
      '-format=json',
      `-out-dir=${out}`,
      '-alt-names=cli2.example.com',
      '-ttl=2h',
      'web',
      'cli.example.com',
    );
    assert.equal(issued.status, 0, issued.stderr);
    const summary = JSON.parse(issued.stdout);
    assert.equal(statSync(join(out, 'cli.example.com.key')).mode & 0o777, 0o600);
    assert.equal(statSync(join(out, 'cli.example.com.crt')).mode & 0o777, 0o644);
    const v = openssl(
      'verify',
      '-CAfile',
      join(out, 'cli.example.com-chain.crt'),
      join(out, 'cli.example.com.crt'),
    );
    assert.equal(v.code, 0, v.out);
    assert.match(
      openssl('x509', '-in', join(out, 'cli.example.com.crt'), '-noout', '-ext', 'subjectAltName')
        .out,
      /DNS:cli\.example\.com, DNS:cli2\.example\.com/,
    );
    assert.equal(openssl('pkey', '-in', join(out, 'cli.example.com.key'), '-noout').code, 0);
    // A second issue to the same files is refused unless -force.
    assert.equal(keep('pki', 'issue', `-out-dir=${out}`, 'web', 'cli.example.com').status, 1);
    const listed = keep('pki', 'list', '-format=json');
    assert.ok(JSON.parse(listed.stdout).includes(summary.serial_number));
    const revoked = keep('pki', 'revoke', summary.serial_number);
    assert.equal(revoked.status, 0, revoked.stderr);
    assert.match(revoked.stdout, /Success! Revoked/);
    assert.ok(
      JSON.parse(keep('pki', 'list', '-revoked', '-format=json').stdout).includes(
        summary.serial_number,
      ),
    );
    const refused = keep('pki', 'issue', `-out-dir=${out}`, 'web', 'www.evil.org');
    assert.equal(refused.status, 2);
    assert.match(refused.stderr, /common name www\.evil\.org not allowed by this role/);
  });

  it('never writes a private key to the server log', () => {
    const log = server.output.join('\n');
    assert.equal(log.includes('PRIVATE KEY'), false);
  });
});

/** Runs a command without blocking the event loop (a TLS server in this process must answer it). */
function runAsync(cmd: string, args: string[], opts: { anyExit?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
    });
    child.stderr.on('data', (d) => {
      out += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0 || opts.anyExit) resolve(out);
      else reject(new Error(`${cmd} exited ${code}:\n${out}`));
    });
    child.stdin.end();
  });
}
