/**
 * `keep secrets ...`: enable, disable, list and tune secrets engines
 * through `sys/mounts`.
 */
import { type Command, defineCommand, formatFlags, httpFlags } from '../command.ts';
import { formatGoDuration } from '../duration.ts';
import { boolFlag, intFlag } from '../flags.ts';
import { detailedFlag, mountFlags, mountPath, mountsOf, mountsTable, ttlToApi } from './mounts.ts';

const enable = defineCommand({
  synopsis: 'Enable a secrets engine',
  usage: `
Usage: keep secrets enable [options] TYPE

  Enables a secrets engine. By default it is mounted at a path named after its
  TYPE; -path chooses another.

      $ keep secrets enable -path=secret kv-v2
      $ keep secrets enable -path=config -version=1 kv
      $ keep secrets enable -description="Team PKI" pki

  "kv-v2" is sent as type "kv" with the option version=2, which every server
  understands.`,
  flags: {
    ...httpFlags,
    ...mountFlags,
    'force-no-cache': boolFlag('Force the secrets engine to disable caching.'),
    version: intFlag('Select the version of the engine to run (KV: 1 or 2).'),
  },
  async run(ctx) {
    if (ctx.checkArgs(1, 1)) return 1;
    const { flags } = ctx;
    const engineType = ctx.args[0].trim();
    const path = mountPath(flags.path || engineType);

    const options: Record<string, string> = { ...flags.options };
    if (flags.version > 0) options.version = String(flags.version);
    let type = engineType;
    if (engineType === 'kv-v2') {
      type = 'kv';
      options.version ??= '2';
    }

    const body: Record<string, unknown> = {
      type,
      description: flags.description,
      config: {
        default_lease_ttl: formatGoDuration(flags['default-lease-ttl']),
        max_lease_ttl: formatGoDuration(flags['max-lease-ttl']),
        force_no_cache: flags['force-no-cache'],
      },
      local: flags.local,
      seal_wrap: flags['seal-wrap'],
      external_entropy_access: false,
    };
    if (Object.keys(options).length > 0) body.options = options;

    try {
      await ctx.client().call('POST', `sys/mounts/${path}`, { body });
    } catch (err) {
      return ctx.fail('Error enabling', err);
    }
    ctx.ui.output(`Success! Enabled the ${engineType} secrets engine at: ${path}`);
    return 0;
  },
});

const disable = defineCommand({
  synopsis: 'Disable a secrets engine',
  usage: `
Usage: keep secrets disable [options] PATH

  Disables the secrets engine at PATH. All secrets under it are revoked and its
  data is deleted.

      $ keep secrets disable aws/`,
  flags: { ...httpFlags },
  async run(ctx) {
    if (ctx.checkArgs(1, 1)) return 1;
    const path = mountPath(ctx.args[0]);
    try {
      await ctx.client().call('DELETE', `sys/mounts/${path}`);
    } catch (err) {
      return ctx.fail(`Error disabling secrets engine at ${path}`, err);
    }
    ctx.ui.output(`Success! Disabled the secrets engine (if it existed) at: ${path}`);
    return 0;
  },
});

const list = defineCommand({
  synopsis: 'List enabled secrets engines',
  usage: `
Usage: keep secrets list [options]

  Lists the enabled secrets engines, their paths, types and descriptions.

      $ keep secrets list
      $ keep secrets list -detailed`,
  flags: { ...httpFlags, ...formatFlags, ...detailedFlag },
  async run(ctx) {
    if (ctx.checkArgs(0, 0)) return 1;
    let mounts: ReturnType<typeof mountsOf>;
    try {
      mounts = mountsOf(await ctx.client().call('GET', 'sys/mounts'));
    } catch (err) {
      return ctx.fail('Error listing secrets engines', err);
    }
    if (ctx.ui.format === 'json') return ctx.ui.data(mounts);
    ctx.ui.output(mountsTable(mounts, ctx.flags.detailed));
    return 0;
  },
});

const tune = defineCommand({
  synopsis: 'Tune a secrets engine configuration',
  usage: `
Usage: keep secrets tune [options] PATH

  Tunes the configuration options of the secrets engine at PATH. Only the
  options given are changed.

      $ keep secrets tune -default-lease-ttl=72h pki/
      $ keep secrets tune -options=version=2 secret/`,
  flags: {
    ...httpFlags,
    description: mountFlags.description,
    'default-lease-ttl': mountFlags['default-lease-ttl'],
    'max-lease-ttl': mountFlags['max-lease-ttl'],
    options: mountFlags.options,
    version: intFlag('Select the version of the engine to run (KV: 1 or 2).'),
  },
  async run(ctx) {
    if (ctx.checkArgs(1, 1)) return 1;
    const { flags, given } = ctx;
    const path = mountPath(ctx.args[0]);

    const body: Record<string, unknown> = {
      default_lease_ttl: ttlToApi(flags['default-lease-ttl']),
      max_lease_ttl: ttlToApi(flags['max-lease-ttl']),
    };
    if (given.has('description')) body.description = flags.description;
    const options: Record<string, string> = { ...flags.options };
    if (flags.version > 0) options.version = String(flags.version);
    if (Object.keys(options).length > 0) body.options = options;

    try {
      await ctx.client().call('POST', `sys/mounts/${path}tune`, { body });
    } catch (err) {
      return ctx.fail(`Error tuning secrets engine ${path}`, err);
    }
    ctx.ui.output(`Success! Tuned the secrets engine at: ${path}`);
    return 0;
  },
});

export const secretsCommands: Record<string, Command> = {
  'secrets enable': enable,
  'secrets disable': disable,
  'secrets list': list,
  'secrets tune': tune,
};

export const secretsGroups = {
  secrets: `
Usage: keep secrets <subcommand> [options] [args]

  Groups subcommands for interacting with secrets engines: enable, disable,
  list and tune them.`,
};
