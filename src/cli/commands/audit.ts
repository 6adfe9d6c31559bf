/**
 * `keep audit ...`: enable, disable and list audit devices through `sys/audit`.
 */
import { type Command, defineCommand, formatFlags, httpFlags } from '../command.ts';
import { boolFlag, stringFlag } from '../flags.ts';
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

export const auditCommands: Record<string, Command> = {
  'audit enable': enable,
  'audit disable': disable,
  'audit list': list,
};

export const auditGroups = {
  audit: `
Usage: keep audit <subcommand> [options] [args]

  Groups subcommands for interacting with audit devices: enable, disable and
  list them. Every request and response is recorded by the enabled devices,
  with secret values HMAC'd.`,
};
