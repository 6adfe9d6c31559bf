/**
 * `keep audit ...`: enable, disable and list audit devices through `sys/audit`.
 */
import { existsSync } from 'node:fs';
import { type AuditLine, compileQuery, searchFile } from '../../audit/search.ts';
import { type Command, defineCommand, formatFlags, httpFlags } from '../command.ts';
import { parseGoDuration } from '../duration.ts';
import { boolFlag, intFlag, stringFlag } from '../flags.ts';
import { compareStrings, table } from '../output.ts';
import { detailedFlag, mountPath, mountsOf } from './mounts.ts';

const enable = defineCommand({
  synopsis: 'Enables an audit device',
  usage: `
Usage: keep audit enable [options] TYPE [KEY=VALUE...]

  Enables an audit device of TYPE (file or socket) at a path named after its
  TYPE, or at -path. Options for the device follow as KEY=VALUE.

      $ keep audit enable file file_path=/var/log/keep/audit.log
      $ keep audit enable -path=siem socket address=10.0.0.5:9090 socket_type=tcp`,
  flags: {
    ...httpFlags,
    path: stringFlag('Place where the audit device will be accessible. Defaults to TYPE.'),
    description: stringFlag('Human-friendly description of the audit device.'),
    local: boolFlag('Mark the audit device as local-only.'),
  },
  async run(ctx) {
    if (ctx.checkArgs(1, Number.POSITIVE_INFINITY)) return 1;
    const type = ctx.args[0].trim();
    const options: Record<string, string> = {};
    for (const arg of ctx.args.slice(1)) {
      const eq = arg.indexOf('=');
      if (eq <= 0) {
        ctx.ui.error(`Invalid option "${arg}": options are KEY=VALUE`);
        return 1;
      }
      options[arg.slice(0, eq)] = arg.slice(eq + 1);
    }
    const path = mountPath(ctx.flags.path || type);
    try {
      await ctx.client().call('PUT', `sys/audit/${path}`, {
        body: { type, description: ctx.flags.description, local: ctx.flags.local, options },
      });
    } catch (err) {
      return ctx.fail('Error enabling audit device', err);
    }
    ctx.ui.output(`Success! Enabled the ${type} audit device at: ${path}`);
    return 0;
  },
});

const disable = defineCommand({
  synopsis: 'Disables an audit device',
  usage: `
Usage: keep audit disable [options] PATH

  Disables the audit device at PATH. Its salt is dropped: values it logged can
  no longer be matched with sys/audit-hash.

      $ keep audit disable file/`,
  flags: { ...httpFlags },
  async run(ctx) {
    if (ctx.checkArgs(1, 1)) return 1;
    const path = mountPath(ctx.args[0]);
    try {
      await ctx.client().call('DELETE', `sys/audit/${path}`);
    } catch (err) {
      return ctx.fail('Error disabling audit device', err);
    }
    ctx.ui.output(`Success! Disabled audit device (if it was enabled) at: ${path}`);
    return 0;
  },
});

const list = defineCommand({
  synopsis: 'Lists enabled audit devices',
  usage: `
Usage: keep audit list [options]

  Lists the enabled audit devices, with their options under -detailed.

      $ keep audit list -detailed`,
  flags: { ...httpFlags, ...formatFlags, ...detailedFlag },
  async run(ctx) {
    if (ctx.checkArgs(0, 0)) return 1;
    let devices: Record<
      string,
      {
        type?: string;
        description?: string;
        local?: boolean;
        options?: Record<string, string> | null;
      }
    >;
    try {
      devices = mountsOf(await ctx.client().call('GET', 'sys/audit'));
    } catch (err) {
      return ctx.fail('Error listing audits', err);
    }
    if (ctx.ui.format === 'json') return ctx.ui.data(devices);
    const paths = Object.keys(devices).sort(compareStrings);
    if (paths.length === 0) {
      ctx.ui.output('No audit devices are enabled.');
      return 2;
    }
    const rows = paths.map((p) => {
      const d = devices[p];
      const row = [p, d.type ?? '', d.description || 'n/a'];
      if (ctx.flags.detailed) {
        row.push(d.local ? 'local' : 'replicated');
        row.push(
          Object.entries(d.options ?? {})
            .sort(([a], [b]) => compareStrings(a, b))
            .map(([k, v]) => `${k}=${v}`)
            .join(' '),
        );
      }
      return row;
    });
    const header = ['Path', 'Type', 'Description'];
    if (ctx.flags.detailed) header.push('Replication', 'Options');
    ctx.ui.output(table(header, rows));
    return 0;
  },
});

/** `-since=24h` (a duration back from now) or an RFC 3339 time. */
function parseTime(flag: string, text: string): Date {
  if (/^\d{4}-\d{2}-\d{2}/.test(text)) {
    const t = new Date(text);
    if (Number.isNaN(t.getTime())) throw new Error(`invalid time for -${flag}: "${text}"`);
    return t;
  }
  return new Date(Date.now() - parseGoDuration(text) / 1e6);
}

const search = defineCommand({
  synopsis: "Searches a file audit device's log",
  usage: `
Usage: keep audit search [options]

  Searches the log of a file audit device on this machine. Values and
  accessors in the log are HMAC'd, so -value and -accessor are hashed by the
  server (sys/audit-hash, which needs a token) before the search; the log is
  read locally and streamed, however large.

  Who read the database password in the last week:

      $ keep audit search -device=file/ -since=168h -operation=read \\
          -path='secret/data/app/*' -value=hunter2

  The log is found from the device's file_path, or given with -file.`,
  flags: {
    ...httpFlags,
    ...formatFlags,
    device: stringFlag('The file audit device whose log to search, e.g. file/.'),
    file: stringFlag("The log file; read from the device's file_path when not given."),
    since: stringFlag('Only entries at or after this time: a duration back from now, or RFC 3339.'),
    until: stringFlag(
      'Only entries at or before this time: a duration back from now, or RFC 3339.',
    ),
    path: stringFlag(
      'Only requests on this path; "+" matches one segment, a trailing "*" any rest.',
    ),
    operation: stringFlag('Only this operation: read, create, update, delete, list, patch.'),
    type: stringFlag('Only "request" or "response" entries.'),
    accessor: stringFlag('Only requests made with the token of this accessor.'),
    'remote-addr': stringFlag('Only requests from this client address.'),
    status: intFlag('Only responses with this HTTP status.'),
    value: stringFlag('Only entries whose request or response data holds this value.'),
  },
  async run(ctx) {
    if (ctx.checkArgs(0, 0)) return 1;
    const { flags } = ctx;
    if (!flags.device && !flags.file) {
      ctx.ui.error('Either -device or -file is required');
      return 1;
    }
    if (flags.type && flags.type !== 'request' && flags.type !== 'response') {
      ctx.ui.error('-type must be "request" or "response"');
      return 1;
    }
    const device = flags.device ? mountPath(flags.device) : '';
    if ((flags.value || flags.accessor) && !device) {
      ctx.ui.error('-value and -accessor need -device: the server hashes them with its salt');
      return 1;
    }
    let since: Date | undefined;
    let until: Date | undefined;
    try {
      if (flags.since) since = parseTime('since', flags.since);
      if (flags.until) until = parseTime('until', flags.until);
    } catch (err) {
      ctx.ui.error((err as Error).message);
      return 1;
    }

    let file = flags.file;
    let values: string[] | undefined;
    let accessors: string[] | undefined;
    try {
      const hash = async (input: string) => {
        const resp = await ctx
          .client()
          .call('PUT', `sys/audit-hash/${device}`, { body: { input } });
        return String((resp?.data as { hash?: string } | undefined)?.hash ?? '');
      };
      if (!file) {
        const devices = mountsOf(await ctx.client().call('GET', 'sys/audit')) as Record<
          string,
          { type?: string; options?: Record<string, string> | null }
        >;
        const entry = devices[device];
        if (!entry) {
          ctx.ui.error(`No audit device is enabled at ${device}`);
          return 2;
        }
        file = entry.options?.file_path ?? '';
        if (entry.type !== 'file' || !file || file === 'stdout' || file === 'discard') {
          ctx.ui.error(`The device at ${device} does not write a file this command can read`);
          return 1;
        }
      }
      if (flags.value) values = [await hash(flags.value)];
      // The log holds the accessor's HMAC, or the accessor itself with hmac_accessor=false.
      if (flags.accessor) accessors = [await hash(flags.accessor), flags.accessor];
    } catch (err) {
      return ctx.fail('Error preparing the audit search', err);
    }
    if (!existsSync(file)) {
      ctx.ui.error(`Audit log "${file}" does not exist on this machine`);
      return 1;
    }

    const match = compileQuery({
      since,
      until,
      path: flags.path || undefined,
      operation: flags.operation || undefined,
      type: (flags.type || undefined) as 'request' | 'response' | undefined,
      accessors,
      remoteAddress: flags['remote-addr'] || undefined,
      status: ctx.given.has('status') ? flags.status : undefined,
      values,
    });
    const found: AuditLine[] = [];
    const stats = { scanned: 0, unparsable: 0 };
    for await (const line of searchFile(file, match, stats)) found.push(line);
    if (ctx.ui.format === 'json') return ctx.ui.data(found);
    if (found.length === 0) {
      ctx.ui.output(`No entries matched (${stats.scanned} scanned).`);
      return 0;
    }
    const rows = found.map((e) => [
      String(e.time ?? ''),
      String(e.type ?? ''),
      String(e.request?.operation ?? ''),
      String(e.request?.path ?? ''),
      String(e.auth?.display_name ?? ''),
      String(e.request?.remote_address ?? ''),
      e.error ? `error: ${e.error}` : String(e.response?.status ?? ''),
    ]);
    ctx.ui.output(table(['Time', 'Type', 'Operation', 'Path', 'Who', 'From', 'Result'], rows));
    if (stats.unparsable > 0) ctx.ui.error(`${stats.unparsable} lines could not be parsed`);
    return 0;
  },
});

export const auditCommands: Record<string, Command> = {
  'audit enable': enable,
  'audit disable': disable,
  'audit list': list,
  'audit search': search,
};

export const auditGroups = {
  audit: `
Usage: keep audit <subcommand> [options] [args]

  Groups subcommands for interacting with audit devices: enable, disable and
  list them. Every request and response is recorded by the enabled devices,
  with secret values HMAC'd.`,
};
