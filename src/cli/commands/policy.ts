/**
 * `keep policy ...`: ACL policies under `sys/policies/acl`, plus a local
 * formatter for policy files.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { describeFileError } from '../args-data.ts';
import { dataOf } from '../client.ts';
import { type Command, defineCommand, formatFlags, httpFlags } from '../command.ts';
import { LocalError } from '../errors.ts';
import { compareStrings, formatJson } from '../output.ts';
import { formatPolicy } from '../policy-format.ts';

const write = defineCommand({
  synopsis: 'Uploads a named policy from a file',
  usage: `
Usage: keep policy write [options] NAME PATH

  Uploads a policy with the name NAME from the contents of a local file PATH or
  stdin ("-"). The name is lowercased. An existing policy of that name is
  replaced.

      $ keep policy write my-policy /tmp/policy.hcl
      $ cat my-policy.hcl | keep policy write my-policy -`,
  flags: { ...httpFlags },
  async run(ctx) {
    if (ctx.checkArgs(2, 2)) return 1;
    const name = ctx.args[0].trim().toLowerCase();
    const source = ctx.args[1].trim();

    let rules: string;
    try {
      rules = source === '-' ? await ctx.io.readStdin() : await readFile(source, 'utf8');
    } catch (err) {
      return ctx.fail('Error opening policy file', new LocalError(describeFileError(source, err)));
    }

    try {
      await ctx.client().call('PUT', `sys/policies/acl/${name}`, {
        body: { policy: rules },
      });
    } catch (err) {
      return ctx.fail('Error uploading policy', err);
    }
    ctx.ui.output(`Success! Uploaded policy: ${name}`);
    return 0;
  },
});

const read = defineCommand({
  synopsis: 'Prints the contents of a policy',
  usage: `
Usage: keep policy read [options] NAME

  Prints the contents and metadata of the policy named NAME.

      $ keep policy read my-policy`,
  flags: { ...httpFlags, ...formatFlags },
  async run(ctx) {
    if (ctx.checkArgs(1, 1)) return 1;
    const name = ctx.args[0].trim().toLowerCase();

    let body: Record<string, unknown> | null;
    try {
      body = await ctx.client().call('GET', `sys/policies/acl/${name}`);
    } catch (err) {
      if ((err as { status?: number }).status === 404) body = null;
      else return ctx.fail('Error reading policy named ' + name, err);
    }
    const data = dataOf(body);
    const rules = typeof data.policy === 'string' ? data.policy : data.rules;
    if (typeof rules !== 'string' || rules === '') {
      ctx.ui.error(`No policy named: ${name}`);
      return 2;
    }
    if (ctx.ui.format === 'json') ctx.ui.output(formatJson({ name, policy: rules }));
    else ctx.ui.output(rules.trim());
    return 0;
  },
});

const list = defineCommand({
  synopsis: 'Lists the installed policies',
  usage: `
Usage: keep policy list [options]

  Lists the names of the policies that are installed.

      $ keep policy list`,
  flags: { ...httpFlags, ...formatFlags },
  async run(ctx) {
    if (ctx.checkArgs(0, 0)) return 1;
    let keys: unknown;
    try {
      const secret = await ctx.client().list('sys/policies/acl');
      keys = secret?.data?.keys;
    } catch (err) {
      return ctx.fail('Error listing policies', err);
    }
    const names = Array.isArray(keys) ? keys.map(String).sort(compareStrings) : [];
    if (ctx.ui.format === 'json') return ctx.ui.data(names);
    for (const name of names) ctx.ui.output(name);
    return 0;
  },
});

const remove = defineCommand({
  synopsis: 'Deletes a policy by name',
  usage: `
Usage: keep policy delete [options] NAME

  Deletes the policy named NAME. Tokens that carry it lose its permissions at
  once. The "root" and "default" policies cannot be deleted.

      $ keep policy delete my-policy`,
  flags: { ...httpFlags },
  async run(ctx) {
    if (ctx.checkArgs(1, 1)) return 1;
    const name = ctx.args[0].trim().toLowerCase();
    try {
      await ctx.client().call('DELETE', `sys/policies/acl/${name}`);
    } catch (err) {
      return ctx.fail('Error deleting ' + name, err);
    }
    ctx.ui.output(`Success! Deleted policy: ${name}`);
    return 0;
  },
});

const fmt = defineCommand({
  synopsis: 'Formats a policy on disk',
  usage: `
Usage: keep policy fmt [options] PATH

  Formats a local policy file in place to a canonical layout: path blocks in
  source order, "capabilities" first in each block, aligned "=", two-space
  indentation. The file is parsed with HashiCorp's HCL v1 parser first, so a
  file that Keep would reject is reported and left as it is. Files with comments
  are refused, since the parser does not keep them.

      $ keep policy fmt my-policy.hcl`,
  flags: {},
  async run(ctx) {
    if (ctx.checkArgs(1, 1)) return 1;
    const path = ctx.args[0].trim();
    try {
      const source = await readFile(path, 'utf8').catch((err) => {
        throw new LocalError(describeFileError(path, err));
      });
      await writeFile(path, formatPolicy(source));
    } catch (err) {
      return ctx.fail(
        'Error formatting policy',
        err instanceof LocalError ? err : new LocalError(String((err as Error).message)),
      );
    }
    ctx.ui.output(`Success! Formatted policy: ${path}`);
    return 0;
  },
});

export const policyCommands: Record<string, Command> = {
  'policy write': write,
  'policy read': read,
  'policy list': list,
  'policy delete': remove,
  'policy fmt': fmt,
};

export const policyGroups = {
  policy: `
Usage: keep policy <subcommand> [options] [args]

  Groups subcommands for interacting with ACL policies. Policies say which
  paths a token may use and how (read, create, update, delete, list, ...).`,
};
