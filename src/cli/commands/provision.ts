/**
 * `keep provision create|rotate|delete`: gives a service in an environment
 * its policy `svc-S-E`, its AppRole role `S-E` and a one-use, short-lived
 * (optionally wrapped) secret ID, dropped beside its role ID at
 * `<drop>/<workload>/` for the workload alone. Secret values are never printed.
 */

import { type DropLocation, parseDropUrl, removeDrop, writeDrop } from '../../provision/drop.ts';
import { checkName } from '../../provision/env-vars.ts';
import {
  applyRole,
  checkedCidrList,
  issueSecretId,
  type ProvisionOptions,
  policyName,
  removeRole,
  roleNameOf,
} from '../../provision/provision.ts';
import { type Command, type CommandContext, defineCommand, httpFlags } from '../command.ts';
import { LocalError } from '../errors.ts';
import { durationFlag, listFlag, stringFlag } from '../flags.ts';

const NS = 1e9;

const flags = {
  ...httpFlags,
  service: stringFlag('Name of the service (required).'),
  env: stringFlag('Name of the environment (required).'),
  workload: stringFlag('Folder name of the drop for this workload. Defaults to SERVICE-ENV.'),
  cidr: listFlag(
    'A network (CIDR) logins and tokens of the role are bound to; repeatable. Default: any.',
  ),
  'secret-id-ttl': durationFlag('Life of each secret ID.', { default: 600 * NS }),
  'wrap-ttl': durationFlag(
    'Wrap the secret ID in a one-use wrapping token living this long (for example 5m). ' +
      'Default: not wrapped.',
  ),
  drop: stringFlag(
    'Where the credentials go: file:///dir or s3://bucket/prefix (the workload gets ' +
      '.../WORKLOAD/). Required for ' +
      'create and rotate; delete removes the drop when given.',
  ),
  'approle-mount': stringFlag('Mount of the AppRole auth method.', { default: 'approle' }),
  'secret-mount': stringFlag('Mount of the KV v2 engine holding the secrets.', {
    default: 'secret',
  }),
};

type Ctx = CommandContext<typeof flags>;

interface Plan {
  opts: ProvisionOptions;
  workload: string;
  drop?: DropLocation;
}

/** Checks the flags; throws LocalError naming the first problem. */
function plan(ctx: Ctx, needDrop: boolean): Plan {
  const f = ctx.flags;
  if (ctx.args.length > 0) {
    throw new LocalError(`unexpected arguments: ${ctx.args.join(' ')} (flags go before them)`);
  }
  for (const [what, value] of [
    ['-service', f.service],
    ['-env', f.env],
  ] as const) {
    const bad = checkName(what, value);
    if (bad) throw new LocalError(bad);
  }
  const workload = f.workload || `${f.service}-${f.env}`;
  const badWorkload = checkName('-workload', workload);
  if (badWorkload) throw new LocalError(badWorkload);
  if (needDrop && !f.drop)
    throw new LocalError('-drop is required: file:///dir or s3://bucket/prefix');
  const drop = f.drop ? parseDropUrl(f.drop) : undefined;
  if (f['secret-id-ttl'] <= 0) throw new LocalError('-secret-id-ttl must be positive');
  if (f['wrap-ttl'] < 0) throw new LocalError('-wrap-ttl cannot be negative');
  return {
    workload,
    drop,
    opts: {
      service: f.service,
      env: f.env,
      approleMount: f['approle-mount'].replace(/^\/+|\/+$/g, ''),
      secretMount: f['secret-mount'].replace(/^\/+|\/+$/g, ''),
      cidrs: checkedCidrList(f.cidr),
      secretIdTtl: Math.ceil(f['secret-id-ttl'] / NS),
      wrapTtl: Math.ceil(f['wrap-ttl'] / NS),
    },
  };
}

async function issueAndDrop(ctx: Ctx, p: Plan, roleId: string): Promise<number> {
  const secret = await issueSecretId(ctx.client(), p.opts);
  let where: string;
  try {
    where = await writeDrop(
      p.drop!,
      p.workload,
      {
        roleId,
        secretId: secret.value,
        wrapped: secret.wrapped,
      },
      ctx.io.env,
    );
  } catch (err) {
    if (err instanceof LocalError) throw err;
    throw new LocalError(`cannot write the drop: ${(err as Error).message}`);
  }
  const what = secret.wrapped
    ? `wrapped secret ID (wrapping accessor ${secret.accessor}, unwrap within ${p.opts.wrapTtl}s)`
    : `secret ID (accessor ${secret.accessor})`;
  ctx.ui.output(
    `Success! Role ${roleNameOf(p.opts.service, p.opts.env)} with policy ` +
      `${policyName(p.opts.service, p.opts.env)}: role ID and ${what}, one use, valid ` +
      `${p.opts.secretIdTtl}s, dropped at ${where}`,
  );
  return 0;
}

const create = defineCommand({
  synopsis: 'Gives a service its policy, AppRole role and dropped credentials',
  usage: `
Usage: keep provision create -service=S -env=E -drop=file:///DIR [options]

  Writes policy svc-S-E (read on secret/S/E, secret/S/global and the config
  prefixes S/E/, S/global/ and global/), creates or updates AppRole role S-E
  with it, and drops the role ID and a fresh one-use secret ID (wrapped with
  -wrap-ttl) at DIR/WORKLOAD/ (folder 0700, files 0600). Safe to repeat.

      $ keep provision create -service=checkout -env=production \\
          -drop=file:///var/lib/keep-drop -wrap-ttl=5m`,
  flags,
  async run(ctx) {
    let p: Plan;
    try {
      p = plan(ctx, true);
    } catch (err) {
      return ctx.fail('Error', err);
    }
    try {
      const roleId = await applyRole(ctx.client(), p.opts);
      return await issueAndDrop(ctx, p, roleId);
    } catch (err) {
      return ctx.fail('Error provisioning', err);
    }
  },
});

const rotate = defineCommand({
  synopsis: 'Issues and drops a fresh secret ID for a provisioned service',
  usage: `
Usage: keep provision rotate -service=S -env=E -drop=file:///DIR [options]

  Issues a new one-use secret ID for role S-E and replaces the dropped one.
  The role must exist ("keep provision create" first).`,
  flags,
  async run(ctx) {
    let p: Plan;
    try {
      p = plan(ctx, true);
    } catch (err) {
      return ctx.fail('Error', err);
    }
    try {
      const role = roleNameOf(p.opts.service, p.opts.env);
      const answer = await ctx.client().read(`auth/${p.opts.approleMount}/role/${role}/role-id`);
      const roleId = answer?.data?.role_id;
      if (typeof roleId !== 'string') {
        throw new LocalError(
          `service ${p.opts.service} in ${p.opts.env} is not provisioned (no role ${role})`,
        );
      }
      return await issueAndDrop(ctx, p, roleId);
    } catch (err) {
      return ctx.fail('Error rotating', err);
    }
  },
});

const remove = defineCommand({
  synopsis: 'Removes a service’s role, its secret IDs, its policy and its drop',
  usage: `
Usage: keep provision delete -service=S -env=E [-drop=file:///DIR] [options]

  Deletes AppRole role S-E (and every secret ID it issued), policy svc-S-E
  and, with -drop, the folder DIR/WORKLOAD/. Nothing there is not an error.`,
  flags,
  async run(ctx) {
    let p: Plan;
    try {
      p = plan(ctx, false);
    } catch (err) {
      return ctx.fail('Error', err);
    }
    try {
      await removeRole(ctx.client(), p.opts);
      if (p.drop) await removeDrop(p.drop, p.workload, ctx.io.env);
      ctx.ui.output(
        `Success! Removed role ${roleNameOf(p.opts.service, p.opts.env)}, policy ` +
          `${policyName(p.opts.service, p.opts.env)}${p.drop ? ' and the drop' : ''}`,
      );
      return 0;
    } catch (err) {
      return ctx.fail('Error deleting', err);
    }
  },
});

export const provisionCommands: Record<string, Command> = {
  'provision create': create,
  'provision rotate': rotate,
  'provision delete': remove,
};

export const provisionGroups: Record<string, string> = {
  provision: `
Usage: keep provision <subcommand> [options]

  Gives a service its own policy, AppRole role and credentials, dropped where
  only its workload can fetch them; "keep env -approle-from" picks them up.`,
};
