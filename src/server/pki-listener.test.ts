/**
 * The listener's PKI settings as the config file gives them, and the
 * bootstrap certificate a listener serves before its first issuance. The
 * issuance and renewal themselves run against the real server in
 * test/pki-listener.test.ts.
 */
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { parseServerConfig } from '../config/server-config.ts';
import { bootstrapCertificate } from './pki-listener.ts';

const parse = (listener: string) =>
  parseServerConfig(`storage "inmem" {}\nlistener "tcp" {\n${listener}\n}`, 'hcl');

describe('listener "tcp" with tls_pki_*', () => {
  it('reads the three settings; the certificate files become optional', () => {
    const { config, warnings } = parse(
      'tls_pki_mount = "pki"\ntls_pki_role = "listener"\ntls_pki_common_name = "keep.internal"',
    );
    assert.deepEqual(config.listeners[0]!.tlsPki, {
      mount: 'pki',
      role: 'listener',
      commonName: 'keep.internal',
    });
    assert.equal(config.listeners[0]!.tlsDisable, false);
    assert.deepEqual(warnings, []);
  });

  it('keeps files given beside them, to serve while sealed', () => {
    const { config } = parse(
      'tls_pki_mount = "pki"\ntls_pki_role = "r"\ntls_pki_common_name = "k"\ntls_cert_file = "a.crt"\ntls_key_file = "a.key"',
    );
    assert.equal(config.listeners[0]!.tlsCertFile, 'a.crt');
  });

  it('refuses half a configuration, one file, or tls_disable', () => {
    assert.throws(
      () => parse('tls_pki_mount = "pki"'),
      /needs all of "tls_pki_mount", "tls_pki_role" and "tls_pki_common_name"/,
    );
    assert.throws(
      () =>
        parse(
          'tls_pki_mount = "pki"\ntls_pki_role = "r"\ntls_pki_common_name = "k"\ntls_cert_file = "a.crt"',
        ),
      /both or neither/,
    );
    assert.throws(
      () =>
        parse(
          'tls_disable = true\ntls_pki_mount = "pki"\ntls_pki_role = "r"\ntls_pki_common_name = "k"',
        ),
      /needs TLS/,
    );
  });
});

describe('bootstrap certificate', () => {
  it('is self-signed for the common name, a day long, with the fingerprint it reports', async () => {
    const boot = await bootstrapCertificate('keep.internal');
    const cert = new X509Certificate(boot.cert);
    assert.equal(cert.subject, 'CN=keep.internal');
    assert.equal(cert.subjectAltName, 'DNS:keep.internal');
    assert.equal(cert.issuer, cert.subject);
    assert.equal(cert.verify(cert.publicKey), true);
    assert.equal(cert.fingerprint256, boot.fingerprint);
    const hours = (Date.parse(cert.validTo) - Date.now()) / 3600e3;
    assert.ok(hours > 23.9 && hours <= 24);
    const ip = new X509Certificate((await bootstrapCertificate('127.0.0.1')).cert);
    assert.equal(ip.subjectAltName, 'IP Address:127.0.0.1');
  });
});
