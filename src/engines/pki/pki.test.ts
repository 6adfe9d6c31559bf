/**
 * The PKI backend on an inspectable in-memory storage: CA generation for
 * every key type, issuance and its refusals (with Vault's messages and
 * nothing stored), CSR signing, intermediates across two mounts, imports,
 * revocation and the CRL, tidy. Certificates are checked with node:crypto's
 * own X.509 parser; the end-to-end suite checks them with openssl.
 */
import assert from 'node:assert/strict';
import { createPrivateKey, generateKeyPairSync, webcrypto, X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import type { LogicalResponse } from '../../framework/types.ts';
import { InspectableStorage, send, TestClock, testContext } from '../kv/test-kit.ts';
import { pkiBackend } from './index.ts';
import { encodePem, x509 } from './x509.ts';

const TEN_YEARS = 10 * 365 * 86400;

function mount(clock = new TestClock(new Date().toISOString())) {
  const storage = new InspectableStorage();
  const ctx = testContext(storage, { type: 'pki', clock });
  ctx.mount.maxLeaseTtlSeconds = TEN_YEARS;
  return { storage, ctx, backend: pkiBackend(), clock };
}

type Mount = ReturnType<typeof mount>;

async function call(
  m: Mount,
  op: 'update' | 'read' | 'list' | 'delete' | 'patch',
  path: string,
  data: Record<string, unknown> = {},
) {
  return send(m.backend, m.ctx, op, path, { data });
}

async function refused(
  m: Mount,
  path: string,
  data: Record<string, unknown>,
  message: string | RegExp,
) {
  const before = await m.storage.snapshot();
  await assert.rejects(call(m, 'update', path, data), (err: Error & { status?: number }) => {
    assert.equal(err.status, 400, err.message);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
  assert.deepEqual(await m.storage.snapshot(), before, 'a refused request changed storage');
}

function cert(resp: LogicalResponse | undefined, field = 'certificate'): X509Certificate {
  return new X509Certificate(String(resp!.data![field]));
}

async function withRoot(keyType = 'ec', extra: Record<string, unknown> = {}) {
  const m = mount();
  const root = await call(m, 'update', 'root/generate/internal', {
    common_name: 'Test Root',
    key_type: keyType,
    ttl: '8760h',
    ...extra,
  });
  return { m, root };
}

async function makeCsr(opts: { cn: string; sans?: x509.JsonGeneralName[]; alg?: 'ec' | 'rsa' }) {
  const alg =
    opts.alg === 'rsa'
      ? {
          name: 'RSASSA-PKCS1-v1_5',
          hash: 'SHA-256',
          modulusLength: 2048,
          publicExponent: new Uint8Array([1, 0, 1]),
        }
      : { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${opts.cn}`,
    keys,
    signingAlgorithm: alg,
    extensions: opts.sans ? [new x509.SubjectAlternativeNameExtension(opts.sans)] : [],
  });
  return csr.toString('pem');
}

describe('root CA generation', () => {
  for (const [type, bits, algo] of [
    ['rsa', 2048, 'rsa'],
    ['rsa', 3072, 'rsa'],
    ['rsa', 4096, 'rsa'],
    ['ec', 256, 'ec'],
    ['ec', 384, 'ec'],
    ['ed25519', 0, 'ed25519'],
  ] as const) {
    it(`makes a self-signed ${type}${bits ? ` ${bits}` : ''} CA`, async () => {
      const m = mount();
      const resp = await call(m, 'update', 'root/generate/exported', {
        common_name: 'Keep Root',
        key_type: type,
        key_bits: bits,
        ttl: '87600h',
        organization: 'Acme Inc',
        ou: 'Ops',
        country: 'NL',
        alt_names: 'root.example.com',
        ip_sans: '10.0.0.1',
        max_path_length: 2,
      });
      const c = cert(resp);
      assert.equal(c.ca, true);
      assert.equal(c.publicKey.asymmetricKeyType, algo);
      if (type === 'rsa') assert.equal(c.publicKey.asymmetricKeyDetails?.modulusLength, bits);
      assert.equal(c.verify(c.publicKey), true);
      assert.equal(c.checkIssued(c), true);
      assert.match(c.subject, /CN=Keep Root/);
      assert.match(c.subject, /O=Acme Inc/);
      // "Keep Root" is no host name, so only the alt_names and IP SANs are there.
      assert.equal(c.subjectAltName, 'DNS:root.example.com, IP Address:10.0.0.1');
      // exported: the key comes back once and matches the certificate.
      assert.equal(c.checkPrivateKey(createPrivateKey(String(resp!.data!.private_key))), true);
      assert.equal(resp!.data!.private_key_type, type);
      assert.equal(resp!.data!.serial_number, c.serialNumber.toLowerCase().match(/../g)!.join(':'));
      const days = (Date.parse(c.validTo) - Date.now()) / 86400e3;
      assert.ok(days > 3649 && days < 3651, `validity ${days} days`);
    });
  }

  it('internal never returns the key, and the key is stored only in the mount storage', async () => {
    const { m, root } = await withRoot();
    assert.equal(root!.data!.private_key, undefined);
    const stored = await m.storage.snapshot();
    assert.ok(stored.get('config/ca_bundle')!.includes('PRIVATE KEY'));
    assert.ok(stored.has(`certs/${String(root!.data!.serial_number).replace(/:/g, '-')}`));
  });

  it('caps the TTL at the mount maximum with a warning', async () => {
    const m = mount();
    m.ctx.mount.maxLeaseTtlSeconds = 3600;
    const resp = await call(m, 'update', 'root/generate/internal', {
      common_name: 'R',
      key_type: 'ec',
      ttl: '2h',
    });
    assert.deepEqual(resp!.warnings, [
      'TTL "2h0m0s" is longer than permitted maxTTL "1h0m0s", so maxTTL is being used',
    ]);
  });

  it('refuses a second CA, bad key types and missing names, storing nothing', async () => {
    const { m } = await withRoot();
    await refused(m, 'root/generate/internal', { common_name: 'again' }, /already has a CA/);
    const fresh = mount();
    await refused(
      fresh,
      'root/generate/internal',
      { common_name: 'x', key_type: 'dsa' },
      'unknown key type: dsa',
    );
    await refused(
      fresh,
      'root/generate/internal',
      { common_name: 'x', key_type: 'rsa', key_bits: 1024 },
      'unsupported bit length for RSA key: 1024',
    );
    await refused(
      fresh,
      'root/generate/internal',
      { common_name: 'x', key_type: 'ec', key_bits: 224 },
      'unsupported bit length for EC key: 224',
    );
    await refused(fresh, 'root/generate/internal', {}, /common_name field is required/);
    await refused(
      fresh,
      'root/generate/internal',
      { common_name: 'x', ttl: { no: 1 } },
      /field "ttl": expected a duration/,
    );
    await refused(
      fresh,
      'root/generate/internal',
      { common_name: 'x', ip_sans: 'not-an-ip' },
      'the value "not-an-ip" is not a valid IP address',
    );
    await refused(
      fresh,
      'root/generate/internal',
      { common_name: 'x', format: 'xml' },
      /unknown format "xml"/,
    );
    await refused(
      fresh,
      'root/generate/internal',
      { common_name: 'x', alt_names: 'a'.repeat(5000) },
      /longer than 1024/,
    );
  });

  it('DELETE root removes the CA; a new one can then be generated', async () => {
    const { m } = await withRoot();
    await call(m, 'delete', 'root');
    assert.equal((await m.storage.snapshot()).has('config/ca_bundle'), false);
    await call(m, 'update', 'root/generate/internal', { common_name: 'Second', key_type: 'ec' });
  });
});

describe('roles and issuance', () => {
  async function setup(role: Record<string, unknown> = {}) {
    const { m } = await withRoot('ec');
    await call(m, 'update', 'config/urls', {
      issuing_certificates: 'http://keep.internal:8200/v1/pki/ca',
      crl_distribution_points: ['http://keep.internal:8200/v1/pki/crl'],
      ocsp_servers: 'http://keep.internal:8200/v1/pki/ocsp',
    });
    await call(m, 'update', 'roles/web', {
      allowed_domains: 'example.com',
      allow_subdomains: true,
      max_ttl: '72h',
      key_type: 'ec',
      ...role,
    });
    return m;
  }

  it('reads a role back with Vault defaults filled in', async () => {
    const m = await setup();
    const role = (await call(m, 'read', 'roles/web'))!.data!;
    assert.equal(role.allow_localhost, true);
    assert.equal(role.allow_ip_sans, true);
    assert.equal(role.enforce_hostnames, true);
    assert.equal(role.server_flag, true);
    assert.equal(role.client_flag, true);
    assert.equal(role.key_bits, 256);
    assert.equal(role.max_ttl, 72 * 3600);
    assert.equal(role.not_before_duration, 30);
    assert.deepEqual(role.key_usage, ['DigitalSignature', 'KeyAgreement', 'KeyEncipherment']);
    assert.deepEqual((await call(m, 'list', 'roles/'))!.data!.keys, ['web']);
    await call(m, 'patch', 'roles/web', { allow_ip_sans: false });
    const patched = (await call(m, 'read', 'roles/web'))!.data!;
    assert.equal(patched.allow_ip_sans, false);
    assert.deepEqual(patched.allowed_domains, ['example.com']);
  });

  it('refuses bad role settings', async () => {
    const m = await setup();
    await refused(
      m,
      'roles/bad',
      { key_type: 'rsa', key_bits: 1000 },
      'unsupported bit length for RSA key: 1000',
    );
    await refused(
      m,
      'roles/bad',
      { ttl: '2h', max_ttl: '1h' },
      '"ttl" value must be less than "max_ttl" value',
    );
    await refused(
      m,
      'roles/bad',
      { key_usage: 'DigitalSignature,Teleport' },
      'unknown key_usage "Teleport"',
    );
    await refused(m, 'roles/bad', { ext_key_usage: 'Bogus' }, 'unknown ext_key_usage "Bogus"');
    await refused(m, 'roles/bad', { allow_subdomains: 'perhaps' }, /expected a boolean/);
  });

  it('issues a certificate with the names, usages, URLs and validity asked for', async () => {
    const m = await setup({ ext_key_usage: 'CodeSigning', organization: 'Acme' });
    const resp = await call(m, 'update', 'issue/web', {
      common_name: 'api.example.com',
      alt_names: 'api2.example.com,ops@mail.example.com',
      ip_sans: '10.1.2.3,::1',
      ttl: '24h',
    });
    const c = cert(resp);
    const ca = new X509Certificate(String(resp!.data!.issuing_ca));
    assert.equal(c.verify(ca.publicKey), true);
    assert.equal(c.checkIssued(ca), true);
    assert.equal(
      c.subjectAltName,
      'DNS:api.example.com, DNS:api2.example.com, email:ops@mail.example.com, IP Address:10.1.2.3, IP Address:0:0:0:0:0:0:0:1',
    );
    assert.match(c.subject, /CN=api\.example\.com/);
    assert.match(c.subject, /O=Acme/);
    assert.deepEqual(c.keyUsage, ['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2', '1.3.6.1.5.5.7.3.3']);
    assert.equal(c.ca, false);
    assert.match(c.infoAccess ?? '', /CA Issuers - URI:http:\/\/keep.internal:8200\/v1\/pki\/ca/);
    assert.match(c.infoAccess ?? '', /OCSP - URI:http:\/\/keep.internal:8200\/v1\/pki\/ocsp/);
    const hours = (Date.parse(c.validTo) - Date.now()) / 3600e3;
    assert.ok(hours > 23.9 && hours <= 24, `validity ${hours} h`);
    assert.ok(Date.now() - Date.parse(c.validFrom) >= 29_000, 'notBefore is back-dated 30s');
    assert.equal(resp!.data!.private_key_type, 'ec');
    assert.match(String(resp!.data!.private_key), /^-----BEGIN EC PRIVATE KEY-----/);
    assert.equal(c.checkPrivateKey(createPrivateKey(String(resp!.data!.private_key))), true);
    assert.deepEqual(resp!.data!.ca_chain, [resp!.data!.issuing_ca]);
    assert.equal(resp!.data!.expiration, Math.floor(Date.parse(c.validTo) / 1000));
    // stored, listed, readable by serial
    const serial = String(resp!.data!.serial_number);
    assert.ok(((await call(m, 'list', 'certs/'))!.data!.keys as string[]).includes(serial));
    const read = await call(m, 'read', `cert/${serial}`);
    assert.equal(read!.data!.certificate, resp!.data!.certificate);
    assert.equal(read!.data!.revocation_time, 0);
  });

  it('returns PKCS#8 and DER forms on request, and RSA keys as PKCS#1', async () => {
    const m = await setup();
    const p8 = await call(m, 'update', 'issue/web', {
      common_name: 'a.example.com',
      private_key_format: 'pkcs8',
    });
    assert.match(String(p8!.data!.private_key), /^-----BEGIN PRIVATE KEY-----/);
    const der = await call(m, 'update', 'issue/web', {
      common_name: 'a.example.com',
      format: 'der',
    });
    assert.equal(
      new X509Certificate(Buffer.from(String(der!.data!.certificate), 'base64')).subject,
      'CN=a.example.com',
    );
    const bundle = await call(m, 'update', 'issue/web', {
      common_name: 'a.example.com',
      format: 'pem_bundle',
    });
    assert.match(
      String(bundle!.data!.certificate),
      /PRIVATE KEY[\s\S]*BEGIN CERTIFICATE[\s\S]*BEGIN CERTIFICATE/,
    );
    await call(m, 'update', 'roles/rsa', {
      allowed_domains: 'example.com',
      allow_subdomains: true,
      key_type: 'rsa',
      key_bits: 2048,
    });
    const rsa = await call(m, 'update', 'issue/rsa', { common_name: 'r.example.com' });
    assert.match(String(rsa!.data!.private_key), /^-----BEGIN RSA PRIVATE KEY-----/);
    assert.equal(cert(rsa).publicKey.asymmetricKeyDetails?.modulusLength, 2048);
  });

  it("refuses names, IPs and TTLs the role or CA does not allow, with Vault's messages", async () => {
    const m = await setup({ allow_ip_sans: false });
    await refused(
      m,
      'issue/web',
      { common_name: 'www.other.org' },
      'common name www.other.org not allowed by this role',
    );
    await refused(
      m,
      'issue/web',
      { common_name: 'a.example.com', alt_names: 'evil.org' },
      'subject alternate name evil.org not allowed by this role',
    );
    await refused(
      m,
      'issue/web',
      { common_name: 'a.example.com', alt_names: 'ops@evil.org' },
      'email address ops@evil.org not allowed by this role',
    );
    await refused(
      m,
      'issue/web',
      { common_name: 'a.example.com', ip_sans: '10.0.0.1' },
      'IP Subject Alternative Names are not allowed in this role, but was provided 10.0.0.1',
    );
    await refused(
      m,
      'issue/web',
      { common_name: 'a.example.com', uri_sans: 'spiffe://x/y' },
      'URI Subject Alternative Names are not allowed in this role, but were provided via the API',
    );
    await refused(m, 'issue/web', {}, /the common_name field is required/);
    await refused(m, 'issue/nope', { common_name: 'a.example.com' }, 'unknown role: nope');
    await refused(
      m,
      'issue/web',
      { common_name: 'a.example.com', ttl: '1h', not_after: '2030-01-01T00:00:00Z' },
      /Either ttl or not_after/,
    );
    await refused(
      m,
      'issue/web',
      { common_name: 'a.example.com', not_after: '2099-01-01T00:00:00Z' },
      /^cannot satisfy request, as TTL would result in notAfter of 2099-01-01T00:00:00Z that is beyond the expiration of the CA certificate at /,
    );
    await refused(
      m,
      'issue/web',
      {
        common_name: 'a.example.com',
        alt_names: Array.from({ length: 1001 }, (_, i) => `h${i}.example.com`),
      },
      /too many alt_names/,
    );
    await refused(
      m,
      'issue/web',
      { common_name: 'a.example.com', ttl: [1, 2] },
      /expected a duration/,
    );
  });

  it('caps a TTL over the role max_ttl with a warning, as Vault does', async () => {
    const m = await setup();
    const resp = await call(m, 'update', 'issue/web', {
      common_name: 'a.example.com',
      ttl: '100h',
    });
    assert.deepEqual(resp!.warnings, [
      'TTL "100h0m0s" is longer than permitted maxTTL "72h0m0s", so maxTTL is being used',
    ]);
    const hours = (Date.parse(cert(resp).validTo) - Date.now()) / 3600e3;
    assert.ok(hours > 71.9 && hours <= 72);
  });

  it('no_store issues without storing', async () => {
    const m = await setup({ no_store: true });
    const before = [...(await m.storage.snapshot()).keys()];
    await call(m, 'update', 'issue/web', { common_name: 'a.example.com' });
    assert.deepEqual([...(await m.storage.snapshot()).keys()], before);
  });

  it('signs a CSR with its names, and refuses a tampered or malformed one', async () => {
    const m = await setup();
    const csr = await makeCsr({
      cn: 'svc.example.com',
      sans: [
        { type: 'dns', value: 'svc2.example.com' },
        { type: 'ip', value: '192.0.2.7' },
      ],
    });
    const resp = await call(m, 'update', 'sign/web', { csr });
    const c = cert(resp);
    assert.equal(c.subject, 'CN=svc.example.com');
    assert.equal(
      c.subjectAltName,
      'DNS:svc.example.com, DNS:svc2.example.com, IP Address:192.0.2.7',
    );
    assert.equal(resp!.data!.private_key, undefined);

    const der = Buffer.from(csr.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    der[der.length - 5]! ^= 0xff;
    await refused(
      m,
      'sign/web',
      { csr: encodePem(der, 'CERTIFICATE REQUEST') },
      /^request signature invalid/,
    );
    await refused(
      m,
      'sign/web',
      {
        csr: '-----BEGIN CERTIFICATE REQUEST-----\nnot base64!\n-----END CERTIFICATE REQUEST-----',
      },
      'csr is not valid PEM data',
    );
    await refused(
      m,
      'sign/web',
      { csr: encodePem(Buffer.from('garbage'), 'CERTIFICATE REQUEST') },
      'certificate request could not be parsed',
    );
    await refused(m, 'sign/web', { csr: 'hello' }, 'csr is not valid PEM data');
    await refused(
      m,
      'sign/web',
      { csr: await makeCsr({ cn: 'evil.org' }) },
      'common name evil.org not allowed by this role',
    );
    await refused(
      m,
      'sign/web',
      { csr: await makeCsr({ cn: 'a.example.com', alg: 'rsa' }) },
      'role requires keys of type ec',
    );
    await refused(m, 'sign/web', {}, 'missing required field "csr"');
  });

  it('sign-verbatim keeps the CSR subject and names', async () => {
    const m = await setup();
    const csr = await makeCsr({
      cn: 'anything at all',
      sans: [{ type: 'dns', value: 'free.example.net' }],
    });
    const resp = await call(m, 'update', 'sign-verbatim', { csr, ext_key_usage: 'ServerAuth' });
    const c = cert(resp);
    assert.equal(c.subject, 'CN=anything at all');
    assert.equal(c.subjectAltName, 'DNS:free.example.net');
    assert.deepEqual(c.keyUsage, ['1.3.6.1.5.5.7.3.1']);
  });
});

describe('intermediate CAs across two mounts', () => {
  it('a root in one mount signs an intermediate in another; chains come out right', async () => {
    const { m: root } = await withRoot('rsa', { max_path_length: 1 });
    const int = mount();
    const gen = await call(int, 'update', 'intermediate/generate/internal', {
      common_name: 'Keep Intermediate',
      key_type: 'ec',
      key_bits: 384,
    });
    assert.equal(gen!.data!.private_key, undefined);
    const signed = await call(root, 'update', 'root/sign-intermediate', {
      csr: gen!.data!.csr,
      common_name: 'Keep Intermediate',
      ttl: '4380h',
    });
    const intCert = cert(signed);
    assert.equal(intCert.ca, true);
    assert.equal((signed!.data!.ca_chain as string[]).length, 2);
    // The intermediate's path length is one less than the root's.
    assert.match(
      String(
        new x509.X509Certificate(String(signed!.data!.certificate)).getExtension(
          x509.BasicConstraintsExtension,
        )?.pathLength,
      ),
      /^0$/,
    );

    await refused(
      int,
      'intermediate/set-signed',
      { certificate: (await call(root, 'read', 'cert/ca'))!.data!.certificate },
      /does not match the key of the pending intermediate CSR/,
    );
    const set = await call(int, 'update', 'intermediate/set-signed', {
      certificate: (signed!.data!.ca_chain as string[]).join('\n'),
    });
    assert.equal((set!.data!.imported_issuers as string[]).length, 1);

    await call(int, 'update', 'roles/svc', {
      allowed_domains: 'svc.internal',
      allow_subdomains: true,
      key_type: 'ec',
    });
    const leaf = await call(int, 'update', 'issue/svc', {
      common_name: 'a.svc.internal',
      ttl: '1h',
    });
    const chain = leaf!.data!.ca_chain as string[];
    assert.equal(chain.length, 2);
    const [i, r] = chain.map((p) => new X509Certificate(p));
    const l = cert(leaf);
    assert.equal(l.verify(i!.publicKey), true);
    assert.equal(i!.verify(r!.publicKey), true);
    assert.equal(r!.verify(r!.publicKey), true);
    const caChain = await call(int, 'read', 'cert/ca_chain');
    assert.equal(caChain!.data!.certificate, chain.join('\n'));
    const raw = await call(int, 'read', 'ca_chain');
    assert.equal(String(raw!.raw!.body).trim(), chain.join('\n'));

    // An intermediate with path length 0 cannot sign another CA.
    const int2 = mount();
    const gen2 = await call(int2, 'update', 'intermediate/generate/internal', {
      common_name: 'Too deep',
      key_type: 'ec',
    });
    await refused(
      int,
      'root/sign-intermediate',
      { csr: gen2!.data!.csr, common_name: 'Too deep' },
      'signing certificate has a max path length of zero, and cannot issue further CA certificates',
    );
  });

  it('refuses set-signed without a pending key, and a non-CA certificate', async () => {
    const { root } = await withRoot();
    const other = mount();
    await refused(
      other,
      'intermediate/set-signed',
      { certificate: root!.data!.certificate },
      /no pending intermediate key/,
    );
    await refused(
      other,
      'intermediate/set-signed',
      { certificate: 'garbage' },
      'certificate is not valid PEM data',
    );
  });
});

describe('config/ca import', () => {
  it('imports a PEM bundle of key and certificate, and issues from it', async () => {
    const { m: src } = await withRoot('ec');
    const exported = mount();
    const gen = await call(exported, 'update', 'root/generate/exported', {
      common_name: 'Imported Root',
      key_type: 'ec',
    });
    const m = mount();
    const resp = await call(m, 'update', 'config/ca', {
      pem_bundle: `${gen!.data!.private_key}\n${gen!.data!.certificate}\n`,
    });
    assert.equal((resp!.data!.imported_issuers as string[]).length, 1);
    const ca = await call(m, 'read', 'cert/ca');
    assert.equal(ca!.data!.certificate, gen!.data!.certificate);
    await call(m, 'update', 'roles/any', { allow_any_name: true, key_type: 'ec' });
    // A leaf shorter than the CA: both default to the max TTL, and a leaf made a
    // second after the CA would end past it (refused, as Vault's default is).
    const leaf = await call(m, 'update', 'issue/any', {
      common_name: 'x.example.org',
      ttl: '1h',
    });
    assert.equal(
      cert(leaf).verify(new X509Certificate(String(gen!.data!.certificate)).publicKey),
      true,
    );

    await refused(
      mount(),
      'config/ca',
      { pem_bundle: String(gen!.data!.certificate) },
      /exactly one private key/,
    );
    const mismatched = (await call(src, 'read', 'cert/ca'))!.data!.certificate;
    await refused(
      mount(),
      'config/ca',
      { pem_bundle: `${gen!.data!.private_key}\n${mismatched}` },
      'no certificate in pem_bundle matches its private key',
    );
    await refused(
      mount(),
      'config/ca',
      { pem_bundle: '-----BEGIN CERTIFICATE-----\n@@@@\n-----END CERTIFICATE-----' },
      'pem_bundle is not valid PEM data',
    );
    const rsaKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    });
    await refused(
      mount(),
      'config/ca',
      { pem_bundle: `${rsaKey}${gen!.data!.certificate}` },
      'no certificate in pem_bundle matches its private key',
    );
  });
});

describe('revocation, CRL and tidy', () => {
  async function setup() {
    const { m } = await withRoot('ec');
    await call(m, 'update', 'roles/web', { allow_any_name: true, key_type: 'ec' });
    return m;
  }

  async function crlSerials(m: Mount): Promise<string[]> {
    const resp = await call(m, 'read', 'crl');
    const crl = new x509.X509Crl(new Uint8Array(resp!.raw!.body as Buffer));
    return crl.entries.map((e) => e.serialNumber.toLowerCase());
  }

  it('revokes by serial, lists the serial on the signed CRL, and reports it on cert/<serial>', async () => {
    const m = await setup();
    const a = await call(m, 'update', 'issue/web', { common_name: 'a.example.com' });
    const b = await call(m, 'update', 'issue/web', { common_name: 'b.example.com' });
    assert.deepEqual(await crlSerials(m), []);
    const serial = String(a!.data!.serial_number);
    const rev = await call(m, 'update', 'revoke', { serial_number: serial });
    assert.equal(rev!.data!.state, 'revoked');
    assert.equal(typeof rev!.data!.revocation_time, 'number');
    assert.deepEqual(await crlSerials(m), [serial.replace(/:/g, '')]);
    const crlPem = await call(m, 'read', 'crl/pem');
    assert.match(String(crlPem!.raw!.body), /^-----BEGIN X509 CRL-----/);
    const crl = new x509.X509Crl(String(crlPem!.raw!.body));
    assert.equal(
      await crl.verify({ publicKey: new x509.X509Certificate(String(a!.data!.issuing_ca)) }),
      true,
    );
    assert.ok(((await call(m, 'read', `cert/${serial}`))!.data!.revocation_time as number) > 0);
    assert.deepEqual((await call(m, 'list', 'certs/revoked/'))!.data!.keys, [serial]);
    // Hyphen form works too, and revoking again changes nothing.
    const again = await call(m, 'update', 'revoke', { serial_number: serial.replace(/:/g, '-') });
    assert.equal(again!.data!.revocation_time, rev!.data!.revocation_time);
    // Revoke by certificate.
    await call(m, 'update', 'revoke', { certificate: b!.data!.certificate });
    assert.equal((await crlSerials(m)).length, 2);
  });

  it('refuses unknown serials, the CA itself, and foreign certificates', async () => {
    const m = await setup();
    await refused(
      m,
      'revoke',
      { serial_number: '01:02:03' },
      'certificate with serial 01:02:03 not found.',
    );
    await refused(m, 'revoke', { serial_number: 'zz' }, 'invalid serial number "zz"');
    await refused(m, 'revoke', {}, 'exactly one of serial_number or certificate must be given');
    const ca = (await call(m, 'read', 'cert/ca'))!.data!.certificate;
    await refused(m, 'revoke', { certificate: ca }, /to its own CRL is not allowed/);
    const { m: other } = await withRoot('ec');
    await call(other, 'update', 'roles/web', { allow_any_name: true, key_type: 'ec' });
    const foreign = await call(other, 'update', 'issue/web', { common_name: 'x.example.com' });
    await refused(
      m,
      'revoke',
      { certificate: foreign!.data!.certificate },
      "the certificate was not issued by this mount's CA",
    );
  });

  it('config/crl disable serves an empty CRL; expiry sets nextUpdate', async () => {
    const m = await setup();
    const a = await call(m, 'update', 'issue/web', { common_name: 'a.example.com' });
    await call(m, 'update', 'revoke', { serial_number: a!.data!.serial_number });
    await call(m, 'update', 'config/crl', { disable: true, expiry: '24h' });
    assert.deepEqual((await call(m, 'read', 'config/crl'))!.data, {
      expiry: '24h0m0s',
      disable: true,
    });
    assert.deepEqual(await crlSerials(m), []);
    await call(m, 'update', 'config/crl', { disable: false });
    assert.equal((await crlSerials(m)).length, 1);
    const crl = new x509.X509Crl(
      new Uint8Array((await call(m, 'read', 'crl'))!.raw!.body as Buffer),
    );
    const hours = (crl.nextUpdate!.getTime() - crl.thisUpdate.getTime()) / 3600e3;
    assert.equal(hours, 24);
    await refused(m, 'config/crl', { expiry: 'soon' }, 'given expiry could not be decoded: soon');
    assert.deepEqual((await call(m, 'read', 'crl/rotate'))!.data, { success: true });
  });

  it('tidy drops expired certificates and their revocation entries', async () => {
    const m = await setup();
    const short = await call(m, 'update', 'issue/web', {
      common_name: 'short.example.com',
      ttl: '1h',
    });
    const long = await call(m, 'update', 'issue/web', {
      common_name: 'long.example.com',
      ttl: '720h',
    });
    await call(m, 'update', 'revoke', { serial_number: short!.data!.serial_number });
    m.clock.advanceSeconds(3 * 3600);
    const started = await call(m, 'update', 'tidy', {
      tidy_cert_store: true,
      tidy_revoked_certs: true,
      safety_buffer: '1h',
    });
    assert.equal(started!.status, 202);
    let status: Record<string, unknown> = {};
    for (let i = 0; i < 100; i++) {
      status = (await call(m, 'read', 'tidy-status'))!.data!;
      if (status.state !== 'Running') break;
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(status.state, 'Finished');
    assert.equal(status.revoked_cert_deleted_count, 1);
    const keys = (await call(m, 'list', 'certs/'))!.data!.keys as string[];
    assert.equal(keys.includes(String(short!.data!.serial_number)), false);
    assert.equal(keys.includes(String(long!.data!.serial_number)), true);
    assert.deepEqual(await crlSerials(m), []);
    await refused(
      m,
      'tidy',
      {},
      'at least one of tidy_cert_store or tidy_revoked_certs must be true',
    );
  });
});

describe('no CA yet', () => {
  it('issuing and fetching say there is no CA', async () => {
    const m = mount();
    await call(m, 'update', 'roles/web', { allow_any_name: true });
    await refused(
      m,
      'issue/web',
      { common_name: 'a.example.com' },
      /no CA is configured for this mount/,
    );
    await assert.rejects(call(m, 'read', 'ca/pem'), /no CA is configured/);
  });
});
