/**
 * PEM and CSR input to the PKI engine over real HTTP, fuzzed: `sign/<role>`
 * with broken, truncated, bit-flipped and re-armoured CSRs, and `config/ca`
 * with broken bundles. Every one is a 400 in `{"errors": [...]}`, never a 500,
 * and nothing is stored: the certificates, issuers, keys and CA are as before.
 *
 * `KEEP_FUZZ_RUNS=20000 npm test fuzz-pki` soaks; a failure names its seed.
 */
import assert from 'node:assert/strict';
import { webcrypto } from 'node:crypto';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { x509 } from '../src/engines/pki/x509.ts';
import { type Answer, fuzz, fuzzRuns, rawRequest } from './helpers/fuzz.ts';
import { type KeepProcess, startDevKeep } from './helpers/keep-server.ts';

const ROOT = 'fuzz-pki-root';

function pem(der: Uint8Array, label: string): string {
  const b64 = Buffer.from(der).toString('base64');
  return `-----BEGIN ${label}-----\n${(b64.match(/.{1,64}/g) ?? ['']).join('\n')}\n-----END ${label}-----\n`;
}

function derOf(text: string): Buffer {
  const body = /-----BEGIN [^-]+-----([\s\S]*?)-----END/.exec(text)![1]!;
  return Buffer.from(body.replace(/\s+/g, ''), 'base64');
}

function labelOf(text: string): string {
  return /-----BEGIN ([^-]+)-----/.exec(text)![1]!;
}

/** Ways to damage DER: flip bits, truncate, insert, append trailing data, overwrite a run. */
function derMutation(der: Buffer) {
  return fc.oneof(
    fc.tuple(fc.nat(der.length - 1), fc.integer({ min: 1, max: 255 })).map(([at, xor]) => {
      const out = Buffer.from(der);
      out[at] = out[at]! ^ xor;
      return out;
    }),
    fc.nat(der.length - 1).map((n) => der.subarray(0, n)),
    fc
      .tuple(fc.nat(der.length), fc.uint8Array({ minLength: 1, maxLength: 8 }))
      .map(([at, bytes]) => Buffer.concat([der.subarray(0, at), bytes, der.subarray(at)])),
    fc.uint8Array({ minLength: 1, maxLength: 16 }).map((bytes) => Buffer.concat([der, bytes])),
    fc
      .tuple(fc.nat(der.length - 1), fc.uint8Array({ minLength: 1, maxLength: 8 }))
      .map(([at, bytes]) => {
        const out = Buffer.from(der);
        out.set(bytes.subarray(0, der.length - at), at);
        return out;
      })
      .filter((out) => !out.equals(der)),
  );
}

/** Ways to damage PEM text without making it another valid encoding of the same DER. */
function pemMutation(text: string) {
  return fc.oneof(
    fc
      .tuple(
        fc.nat(text.length),
        fc.constantFrom('!', '*', '-', '=', 'A', '/', '+', '\0', 'é', '-----'),
      )
      .map(([at, c]) => text.slice(0, at) + c + text.slice(at)),
    fc
      .tuple(fc.nat(text.length - 1), fc.integer({ min: 1, max: 40 }))
      .map(([at, n]) => text.slice(0, at) + text.slice(at + n))
      .filter((t) => t.replace(/\s+/g, '') !== text.replace(/\s+/g, '')),
    fc.constant(text + text),
    fc.constant(text.replace(/-----END [^-]+-----/, '')),
    fc.constant(text.replace(/-----BEGIN [^-]+-----/, '')),
    fc.constantFrom('garbage\n', '-----BEGIN X-----\n-----END X-----\n').map((t) => t + text),
  );
}

const LABELS = [
  'CERTIFICATE REQUEST',
  'CERTIFICATE',
  'PRIVATE KEY',
  'EC PRIVATE KEY',
  'RSA PRIVATE KEY',
  'PUBLIC KEY',
  'X509 CRL',
  'ENCRYPTED PRIVATE KEY',
  '',
  'A',
];

/** PEM-armoured nonsense: random labels and bytes, unbalanced armour. */
const randomPem = fc.oneof(
  fc
    .tuple(fc.constantFrom(...LABELS), fc.uint8Array({ maxLength: 300 }))
    .map(([label, bytes]) => pem(bytes, label)),
  fc
    .tuple(fc.constantFrom(...LABELS), fc.constantFrom(...LABELS), fc.string({ maxLength: 80 }))
    .map(([a, b, body]) => `-----BEGIN ${a}-----\n${body}\n-----END ${b}-----\n`),
  fc.string({ maxLength: 300 }),
  fc.string({ unit: 'binary', maxLength: 300 }),
  fc.constantFrom('', ' ', '\n', '-----BEGIN CERTIFICATE REQUEST-----', `${'A'.repeat(5000)}`),
);

describe('PEM and CSR input to the PKI engine', () => {
  let server: KeepProcess;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  let csrPem = '';
  let bundle = { cert: '', key: '' };
  let other = { cert: '', key: '' };

  function call(method: string, path: string, body?: unknown): Promise<Answer> {
    const text = body === undefined ? undefined : JSON.stringify(body);
    return rawRequest(server.addr, agent, method, path, { 'X-Vault-Token': ROOT }, text);
  }

  async function ok(method: string, path: string, body?: unknown) {
    const res = await call(method, path, body);
    assert.ok(
      res.status === 200 || res.status === 204,
      `${method} ${path}: ${res.status} ${res.text}`,
    );
    return res.text ? JSON.parse(res.text) : undefined;
  }

  /** What a failed sign or import must leave alone. */
  async function snapshot() {
    const out: Record<string, unknown> = {};
    for (const path of ['pki/certs', 'pki/issuers', 'pki/keys', 'pki/roles']) {
      const res = await call('LIST', `/v1/${path}`);
      out[path] =
        `${res.status} ${res.status === 200 ? JSON.stringify(JSON.parse(res.text).data) : ''}`;
    }
    for (const path of ['pki/cert/ca', 'pki/config/issuers', 'pki/roles/fuzz']) {
      const res = await call('GET', `/v1/${path}`);
      out[path] =
        `${res.status} ${res.status === 200 ? JSON.stringify(JSON.parse(res.text).data) : ''}`;
    }
    return out;
  }

  async function assertAlive() {
    assert.equal(server.proc.exitCode, null, 'the server process is alive');
    const health = await call('GET', '/v1/sys/health');
    assert.equal(health.status, 200, health.text);
  }

  function assertRefused(res: Answer, what: string) {
    assert.equal(res.status, 400, `${what}: ${res.status} ${res.text.slice(0, 300)}`);
    assert.equal(res.type, 'application/json');
    const body = JSON.parse(res.text);
    assert.ok(Array.isArray(body.errors) && body.errors.length > 0, res.text);
    for (const e of body.errors) assert.equal(typeof e, 'string');
  }

  before(async () => {
    server = await startDevKeep(ROOT);
    for (const mount of ['pki', 'pki_other', 'pki_import']) {
      await ok('POST', `/v1/sys/mounts/${mount}`, { type: 'pki' });
    }
    await ok('POST', '/v1/pki/root/generate/internal', {
      common_name: 'fuzz root',
      key_type: 'ec',
      ttl: '720h',
    });
    await ok('POST', '/v1/pki/roles/fuzz', {
      allow_any_name: true,
      enforce_hostnames: false,
      key_type: 'any',
      ttl: '1h',
      max_ttl: '2h',
    });
    // A CSR the role signs, to damage.
    const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
    const keys = (await webcrypto.subtle.generateKey(alg, true, [
      'sign',
      'verify',
    ])) as CryptoKeyPair;
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: 'CN=fuzz.example.com',
      keys,
      signingAlgorithm: alg,
      extensions: [
        new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'fuzz.example.com' }]),
      ],
    });
    csrPem = csr.toString('pem');
    await ok('POST', '/v1/pki/sign/fuzz', { csr: csrPem, common_name: 'fuzz.example.com' });
    // Two CA bundles from another mount, to damage and to mismatch.
    const a = (
      await ok('POST', '/v1/pki_other/root/generate/exported', {
        common_name: 'a',
        key_type: 'ec',
        ttl: '720h',
      })
    ).data;
    bundle = { cert: a.certificate, key: a.private_key };
    await ok('POST', '/v1/sys/mounts/pki_other2', { type: 'pki' });
    const b = (
      await ok('POST', '/v1/pki_other2/root/generate/exported', {
        common_name: 'b',
        key_type: 'ec',
        ttl: '720h',
      })
    ).data;
    other = { cert: b.certificate, key: b.private_key };
    // The undamaged bundle imports, so the refusals below are about the damage.
    await ok('POST', '/v1/pki_import/config/ca', { pem_bundle: `${bundle.key}\n${bundle.cert}` });
  });

  after(async () => {
    agent.destroy();
    await server?.stop();
  });

  it('refuses every damaged or foreign CSR at sign/<role>, sign-verbatim and root/sign-intermediate with a 400, storing nothing', async () => {
    const before_ = await snapshot();
    const der = derOf(csrPem);
    const csr = fc.oneof(
      { weight: 4, arbitrary: derMutation(der).map((d) => pem(d, 'CERTIFICATE REQUEST')) },
      { weight: 3, arbitrary: pemMutation(csrPem) },
      { weight: 2, arbitrary: randomPem },
      {
        weight: 1,
        arbitrary: fc.constantFrom<unknown>(
          pem(der, 'CERTIFICATE'),
          pem(der, 'PRIVATE KEY'),
          bundle.cert,
          bundle.key,
          `${csrPem}${bundle.cert}`,
          1,
          null,
          [csrPem],
          { csr: csrPem },
          true,
        ),
      },
    );
    // Mostly sign/<role>; the other paths that read a CSR share its parser.
    const endpoint = fc.oneof(
      { weight: 6, arbitrary: fc.constant('sign/fuzz') },
      {
        weight: 1,
        arbitrary: fc.constantFrom('sign-verbatim/fuzz', 'sign-verbatim', 'root/sign-intermediate'),
      },
    );
    let cases = 0;
    await fuzz(
      fc.asyncProperty(csr, endpoint, async (value, path) => {
        const res = await call('POST', `/v1/pki/${path}`, {
          csr: value,
          common_name: 'fuzz.example.com',
        });
        assertRefused(res, `${path} csr ${JSON.stringify(value).slice(0, 400)}`);
        if (++cases % 500 === 0) await assertAlive();
      }),
      2500,
    );
    assert.equal(cases, fuzzRuns(2500));
    await assertAlive();
    assert.deepEqual(await snapshot(), before_);
  });

  it('refuses every damaged or mismatched bundle at config/ca with a 400, storing nothing', async () => {
    const before_ = await snapshot();
    const certDer = derOf(bundle.cert);
    const keyDer = derOf(bundle.key);
    const keyLabel = labelOf(bundle.key);
    const pemBundle = fc.oneof(
      // The CA's own certificate with its key damaged.
      { weight: 3, arbitrary: derMutation(keyDer).map((d) => `${pem(d, keyLabel)}${bundle.cert}`) },
      // The CA's own certificate and key with data after the certificate's DER.
      {
        weight: 1,
        arbitrary: fc
          .uint8Array({ minLength: 1, maxLength: 16 })
          .map((bytes) => `${bundle.key}\n${pem(Buffer.concat([certDer, bytes]), 'CERTIFICATE')}`),
      },
      // A damaged certificate with a key it cannot match.
      {
        weight: 3,
        arbitrary: derMutation(certDer).map((d) => `${other.key}\n${pem(d, 'CERTIFICATE')}`),
      },
      { weight: 2, arbitrary: pemMutation(bundle.key).map((k) => `${k}\n${bundle.cert}`) },
      { weight: 2, arbitrary: randomPem },
      {
        weight: 1,
        arbitrary: fc
          .constantFrom(...LABELS.filter((l) => !l.endsWith('PRIVATE KEY') && l !== 'CERTIFICATE'))
          .map((label) => `${bundle.key}\n${bundle.cert}\n${pem(certDer, label)}`),
      },
      {
        weight: 1,
        arbitrary: fc.constantFrom<unknown>(
          bundle.cert,
          bundle.key,
          `${other.key}\n${bundle.cert}`,
          `${bundle.key}\n${other.key}\n${bundle.cert}`,
          `${bundle.key}\n${other.cert}`,
          csrPem,
          1,
          null,
          [bundle.key, bundle.cert],
          {},
        ),
      },
    );
    let cases = 0;
    await fuzz(
      fc.asyncProperty(pemBundle, async (value) => {
        const res = await call('POST', '/v1/pki/config/ca', { pem_bundle: value });
        assertRefused(res, `pem_bundle ${JSON.stringify(value).slice(0, 600)}`);
        if (++cases % 500 === 0) await assertAlive();
      }),
      2500,
    );
    assert.equal(cases, fuzzRuns(2500));
    await assertAlive();
    assert.deepEqual(await snapshot(), before_);
  });
});
