/**
 * `keep pki issue | revoke | list`: certificates from a PKI mount without
 * hand-written API calls. `issue` writes the certificate, the key (mode
 * 0600, written to a temporary file and renamed, so it is never readable by
 * others even for a moment) and the CA chain next to each other.
 */
import { chmodSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Command, defineCommand, formatFlags, httpFlags } from '../command.ts';
import { boolFlag, listFlag, stringFlag } from '../flags.ts';
import { formatJson, type Secret } from '../output.ts';

const mountFlag = {
  mount: stringFlag('Path of the PKI secrets engine.', { default: 'pki' }),
};

function mountOf(flag: string): string {
  return flag.replace(/^\/+|\/+$/g, '') || 'pki';
}

/** Writes a file with `mode` from its first byte: temporary file, then rename. */
function writeSafely(path: string, text: string, mode: number): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text.endsWith('\n') ? text : `${text}\n`, { mode, flag: 'wx' });
  chmodSync(tmp, mode);
  renameSync(tmp, path);
}

const issue = defineCommand({
  synopsis: 'Issue a certificate and key from a role, into files',
  usage: `
Usage: keep pki issue [options] ROLE COMMON_NAME

  Issues a certificate for COMMON_NAME under ROLE of the PKI engine at -mount
  and writes three files into -out-dir: NAME.crt (the certificate), NAME.key
  (its private key, mode 0600) and NAME-chain.crt (the CA chain). NAME is
  -name, or the common name with "*" written as "wildcard".

      $ keep pki issue -alt-names=www.example.com web api.example.com
      $ keep pki issue -mount=pki_int -ttl=24h -out-dir=/etc/ssl/keep svc db.svc.internal`,
  flags: {
    ...httpFlags,
    ...formatFlags,
    ...mountFlag,
    ttl: stringFlag('Requested TTL, e.g. "24h"; the role and the mount cap it.'),
    'alt-names': listFlag('More DNS names or e-mail addresses (comma-separated or repeated).'),
    'ip-sans': listFlag('IP addresses (comma-separated or repeated).'),
    'out-dir': stringFlag('Directory the files are written to.', { default: '.' }),
    name: stringFlag('Base name of the files; the common name by default.'),
    force: boolFlag('Overwrite existing files.'),
  },
  async run(ctx) {
    if (ctx.checkArgs(2, 2)) return 1;
    const { ui, flags } = ctx;
    const [role, commonName] = ctx.args as [string, string];
    const base = (flags.name || commonName).replace(/\*/g, 'wildcard').replace(/[/\\]/g, '_');
    const dir = flags['out-dir'] || '.';
    const files = {
      certificate: join(dir, `${base}.crt`),
      private_key: join(dir, `${base}.key`),
      ca_chain: join(dir, `${base}-chain.crt`),
    };
    if (!flags.force) {
      const { existsSync } = await import('node:fs');
      const present = Object.values(files).filter((f) => existsSync(f));
      if (present.length > 0) {
        ui.error(`Refusing to overwrite ${present.join(', ')} (use -force)`);
        return 1;
      }
    }
    const body: Record<string, unknown> = { common_name: commonName };
    if (flags.ttl) body.ttl = flags.ttl;
    if (flags['alt-names']?.length) body.alt_names = flags['alt-names'].join(',');
    if (flags['ip-sans']?.length) body.ip_sans = flags['ip-sans'].join(',');
    const path = `${mountOf(flags.mount)}/issue/${role}`;
    let secret: Secret | null;
    try {
      secret = await ctx.client().write(path, body);
    } catch (err) {
      return ctx.fail(`Error writing data to ${path}`, err);
    }
    const data = secret?.data ?? {};
    try {
      writeSafely(files.private_key, String(data.private_key), 0o600);
      writeSafely(files.certificate, String(data.certificate), 0o644);
      writeSafely(files.ca_chain, ((data.ca_chain as string[]) ?? []).join('\n'), 0o644);
    } catch (err) {
      return ctx.fail('Error writing the certificate files', err);
    }
    for (const w of secret?.warnings ?? []) ui.warn(`WARNING! ${w}`);
    const summary = {
      serial_number: data.serial_number,
      expiration: data.expiration,
      certificate_file: files.certificate,
      private_key_file: files.private_key,
      ca_chain_file: files.ca_chain,
    };
    if (ui.format === 'json') ui.output(formatJson(summary));
    else ui.secret({ data: summary } as Secret);
    return 0;
  },
});

const revoke = defineCommand({
  synopsis: 'Revoke a certificate by serial number',
  usage: `
Usage: keep pki revoke [options] SERIAL

  Revokes the certificate with the given serial number (colon or hyphen
  separated) in the PKI engine at -mount; the CRL is signed again at once.

      $ keep pki revoke 39:dd:2e:90:b7:23:1f:8d:d3:7d:31:c5:1b:da:84:d0:5b:65:31:58`,
  flags: { ...httpFlags, ...formatFlags, ...mountFlag },
  async run(ctx) {
    if (ctx.checkArgs(1, 1)) return 1;
    const path = `${mountOf(ctx.flags.mount)}/revoke`;
    let secret: Secret | null;
    try {
      secret = await ctx.client().write(path, { serial_number: ctx.args[0] });
    } catch (err) {
      return ctx.fail(`Error revoking ${ctx.args[0]}`, err);
    }
    if (ctx.ui.format === 'json') return ctx.ui.secret(secret ?? ({} as Secret));
    ctx.ui.output(
      `Success! Revoked ${ctx.args[0]} at ${secret?.data?.revocation_time_rfc3339 ?? ''}`,
    );
    return 0;
  },
});

const list = defineCommand({
  synopsis: 'List the serial numbers of issued (or revoked) certificates',
  usage: `
Usage: keep pki list [options]

  Lists the serial numbers of the certificates the PKI engine at -mount has
  stored; with -revoked, those it has revoked.

      $ keep pki list -mount=pki_int`,
  flags: {
    ...httpFlags,
    ...formatFlags,
    ...mountFlag,
    revoked: boolFlag('List revoked certificates only.'),
  },
  async run(ctx) {
    if (ctx.checkArgs(0, 0)) return 1;
    const path = `${mountOf(ctx.flags.mount)}/${ctx.flags.revoked ? 'certs/revoked' : 'certs'}`;
    let secret: Secret | null;
    try {
      secret = await ctx.client().list(path);
    } catch (err) {
      return ctx.fail(`Error listing ${path}`, err);
    }
    if (!secret) {
      ctx.ui.error(`No value found at ${path}`);
      return 2;
    }
    return ctx.ui.list(secret);
  },
});

export const pkiCommands: Record<string, Command> = {
  'pki issue': issue,
  'pki revoke': revoke,
  'pki list': list,
};

export const pkiGroups = {
  pki: `
Usage: keep pki <subcommand> [options] [args]

  Groups subcommands for the PKI secrets engine: issue certificates into
  files, revoke them, list them. Roles and CAs are managed with "keep write"
  on the engine's paths, as with Vault.`,
};
