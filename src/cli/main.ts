/**
 * The `keep` command line: finds the command named by the leading words of
 * the arguments in one table keyed by command path (`kv put`, `operator
 * unseal`, ...), and runs it. Exit codes follow Vault's CLI: 0 success,
 * 1 local error (flags, arguments, files), 2 the server said no or could not
 * be reached; 127 for a missing or unknown command. Help goes to stderr, as
 * in Vault; `-h`, `-help` and `--help` anywhere before `--` ask for it.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import pkg from '../../package.json' with { type: 'json' };
import type { Command } from './command.ts';
import { auditCommands, auditGroups } from './commands/audit.ts';
import { authCommands, authGroups } from './commands/auth.ts';
import {
  configCommands,
  configGroups,
  snapshotCommands,
  snapshotGroups,
} from './commands/config.ts';
import { envCommands } from './commands/env.ts';
import { kvCommands, kvGroups } from './commands/kv.ts';
import { loginCommands } from './commands/login.ts';
import { operatorCommands, operatorGroups } from './commands/operator.ts';
import { pkiCommands, pkiGroups } from './commands/pki.ts';
import { policyCommands, policyGroups } from './commands/policy.ts';
import { provisionCommands, provisionGroups } from './commands/provision.ts';
import { readWriteCommands } from './commands/read-write.ts';
import { secretsCommands, secretsGroups } from './commands/secrets.ts';
import { statusCommands } from './commands/status.ts';
import { tokenCommands, tokenGroups } from './commands/token.ts';
import { type CliIO, processIO } from './io.ts';

/** `keep server`: loaded only when asked for, so client commands start fast. */
const server: Command = {
  synopsis: 'Start a Keep server',
  help: () => 'Usage: keep server [options]\n\n  Starts a Keep server. See "keep server -h".',
  async run(argv, io) {
    const { serverCommand } = await import('./server.ts');
    if (argv.some((a) => HELP_FLAGS.has(a))) {
      io.stderr(`${serverCommand.help()}\n`);
      return 0;
    }
    return serverCommand.run(argv, io);
  },
};

const version: Command = {
  synopsis: 'Prints the Keep version',
  help: () => 'Usage: keep version\n\n  Prints the version of this Keep binary.',
  async run(_argv, io) {
    io.stdout(`Keep v${pkg.version}\n`);
    return 0;
  },
};

export const commands: Record<string, Command> = {
  ...readWriteCommands,
  ...loginCommands,
  ...statusCommands,
  server,
  version,
  ...kvCommands,
  ...operatorCommands,
  ...tokenCommands,
  ...policyCommands,
  ...secretsCommands,
  ...authCommands,
  ...auditCommands,
  ...pkiCommands,
  ...configCommands,
  ...snapshotCommands,
  ...envCommands,
  ...provisionCommands,
};

/** Help of the command groups, which only list their subcommands. */
const groups: Record<string, string> = {
  ...kvGroups,
  ...operatorGroups,
  ...tokenGroups,
  ...policyGroups,
  ...secretsGroups,
  ...authGroups,
  ...auditGroups,
  ...pkiGroups,
  ...configGroups,
  ...snapshotGroups,
  ...provisionGroups,
};

const COMMON = ['read', 'write', 'delete', 'list', 'login', 'server', 'status'];

function usage(): string {
  const topLevel = [...new Set(Object.keys(commands).map((k) => k.split(' ')[0]))].sort();
  const other = topLevel.filter((n) => !COMMON.includes(n));
  const synopsisOf = (name: string) => commands[name]?.synopsis ?? groupSynopsis[name] ?? '';
  const lines = (names: string[]) => {
    const width = Math.max(...names.map((n) => n.length));
    return names.map((n) => `    ${n.padEnd(width + 6)}${synopsisOf(n)}`).join('\n');
  };
  return (
    'Usage: keep <command> [args]\n\n' +
    `Common commands:\n${lines(COMMON)}\n\n` +
    `Other commands:\n${lines(other)}`
  );
}

const groupSynopsis: Record<string, string> = {
  audit: 'Interact with audit devices',
  auth: 'Interact with auth methods',
  kv: 'Interact with the key/value secrets engine',
  operator: 'Perform operator-specific tasks',
  policy: 'Interact with policies',
  provision: 'Give a service its AppRole role and credentials',
  secrets: 'Interact with secrets engines',
  token: 'Interact with tokens',
};

function groupHelp(group: string): string {
  const prefix = `${group} `;
  const subcommands = Object.keys(commands)
    .filter((k) => k.startsWith(prefix))
    .sort();
  const nested = [...new Set(subcommands.map((k) => k.slice(prefix.length).split(' ')[0]))];
  const names = nested.map((n) => `${prefix}${n}`);
  const rows = names.map((full) => {
    const name = full.slice(prefix.length);
    const synopsis = commands[full]?.synopsis ?? `Interact with ${name}`;
    return [name, synopsis];
  });
  const width = Math.max(...rows.map(([n]) => n.length));
  const list = rows.map(([n, s]) => `    ${n.padEnd(width + 4)}${s}`).join('\n');
  return `${groups[group].trim()}\n\nSubcommands:\n${list}`;
}

const HELP_FLAGS = new Set(['-h', '-help', '--help']);

/** Runs the `keep` command line with `io` as its streams; returns the exit code. */
export async function run(argv: string[], io: CliIO): Promise<number> {
  const end = argv.indexOf('--');
  const before = end === -1 ? argv : argv.slice(0, end);
  const wantsHelp = before.some((a) => HELP_FLAGS.has(a));
  const isVersion = argv.length === 1 && ['-v', '-version', '--version'].includes(argv[0]);
  if (isVersion) return version.run([], io);

  // The command path is the longest run of leading words that names a command or group.
  let words = 0;
  while (words < argv.length && /^[a-z][a-z-]*$/.test(argv[words])) words++;
  let key = '';
  for (let n = words; n > 0; n--) {
    const candidate = argv.slice(0, n).join(' ');
    if (commands[candidate] || groups[candidate]) {
      key = candidate;
      break;
    }
  }
  const rest = argv.slice(key === '' ? 0 : key.split(' ').length);

  if (key === '') {
    io.stderr(`${usage()}\n`);
    return wantsHelp && argv.length === 1 ? 0 : 127;
  }

  const command = commands[key];
  if (!command || (wantsHelp && key !== 'server')) {
    io.stderr(`${command ? command.help() : groupHelp(key)}\n`);
    return wantsHelp ? 0 : 1;
  }
  return command.run(rest, io);
}

/** The program entry: runs with the process's streams. */
export async function main(argv: string[]): Promise<number> {
  return run(argv, processIO());
}

/**
 * True when this module is the program: run directly (`node dist/keep.mjs`,
 * `tsx src/cli/main.ts`) or through the package's `bin/keep.js`, which only
 * imports the bundle beside it.
 */
function isProgram(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    const started = pathToFileURL(realpathSync(script)).href;
    return (
      started === import.meta.url || started === new URL('../bin/keep.js', import.meta.url).href
    );
  } catch {
    return false;
  }
}

if (isProgram()) {
  process.exitCode = await main(process.argv.slice(2));
}
