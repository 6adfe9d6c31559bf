/**
 * The shape every `keep` subcommand has, and what it is handed when it runs:
 * parsed flags and arguments, an output sink in the chosen format, and a
 * lazily built API client.
 */
import { ApiClient, resolveAddress, resolveTls, resolveToken } from './client.ts';
import { exitCodeFor } from './errors.ts';
import {
  boolFlag,
  FlagError,
  type FlagSpecs,
  type FlagValues,
  formatFlagHelp,
  parseFlags,
  stringFlag,
  trailingFlagsWarning,
} from './flags.ts';
import type { CliIO } from './io.ts';
import { type OutputFormat, Ui, wrapAtLength } from './output.ts';

/** A runnable command as the dispatcher sees it. */
export interface Command {
  /** One line for the command list. */
  readonly synopsis: string;
  /** Full help: usage, description and flags. */
  help(): string;
  run(argv: string[], io: CliIO): Promise<number>;
}

export interface CommandContext<S extends FlagSpecs> {
  readonly io: CliIO;
  readonly ui: Ui;
  readonly flags: FlagValues<S>;
  /** Flags given explicitly on the command line. */
  readonly given: ReadonlySet<string>;
  readonly args: string[];
  client(): ApiClient;
  /** Prints `prefix: message` for a failure and returns its exit code (1 local, 2 remote). */
  fail(prefix: string, err: unknown): number;
  /** Prints Vault's argument-count message and returns 1, or returns 0 when the count fits. */
  checkArgs(min: number, max: number, expected?: string): number;
}

export interface CommandSpec<S extends FlagSpecs> {
  synopsis: string;
  /** Usage line and description, before the flag list. */
  usage: string;
  flags: S;
  run(ctx: CommandContext<S>): Promise<number>;
}

const HTTP = 'HTTP Options';
const OUTPUT = 'Output Options';

/** Connection flags every command that talks to the server takes. */
export const httpFlags = {
  address: stringFlag(
    'Address of the Keep server. The default is http://127.0.0.1:8200. This can also be ' +
      'specified via the KEEP_ADDR or VAULT_ADDR environment variable.',
    { group: HTTP },
  ),
  'ca-cert': stringFlag(
    'Path on the local disk to a single PEM-encoded CA certificate to verify the server ' +
      'certificate. This takes precedence over -ca-path. Also KEEP_CACERT or VAULT_CACERT.',
    { group: HTTP },
  ),
  'ca-path': stringFlag(
    'Path on the local disk to a directory of PEM-encoded CA certificates to verify the ' +
      'server certificate. Also KEEP_CAPATH or VAULT_CAPATH.',
    { group: HTTP },
  ),
  'client-cert': stringFlag(
    'Path on the local disk to a PEM-encoded certificate for TLS client authentication. ' +
      'Requires -client-key.',
    { group: HTTP },
  ),
  'client-key': stringFlag(
    'Path on the local disk to the PEM-encoded private key matching -client-cert.',
    { group: HTTP },
  ),
  'tls-server-name': stringFlag('Name to use as the SNI host when connecting over TLS.', {
    group: HTTP,
  }),
  'tls-skip-verify': boolFlag(
    'Disable verification of TLS certificates. Highly discouraged: it lets anyone on the ' +
      'path read and change traffic. Also KEEP_SKIP_VERIFY or VAULT_SKIP_VERIFY.',
    { group: HTTP },
  ),
};

export const formatFlags = {
  format: stringFlag(
    'Print the output in the given format. Valid formats are "table" and "json". The ' +
      'default is table, or the KEEP_FORMAT or VAULT_FORMAT environment variable.',
    { group: OUTPUT },
  ),
};

export const fieldFlags = {
  field: stringFlag(
    'Print only the field with the given name. This takes precedence over other ' +
      'formatting. The value has no trailing newline unless stdout is a terminal, which ' +
      'makes it ideal for piping to other processes.',
    { group: OUTPUT },
  ),
};

function resolveFormat(flag: unknown, env: CliIO['env']): string {
  const chosen = (typeof flag === 'string' && flag) || env.KEEP_FORMAT || env.VAULT_FORMAT;
  return (chosen || 'table').toLowerCase();
}

export function defineCommand<S extends FlagSpecs>(spec: CommandSpec<S>): Command {
  return {
    synopsis: spec.synopsis,
    help: () =>
      `${spec.usage.trim()}\n\n${formatFlagHelp(spec.flags, (t) => wrapAtLength(t, 6))}`.trim(),
    async run(argv, io) {
      const errorOut = (text: string) => io.stderr(`${text}\n`);

      let parsed: ReturnType<typeof parseFlags<S>>;
      try {
        parsed = parseFlags(spec.flags, argv);
      } catch (err) {
        if (!(err instanceof FlagError)) throw err;
        errorOut(err.message);
        return 1;
      }

      const format = resolveFormat((parsed.values as Record<string, unknown>).format, io.env);
      if (format !== 'table' && format !== 'json') {
        errorOut(`Invalid output format: ${format}`);
        return 1;
      }
      const ui = new Ui(io, format as OutputFormat);
      if (parsed.trailingFlags.length > 0 && format === 'table') {
        ui.warn(trailingFlagsWarning(parsed.trailingFlags));
      }

      let client: ApiClient | undefined;
      const values = parsed.values as Record<string, unknown>;
      const ctx: CommandContext<S> = {
        io,
        ui,
        flags: parsed.values,
        given: parsed.given,
        args: parsed.args,
        client() {
          client ??= new ApiClient({
            address: resolveAddress(values.address as string | undefined, io.env),
            token: resolveToken(io.env),
            tls: resolveTls(
              {
                caCert: values['ca-cert'] as string | undefined,
                caPath: values['ca-path'] as string | undefined,
                clientCert: values['client-cert'] as string | undefined,
                clientKey: values['client-key'] as string | undefined,
                serverName: values['tls-server-name'] as string | undefined,
                skipVerify: values['tls-skip-verify'] as boolean | undefined,
              },
              io.env,
            ),
          });
          return client;
        },
        fail(prefix, err) {
          const message = err instanceof Error ? err.message : String(err);
          ui.error(prefix ? `${prefix}: ${message}` : message);
          return exitCodeFor(err);
        },
        checkArgs(min, max, expected) {
          const n = parsed.args.length;
          const want = expected ?? (min === max ? String(min) : `${min}-${max}`);
          if (n < min) ui.error(`Not enough arguments (expected ${want}, got ${n})`);
          else if (n > max) ui.error(`Too many arguments (expected ${want}, got ${n})`);
          else return 0;
          return 1;
        },
      };
      try {
        return await spec.run(ctx);
      } catch (err) {
        // Commands report expected failures with their own prefix; this is the backstop.
        return ctx.fail('Error', err);
      }
    },
  };
}
