/**
 * `keep token ...`: create, look up, renew and revoke tokens, and ask what a
 * token may do on a path. Requests and output follow Vault's CLI.
 */
import { type Command, defineCommand, fieldFlags, formatFlags, httpFlags } from '../command.ts';
import { formatGoDuration, NS_PER_SECOND } from '../duration.ts';
import { boolFlag, durationFlag, intFlag, listFlag, mapFlag, stringFlag } from '../flags.ts';
import { compareStrings, type Secret } from '../output.ts';

const create = defineCommand({
  synopsis: 'Create a new token',
  usage: `
Usage: keep token create [options]

  Creates a new token that can be used for authentication. The token is a child
  of the current token unless -orphan is given, and carries the policies named
  with -policy (repeat the flag for several).

      $ keep token create -policy=my-policy -policy=other -ttl=8h

  A periodic token, renewable for ever within its period:

      $ keep token create -period=24h`,
  flags: {
    ...httpFlags,
    ...fieldFlags,
    ...formatFlags,
    id: stringFlag('Value for the token. By default a random value is generated.'),
    'display-name': stringFlag('Name to associate with this token.'),
    ttl: durationFlag('Initial TTL to associate with the token (e.g. "30m", "24h").'),
    'explicit-max-ttl': durationFlag(
      'Explicit maximum lifetime for the token. Unlike normal TTLs, renewals cannot extend it.',
    ),
    period: durationFlag(
      'If specified, every renewal will use the given period. Periodic tokens do not expire ' +
        'as long as they are renewed within the period.',
    ),
    renewable: boolFlag('Allow the token to be renewed up to its maximum TTL.', {
      default: true,
    }),
    orphan: boolFlag('Create the token with no parent.'),
    'no-default-policy': boolFlag('Detach the "default" policy from the token.'),
    'use-limit': intFlag('Number of times this token can be used. 0 is unlimited.'),
    role: stringFlag('Name of the token role to create the token against.'),
    type: stringFlag('The type of token to create: "service" or "batch".', {
      default: 'service',
    }),
    policy: listFlag('Name of a policy to attach. Repeat the flag for several policies.'),
    metadata: mapFlag('Arbitrary key=value metadata for the token. Repeat for several.'),
  },
  async run(ctx) {
    if (ctx.checkArgs(0, 0)) return 1;
    const { flags, ui } = ctx;

    const body: Record<string, unknown> = {
      display_name: flags['display-name'],
      num_uses: flags['use-limit'],
      renewable: flags.renewable,
      ttl: formatGoDuration(flags.ttl),
      explicit_max_ttl: formatGoDuration(flags['explicit-max-ttl']),
      period: formatGoDuration(flags.period),
      type: flags.type,
      entity_alias: '',
    };
    if (flags.id) body.id = flags.id;
    if (flags.policy.length > 0) body.policies = flags.policy;
    if (Object.keys(flags.metadata).length > 0) body.meta = flags.metadata;
    if (flags.orphan) body.no_parent = true;
    if (flags['no-default-policy']) body.no_default_policy = true;

    const path = flags.role
      ? `auth/token/create/${flags.role}`
      : flags.orphan
        ? 'auth/token/create-orphan'
        : 'auth/token/create';

    let secret: Secret | null;
    try {
      secret = await ctx.client().write(path, body, { method: 'POST' });
    } catch (err) {
      return ctx.fail('Error creating token', err);
    }
    if (!secret) {
      ui.error('Error creating token: the server returned no token');
      return 2;
    }
    if (flags.field) return ui.field(secret, flags.field);
    return ui.secret(secret);
  },
});

const lookup = defineCommand({
  synopsis: 'Display information about a token',
  usage: `
Usage: keep token lookup [options] [TOKEN | ACCESSOR]

  Displays information about a token or accessor. Without an argument, the
  locally authenticated token is looked up.

      $ keep token lookup
      $ keep token lookup 96ddf4bc-d217-f3ba-f9bd-017055595017
      $ keep token lookup -accessor 9793c9b3-e04a-46f3-e7b8-748d7da248da`,
  flags: {
    ...httpFlags,
    ...fieldFlags,
    ...formatFlags,
    accessor: boolFlag('Treat the argument as an accessor instead of a token.'),
  },
  async run(ctx) {
    const { flags, ui, args } = ctx;
    if (args.length > 1) {
      ui.error(`Too many arguments (expected 0-1, got ${args.length})`);
      return 1;
    }
    if (flags.accessor && args.length === 0) {
      ui.error('Not enough arguments with -accessor (expected 1, got 0)');
      return 1;
    }

    let secret: Secret | null;
    try {
      const client = ctx.client();
      if (flags.accessor) {
        secret = await client.write(
          'auth/token/lookup-accessor',
          { accessor: args[0] },
          { method: 'POST' },
        );
      } else if (args.length === 1) {
        secret = await client.write('auth/token/lookup', { token: args[0] }, { method: 'POST' });
      } else {
        secret = await client.read('auth/token/lookup-self');
      }
    } catch (err) {
      return ctx.fail('Error looking up token', err);
    }
    if (!secret) {
      ui.error('Error looking up token: no token information returned');
      return 2;
    }
    if (flags.field) return ui.field(secret, flags.field);
    return ui.secret(secret);
  },
});

const renew = defineCommand({
  synopsis: 'Renew a token lease',
  usage: `
Usage: keep token renew [options] [TOKEN]

  Renews a token's lease, extending how long it may be used. Without an
  argument the locally authenticated token is renewed.

      $ keep token renew
      $ keep token renew -increment=30m 96ddf4bc-d217-f3ba-f9bd-017055595017`,
  flags: {
    ...httpFlags,
    ...fieldFlags,
    ...formatFlags,
    increment: durationFlag(
      'Request a specific increment for renewal. The server may not honor it. If not ' +
        'supplied, the server uses the default TTL.',
      { aliases: ['i'] },
    ),
    accessor: boolFlag('Treat the argument as an accessor instead of a token.'),
  },
  async run(ctx) {
    const { flags, ui, args } = ctx;
    if (args.length > 1) {
      ui.error(`Too many arguments (expected 0-1, got ${args.length})`);
      return 1;
    }
    // Increments under a second are meaningless to the server; Vault sends 0.
    const increment =
      flags.increment < NS_PER_SECOND ? 0 : Math.trunc(flags.increment / NS_PER_SECOND);

    let secret: Secret | null;
    try {
      const client = ctx.client();
      if (flags.accessor) {
        secret = await client.write('auth/token/renew-accessor', {
          accessor: args[0] ?? '',
          increment,
        });
      } else if (args.length === 1) {
        secret = await client.write('auth/token/renew', { token: args[0], increment });
      } else {
        secret = await client.write('auth/token/renew-self', { increment });
      }
    } catch (err) {
      return ctx.fail('Error renewing token', err);
    }
    if (!secret) {
      ui.error('Error renewing token: no token information returned');
      return 2;
    }
    if (flags.field) return ui.field(secret, flags.field);
    return ui.secret(secret);
  },
});

const revoke = defineCommand({
  synopsis: 'Revoke a token and its children',
  usage: `
Usage: keep token revoke [options] [TOKEN | ACCESSOR]

  Revokes a token and, by default, all of its children. With -mode=orphan the
  children are kept as orphans; with -mode=path every token created under the
  given path prefix is revoked.

      $ keep token revoke 96ddf4bc-d217-f3ba-f9bd-017055595017
      $ keep token revoke -self
      $ keep token revoke -accessor 9793c9b3-e04a-46f3-e7b8-748d7da248da`,
  flags: {
    ...httpFlags,
    accessor: boolFlag('Treat the argument as an accessor instead of a token.'),
    self: boolFlag('Revoke the currently authenticated token.'),
    mode: stringFlag(
      'Type of revocation: "" (the token and its children), "orphan" (the token only; ' +
        'children become orphans) or "path" (every token under the path prefix).',
    ),
  },
  async run(ctx) {
    const { flags, ui, args } = ctx;
    if (!['', 'orphan', 'path'].includes(flags.mode)) {
      ui.error(`Invalid mode: ${flags.mode}`);
      return 1;
    }
    const problem =
      flags.self && args.length > 0
        ? `Too many arguments with -self (expected 0, got ${args.length})`
        : !flags.self && args.length > 1
          ? `Too many arguments (expected 1 or -self, got ${args.length})`
          : !flags.self && args.length < 1
            ? `Not enough arguments (expected 1 or -self, got ${args.length})`
            : flags.self && flags.accessor
              ? 'Cannot use -self with -accessor!'
              : flags.self && flags.mode
                ? 'Cannot use -self with -mode!'
                : flags.accessor && flags.mode
                  ? `Cannot use -accessor with -mode=${flags.mode}!`
                  : '';
    if (problem) {
      ui.error(problem);
      return 1;
    }

    const token = (args[0] ?? '').trim();
    try {
      const client = ctx.client();
      if (flags.self) await client.write('auth/token/revoke-self', {});
      else if (flags.accessor) {
        await client.write('auth/token/revoke-accessor', { accessor: token }, { method: 'POST' });
      } else if (flags.mode === 'orphan') {
        await client.write('auth/token/revoke-orphan', { token });
      } else if (flags.mode === 'path') {
        await client.write(`sys/leases/revoke-prefix/${token}`, {});
      } else await client.write('auth/token/revoke', { token });
    } catch (err) {
      return ctx.fail('Error revoking token', err);
    }
    ui.output('Success! Revoked token (if it existed)');
    return 0;
  },
});

const capabilities = defineCommand({
  synopsis: 'Print capabilities of a token on a path',
  usage: `
Usage: keep token capabilities [options] [TOKEN] PATH

  Fetches the capabilities of a token for a given path. With a TOKEN the
  "sys/capabilities" endpoint is used; without one, "sys/capabilities-self"
  with the locally authenticated token.

      $ keep token capabilities secret/foo
      $ keep token capabilities 96ddf4bc-d217-f3ba-f9bd-017055595017 cubbyhole/foo`,
  flags: { ...httpFlags, ...formatFlags },
  async run(ctx) {
    const { ui, args } = ctx;
    if (args.length === 0) {
      ui.error('Not enough arguments (expected 1-2, got 0)');
      return 1;
    }
    if (args.length > 2) {
      ui.error(`Too many arguments (expected 1-2, got ${args.length})`);
      return 1;
    }
    const [token, path] = args.length === 2 ? args : [undefined, args[0]];

    let secret: Secret | null;
    try {
      const client = ctx.client();
      secret = token
        ? await client.write('sys/capabilities', { token, paths: [path] }, { method: 'POST' })
        : await client.write('sys/capabilities-self', { paths: [path] }, { method: 'POST' });
    } catch (err) {
      return ctx.fail('Error listing capabilities', err);
    }
    // Answers name the path, or carry a flat "capabilities" list; old servers put it at the top.
    const body = (secret ?? {}) as Secret & Record<string, unknown>;
    const data = { ...body, ...(body.data ?? {}) } as Record<string, unknown>;
    const caps = (data[path] ?? data.capabilities) as string[] | undefined;
    if (!Array.isArray(caps)) {
      ui.error('No capabilities found');
      return 1;
    }
    if (ui.format === 'json') return ui.data(caps);
    ui.output([...caps].sort(compareStrings).join(', '));
    return 0;
  },
});

export const tokenCommands: Record<string, Command> = {
  'token create': create,
  'token lookup': lookup,
  'token renew': renew,
  'token revoke': revoke,
  'token capabilities': capabilities,
};

export const tokenGroups = {
  token: `
Usage: keep token <subcommand> [options] [args]

  Groups subcommands for interacting with tokens: create them, look them up,
  renew and revoke them, and list their capabilities on a path.`,
};
