/**
 * `keep read | write | list | delete PATH`: raw access to any API path, the
 * way Vault's generic commands work.
 */
import { parseArgsData } from '../args-data.ts';
import { type Command, defineCommand, fieldFlags, formatFlags, httpFlags } from '../command.ts';
import type { ResponseError } from '../errors.ts';
import { boolFlag } from '../flags.ts';
import { sanitizePath } from '../kv-paths.ts';
import type { Secret } from '../output.ts';

/** `key=value` arguments as query parameters; every value becomes a list of strings. */
function asQuery(data: Record<string, unknown>): Record<string, string[]> {
  const query: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(data)) {
    query[key] = (Array.isArray(value) ? value : [value]).map((v) =>
      typeof v === 'string' ? v : JSON.stringify(v),
    );
  }
  return query;
}

const read = defineCommand({
  synopsis: 'Read data and retrieves secrets',
  usage: `
Usage: keep read [options] PATH [KEY=VALUE...]

  Reads data from the server at the given path. Extra KEY=VALUE pairs are sent
  as query parameters.

      $ keep read secret/my-secret
      $ keep read -field=value secret/my-secret`,
  flags: { ...httpFlags, ...fieldFlags, ...formatFlags },
  async run(ctx) {
    const { ui, flags, args } = ctx;
    if (args.length < 1) {
      ui.error(`Not enough arguments (expected 1, got ${args.length})`);
      return 1;
    }
    const path = sanitizePath(args[0]);

    let query: Record<string, string[]>;
    try {
      query = asQuery(await parseArgsData(args.slice(1), { readStdin: () => ctx.io.readStdin() }));
    } catch (err) {
      return ctx.fail('Failed to parse K=V data', err);
    }

    let secret: Secret | null;
    try {
      secret = await ctx.client().read(path, query);
    } catch (err) {
      return ctx.fail(`Error reading ${path}`, err);
    }
    if (!secret) {
      ui.error(`No value found at ${path}`);
      return 2;
    }
    if (flags.field) return ui.field(secret, flags.field);
    return ui.secret(secret);
  },
});

const write = defineCommand({
  synopsis: 'Write data, configuration, and secrets',
  usage: `
Usage: keep write [options] PATH [DATA K=V...]

  Writes data to the server at the given path. The data is KEY=VALUE pairs;
  "@file" reads a value or a JSON object from a file and "-" reads from stdin.

      $ keep write secret/password value=itsasecret
      $ keep write auth/token/create policies=default -
      $ keep write -force sys/rotate`,
  flags: {
    ...httpFlags,
    ...fieldFlags,
    ...formatFlags,
    force: boolFlag(
      'Allow the operation to continue with no key=value pairs. This allows writing to ' +
        'keys that do not need or expect data.',
      { aliases: ['f'] },
    ),
  },
  async run(ctx) {
    const { ui, flags, args } = ctx;
    if (args.length < 1) {
      ui.error(`Not enough arguments (expected 1, got ${args.length})`);
      return 1;
    }
    if (args.length === 1 && !flags.force) {
      ui.error('Must supply data or use -force');
      return 1;
    }
    const path = sanitizePath(args[0]);

    let data: Record<string, unknown>;
    try {
      data = await parseArgsData(args.slice(1), { readStdin: () => ctx.io.readStdin() });
    } catch (err) {
      return ctx.fail('Failed to parse K=V data', err);
    }

    let secret: Secret | null;
    try {
      secret = await ctx.client().write(path, data);
    } catch (err) {
      const code = ctx.fail(`Error writing data to ${path}`, err);
      const attached = (err as ResponseError & { secret?: Secret }).secret;
      if (attached) ui.secret(attached);
      return code;
    }
    if (!secret) {
      if (ui.format === 'table') ui.output(`Success! Data written to: ${path}`);
      return 0;
    }
    if (flags.field) return ui.field(secret, flags.field);
    return ui.secret(secret);
  },
});

const list = defineCommand({
  synopsis: 'List data or secrets',
  usage: `
Usage: keep list [options] PATH

  Lists data from the server at the given path. Folders end in "/".

      $ keep list secret/my-app/`,
  flags: { ...httpFlags, ...formatFlags },
  async run(ctx) {
    if (ctx.checkArgs(1, 1)) return 1;
    const { ui } = ctx;
    const path = `${sanitizePath(ctx.args[0])}/`;

    let secret: Secret | null;
    try {
      secret = await ctx.client().list(path);
    } catch (err) {
      return ctx.fail(`Error listing ${path}`, err);
    }
    if (!secret || !Array.isArray(secret.data?.keys)) {
      ui.error(`No value found at ${path}`);
      return 2;
    }
    return ui.list(secret);
  },
});

const remove = defineCommand({
  synopsis: 'Delete secrets and configuration',
  usage: `
Usage: keep delete [options] PATH [KEY=VALUE...]

  Deletes secrets and configuration at the given path. Extra KEY=VALUE pairs are
  sent as query parameters.

      $ keep delete secret/my-secret`,
  flags: { ...httpFlags },
  async run(ctx) {
    const { ui, args } = ctx;
    if (args.length < 1) {
      ui.error(`Not enough arguments (expected 1, got ${args.length})`);
      return 1;
    }
    const path = sanitizePath(args[0]);

    let query: Record<string, string[]>;
    try {
      query = asQuery(await parseArgsData(args.slice(1), { readStdin: () => ctx.io.readStdin() }));
    } catch (err) {
      return ctx.fail('Failed to parse K=V data', err);
    }
    try {
      await ctx.client().delete(path, query);
    } catch (err) {
      return ctx.fail(`Error deleting ${path}`, err);
    }
    ui.output(`Success! Data deleted (if it existed) at: ${path}`);
    return 0;
  },
});

export const readWriteCommands: Record<string, Command> = {
  read,
  write,
  list,
  delete: remove,
};
