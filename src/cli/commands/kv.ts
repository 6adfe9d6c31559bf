/**
 * `keep kv ...`: the key/value secrets engine, v1 and v2, with Vault's
 * command names, flags, request paths and output.
 */
import { parseArgsData } from '../args-data.ts';
import { type Command, defineCommand, fieldFlags, formatFlags, httpFlags } from '../command.ts';
import type { ResponseError } from '../errors.ts';
import { intFlag, listFlag, stringFlag } from '../flags.ts';
import { type KvTarget, kvPath, resolveKvTarget } from '../kv-paths.ts';
import { headerForMap, mapTable, type Secret } from '../output.ts';
import { kvMetadataCommands } from './kv-metadata.ts';
import {
  mountFlag,
  outputAttached,
  outputPath,
  outputWriteResult,
  parseVersions,
  versionsFlag,
} from './kv-shared.ts';

const kvGet = defineCommand({
  synopsis: 'Retrieves data from the KV store',
  usage: `
Usage: keep kv get [options] KEY

  Retrieves the value at the given key name from the key/value store. For KV v2
  the latest version is returned unless -version says otherwise.

      $ keep kv get -mount=secret foo

  The path-like form also works:

      $ keep kv get secret/foo

      $ keep kv get -mount=secret -version=1 foo`,
  flags: {
    ...httpFlags,
    ...fieldFlags,
    ...formatFlags,
    ...mountFlag,
    version: intFlag('If passed, the value at the version number will be returned.'),
  },
  async run(ctx) {
    if (ctx.checkArgs(1, 1)) return 1;
    const { ui, flags } = ctx;

    let target: KvTarget;
    try {
      target = await resolveKvTarget(ctx.client(), {
        path: ctx.args[0],
        mount: flags.mount,
        trimAll: false,
      });
    } catch (err) {
      return ctx.fail('', err);
    }
    const fullPath = kvPath(target, 'data');
    const query = target.v2 && flags.version > 0 ? { version: String(flags.version) } : undefined;

    let secret: Secret | null;
    try {
      secret = await target.client.read(fullPath, query);
    } catch (err) {
      return ctx.fail(`Error reading ${fullPath}`, err);
    }
    if (!secret) {
      ui.error(`No value found at ${fullPath}`);
      return 2;
    }

    if (flags.field) {
      if (!target.v2) return ui.field(secret, flags.field);
      const data = secret.data?.data as Record<string, unknown> | null | undefined;
      if (!data) {
        ui.error(`No data found at ${fullPath}`);
        return 2;
      }
      // A literal "data" field may mean a key named data or the data block itself.
      if (flags.field === 'data' && !('data' in data)) return ui.field(secret, 'data');
      return ui.dataField(data, flags.field);
    }

    if (ui.format !== 'table' || secret.wrap_info) return ui.secret(secret);
    ui.warnings(secret);
    if (target.v2) outputPath(ui, fullPath, 'Secret Path');

    const metadata = secret.data?.metadata as Record<string, unknown> | null | undefined;
    if (metadata) {
      ui.output(headerForMap('Metadata', metadata));
      const text = mapTable(metadata);
      if (text) ui.output(text);
      ui.output('');
    }

    const data = target.v2
      ? (secret.data?.data as Record<string, unknown> | null | undefined)
      : secret.data;
    if (data) {
      ui.output(headerForMap('Data', data));
      const text = mapTable(data);
      if (text) ui.output(text);
    }
    return 0;
  },
});

const kvPut = defineCommand({
  synopsis: 'Sets or updates data in the KV store',
  usage: `
Usage: keep kv put [options] KEY [DATA]

  Writes the data to the given path in the key/value store. The data can be of
  any type. For KV v2 this creates a new version.

      $ keep kv put -mount=secret foo bar=baz

  The data can also be consumed from a file on disk by prefixing with "@":

      $ keep kv put -mount=secret foo @data.json

  Or from stdin with "-", or a single value from a file or stdin:

      $ echo '{"bar":"baz"}' | keep kv put -mount=secret foo -
      $ keep kv put -mount=secret foo cert=@cert.pem token=-`,
  flags: {
    ...httpFlags,
    ...fieldFlags,
    ...formatFlags,
    ...mountFlag,
    cas: intFlag(
      'Specifies to use a Check-And-Set operation. If not set the write will be allowed. If ' +
        'set to 0 a write will only be allowed if the key doesn’t exist. If the index is ' +
        'non-zero the write will only be allowed if the key’s current version matches.',
      { default: -1 },
    ),
  },
  async run(ctx) {
    const { ui, flags, args } = ctx;
    if (args.length < 1) {
      ui.error(`Not enough arguments (expected >1, got ${args.length})`);
      return 1;
    }
    if (args.length === 1) {
      ui.error('Must supply data');
      return 1;
    }

    let data: Record<string, unknown>;
    try {
      data = await parseArgsData(args.slice(1), { readStdin: () => ctx.io.readStdin() });
    } catch (err) {
      return ctx.fail('Failed to parse K=V data', err);
    }

    let target: KvTarget;
    try {
      target = await resolveKvTarget(ctx.client(), { path: args[0], mount: flags.mount });
    } catch (err) {
      return ctx.fail('', err);
    }
    const fullPath = kvPath(target, 'data');
    const options: Record<string, unknown> = {};
    if (flags.cas > -1) options.cas = flags.cas;
    const body = target.v2 ? { data, options } : data;

    let secret: Secret | null;
    try {
      secret = await target.client.write(fullPath, body);
    } catch (err) {
      const code = ctx.fail(`Error writing data to ${fullPath}`, err);
      outputAttached(ui, err);
      return code;
    }
    if (!secret) {
      if (ui.format === 'table') ui.output(`Success! Data written to: ${fullPath}`);
      return 0;
    }
    if (flags.field) return ui.field(secret, flags.field);
    return outputWriteResult(ui, fullPath, secret);
  },
});

const MERGE_PATCH = { 'Content-Type': 'application/merge-patch+json' };

const kvPatch = defineCommand({
  synopsis: 'Sets or updates data in the KV store without overwriting',
  usage: `
Usage: keep kv patch [options] KEY [DATA]

  Writes the data to the given path in the key/value store, merging it into the
  latest version (KV v2 only). By default an HTTP PATCH is sent; if the server or
  the policy refuses PATCH, the command reads the secret and writes it back
  merged, guarded by check-and-set.

      $ keep kv patch -mount=secret foo bar=baz

      $ keep kv patch -mount=secret -remove-data=bar foo`,
  flags: {
    ...httpFlags,
    ...fieldFlags,
    ...formatFlags,
    ...mountFlag,
    cas: intFlag(
      'Specifies to use a Check-And-Set operation. If set to a non-zero index the patch is ' +
        'only allowed if the key’s current version matches.',
    ),
    method: stringFlag(
      'Specifies which method of patching to use. "patch" sends an HTTP PATCH request; "rw" ' +
        'reads, merges locally and writes back.',
    ),
    'remove-data': listFlag(
      'Key to remove from data. To remove several, specify this flag several times.',
    ),
  },
  async run(ctx) {
    const { ui, flags, args } = ctx;
    if (args.length < 1) {
      ui.error(`Not enough arguments (expected >1, got ${args.length})`);
      return 1;
    }
    if (flags['remove-data'].length === 0 && args.length === 1) {
      ui.error('Must supply data');
      return 1;
    }

    let newData: Record<string, unknown>;
    try {
      newData = await parseArgsData(args.slice(1), { readStdin: () => ctx.io.readStdin() });
    } catch (err) {
      return ctx.fail('Failed to parse K=V data', err);
    }
    // A null in a JSON merge patch removes the key.
    for (const key of flags['remove-data']) newData[key] = null;

    if (!['', 'patch', 'rw'].includes(flags.method)) {
      ui.error(`Unsupported method provided to -method flag: ${flags.method}`);
      return 2;
    }

    let target: KvTarget;
    try {
      target = await resolveKvTarget(ctx.client(), { path: args[0], mount: flags.mount });
    } catch (err) {
      return ctx.fail('', err);
    }
    if (!target.v2) {
      ui.error('KV engine mount must be version 2 for patch support');
      return 2;
    }
    const fullPath = kvPath(target, 'data');
    const client = target.client;

    const readThenWrite = async (): Promise<Secret | null | number> => {
      let current: Secret | null;
      try {
        current = await client.read(fullPath);
      } catch (err) {
        return ctx.fail(`Error doing pre-read at ${fullPath}`, err);
      }
      const meta = current?.data?.metadata as Record<string, unknown> | null | undefined;
      const data = current?.data?.data as Record<string, unknown> | null | undefined;
      if (!current?.data) {
        ui.error(`No value found at ${fullPath}`);
        return 2;
      }
      if (!meta) {
        ui.error(`No metadata found at ${fullPath}; patch only works on existing data`);
        return 2;
      }
      if (!data) {
        ui.error(`No data found at ${fullPath}; patch only works on existing data`);
        return 2;
      }
      try {
        return await client.write(fullPath, {
          data: { ...data, ...newData },
          options: { cas: meta.version },
        });
      } catch (err) {
        return ctx.fail(`Error writing data to ${fullPath}`, err);
      }
    };

    let result: Secret | null | number;
    if (flags.method === 'rw') {
      result = await readThenWrite();
    } else {
      const options: Record<string, unknown> = {};
      if (flags.cas > 0) options.cas = flags.cas;
      try {
        result = await client.write(
          fullPath,
          { data: newData, options },
          {
            method: 'PATCH',
            headers: MERGE_PATCH,
          },
        );
      } catch (err) {
        const status = (err as ResponseError).status;
        if (flags.method === '' && status === 405) {
          result = await readThenWrite();
        } else if (flags.method === '' && status === 403) {
          ui.warn(
            `Data was written to ${fullPath} but we recommend that you add the "patch" ` +
              'capability to your ACL policy in order to use HTTP PATCH in the future.',
          );
          result = await readThenWrite();
        } else {
          return ctx.fail(`Error writing data to ${fullPath}`, err);
        }
      }
    }

    if (typeof result === 'number') return result;
    if (!result) {
      if (ui.format === 'table') ui.output(`Success! Data written to: ${fullPath}`);
      return 0;
    }
    if (flags.field) return ui.field(result, flags.field);
    return outputWriteResult(ui, fullPath, result);
  },
});

const kvDelete = defineCommand({
  synopsis: 'Deletes versions in the KV store',
  usage: `
Usage: keep kv delete [options] PATH

  Deletes the data for the provided version and path in the key/value store. For
  KV v2 the versions can be undeleted with "keep kv undelete"; without -versions
  the latest version is deleted.

      $ keep kv delete -mount=secret foo

      $ keep kv delete -mount=secret -versions=3,7 foo`,
  flags: { ...httpFlags, ...mountFlag, ...versionsFlag },
  async run(ctx) {
    if (ctx.checkArgs(1, 1)) return 1;
    const { ui, flags } = ctx;

    let target: KvTarget;
    try {
      target = await resolveKvTarget(ctx.client(), { path: ctx.args[0], mount: flags.mount });
    } catch (err) {
      return ctx.fail('', err);
    }

    const versions = parseVersions(flags.versions);
    const useVersions = target.v2 && versions.length > 0;
    const fullPath = kvPath(target, useVersions ? 'delete' : 'data');
    try {
      if (useVersions) await target.client.write(fullPath, { versions });
      else await target.client.delete(fullPath);
    } catch (err) {
      const code = ctx.fail(`Error deleting ${fullPath}`, err);
      outputAttached(ui, err);
      return code;
    }
    ui.output(`Success! Data deleted (if it existed) at: ${fullPath}`);
    return 0;
  },
});

/** `kv undelete` and `kv destroy`: a versions list written to an API path. */
function versionsCommand(verb: 'undelete' | 'destroy', synopsis: string, text: string): Command {
  const title = verb[0].toUpperCase() + verb.slice(1);
  return defineCommand({
    synopsis,
    usage: `
Usage: keep kv ${verb} [options] KEY

  ${text}

      $ keep kv ${verb} -mount=secret -versions=3 foo`,
    flags: { ...httpFlags, ...formatFlags, ...mountFlag, ...versionsFlag },
    async run(ctx) {
      if (ctx.checkArgs(1, 1)) return 1;
      const { ui, flags } = ctx;
      const versions = parseVersions(flags.versions);
      if (versions.length === 0) {
        ui.error(
          `No versions provided, use the "-versions" flag to specify the version to ${verb}.`,
        );
        return 1;
      }

      let target: KvTarget;
      try {
        target = await resolveKvTarget(ctx.client(), { path: ctx.args[0], mount: flags.mount });
      } catch (err) {
        return ctx.fail('', err);
      }
      if (!target.v2) {
        ui.error(`${title} not supported on KV Version 1`);
        return 1;
      }

      const fullPath = kvPath(target, verb);
      let secret: Secret | null;
      try {
        secret = await target.client.write(fullPath, { versions });
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
}

const kvUndelete = versionsCommand(
  'undelete',
  'Undeletes versions in the KV store',
  'Undeletes the data for the provided versions and path in the key/value store (KV v2).',
);

const kvDestroy = versionsCommand(
  'destroy',
  'Permanently removes one or more versions in the KV store',
  'Permanently removes the data for the provided versions and path (KV v2). It cannot be ' +
    'undeleted.',
);

const kvList = defineCommand({
  synopsis: 'List data or secrets',
  usage: `
Usage: keep kv list [options] PATH

  Lists data from the key/value store at the given path. Folders end in "/".

      $ keep kv list -mount=secret my-app/`,
  flags: { ...httpFlags, ...formatFlags, ...mountFlag },
  async run(ctx) {
    const { ui, flags } = ctx;
    const args = ctx.args.length === 0 && flags.mount ? [''] : ctx.args;
    if (args.length !== 1) {
      ui.error(
        `${args.length < 1 ? 'Not enough' : 'Too many'} arguments (expected 1, got ${args.length})`,
      );
      return 1;
    }

    let target: KvTarget;
    try {
      target = await resolveKvTarget(ctx.client(), { path: args[0], mount: flags.mount });
    } catch (err) {
      return ctx.fail('', err);
    }
    const fullPath = kvPath(target, 'metadata');

    let secret: Secret | null;
    try {
      secret = await target.client.list(fullPath);
    } catch (err) {
      return ctx.fail(`Error listing ${fullPath}`, err);
    }
    if (!secret || !Array.isArray(secret.data?.keys)) {
      ui.error(`No value found at ${fullPath}`);
      return 2;
    }
    return ui.list(secret);
  },
});

export const kvCommands: Record<string, Command> = {
  'kv get': kvGet,
  'kv put': kvPut,
  'kv patch': kvPatch,
  'kv delete': kvDelete,
  'kv undelete': kvUndelete,
  'kv destroy': kvDestroy,
  'kv list': kvList,
  ...kvMetadataCommands,
};

export const kvGroups = {
  kv: `
Usage: keep kv <subcommand> [options] [args]

  Interacts with the key/value secrets engine, versioned (v2) or not (v1). The
  version of a mount is detected per command; for v2 the data/, metadata/,
  delete/, undelete/ and destroy/ API paths are used.

      $ keep kv put -mount=secret foo bar=baz
      $ keep kv get -mount=secret foo`,
  'kv metadata': `
Usage: keep kv metadata <subcommand> [options] [args]

  Interacts with the metadata of keys in a KV v2 mount.`,
};
