/**
 * `keep env`: starts a program with a service's secrets and config in its
 * environment (or writes that environment out), as envconsul does for
 * Consul and Vault. Sources follow the convention of conventionLayout()
 * plus any -secret and -prefix; names follow envconsul's rules (DESIGN.md).
 * Authentication is a token (KEEP_TOKEN, VAULT_TOKEN, ~/.keep-token) or an
 * AppRole login from a role ID and secret ID, read from files or from a
 * `keep provision` drop, unwrapping a wrapped secret ID first. Neither the
 * token nor any value is printed, and the token is kept out of the child's
 * environment unless -pass-token asks for it.
 */
import { chmod, writeFile } from 'node:fs/promises';
import { constants } from 'node:os';
import { parseDropUrl, readCredentialFile, readDrop } from '../../provision/drop.ts';
import {
  checkName,
  conflictMessage,
  conventionLayout,
  type EnvFormat,
  isShellName,
  type Layer,
  mergeLayers,
  relativeKey,
  renderEnv,
} from '../../provision/env-vars.ts';
import { ApiClient, resolveAddress, resolveTls, resolveToken } from '../client.ts';
import { type Command, httpFlags } from '../command.ts';
import { exitCodeFor, LocalError, ResponseError } from '../errors.ts';
import {
  boolFlag,
  durationFlag,
  FlagError,
  type FlagValues,
  formatFlagHelp,
  listFlag,
  parseFlags,
  stringFlag,
} from '../flags.ts';
import type { CliIO } from '../io.ts';
import { wrapAtLength } from '../output.ts';
import { resolveConfigAddress } from './config.ts';
import { supervise } from './env-supervise.ts';

const AUTH = 'Auth Options';
const EXEC = 'Exec Options';

const flags = {
  ...httpFlags,
  'config-address': stringFlag(
    "Address of Keep's config store listener (its Consul KV API). The default is " +
      'http://127.0.0.1:8500; also KEEP_CONFIG_ADDR or CONSUL_HTTP_ADDR.',
  ),
  service: stringFlag('The service whose secrets and config to load, by the convention.'),
  env: stringFlag('The environment of the service (production, staging, ...).'),
  secret: listFlag('Also load this KV v2 secret (mount/path); repeatable, later ones win.'),
  prefix: listFlag('Also load the config keys under this prefix; repeatable, later ones win.'),
  'secret-mount': stringFlag('Mount of the KV v2 engine of the convention.', {
    default: 'secret',
  }),
  upcase: boolFlag('Convert variable names to upper case.'),
  sanitize: boolFlag('Replace characters outside [A-Za-z0-9_] in names with "_".'),
  'no-prefix': boolFlag(
    "Name a secret's variables by its field names alone (the default); -no-prefix=false " +
      'puts the secret path in front, as envconsul does.',
    { default: true },
  ),
  pristine: boolFlag("Give the child only the loaded variables, not keep's own environment."),
  once: boolFlag(
    'Load once and do not watch. Without it a change in config (blocking queries) or in ' +
      'secrets (polled) restarts the command, or sends it -exec-reload-signal.',
  ),
  'exec-kill-signal': stringFlag('Signal that stops the command before a restart.', {
    default: 'SIGTERM',
    group: EXEC,
  }),
  'exec-kill-timeout': durationFlag('How long to wait after the kill signal before SIGKILL.', {
    default: 30 * 1e9,
    group: EXEC,
  }),
  'exec-reload-signal': stringFlag(
    'Send this signal on a change instead of restarting the command.',
    { group: EXEC },
  ),
  'secret-poll': durationFlag('How often to look for changed secrets while watching.', {
    default: 60 * 1e9,
    group: EXEC,
  }),
  'pass-token': boolFlag("Put the token into the child's environment as KEEP_TOKEN."),
  format: stringFlag(
    'Instead of running a command, print the environment as dotenv, json or shell ' +
      '(export lines for eval).',
  ),
  out: stringFlag('With -format: write to this file (mode 0600) instead of stdout.'),
  exec: stringFlag('The command to run, as one string for /bin/sh -c.', { group: EXEC }),
  'role-id-file': stringFlag('Log in with AppRole: the file holding the role ID.', {
    group: AUTH,
  }),
  'secret-id-file': stringFlag(
    'The file holding the secret ID, or a wrapping token around it (unwrapped first).',
    { group: AUTH },
  ),
  'approle-from': stringFlag(
    'Log in with the credentials "keep provision" dropped: file:///drop/WORKLOAD.',
    { group: AUTH },
  ),
  'approle-mount': stringFlag('Mount of the AppRole auth method.', {
    default: 'approle',
    group: AUTH,
  }),
};

type Flags = FlagValues<typeof flags>;

const USAGE = `
Usage: keep env [options] [--] COMMAND [ARGS...]

  Runs COMMAND with the secrets and config of a service in its environment.
  By convention, for -service=S -env=E: config under global/, then S/global/,
  then S/E/ (the config store; names relative to the prefix), then the fields
  of secrets secret/S/global and secret/S/E; later ones win, and a secret beats
  a config value of the same name (reported on stderr, without values).
  Signals are forwarded to COMMAND and its exit code is keep's.

      $ keep env -service=checkout -env=production \\
          -approle-from=file:///var/lib/keep-drop/checkout-production -- ./server
      $ keep env -service=checkout -env=production -upcase -sanitize -format=dotenv -out=.env

  The token comes from -approle-from, -role-id-file with -secret-id-file, or
  KEEP_TOKEN, VAULT_TOKEN and ~/.keep-token, in that order.`;

function clientFor(f: Flags, io: CliIO, token?: string): ApiClient {
  return new ApiClient({
    address: resolveAddress(f.address || undefined, io.env),
    token,
    tls: resolveTls(
      {
        caCert: f['ca-cert'] || undefined,
        caPath: f['ca-path'] || undefined,
        clientCert: f['client-cert'] || undefined,
        clientKey: f['client-key'] || undefined,
        serverName: f['tls-server-name'] || undefined,
        skipVerify: f['tls-skip-verify'],
      },
      io.env,
    ),
  });
}

interface Login {
  token: string;
  /** Seconds; 0 when unknown or not renewable. */
  renewEvery: number;
}

/** The secret ID, unwrapping a wrapping token first. */
async function unwrapSecretId(client: ApiClient, wrappingToken: string): Promise<string> {
  let answer: { data?: { secret_id?: unknown } } | null;
  try {
    answer = await client.call('POST', 'sys/wrapping/unwrap', { token: wrappingToken, body: {} });
  } catch (err) {
    if (err instanceof ResponseError && err.status < 500) {
      throw Object.assign(
        new Error(
          'cannot unwrap the secret ID: the wrapping token was already used, has expired or ' +
            'was revoked (unwrapping works once; run "keep provision rotate" for a new one)',
        ),
        { cause: err },
      );
    }
    throw err;
  }
  const id = answer?.data?.secret_id;
  if (typeof id !== 'string' || !id) {
    throw new Error('the unwrapped response holds no secret_id: not a wrapped secret ID');
  }
  return id;
}

/** Whether the server knows `value` as a live wrapping token (the lookup does not spend it). */
async function isWrappingToken(client: ApiClient, value: string): Promise<boolean> {
  try {
    await client.call('POST', 'sys/wrapping/lookup', { body: { token: value } });
    return true;
  } catch {
    return false;
  }
}

async function appRoleLogin(f: Flags, io: CliIO): Promise<Login | undefined> {
  const anon = clientFor(f, io);
  let roleId: string;
  let secretId: string;
  let wrapped: boolean;
  if (f['approle-from']) {
    const drop = await readDrop(parseDropUrl(f['approle-from']), io.env);
    ({ roleId, secretId, wrapped } = drop);
  } else if (f['role-id-file'] || f['secret-id-file']) {
    if (!f['role-id-file'] || !f['secret-id-file']) {
      throw new LocalError('-role-id-file and -secret-id-file go together');
    }
    roleId = await readCredentialFile(f['role-id-file'], 'role ID');
    secretId = await readCredentialFile(f['secret-id-file'], 'secret ID');
    wrapped = await isWrappingToken(anon, secretId);
  } else {
    return undefined;
  }
  if (wrapped) secretId = await unwrapSecretId(anon, secretId);
  const mount = f['approle-mount'].replace(/^\/+|\/+$/g, '');
  let answer: Awaited<ReturnType<ApiClient['write']>>;
  try {
    answer = await anon.write(`auth/${mount}/login`, { role_id: roleId, secret_id: secretId });
  } catch (err) {
    if (err instanceof ResponseError && err.status === 400) {
      throw new ResponseError(
        err.method,
        err.url,
        err.status,
        [
          ...err.errors,
          'AppRole login refused: the secret ID was already used (it is good for one login), ' +
            'has expired, or does not belong to this role ID; run "keep provision rotate"',
        ],
        false,
      );
    }
    throw err;
  }
  const auth = answer?.auth;
  if (!auth?.client_token) throw new Error('the AppRole login returned no token');
  const renewEvery = auth.renewable && auth.lease_duration > 0 ? auth.lease_duration / 2 : 0;
  return { token: auth.client_token, renewEvery };
}

function stringValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** A KV v2 secret's fields; undefined when there is none at the path. */
async function readSecret(
  client: ApiClient,
  mount: string,
  path: string,
): Promise<Record<string, string> | undefined> {
  const answer = await client.read(`${mount}/data/${path}`);
  const data = answer?.data?.data;
  if (!data || typeof data !== 'object') return undefined;
  return Object.fromEntries(
    Object.entries(data as Record<string, unknown>).map(([k, v]) => [k, stringValue(v)]),
  );
}

/** Config keys under `prefix`, relative to it; undefined when there are none. */
async function readConfig(
  base: string,
  token: string,
  prefix: string,
): Promise<Record<string, string> | undefined> {
  const path = prefix.split('/').map(encodeURIComponent).join('/');
  const url = `${base}/v1/kv/${path}?recurse`;
  let res: Response;
  try {
    res = await fetch(url, { headers: { 'X-Consul-Token': token } });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new Error(`cannot reach the config store at ${base}: ${cause}`);
  }
  const text = await res.text();
  if (res.status === 404) return undefined;
  if (res.status >= 400) {
    throw new ResponseError('GET', `${base}/v1/kv/${path}`, res.status, [text.trim()], true);
  }
  const entries = JSON.parse(text) as { Key: string; Value: string | null }[];
  const values: Record<string, string> = {};
  for (const e of entries) {
    const key = relativeKey(prefix, e.Key);
    if (key === undefined) continue;
    values[key] = e.Value === null ? '' : Buffer.from(e.Value, 'base64').toString('utf8');
  }
  return Object.keys(values).length > 0 ? values : undefined;
}

function splitSecretPath(text: string): { mount: string; path: string } {
  const clean = text.replace(/^\/+|\/+$/g, '');
  const at = clean.indexOf('/');
  if (at <= 0 || at === clean.length - 1) {
    throw new LocalError(`invalid -secret ${JSON.stringify(text)}: expected MOUNT/PATH`);
  }
  return { mount: clean.slice(0, at), path: clean.slice(at + 1) };
}

/** The config prefixes to read, lowest precedence first. */
function configPrefixesOf(f: Flags): string[] {
  const conv = f.service ? conventionLayout(f.service, f.env, f['secret-mount']) : undefined;
  return [
    ...(conv?.configPrefixes ?? []),
    ...f.prefix.map((p) => `${p.replace(/^\/+|\/+$/g, '')}/`),
  ];
}

/** A signal name (`TERM` or `SIGTERM`) Node knows; LocalError otherwise. */
function checkedSignal(flag: string, name: string): NodeJS.Signals {
  const full = (name.toUpperCase().startsWith('SIG') ? name : `SIG${name}`).toUpperCase();
  if (!(full in constants.signals)) throw new LocalError(`invalid ${flag} ${JSON.stringify(name)}`);
  return full as NodeJS.Signals;
}

/** Reads every layer; a missing service (nothing at all under it) is an error. */
async function loadLayers(f: Flags, io: CliIO, client: ApiClient, token: string) {
  const layers: Layer[] = [];
  const secretNames = (mount: string, path: string, values: Record<string, string>) =>
    f['no-prefix']
      ? values
      : Object.fromEntries(
          Object.entries(values).map(([k, v]) => [`${mount}/${path}/${k}`.replaceAll('/', '_'), v]),
        );
  const base = resolveConfigAddress(f['config-address'] || undefined, io.env);
  const conv = f.service ? conventionLayout(f.service, f.env, f['secret-mount']) : undefined;
  const configPrefixes = configPrefixesOf(f);
  const secrets = [
    ...(conv?.secrets.map((s) => ({ ...s, required: false })) ?? []),
    ...f.secret.map((s) => ({ ...splitSecretPath(s), required: true })),
  ];

  let foundForService = false;
  for (const prefix of configPrefixes) {
    const values = await readConfig(base, token, prefix);
    if (!values) continue;
    if (conv && prefix !== 'global/' && conv.configPrefixes.includes(prefix)) {
      foundForService = true;
    }
    layers.push({ kind: 'config', source: `config ${prefix}`, values });
  }
  for (const s of secrets) {
    const values = await readSecret(client, s.mount, s.path);
    if (!values) {
      if (s.required) throw new LocalError(`no secret at ${s.mount}/${s.path}`);
      continue;
    }
    if (!s.required) foundForService = true;
    layers.push({
      kind: 'secret',
      source: `${s.mount}/${s.path}`,
      values: secretNames(s.mount, s.path, values),
    });
  }
  if (conv && !foundForService) {
    throw new LocalError(
      `unknown service: nothing found for ${f.service} in ${f.env} (no secret at ` +
        `${conv.secrets.map((s) => `${s.mount}/${s.path}`).join(' or ')}, no config under ` +
        `${f.service}/${f.env}/ or ${f.service}/global/)`,
    );
  }
  return layers;
}

function startRenewal(client: ApiClient, login: Login | undefined, io: CliIO): () => void {
  if (!login || login.renewEvery <= 0) return () => {};
  let warned = false;
  const timer = setInterval(() => {
    client.call('PUT', 'auth/token/renew-self', { body: {} }).catch((err: Error) => {
      if (!warned) io.stderr(`keep env: could not renew the token: ${err.message}\n`);
      warned = true;
    });
  }, Math.max(1, login.renewEvery) * 1000);
  timer.unref();
  return () => clearInterval(timer);
}

async function writeOut(path: string, text: string): Promise<void> {
  try {
    await writeFile(path, text, { mode: 0o600 });
    await chmod(path, 0o600);
  } catch (err) {
    throw new LocalError(`cannot write ${path}: ${(err as NodeJS.ErrnoException).code}`);
  }
}

async function runEnv(argv: string[], io: CliIO): Promise<number> {
  const fail = (err: unknown) => {
    const message = err instanceof Error ? err.message : String(err);
    io.stderr(`keep env: ${message}\n`);
    return exitCodeFor(err);
  };
  let parsed: ReturnType<typeof parseFlags<typeof flags>>;
  try {
    parsed = parseFlags(flags, argv);
  } catch (err) {
    if (!(err instanceof FlagError)) throw err;
    io.stderr(`${err.message}\n`);
    return 1;
  }
  const f = parsed.values;
  const command = f.exec ? ['/bin/sh', '-c', f.exec] : parsed.args;

  try {
    if (f.exec && parsed.args.length > 0) {
      throw new LocalError('give the command either with -exec or after the flags, not both');
    }
    const format = f.format.toLowerCase();
    if (format && !['dotenv', 'json', 'shell'].includes(format)) {
      throw new LocalError(`invalid -format ${JSON.stringify(f.format)}: dotenv, json or shell`);
    }
    if (format && command.length > 0) {
      throw new LocalError('-format writes the environment out; it takes no command');
    }
    if (f.out && !format) throw new LocalError('-out needs -format');
    const killSignal = checkedSignal('-exec-kill-signal', f['exec-kill-signal']);
    const reloadSignal = f['exec-reload-signal']
      ? checkedSignal('-exec-reload-signal', f['exec-reload-signal'])
      : undefined;
    if (!format && command.length === 0) {
      throw new LocalError('no command given: keep env [options] -- COMMAND [ARGS...]');
    }
    if (f.service || f.env) {
      for (const [what, value] of [
        ['-service', f.service],
        ['-env', f.env],
      ] as const) {
        const bad = checkName(what, value);
        if (bad) throw new LocalError(bad);
      }
    } else if (f.secret.length === 0 && f.prefix.length === 0) {
      throw new LocalError('-service and -env are required (or -secret and -prefix sources)');
    }

    const login = await appRoleLogin(f, io);
    const token = login?.token ?? resolveToken(io.env);
    if (!token) {
      throw new LocalError(
        'no token: give -approle-from, -role-id-file and -secret-id-file, or set KEEP_TOKEN',
      );
    }
    const client = clientFor(f, io, token);
    const layers = await loadLayers(f, io, client, token);
    const merged = mergeLayers(layers, { sanitize: f.sanitize, upcase: f.upcase });
    for (const c of merged.conflicts) io.stderr(`${conflictMessage(c)}\n`);

    if (format) {
      if (format !== 'json') {
        const bad = Object.keys(merged.vars).filter((n) => !isShellName(n));
        if (bad.length > 0) {
          throw new LocalError(
            `names a shell cannot take: ${bad.join(', ')} (use -sanitize, or -format=json)`,
          );
        }
      }
      const text = renderEnv(merged.vars, format as EnvFormat);
      if (f.out) await writeOut(f.out, text);
      else io.stdout(text);
      return 0;
    }

    const inherited: NodeJS.ProcessEnv = f.pristine ? {} : { ...io.env };
    delete inherited.KEEP_TOKEN;
    delete inherited.VAULT_TOKEN;
    const childEnv = (vars: Record<string, string>): NodeJS.ProcessEnv => {
      const env: NodeJS.ProcessEnv = { ...inherited, ...vars };
      if (f['pass-token']) env.KEEP_TOKEN = token;
      return env;
    };
    const stopRenewal = startRenewal(client, login, io);
    try {
      return await supervise({
        argv: command,
        env: childEnv,
        vars: merged.vars,
        io,
        watch: f.once
          ? undefined
          : {
              reload: async () => {
                const again = await loadLayers(f, io, client, token);
                return mergeLayers(again, { sanitize: f.sanitize, upcase: f.upcase }).vars;
              },
              configBase: resolveConfigAddress(f['config-address'] || undefined, io.env),
              configPrefixes: configPrefixesOf(f),
              token,
              pollSeconds: Math.max(1, f['secret-poll'] / 1e9),
              killSignal,
              killTimeoutMs: Math.max(0, f['exec-kill-timeout'] / 1e6),
              reloadSignal,
            },
      });
    } finally {
      stopRenewal();
    }
  } catch (err) {
    return fail(err);
  }
}

export const envCommand: Command = {
  synopsis: 'Run a program with its secrets and config in its environment',
  help: () => `${USAGE.trim()}\n\n${formatFlagHelp(flags, (t) => wrapAtLength(t, 6))}`.trim(),
  run: runEnv,
};

export const envCommands: Record<string, Command> = { env: envCommand };
