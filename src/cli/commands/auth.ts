/**
 * `keep auth ...`: enable, disable and list auth methods through `sys/auth`.
 */
import { type Command, defineCommand, formatFlags, httpFlags } from '../command.ts';
import { formatGoDuration } from '../duration.ts';
import { detailedFlag, mountFlags, mountPath, mountsOf, mountsTable } from './mounts.ts';

const enable = defineCommand({
  synopsis: 'Enables a new auth method',
  usage: `
Usage: keep auth enable [options] TYPE

  Enables a new auth method. By default it is mounted at a path named after its
  TYPE; -path chooses another.

      $ keep auth enable userpass
      $ keep auth enable -path=ci approle`,
  flags: { ...httpFlags, ...mountFlags },
  async run(ctx) {
    if (ctx.checkArgs(1, 1)) return 1;
    const { flags } = ctx;
    const authType = ctx.args[0].trim();
    const path = mountPath(flags.path || authType);

    const body: Record<string, unknown> = {
      type: authType,
      description: flags.description,
      config: {
        default_lease_ttl: formatGoDuration(flags['default-lease-ttl']),
        max_lease_ttl: formatGoDuration(flags['max-lease-ttl']),
      },
      local: flags.local,
      seal_wrap: flags['seal-wrap'],
    };
    if (Object.keys(flags.options).length > 0) body.options = flags.options;

    try {
      await ctx.client().call('POST', `sys/auth/${path}`, { body });
    } catch (err) {
      return ctx.fail(`Error enabling ${authType} auth`, err);
    }
    ctx.ui.output(`Success! Enabled ${authType} auth method at: ${path}`);
    return 0;
  },
});

const disable = defineCommand({
  synopsis: 'Disables an auth method',
  usage: `
Usage: keep auth disable [options] PATH

  Disables the auth method at PATH. Tokens issued by it are revoked.

      $ keep auth disable userpass/`,
  flags: { ...httpFlags },
  async run(ctx) {
    if (ctx.checkArgs(1, 1)) return 1;
    const path = mountPath(ctx.args[0]);
    try {
      await ctx.client().call('DELETE', `sys/auth/${path}`);
    } catch (err) {
      return ctx.fail(`Error disabling auth method at ${path}`, err);
    }
    ctx.ui.output(`Success! Disabled the auth method (if it existed) at: ${path}`);
    return 0;
  },
});

const list = defineCommand({
  synopsis: 'Lists enabled auth methods',
  usage: `
Usage: keep auth list [options]

  Lists the enabled auth methods, their paths, types and descriptions.

      $ keep auth list
      $ keep auth list -detailed`,
  flags: { ...httpFlags, ...formatFlags, ...detailedFlag },
  async run(ctx) {
    if (ctx.checkArgs(0, 0)) return 1;
    let mounts: ReturnType<typeof mountsOf>;
    try {
      mounts = mountsOf(await ctx.client().call('GET', 'sys/auth'));
    } catch (err) {
      return ctx.fail('Error listing enabled authentications', err);
    }
    if (ctx.ui.format === 'json') return ctx.ui.data(mounts);
    ctx.ui.output(mountsTable(mounts, ctx.flags.detailed));
    return 0;
  },
});

export const authCommands: Record<string, Command> = {
  'auth enable': enable,
  'auth disable': disable,
  'auth list': list,
};

export const authGroups = {
  auth: `
Usage: keep auth <subcommand> [options] [args]

  Groups subcommands for interacting with auth methods: enable, disable and
  list them. To log in, use "keep login".`,
};
