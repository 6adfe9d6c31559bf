/**
 * `keep kv metadata ...`: the per-key settings and version history of KV v2.
 */
import { type Command, defineCommand, fieldFlags, formatFlags, httpFlags } from '../command.ts';
import { formatGoDuration } from '../duration.ts';
import { boolFlag, durationFlag, intFlag, mapFlag } from '../flags.ts';
import { type KvTarget, kvPath, resolveKvTarget } from '../kv-paths.ts';
import { headerForMap, mapTable, type Secret } from '../output.ts';
import { mountFlag, outputPath } from './kv-shared.ts';

const kvMetadataGet = defineCommand({
  synopsis: 'Retrieves key metadata from the KV store',
  usage: `
Usage: keep kv metadata get [options] KEY

  Retrieves the metadata from the key/value store (KV v2) at the given key name,
  with the metadata of each version.

      $ keep kv metadata get -mount=secret foo`,
  flags: { ...httpFlags, ...fieldFlags, ...formatFlags, ...mountFlag },
  async run(ctx) {
    if (ctx.checkArgs(1, 1)) return 1;
    const { ui, flags } = ctx;

    let target: KvTarget;
    try {
      target = await resolveKvTarget(ctx.client(), { path: ctx.args[0], mount: flags.mount });
    } catch (err) {
      return ctx.fail('', err);
    }
    if (!target.v2) {
      ui.error('Metadata not supported on KV Version 1');
      return 1;
    }

    const fullPath = kvPath(target, 'metadata');
    let secret: Secret | null;
    try {
      secret = await target.client.read(fullPath);
    } catch (err) {
      return ctx.fail(`Error reading ${fullPath}`, err);
    }
    if (!secret) {
      ui.error(`No value found at ${fullPath}`);
      return 2;
    }
    if (flags.field) return ui.field(secret, flags.field);
    if (ui.format !== 'table' || secret.wrap_info) return ui.secret(secret);

    const { versions, ...rest } = secret.data ?? {};
    if (!versions || typeof versions !== 'object') {
      ui.error(`No value found at ${fullPath}`);
      ui.secret(secret);
      return 2;
    }
    outputPath(ui, fullPath, 'Metadata Path');
    ui.output(headerForMap('Metadata', rest));
    ui.secret({ ...secret, data: rest });

    const byVersion = versions as Record<string, Record<string, unknown>>;
    const numbers = Object.keys(byVersion)
      .map(Number)
      .sort((a, b) => a - b);
    for (const n of numbers) {
      const version = byVersion[String(n)];
      ui.output(`\n${headerForMap(`Version ${n}`, version)}`);
      const text = mapTable(version);
      if (text) ui.output(text);
    }
    return 0;
  },
});

const kvMetadataPut = defineCommand({
  synopsis: 'Sets or updates key settings in the KV store',
  usage: `
Usage: keep kv metadata put [options] KEY

  Creates or updates the metadata of a key (KV v2): how many versions are kept,
  whether writes need check-and-set, when versions are deleted, custom metadata.

      $ keep kv metadata put -mount=secret -max-versions=5 -cas-required foo

      $ keep kv metadata put -mount=secret -custom-metadata=owner=ops foo`,
  flags: {
    ...httpFlags,
    ...formatFlags,
    ...mountFlag,
    'max-versions': intFlag('The number of versions to keep. 0 uses the mount default.', {
      default: -1,
    }),
    'cas-required': boolFlag('If true, writes to the key require the cas parameter.'),
    'delete-version-after': durationFlag(
      'Deletes versions this long after they are written ("30m", "24h"). 0 never deletes.',
    ),
    'custom-metadata': mapFlag('Custom metadata as key=value; repeat the flag for more pairs.'),
  },
  async run(ctx) {
    if (ctx.checkArgs(1, 1)) return 1;
    const { ui, flags, given } = ctx;

    let target: KvTarget;
    try {
      target = await resolveKvTarget(ctx.client(), { path: ctx.args[0], mount: flags.mount });
    } catch (err) {
      return ctx.fail('', err);
    }
    if (!target.v2) {
      ui.error('Metadata not supported on KV Version 1');
      return 1;
    }

    const body: Record<string, unknown> = {};
    if (flags['max-versions'] >= 0) body.max_versions = flags['max-versions'];
    if (given.has('cas-required')) body.cas_required = flags['cas-required'];
    if (given.has('delete-version-after')) {
      body.delete_version_after = formatGoDuration(flags['delete-version-after']);
    }
    if (Object.keys(flags['custom-metadata']).length > 0) {
      body.custom_metadata = flags['custom-metadata'];
    }

    const fullPath = kvPath(target, 'metadata');
    let secret: Secret | null;
    try {
      secret = await target.client.write(fullPath, body);
    } catch (err) {
      return ctx.fail(`Error writing data to ${fullPath}`, err);
    }
    if (!secret) {
      if (ui.format === 'table') ui.output(`Success! Data written to: ${fullPath}`);
      return 0;
    }
    return ui.secret(secret);
  },
});

const kvMetadataDelete = defineCommand({
  synopsis: 'Deletes all versions and metadata for a key in the KV store',
  usage: `
Usage: keep kv metadata delete [options] PATH

  Deletes all versions and the metadata of the given key (KV v2). This cannot be
  undone.

      $ keep kv metadata delete -mount=secret foo`,
  flags: { ...httpFlags, ...mountFlag },
  async run(ctx) {
    if (ctx.checkArgs(1, 1)) return 1;
    const { ui, flags } = ctx;

    let target: KvTarget;
    try {
      target = await resolveKvTarget(ctx.client(), { path: ctx.args[0], mount: flags.mount });
    } catch (err) {
      return ctx.fail('', err);
    }
    if (!target.v2) {
      ui.error('Metadata not supported on KV Version 1');
      return 1;
    }
    const fullPath = kvPath(target, 'metadata');
    try {
      await target.client.delete(fullPath);
    } catch (err) {
      return ctx.fail(`Error deleting ${fullPath}`, err);
    }
    ui.output(`Success! Data deleted (if it existed) at: ${fullPath}`);
    return 0;
  },
});

export const kvMetadataCommands: Record<string, Command> = {
  'kv metadata get': kvMetadataGet,
  'kv metadata put': kvMetadataPut,
  'kv metadata delete': kvMetadataDelete,
};
