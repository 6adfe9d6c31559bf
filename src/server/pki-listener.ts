/**
 * A listener that takes its TLS certificate from one of Keep's own PKI
 * mounts (`tls_pki_mount`, `tls_pki_role`, `tls_pki_common_name` in
 * `listener "tcp"`). Until the server is unsealed and the mount can issue,
 * the listener serves the certificate from its files, or a self-signed
 * bootstrap certificate it announces in the log. Once unsealed, the node
 * issues its own certificate (the key never leaves this process, nothing is
 * written to disk) and swaps it in with `setSecureContext`: new handshakes
 * get the new certificate, open connections carry on. It renews at two
 * thirds of the lifetime, and retries every few seconds after a failure.
 * Issuance is the server's own act, so it goes straight to the mount's
 * backend (no token, no ACL) and is logged with the serial.
 */
import { randomUUID, X509Certificate } from 'node:crypto';
import type * as tls from 'node:tls';
import type { Logger } from 'pino';
import type { Core } from '../core/core.ts';
import {
  generatePrivateKey,
  publicKeyDer,
  signingAlgorithm,
  toSigningKey,
} from '../engines/pki/keys.ts';
import { buildName, certPem, createCertificate, newSerialHex, x509 } from '../engines/pki/x509.ts';
import type { LogicalRequest } from '../framework/types.ts';

export interface ListenerPkiConfig {
  mount: string;
  role: string;
  commonName: string;
}

/** Retry period while sealed, before the mount exists, or after a failure. */
const RETRY_MS = 2000;

export interface ListenerCertRenewer {
  /** Serial and expiry of the certificate issued last, if any. */
  current(): { serial: string; notAfter: Date } | undefined;
  stop(): void;
}

/** A self-signed EC P-256 certificate for the common name, valid for a day. */
export async function bootstrapCertificate(
  commonName: string,
): Promise<{ cert: string; key: string; fingerprint: string }> {
  const params = { type: 'ec' as const, bits: 256 };
  const key = await generatePrivateKey(params);
  const subject = buildName({ common_name: commonName });
  const now = Date.now();
  const isIp = /^[\d.]+$|:/.test(commonName);
  const cert = await createCertificate(
    {
      serialHex: newSerialHex(),
      subject,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 86_400_000),
      publicKey: publicKeyDer(key),
      sans: { dns: isIp ? [] : [commonName], emails: [], ips: isIp ? [commonName] : [], uris: [] },
      keyUsage: x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyAgreement,
      extKeyUsage: ['1.3.6.1.5.5.7.3.1'],
    },
    { name: subject, key: await toSigningKey(key, params), algorithm: signingAlgorithm(params) },
  );
  const pem = certPem(cert);
  return {
    cert: pem,
    key: key.export({ type: 'pkcs8', format: 'pem' }) as string,
    fingerprint: new X509Certificate(pem).fingerprint256,
  };
}

export function startListenerCertRenewer(opts: {
  core: Core;
  server: tls.Server;
  config: ListenerPkiConfig;
  logger: Logger;
  /** What the listener started with (files or bootstrap), served again if an issued certificate lapses. */
  fallback: { cert: string | Buffer; key: string | Buffer };
}): ListenerCertRenewer {
  const { core, server, config, logger } = opts;
  const mount = config.mount.replace(/^\/+|\/+$/g, '');
  let current: { serial: string; notAfter: Date } | undefined;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let lastError = '';

  function schedule(ms: number): void {
    if (stopped) return;
    timer = setTimeout(tick, Math.max(ms, 200));
    timer.unref();
  }

  async function issue(): Promise<{
    cert: string;
    key: string;
    serial: string;
    notAfter: Date;
    lifetimeMs: number;
  }> {
    const path = `${mount}/issue/${config.role}`;
    const mounted = core.mountFor(path);
    if (mounted?.entry.type !== 'pki') throw new Error(`no pki mount at ${mount}/`);
    const req: LogicalRequest = {
      id: randomUUID(),
      operation: 'update',
      path,
      relPath: path.slice(mounted.routePath.length),
      mountPoint: mounted.routePath,
      data: { common_name: config.commonName },
      query: {},
      remoteAddr: 'keep-listener',
      headers: {},
    };
    const resp = await mounted.backend.handle(req, core.unsealed.router.contextFor(mounted));
    const data = resp?.data ?? {};
    const chain = (data.ca_chain as string[] | undefined) ?? [];
    const leaf = new X509Certificate(String(data.certificate));
    return {
      cert: [String(data.certificate), ...chain].join('\n'),
      key: String(data.private_key),
      serial: String(data.serial_number),
      notAfter: new Date(leaf.validTo),
      lifetimeMs: Date.parse(leaf.validTo) - Date.now(),
    };
  }

  async function tick(): Promise<void> {
    if (stopped) return;
    if (core.sealed || core.standby) {
      // A sealed node cannot renew: once its issued certificate lapses it goes back to the fallback.
      if (current && current.notAfter.getTime() <= Date.now()) {
        server.setSecureContext({ cert: opts.fallback.cert, key: opts.fallback.key });
        current = undefined;
        logger.warn(
          { mount },
          'listener certificate from pki expired while sealed; serving the fallback',
        );
      }
      return schedule(RETRY_MS);
    }
    try {
      const issued = await issue();
      if (stopped) return;
      server.setSecureContext({ cert: issued.cert, key: issued.key });
      current = { serial: issued.serial, notAfter: issued.notAfter };
      lastError = '';
      logger.info(
        {
          mount,
          role: config.role,
          serial: issued.serial,
          notAfter: issued.notAfter.toISOString(),
        },
        'listener certificate issued from pki',
      );
      schedule((issued.lifetimeMs * 2) / 3);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      // Said once per distinct failure, not every retry.
      if (message !== lastError) {
        logger.warn(
          { mount, role: config.role, error: message },
          'listener certificate not issued from pki; retrying',
        );
        lastError = message;
      }
      schedule(RETRY_MS);
    }
  }

  schedule(0);
  return {
    current: () => current,
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
