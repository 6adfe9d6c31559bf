/**
 * `keep operator ...`: initialise, unseal, seal, rotate and rekey, with
 * Vault's requests and output. Unseal keys are read from an argument, from
 * stdin with `-`, or from a no-echo prompt when stdin is a terminal.
 */
import type { ApiClient } from '../client.ts';
import {
  type Command,
  type CommandContext,
  defineCommand,
  formatFlags,
  httpFlags,
} from '../command.ts';
import { LocalError } from '../errors.ts';
import { boolFlag, type FlagSpecs, intFlag, stringFlag } from '../flags.ts';
import { columnize, table, wrapAtLength } from '../output.ts';
import { outputSealStatus, type SealStatus } from './status.ts';

/**
 * A key share from the argument, stdin (`-`, or no argument and no terminal)
 * or a hidden prompt. Trimmed, as Vault does.
 */
async function readKey<S extends FlagSpecs>(
  ctx: CommandContext<S>,
  arg: string | undefined,
  prompt: string,
): Promise<string> {
  if (arg !== undefined && arg !== '-') return arg.trim();
  if (arg === '-' || !ctx.io.stdinIsTTY) return (await ctx.io.readStdin()).trim();
  return (await ctx.io.readSecret(prompt)).trim();
}

const init = defineCommand({
  synopsis: 'Initializes a server',
  usage: `
Usage: keep operator init [options]

  Initializes a Keep server. Initialization is the process by which the storage
  is prepared to receive data. The server generates a root key, splits it into
  unseal key shares, and returns them with the initial root token, once.

      $ keep operator init

      $ keep operator init -key-shares=3 -key-threshold=2

  Check whether the server is initialized (exit code 0 yes, 2 no, 1 error):

      $ keep operator init -status`,
  flags: {
    ...httpFlags,
    ...formatFlags,
    'key-shares': intFlag('Number of key shares to split the generated root key into.', {
      default: 5,
      aliases: ['n'],
    }),
    'key-threshold': intFlag('Number of key shares required to reconstruct the root key.', {
      default: 3,
      aliases: ['t'],
    }),
    status: boolFlag(
      'Print the current initialization status. The exit code is 0 when initialized, 2 ' +
        'when not, and 1 on error.',
    ),
  },
  async run(ctx) {
    if (ctx.checkArgs(0, 0)) return 1;
    const { ui, flags } = ctx;

    if (flags.status) {
      let initialized: boolean;
      try {
        const body = await ctx.client().call<{ initialized: boolean }>('GET', 'sys/init');
        initialized = body?.initialized === true;
      } catch (err) {
        ctx.fail('Error checking init status', err);
        return 1; // 2 means "not initialized" here
      }
      if (ui.format === 'json') ui.data({ initialized });
      else ui.output(initialized ? 'Keep is initialized' : 'Keep is not initialized');
      return initialized ? 0 : 2;
    }

    const shares = flags['key-shares'];
    const threshold = flags['key-threshold'];
    let resp: { keys?: string[]; keys_base64?: string[]; root_token?: string } | null;
    try {
      resp = await ctx.client().call('PUT', 'sys/init', {
        body: { secret_shares: shares, secret_threshold: threshold },
      });
    } catch (err) {
      return ctx.fail('Error initializing', err);
    }
    const hex = resp?.keys ?? [];
    const b64 = resp?.keys_base64 ?? [];
    const rootToken = resp?.root_token ?? '';

    if (ui.format === 'json') {
      // The shape of Vault's `operator init -format=json`, which scripts read.
      ui.output(
        JSON.stringify(
          {
            unseal_keys_b64: b64,
            unseal_keys_hex: hex,
            unseal_shares: hex.length === 0 ? 1 : shares,
            unseal_threshold: hex.length === 0 ? 1 : threshold,
            recovery_keys_b64: [],
            recovery_keys_hex: [],
            recovery_keys_shares: 0,
            recovery_keys_threshold: 0,
            root_token: rootToken,
          },
          null,
          2,
        ),
      );
      return 0;
    }

    const shown = b64.length === hex.length ? b64 : hex;
    for (const [i, key] of shown.entries()) ui.output(`Unseal Key ${i + 1}: ${key}`);
    ui.output('');
    ui.output(`Initial Root Token: ${rootToken}`);
    ui.output('');
    if (hex.length === 0) {
      ui.output('Success! Keep is initialized');
      return 0;
    }
    ui.output(
      wrapAtLength(
        `Keep initialized with ${shares} key shares and a key threshold of ${threshold}. ` +
          'Please securely distribute the key shares printed above. When Keep is ' +
          `re-sealed, restarted, or stopped, you must supply at least ${threshold} of these ` +
          'keys to unseal it before it can start servicing requests.',
      ),
    );
    ui.output('');
    ui.output(
      wrapAtLength(
        `Keep does not store the generated root key. Without at least ${threshold} keys ` +
          'to reconstruct the root key, Keep will remain permanently sealed!',
      ),
    );
    ui.output('');
    ui.output(
      wrapAtLength(
        'It is possible to generate new unseal keys, provided you have a quorum of ' +
          'existing unseal keys shares. See "keep operator rekey" for more information.',
      ),
    );
    return 0;
  },
});

const unseal = defineCommand({
  synopsis: 'Unseals the server',
  usage: `
Usage: keep operator unseal [options] [KEY]

  Provides one unseal key share. The server starts sealed and serves nothing
  until a threshold of shares has been provided.

  The key can be given as an argument, but then it stays in the shell history:

      $ keep operator unseal IXyR0OJnSFobekZMMCKCoVEpT7wI6l+USMzE3IcyDyo=

  Without an argument the command prompts for it without echo on a terminal,
  and reads it from stdin otherwise; "-" also reads stdin:

      $ keep operator unseal
      Unseal Key (will be hidden):`,
  flags: {
    ...httpFlags,
    ...formatFlags,
    reset: boolFlag('Discard any previously entered keys to the unseal process.'),
    migrate: boolFlag(
      'Indicate that this share is provided with the intent that it is part of a seal ' +
        'migration process.',
    ),
  },
  async run(ctx) {
    if (ctx.args.length > 1) {
      ctx.ui.error(`Too many arguments (expected 1, got ${ctx.args.length})`);
      return 1;
    }
    let client: ApiClient;
    try {
      client = ctx.client();
      if (ctx.flags.reset) {
        const status = await client.call<SealStatus>('PUT', 'sys/unseal', {
          body: { reset: true },
        });
        return await outputSealStatus(ctx.ui, { client, status: status! });
      }
    } catch (err) {
      return ctx.fail('Error resetting unseal process', err);
    }

    let key: string;
    try {
      key = await readKey(ctx, ctx.args[0], 'Unseal Key (will be hidden): ');
    } catch (err) {
      return ctx.fail('Error reading unseal key', err);
    }
    if (key === '') return ctx.fail('', new LocalError('Missing unseal key'));

    try {
      const status = await client.call<SealStatus>('PUT', 'sys/unseal', {
        body: { key, reset: false, migrate: ctx.flags.migrate },
      });
      return await outputSealStatus(ctx.ui, { client, status: status! });
    } catch (err) {
      return ctx.fail('Error unsealing', err);
    }
  },
});

const seal = defineCommand({
  synopsis: 'Seals the server',
  usage: `
Usage: keep operator seal [options]

  Seals the server. Sealing drops every key from memory; the server serves no
  requests until it is unsealed again with a threshold of key shares. In HA
  mode, only the active node is sealed and a standby takes over.

      $ keep operator seal`,
  flags: { ...httpFlags },
  async run(ctx) {
    if (ctx.checkArgs(0, 0)) return 1;
    try {
      await ctx.client().call('PUT', 'sys/seal');
    } catch (err) {
      return ctx.fail('Error sealing', err);
    }
    ctx.ui.output('Success! Keep is sealed.');
    return 0;
  },
});

interface KeyStatus {
  term: number;
  install_time: string;
  encryptions?: number;
}

/** Go's RFC822 layout in UTC: "02 Jan 06 15:04 UTC". */
function rfc822(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const month = d.toLocaleString('en-US', { month: 'short', timeZone: 'UTC' });
  const two = (n: number) => String(n).padStart(2, '0');
  const year = two(d.getUTCFullYear() % 100);
  const time = `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}`;
  return `${two(d.getUTCDate())} ${month} ${year} ${time} UTC`;
}

function keyStatusTable(ks: KeyStatus): string {
  return columnize([
    ['Key Term', String(ks.term)],
    ['Install Time', rfc822(ks.install_time)],
    ['Encryption Count', String(ks.encryptions ?? 0)],
  ]);
}

async function readKeyStatus(client: ApiClient): Promise<KeyStatus> {
  const body = await client.call<{ data?: KeyStatus } & KeyStatus>('GET', 'sys/key-status');
  return body?.data ?? (body as KeyStatus);
}

const keyStatus = defineCommand({
  synopsis: 'Provides information about the active encryption key',
  usage: `
Usage: keep operator key-status [options]

  Provides information about the active encryption key: its term and when it
  was installed.

      $ keep operator key-status`,
  flags: { ...httpFlags, ...formatFlags },
  async run(ctx) {
    if (ctx.checkArgs(0, 0)) return 1;
    let ks: KeyStatus;
    try {
      ks = await readKeyStatus(ctx.client());
    } catch (err) {
      return ctx.fail('Error reading key status', err);
    }
    if (ctx.ui.format === 'json') return ctx.ui.data(ks);
    ctx.ui.output(keyStatusTable(ks));
    return 0;
  },
});

const rotate = defineCommand({
  synopsis: 'Rotates the underlying encryption key',
  usage: `
Usage: keep operator rotate [options]

  Rotates the encryption key that protects data in the storage backend. New
  writes use the new key; data written under earlier keys stays readable.

      $ keep operator rotate`,
  flags: { ...httpFlags, ...formatFlags },
  async run(ctx) {
    if (ctx.checkArgs(0, 0)) return 1;
    const client = ctx.client();
    try {
      await client.call('PUT', 'sys/rotate');
    } catch (err) {
      return ctx.fail('Error rotating key', err);
    }
    let ks: KeyStatus;
    try {
      ks = await readKeyStatus(client);
    } catch (err) {
      return ctx.fail('Error reading key status', err);
    }
    if (ctx.ui.format === 'json') return ctx.ui.data(ks);
    ctx.ui.output('Success! Rotated key');
    ctx.ui.output('');
    ctx.ui.output(keyStatusTable(ks));
    return 0;
  },
});

interface RekeyStatus {
  nonce: string;
  started: boolean;
  t: number;
  n: number;
  progress: number;
  required?: number;
  verification_required?: boolean;
}

interface RekeyUpdate {
  nonce: string;
  complete: boolean;
  keys?: string[];
  keys_base64?: string[];
  verification_required?: boolean;
  verification_nonce?: string;
}

const rekey = defineCommand({
  synopsis: 'Generates new unseal keys',
  usage: `
Usage: keep operator rekey [options] [KEY]

  Generates a new set of unseal keys, optionally with a new number of shares or
  a new threshold. The server stays unsealed; a quorum of the current unseal
  keys must be provided.

  Start a rekey:

      $ keep operator rekey -init -key-shares=5 -key-threshold=3

  Provide a current key share (repeat until the threshold is reached); with an
  argument or "-" (stdin) the nonce printed by -init must be given:

      $ keep operator rekey -nonce=NONCE KEY
      $ keep operator rekey

  Show progress, or cancel:

      $ keep operator rekey -status
      $ keep operator rekey -cancel`,
  flags: {
    ...httpFlags,
    ...formatFlags,
    init: boolFlag(
      'Initialize the rekeying operation. Set the new shares and threshold with ' +
        '-key-shares and -key-threshold.',
    ),
    cancel: boolFlag(
      'Reset the rekeying progress. This discards any submitted unseal keys or configuration.',
    ),
    status: boolFlag('Print the status of the current attempt without providing a key.'),
    'key-shares': intFlag('Number of key shares to split the new root key into.', {
      default: 5,
      aliases: ['n'],
    }),
    'key-threshold': intFlag('Number of key shares required to reconstruct the root key.', {
      default: 3,
      aliases: ['t'],
    }),
    nonce: stringFlag(
      'Nonce value provided at initialization. The same nonce must be provided with each key.',
    ),
    target: stringFlag('Target for rekeying. Only "barrier" is supported.', {
      default: 'barrier',
    }),
    verify: boolFlag(
      'Indicates that the action (-status, -cancel, or providing a key share) affects the ' +
        'verification step of the current rekey attempt.',
    ),
  },
  async run(ctx) {
    const { ui, flags } = ctx;
    if (ctx.args.length > 1) {
      ui.error(`Too many arguments (expected 0-1, got ${ctx.args.length})`);
      return 1;
    }
    if (flags.target.trim().toLowerCase() !== 'barrier') {
      ui.error(`Unknown target: ${flags.target}`);
      return 1;
    }
    const client = ctx.client();
    const base = flags.verify ? 'sys/rekey/verify' : 'sys/rekey/init';

    const printStatus = (s: RekeyStatus): number => {
      if (ui.format === 'json') return ui.data(s);
      const rows = [
        ['Nonce', s.nonce ?? ''],
        ['Started', String(s.started)],
      ];
      if (flags.verify) {
        rows.push(['New Shares', String(s.n)], ['New Threshold', String(s.t)]);
        rows.push(['Verification Progress', `${s.progress}/${s.t}`]);
      } else if (s.started) {
        rows.push(['Rekey Progress', `${s.progress}/${s.required ?? s.t}`]);
        rows.push(['New Shares', String(s.n)], ['New Threshold', String(s.t)]);
        rows.push(['Verification Required', String(s.verification_required ?? false)]);
      }
      ui.output(table(['Key', 'Value'], rows));
      return 0;
    };
    const status = async (): Promise<number> => {
      try {
        return printStatus((await client.call<RekeyStatus>('GET', base))!);
      } catch (err) {
        return ctx.fail('Error reading rekey status', err);
      }
    };

    if (flags.cancel) {
      try {
        await client.call('DELETE', base);
      } catch (err) {
        return ctx.fail('Error canceling rekey', err);
      }
      ui.output('Success! Canceled rekeying (if it was started)');
      return 0;
    }

    if (flags.init) {
      let s: RekeyStatus | null;
      try {
        s = await client.call<RekeyStatus>('PUT', 'sys/rekey/init', {
          body: {
            secret_shares: flags['key-shares'],
            secret_threshold: flags['key-threshold'],
            backup: false,
            require_verification: flags.verify,
          },
        });
      } catch (err) {
        return ctx.fail('Error initializing rekey', err);
      }
      if (ui.format === 'table') {
        ui.warn(
          wrapAtLength(
            'WARNING! If you lose the keys after they are returned, there is no recovery. ' +
              'Keep does not support PGP-encrypting or backing up the new keys; store ' +
              'them safely as soon as they are printed.',
          ),
        );
        ui.output('');
      }
      return printStatus(s!);
    }

    if (flags.status) return status();

    let current: RekeyStatus;
    try {
      current = (await client.call<RekeyStatus>('GET', base))!;
    } catch (err) {
      return ctx.fail('Error getting rekey status', err);
    }
    if (!current.started) {
      ui.error(
        wrapAtLength(
          'No rekey is in progress. Start a rekey process by running "keep operator rekey -init".',
        ),
      );
      return 1;
    }

    let key: string;
    let nonce = flags.nonce;
    try {
      const arg = ctx.args[0];
      if (arg === undefined && ctx.io.stdinIsTTY) {
        // At the prompt the nonce comes from the status, as in Vault.
        ui.output(`Rekey operation nonce: ${current.nonce}`);
        nonce = current.nonce;
      }
      key = await readKey(ctx, arg, 'Unseal Key (will be hidden): ');
    } catch (err) {
      return ctx.fail('Error reading unseal key', err);
    }
    if (!nonce) {
      ui.error('Missing nonce value: specify it via the -nonce flag');
      return 1;
    }

    let resp: RekeyUpdate;
    try {
      resp = (await client.call<RekeyUpdate>('PUT', flags.verify ? base : 'sys/rekey/update', {
        body: { key, nonce },
      }))!;
    } catch (err) {
      return ctx.fail('Error posting unseal key', err);
    }
    if (!resp.complete) return status();
    if (flags.verify) {
      ui.output('Rekey verification successful.');
      return 0;
    }
    return printNewKeys(ctx, current, resp);
  },
});

function printNewKeys<S extends FlagSpecs>(
  ctx: CommandContext<S>,
  status: RekeyStatus,
  resp: RekeyUpdate,
): number {
  const { ui } = ctx;
  if (ui.format === 'json') return ui.data(resp);
  const hex = resp.keys ?? [];
  const b64 = resp.keys_base64 ?? [];
  const shown = b64.length === hex.length ? b64 : hex;

  ui.output('');
  for (const [i, key] of shown.entries()) ui.output(`Key ${i + 1}: ${key}`);
  ui.output('');
  ui.output(`Operation nonce: ${resp.nonce}`);
  ui.output('');
  if (!status.verification_required) {
    ui.output(
      wrapAtLength(
        `Keep rekeyed with ${status.n} key shares and a key threshold of ${status.t}. ` +
          'Please securely distribute the key shares printed above. When Keep is ' +
          `re-sealed, restarted, or stopped, you must supply at least ${status.t} of these ` +
          'keys to unseal it before it can start servicing requests.',
      ),
    );
    return 0;
  }
  ui.output(
    wrapAtLength(
      `Keep has created a new key, split into ${status.n} key shares and a key threshold ` +
        `of ${status.t}. These will not be active until after verification is complete ` +
        '("keep operator rekey -verify" with the new keys and this nonce: ' +
        `${resp.verification_nonce ?? ''}).`,
    ),
  );
  return 0;
}

const stepDown = defineCommand({
  synopsis: 'Forces the active node to give up active duty',
  usage: `
Usage: keep operator step-down [options]

  Forces the active node of an HA cluster to give up the HA lock; a standby
  takes over at once. Sent to a standby, the request is forwarded to the
  active node. Needs a token with sudo on sys/step-down.

      $ keep operator step-down`,
  flags: { ...httpFlags },
  async run(ctx) {
    if (ctx.checkArgs(0, 0)) return 1;
    try {
      await ctx.client().call('PUT', 'sys/step-down');
    } catch (err) {
      return ctx.fail('Error stepping down', err);
    }
    ctx.ui.output('Success! Stepped down: active node');
    return 0;
  },
});

interface HaNode {
  hostname: string;
  api_address: string;
  cluster_address: string;
  active_node: boolean;
  version: string;
  upgrade_version?: string;
  redundancy_zone?: string;
  last_echo: string | null;
}

const members = defineCommand({
  synopsis: 'Lists the nodes of an HA cluster',
  usage: `
Usage: keep operator members [options]

  Lists the nodes of an HA cluster as the active node knows them: itself and
  the standbys that echoed to it lately (sys/ha-status).

      $ keep operator members`,
  flags: { ...httpFlags, ...formatFlags },
  async run(ctx) {
    if (ctx.checkArgs(0, 0)) return 1;
    let nodes: HaNode[];
    try {
      const body = await ctx.client().call<{ data?: { nodes?: HaNode[] } }>('GET', 'sys/ha-status');
      nodes = body?.data?.nodes ?? [];
    } catch (err) {
      return ctx.fail('Error listing HA members', err);
    }
    if (ctx.ui.format === 'json') return ctx.ui.data({ nodes });
    ctx.ui.output(
      table(
        ['Host Name', 'API Address', 'Cluster Address', 'Active Node', 'Version', 'Last Echo'],
        nodes.map((n) => [
          n.hostname,
          n.api_address,
          n.cluster_address,
          String(n.active_node),
          n.version,
          n.last_echo ?? '',
        ]),
      ),
    );
    return 0;
  },
});

export const operatorCommands: Record<string, Command> = {
  'operator step-down': stepDown,
  'operator members': members,
  'operator init': init,
  'operator unseal': unseal,
  'operator seal': seal,
  'operator key-status': keyStatus,
  'operator rotate': rotate,
  'operator rekey': rekey,
};

export const operatorGroups = {
  operator: `
Usage: keep operator <subcommand> [options] [args]

  Groups subcommands for operators of the server: initialising it, unsealing and
  sealing it, rotating its encryption key and generating new unseal keys.`,
};
