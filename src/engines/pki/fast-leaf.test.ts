/**
 * The fast leaf path against its oracle: for random subjects, SANs, usages,
 * URLs, policies and validity windows, under RSA, EC and Ed25519 CAs, the
 * TBSCertificate written by fast-leaf.ts is byte-for-byte the one
 * @peculiar/x509 builds through x509.ts; with deterministic signatures (RSA
 * PKCS#1 v1.5, Ed25519) the whole certificate is. EC signatures are checked
 * by verifying them.
 */
import assert from 'node:assert/strict';
import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  canonicalIp,
  leafTbs,
  nameDer,
  signatureAlgorithm,
  signLeaf,
  subjectOfCertificate,
  tbsOfCertificate,
} from './fast-leaf.ts';
import {
  generatePrivateKey,
  type KeyParams,
  publicKeyDer,
  signatureHash,
  signingAlgorithm,
  toSigningKey,
} from './keys.ts';
import { buildName, createCertificate, keyIdOf, newSerialHex, type SubjectFields } from './x509.ts';

async function makeCa(params: KeyParams) {
  const key = await generatePrivateKey(params);
  const subject = buildName({ common_name: 'Oracle CA', organization: ['Keep'] });
  const signingKey = await toSigningKey(key, params);
  const algorithm = signingAlgorithm(params);
  const cert = await createCertificate(
    {
      serialHex: newSerialHex(),
      subject,
      notBefore: new Date(Date.UTC(2000, 0, 1)),
      notAfter: new Date(Date.UTC(2200, 0, 1)),
      publicKey: publicKeyDer(key),
      ca: {},
      keyUsage: 96,
    },
    { name: subject, key: signingKey, algorithm },
  );
  const keyIdHex = await keyIdOf(cert);
  return {
    library: { name: cert.subjectName, key: signingKey, algorithm, keyIdHex },
    fast: {
      issuer: subjectOfCertificate(Buffer.from(cert.rawData)),
      key,
      algorithm: signatureAlgorithm(params, signatureHash(params)),
      keyIdHex,
    },
    cert: new X509Certificate(Buffer.from(cert.rawData)),
  };
}

const leafKeys = [
  generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey,
  generateKeyPairSync('ec', { namedCurve: 'P-384' }).publicKey,
  generateKeyPairSync('ed25519').publicKey,
  generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey,
].map((k) => k.export({ type: 'spki', format: 'der' }));

const text = fc.oneof(
  fc.string({ minLength: 1, maxLength: 20 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 10 }),
  fc.constantFrom('Acme, Inc.', 'a "quoted" + plus', '#hash', 'Zürich', 'x'.repeat(200)),
);
const list = fc.array(text, { maxLength: 3 });
const subject: fc.Arbitrary<Partial<SubjectFields>> = fc.record({
  common_name: fc.oneof(text, fc.domain()),
  ou: list,
  organization: list,
  country: fc.array(fc.constantFrom('NL', 'US', 'DE'), { maxLength: 1 }),
  locality: list,
  province: list,
  street_address: list,
  postal_code: list,
  serial_number: fc.oneof(fc.constant(''), text),
});
const urls = fc.array(fc.webUrl(), { maxLength: 2 });
const date = fc.date({
  min: new Date(Date.UTC(1960, 0, 1)),
  max: new Date(Date.UTC(2150, 0, 1)),
  noInvalidDate: true,
});
const spec = fc.record({
  subject,
  sans: fc.record({
    dns: fc.array(fc.domain(), { maxLength: 4 }),
    emails: fc.array(fc.emailAddress(), { maxLength: 2 }),
    // Both paths get addresses through canonicalIp, as issuance gives them.
    ips: fc.array(fc.oneof(fc.ipV4(), fc.ipV6().map(canonicalIp)), { maxLength: 3 }),
    uris: fc.array(fc.webUrl(), { maxLength: 2 }),
  }),
  keyUsage: fc.integer({ min: 0, max: 511 }),
  extKeyUsage: fc.subarray([
    '1.3.6.1.5.5.7.3.1',
    '1.3.6.1.5.5.7.3.2',
    '1.3.6.1.5.5.7.3.4',
    '2.5.29.37.0',
    '1.3.6.1.4.1.311.10.3.3',
  ]),
  basicConstraintsLeaf: fc.boolean(),
  urls: fc.record({
    issuing_certificates: urls,
    crl_distribution_points: urls,
    ocsp_servers: urls,
  }),
  policyIdentifiers: fc.array(
    fc.constantFrom('1.2.3.4', '2.23.140.1.2.1', '1.3.6.1.4.1.44947.1.1.1'),
    { maxLength: 2 },
  ),
  notBefore: date,
  lifetime: fc.integer({ min: 1, max: 50 * 365 * 86400 }),
  leafKey: fc.integer({ min: 0, max: leafKeys.length - 1 }),
});

describe('fast leaf path, with @peculiar/x509 as the oracle', () => {
  for (const params of [
    { type: 'ec', bits: 256 },
    { type: 'ec', bits: 384 },
    { type: 'rsa', bits: 2048 },
    { type: 'ed25519', bits: 0 },
  ] as KeyParams[]) {
    it(`writes the library's bytes under a ${params.type}${params.bits ? ` ${params.bits}` : ''} CA`, async () => {
      const ca = await makeCa(params);
      const deterministic = params.type !== 'ec';
      await fc.assert(
        fc.asyncProperty(spec, async (s) => {
          const notBefore = new Date(Math.floor(s.notBefore.getTime() / 1000) * 1000);
          const notAfter = new Date(notBefore.getTime() + s.lifetime * 1000);
          const serialHex = newSerialHex();
          const common = {
            notBefore,
            notAfter,
            publicKey: leafKeys[s.leafKey]!,
            sans: s.sans,
            keyUsage: s.keyUsage,
            extKeyUsage: s.extKeyUsage,
            basicConstraintsLeaf: s.basicConstraintsLeaf,
            urls: s.urls,
            policyIdentifiers: s.policyIdentifiers,
          };
          const library = Buffer.from(
            (
              await createCertificate(
                { ...common, serialHex, subject: buildName(s.subject) },
                ca.library,
              )
            ).rawData,
          );
          const fastLeaf = { ...common, serialHex, subject: nameDer(s.subject) };
          assert.deepEqual(leafTbs(fastLeaf, ca.fast), tbsOfCertificate(library));
          const fast = signLeaf(fastLeaf, ca.fast);
          if (deterministic) assert.deepEqual(fast, library);
          const parsed = new X509Certificate(fast);
          assert.equal(parsed.verify(ca.cert.publicKey), true);
          assert.equal(parsed.checkIssued(ca.cert), true);
        }),
        { numRuns: params.type === 'rsa' ? 40 : 100 },
      );
    });
  }

  it('canonicalIp writes IPv6 with an IPv4 tail as hex groups', () => {
    assert.equal(canonicalIp('::0.0.0.1'), '0:0:0:0:0:0:0:1');
    assert.equal(canonicalIp('::ffff:1.2.3.4'), '0:0:0:0:0:ffff:102:304');
    assert.equal(canonicalIp('fe80::1:2'), 'fe80:0:0:0:0:0:1:2');
    assert.equal(canonicalIp('10.0.0.1'), '10.0.0.1');
  });

  it('names sort multi-valued RDNs into DER order, so the library and the fast path agree', () => {
    const fields = { common_name: 'x', ou: ['zeta', 'Alpha', 'beta'] };
    assert.deepEqual(nameDer(fields), Buffer.from(buildName(fields).toArrayBuffer()));
  });
});
