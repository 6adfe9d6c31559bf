/**
 * `keep config ...`: the config store, through its Consul KV listener.
 *
 * The listener's address comes from `-config-address`, then
 * `KEEP_CONFIG_ADDR`, then Consul's own `CONSUL_HTTP_ADDR`, then
 * http://127.0.0.1:8500; the token is the one every keep command uses
 * (`KEEP_TOKEN`, `VAULT_TOKEN`, the token file), sent as `X-Consul-Token`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { resolveToken } from '../client.ts';
import { type Command, defineCommand, formatFlags } from '../command.ts';
import { ConnectionError, LocalError } from '../errors.ts';
import { boolFlag, intFlag, stringFlag } from '../flags.ts';
import type { CliIO } from '../io.ts';
import { formatJson, table } from '../output.ts';

export const DEFAULT_CONFIG_ADDRESS = 'http://127.0.0.1:8500';

const addressFlags = {
  'config-address': stringFlag(
    "Address of Keep's config store listener (its Consul KV API). The default is " +
      `${DEFAULT_CONFIG_ADDRESS}; also KEEP_CONFIG_ADDR or CONSUL_HTTP_ADDR.`,
  ),
};

/** The config listener's base URL; Consul's variable may omit the scheme. */
export function resolveConfigAddress(flag: string | undefined, env: CliIO['env']): string {
  const chosen = flag || env.KEEP_CONFIG_ADDR || env.CONSUL_HTTP_ADDR || DEFAULT_CONFIG_ADDRESS;
  const withScheme = /^https?:\/\//.test(chosen) ? chosen : `http://${chosen}`;
  return withScheme.replace(/\/+$/, '');
}

/** A refusal from the config listener: its status and Consul's plain-text reason. Exit 2. */
export class ConfigResponseError extends Error {
  constructor(
    readonly status: number,
    method: string,
    url: string,
    text: string,
  ) {
    super(
      `Error making API request.\n\nURL: ${method} ${url}\nCode: ${status}. Raw Message:\n\n${text}`,
    );
  }
}

interface ConfigClient {
  call(
    method: string,
    path: string,
    opts?: { body?: string | Blob; query?: Record<string, string>; allow404?: boolean },
  ): Promise<{ status: number; text: string; body: Buffer; index: string | null }>;
}

function configClient(flag: string | undefined, io: CliIO): ConfigClient {
  const base = resolveConfigAddress(flag, io.env);
  const token = resolveToken(io.env);
  return {
    async call(method, path, opts = {}) {
      const query = new URLSearchParams(opts.query ?? {}).toString();
      const url = `${base}${path}${query ? `?${query}` : ''}`;
      let res: Response;
      try {
        res = await fetch(url, {
          method,
          headers: token ? { 'X-Consul-Token': token } : {},
          body: opts.body,
        });
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
        throw new ConnectionError(`cannot reach the config store at ${base}: ${cause}`);
      }
      const body = Buffer.from(await res.arrayBuffer());
      const text = body.toString('utf8');
      if (res.status >= 400 && !(res.status === 404 && opts.allow404)) {
        throw new ConfigResponseError(res.status, method, `${base}${path}`, text);
      }
      return { status: res.status, text, body, index: res.headers.get('x-consul-index') };
    },
  };
}

/** `a/b c` → `/v1/kv/a/b%20c`: each segment escaped, the slashes kept. */
function kvPath(prefix: string, key: string): string {
  if (key.startsWith('/')) throw new LocalError(`Invalid key "${key}": keys cannot start with "/"`);
  return prefix + key.split('/').map(encodeURIComponent).join('/');
}

interface Entry {
  Key: string;
  Value: string | null;
  Flags: number;
  Session?: string;
  LockIndex: number;
  CreateIndex: number;
  ModifyIndex: number;
}

const decoded = (value: string | null): string =>
  value === null ? '' : Buffer.from(value, 'base64').toString('utf8');

const get = defineCommand({
  synopsis: 'Prints the value of a config key',
  usage: `
Usage: keep config get [options] KEY

  Prints the value stored at KEY, exactly as stored. With -format=json it prints
  the whole entry (flags, indexes, lock holder) with the value decoded.

      $ keep config get app/feature/new-ui`,
  flags: { ...addressFlags, ...formatFlags },
  async run(ctx) {
    if (ctx.checkArgs(1, 1)) return 1;
    const key = ctx.args[0]!;
    const client = configClient(ctx.flags['config-address'], ctx.io);
    try {
      const res = await client.call('GET', kvPath('/v1/kv/', key), { allow404: true });
      if (res.status === 404) {
        ctx.ui.error(`No value found at ${key}`);
        return 2;
      }
      const [entry] = JSON.parse(res.text) as Entry[];
      if (ctx.ui.format === 'json') {
        ctx.ui.output(formatJson({ ...entry, Value: decoded(entry!.Value) }));
      } else {
        ctx.io.stdout(decoded(entry!.Value));
        if (ctx.io.stdoutIsTTY) ctx.io.stdout('\n');
      }
      return 0;
    } catch (err) {
      return ctx.fail(`Error reading ${key}`, err);
    }
  },
});

const put = defineCommand({
  synopsis: 'Writes a value to a config key',
  usage: `
Usage: keep config put [options] KEY VALUE

  Writes VALUE to KEY; "-" reads the value from stdin. -cas writes only if the
  key's ModifyIndex is the one given (0: only if the key does not exist yet).

      $ keep config put app/feature/new-ui on
      $ keep config put -cas=0 app/owner team-a`,
  flags: {
    ...addressFlags,
    flags: intFlag('Opaque number (0 to 2^64-1) stored with the value, as Consul flags.'),
    cas: intFlag('Write only if the key is at this ModifyIndex (0: only create).', {
      default: -1,
    }),
  },
  async run(ctx) {
    if (ctx.checkArgs(2, 2)) return 1;
    const [key, given] = ctx.args as [string, string];
    const value = given === '-' ? await ctx.io.readStdin() : given;
    const query: Record<string, string> = {};
    if (ctx.given.has('flags')) query.flags = String(ctx.flags.flags);
    if (ctx.flags.cas >= 0) query.cas = String(ctx.flags.cas);
    const client = configClient(ctx.flags['config-address'], ctx.io);
    try {
      const res = await client.call('PUT', kvPath('/v1/kv/', key), { body: value, query });
      if (res.text.trim() !== 'true') {
        ctx.ui.error(`Not written: ${key} is not at ModifyIndex ${ctx.flags.cas}`);
        return 2;
      }
      ctx.ui.output(`Success! Data written to: ${key}`);
      return 0;
    } catch (err) {
      return ctx.fail(`Error writing ${key}`, err);
    }
  },
});

const list = defineCommand({
  synopsis: 'Lists the keys under a prefix',
  usage: `
Usage: keep config list [options] [PREFIX]

  Lists the keys and folders (ending in "/") directly under PREFIX.

      $ keep config list app/`,
  flags: { ...addressFlags, ...formatFlags },
  async run(ctx) {
    if (ctx.checkArgs(0, 1)) return 1;
    const prefix = ctx.args[0] ?? '';
    const client = configClient(ctx.flags['config-address'], ctx.io);
    try {
      const res = await client.call('GET', kvPath('/v1/kv/', prefix), {
        query: { keys: '', separator: '/' },
        allow404: true,
      });
      const keys = res.status === 404 ? [] : (JSON.parse(res.text) as string[]);
      if (keys.length === 0 && ctx.ui.format !== 'json') {
        ctx.ui.error(`No keys found at ${prefix}`);
        return 2;
      }
      const names = keys.map((k) => k.slice(prefix.length));
      ctx.ui.output(
        ctx.ui.format === 'json' ? formatJson(names) : ['Keys', '----', ...names].join('\n'),
      );
      return 0;
    } catch (err) {
      return ctx.fail(`Error listing ${prefix}`, err);
    }
  },
});

const remove = defineCommand({
  synopsis: 'Deletes a config key, or every key under a prefix',
  usage: `
Usage: keep config delete [options] KEY

  Deletes KEY; with -recurse, every key starting with KEY.

      $ keep config delete app/feature/old-ui
      $ keep config delete -recurse app/feature/`,
  flags: { ...addressFlags, recurse: boolFlag('Delete every key starting with KEY.') },
  async run(ctx) {
    if (ctx.checkArgs(1, 1)) return 1;
    const key = ctx.args[0]!;
    const client = configClient(ctx.flags['config-address'], ctx.io);
    try {
      await client.call('DELETE', kvPath('/v1/kv/', key), {
        query: ctx.flags.recurse ? { recurse: '' } : {},
      });
      ctx.ui.output(`Success! Data deleted at: ${key}`);
      return 0;
    } catch (err) {
      return ctx.fail(`Error deleting ${key}`, err);
    }
  },
});

interface HistoryEntry {
  index: number;
  time: string;
  key: string;
  action: string;
  before: { value?: string | null; sha256?: string } | null;
  after: { value?: string | null; sha256?: string } | null;
  author: { display_name: string; accessor: string; remote_addr: string };
  cause?: string;
}

function shown(v: HistoryEntry['before'], width = 32): string {
  if (v === null) return '-';
  if (v.sha256) return `sha256:${v.sha256.slice(0, 12)}`;
  const text = decoded(v.value ?? null);
  return text.length > width ? `${text.slice(0, width - 1)}…` : text;
}

const history = defineCommand({
  synopsis: 'Shows who changed a config key, when, and from what to what',
  usage: `
Usage: keep config history [options] [KEY]

  Lists the changes to KEY, newest first: time, action, author (token display
  name and accessor), client address, and the value before and after. Without
  KEY, searches every key the token may read, narrowed by -prefix, -author,
  -since and -until.

      $ keep config history app/db/host
      $ keep config history -prefix=app/ -author=userpass-alice -since=2026-01-01T00:00:00Z`,
  flags: {
    ...addressFlags,
    ...formatFlags,
    limit: intFlag('Show at most this many changes.', { default: 50 }),
    prefix: stringFlag('Only keys starting with this prefix.'),
    author: stringFlag('Only changes by this display name or accessor.'),
    since: stringFlag('Only changes at or after this time (RFC 3339 or Unix seconds).'),
    until: stringFlag('Only changes at or before this time (RFC 3339 or Unix seconds).'),
  },
  async run(ctx) {
    if (ctx.checkArgs(0, 1)) return 1;
    const key = ctx.args[0];
    const query: Record<string, string> = { limit: String(ctx.flags.limit) };
    for (const name of ['prefix', 'author', 'since', 'until'] as const) {
      if (ctx.flags[name]) query[name] = ctx.flags[name];
    }
    const client = configClient(ctx.flags['config-address'], ctx.io);
    try {
      const path = key === undefined ? '/v1/keep/history' : kvPath('/v1/keep/history/', key);
      const res = await client.call('GET', path, { query });
      const entries = JSON.parse(res.text) as HistoryEntry[];
      if (ctx.ui.format === 'json') {
        ctx.ui.output(formatJson(entries));
        return 0;
      }
      if (entries.length === 0) {
        ctx.ui.error(key ? `No history for ${key}` : 'No changes match');
        return 2;
      }
      ctx.ui.output(
        table(
          ['Time', 'Key', 'Action', 'Author', 'Accessor', 'Address', 'Before', 'After'],
          entries.map((e) => [
            e.time,
            e.key,
            e.cause ? `${e.action} (${e.cause})` : e.action,
            e.author.display_name,
            e.author.accessor,
            e.author.remote_addr,
            shown(e.before),
            shown(e.after),
          ]),
        ),
      );
      return 0;
    } catch (err) {
      return ctx.fail('Error reading history', err);
    }
  },
});

const rollback = defineCommand({
  synopsis: 'Puts a key, or a prefix, back as it was at a time',
  usage: `
Usage: keep config rollback [options] -to=TIME KEY

  Puts KEY back as it was at TIME (RFC 3339 or Unix seconds): its value then, or
  deleted if it did not exist then. With -recurse, every key starting with KEY.
  The rollback is one change, recorded in the history.

      $ keep config rollback -recurse -to=2026-03-01T10:00:00Z app/db/`,
  flags: {
    ...addressFlags,
    to: stringFlag('The time to go back to (RFC 3339 or Unix seconds).'),
    recurse: boolFlag('Roll back every key starting with KEY.'),
  },
  async run(ctx) {
    if (ctx.checkArgs(1, 1)) return 1;
    if (!ctx.flags.to) {
      ctx.ui.error('-to is required: the time to roll back to');
      return 1;
    }
    const key = ctx.args[0]!;
    const query: Record<string, string> = { to: ctx.flags.to };
    if (ctx.flags.recurse) query.recurse = '';
    const client = configClient(ctx.flags['config-address'], ctx.io);
    try {
      const res = await client.call('PUT', kvPath('/v1/keep/rollback/', key), { query });
      const { Changed } = JSON.parse(res.text) as { Changed: string[] };
      ctx.ui.output(
        Changed.length === 0
          ? 'Nothing to roll back: already as it was'
          : `Success! Rolled back: ${Changed.join(', ')}`,
      );
      return 0;
    } catch (err) {
      return ctx.fail(`Error rolling back ${key}`, err);
    }
  },
});

const watch = defineCommand({
  synopsis: 'Prints a key each time it changes',
  usage: `
Usage: keep config watch [options] KEY

  Prints the value of KEY, then again each time it changes (a Consul blocking
  query), until interrupted or, with -count, after that many values.

      $ keep config watch app/feature/new-ui`,
  flags: {
    ...addressFlags,
    count: intFlag('Stop after printing this many values (0: never).'),
    wait: stringFlag('How long each blocking query waits at most, as Consul takes it.', {
      default: '5m',
    }),
  },
  async run(ctx) {
    if (ctx.checkArgs(1, 1)) return 1;
    const key = ctx.args[0]!;
    const client = configClient(ctx.flags['config-address'], ctx.io);
    let index = '0';
    let printed = 0;
    let last: string | undefined;
    try {
      for (;;) {
        const res = await client.call('GET', kvPath('/v1/kv/', key), {
          query: { index, wait: ctx.flags.wait },
          allow404: true,
        });
        const next = res.index ?? '0';
        // Consul's rule: an index that went backwards restarts the loop.
        index = BigInt(next) < BigInt(index) ? '0' : next;
        const value =
          res.status === 404 ? undefined : decoded((JSON.parse(res.text) as Entry[])[0]!.Value);
        const line = value === undefined ? `${key} is not set` : value;
        if (line === last) continue;
        last = line;
        ctx.io.stdout(`${line}\n`);
        if (ctx.flags.count > 0 && ++printed >= ctx.flags.count) return 0;
      }
    } catch (err) {
      return ctx.fail(`Error watching ${key}`, err);
    }
  },
});

const snapshotSave = defineCommand({
  synopsis: 'Saves a snapshot of all storage to a file',
  usage: `
Usage: keep operator snapshot save [options] FILE

  Saves a consistent snapshot of all of Keep's storage to FILE (mode 0600).
  Secrets stay barrier ciphertext: the snapshot opens only with the unseal keys
  of this server. Needs sudo on sys/storage/raft/snapshot. Served by the config
  store listener (KEEP_CONFIG_ADDR).

      $ keep operator snapshot save keep.snap.gz`,
  flags: { ...addressFlags },
  async run(ctx) {
    if (ctx.checkArgs(1, 1)) return 1;
    const client = configClient(ctx.flags['config-address'], ctx.io);
    try {
      const res = await client.call('GET', '/v1/snapshot');
      await writeFile(ctx.args[0]!, res.body, { mode: 0o600 });
    } catch (err) {
      return ctx.fail('Error saving snapshot', err);
    }
    ctx.ui.output(`Success! Snapshot saved to: ${ctx.args[0]}`);
    return 0;
  },
});

const snapshotRestore = defineCommand({
  synopsis: 'Restores all storage from a snapshot file',
  usage: `
Usage: keep operator snapshot restore [options] FILE

  Replaces everything in storage with the snapshot in FILE. A corrupt or
  truncated file is refused and nothing changes. The server then seals itself:
  unseal it with the keys of the server the snapshot came from.

      $ keep operator snapshot restore keep.snap.gz`,
  flags: { ...addressFlags },
  async run(ctx) {
    if (ctx.checkArgs(1, 1)) return 1;
    let data: Buffer;
    try {
      data = await readFile(ctx.args[0]!);
    } catch (err) {
      return ctx.fail('Error reading snapshot', new LocalError((err as Error).message));
    }
    const client = configClient(ctx.flags['config-address'], ctx.io);
    try {
      await client.call('PUT', '/v1/snapshot', { body: new Blob([new Uint8Array(data)]) });
    } catch (err) {
      return ctx.fail('Error restoring snapshot', err);
    }
    ctx.ui.output(
      'Success! Snapshot restored; the server is sealed: unseal it with its original keys',
    );
    return 0;
  },
});

const backupNow = defineCommand({
  synopsis: 'Takes one scheduled backup now',
  usage: `
Usage: keep operator backup [options]

  Takes a backup now, as the server's backup stanza schedules them: a snapshot
  in its folder, named by node and UTC time, the oldest beyond "retain" removed.

      $ keep operator backup`,
  flags: { ...addressFlags },
  async run(ctx) {
    if (ctx.checkArgs(0, 0)) return 1;
    const client = configClient(ctx.flags['config-address'], ctx.io);
    try {
      const res = await client.call('PUT', '/v1/keep/backup');
      const done = JSON.parse(res.text) as { File: string; Removed: string[] };
      ctx.ui.output(`Success! Backup written to: ${done.File}`);
      if (done.Removed.length > 0) ctx.ui.output(`Removed: ${done.Removed.join(', ')}`);
      return 0;
    } catch (err) {
      return ctx.fail('Error taking backup', err);
    }
  },
});

export const snapshotCommands: Record<string, Command> = {
  'operator snapshot save': snapshotSave,
  'operator snapshot restore': snapshotRestore,
  'operator backup': backupNow,
};

export const snapshotGroups: Record<string, string> = {
  'operator snapshot': `
Usage: keep operator snapshot <subcommand> [options] FILE

  Saves or restores a snapshot of all of Keep's storage:

      $ keep operator snapshot save keep.snap.gz
      $ keep operator snapshot restore keep.snap.gz`,
};

export const configCommands: Record<string, Command> = {
  'config get': get,
  'config put': put,
  'config list': list,
  'config delete': remove,
  'config history': history,
  'config rollback': rollback,
  'config watch': watch,
};

export const configGroups: Record<string, string> = {
  config: `
Usage: keep config <subcommand> [options] [args]

  Reads and writes the config store, the non-sensitive settings Keep serves on
  its Consul KV listener, and shows who changed what:

      $ keep config put app/feature/new-ui on
      $ keep config get app/feature/new-ui
      $ keep config history app/feature/new-ui

  Set KEEP_CONFIG_ADDR (or CONSUL_HTTP_ADDR) when the listener is not at
  ${DEFAULT_CONFIG_ADDRESS}.`,
};
