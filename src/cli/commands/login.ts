/**
 * `keep login`: authenticates, checks the result with the server, and stores
 * the token in `~/.keep-token` (mode 0600) for the next commands.
 */
import { parseArgsData } from '../args-data.ts';
import { storeToken } from '../client.ts';
import { type Command, defineCommand, fieldFlags, formatFlags, httpFlags } from '../command.ts';
import { LocalError } from '../errors.ts';
import { boolFlag, stringFlag } from '../flags.ts';
import { type Secret, wrapAtLength } from '../output.ts';

interface TokenInfo {
  id?: string;
  accessor?: string;
  policies?: string[] | null;
  identity_policies?: string[] | null;
  meta?: Record<string, string> | null;
  ttl?: number;
  renewable?: boolean;
}

const AUTHENTICATED =
  'Success! You are now authenticated. The token information displayed below is already ' +
  'stored in the token file. You do NOT need to run "keep login" again. Future requests ' +
  'will automatically use this token.';

const NOT_STORED =
  'The token was not stored in the token file. Set the KEEP_TOKEN environment variable or ' +
  'pass the token below with each request to Keep.';

const NOT_PERSISTED =
  'Authentication was successful, but the token was not persisted. The resulting token is ' +
  'shown below for your records.';

function envTokenWarning(name: string): string {
  return (
    `WARNING! The ${name} environment variable is set! The value of this variable will take ` +
    `precedence; if this is unwanted please unset ${name} or update its value accordingly.`
  );
}

const login = defineCommand({
  synopsis: 'Authenticate locally',
  usage: `
Usage: keep login [options] [AUTH K=V...]

  Authenticates users or machines to the server with the given credentials,
  checks them, and stores the resulting token in ~/.keep-token (readable by its
  owner only) so later commands use it. KEEP_TOKEN or VAULT_TOKEN, when set,
  take precedence over the stored token.

  With a token (checked with auth/token/lookup-self):

      $ keep login s.3jnbMAKl1i4YDtoN0bQ2KwA
      $ echo "$TOKEN" | keep login -

  Without an argument the token is prompted for without echo on a terminal,
  and read from stdin otherwise.

  With another auth method:

      $ keep login -method=userpass username=my-username
      $ keep login -method=github -path=github-prod token=-

  userpass takes username= and password=; without password= the password is
  prompted for on a terminal, and read from stdin otherwise. github takes
  token= (a personal access token with the read:org scope), else the
  KEEP_AUTH_GITHUB_TOKEN or VAULT_AUTH_GITHUB_TOKEN environment variable, else
  a prompt. The mount defaults to the method's name; -path or mount= (which
  wins) choose another.

  Supported methods: token (default), userpass, ldap, github.`,
  flags: {
    ...httpFlags,
    ...fieldFlags,
    ...formatFlags,
    method: stringFlag('Type of authentication to use: token, userpass, ldap or github.', {
      default: 'token',
    }),
    path: stringFlag('Remote path where the auth method is enabled. Defaults to the method.'),
    'no-store': boolFlag('Do not persist the token to the token file after authentication.'),
    'no-print': boolFlag('Do not display the token. The token is still stored.'),
    'token-only': boolFlag(
      'Output only the token, without storing it. A shortcut for -field=token -no-store.',
    ),
  },
  async run(ctx) {
    const { ui, flags, io } = ctx;
    const method = flags.method.trim().toLowerCase();
    const noStore = flags['no-store'] || flags['token-only'];
    const field = flags['token-only'] ? 'token' : flags.field;

    let args = ctx.args;
    if (method === 'token' && args.length > 0 && !args[0].includes('=')) {
      args = [`token=${args[0]}`, ...args.slice(1)];
    }

    let config: Record<string, string>;
    try {
      const raw = await parseArgsData(args, { readStdin: () => io.readStdin() });
      config = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, String(v)]));
    } catch (err) {
      return ctx.fail('Error parsing configuration', err);
    }
    // `-path=userpass/` and `-path=/userpass` name the same mount as `-path=userpass`.
    const mount = (config.mount || flags.path || method).replace(/^\/+|\/+$/g, '');

    const secret = async (name: string, prompt: string): Promise<string> => {
      const value = config[name];
      if (value && value !== '-') return value.trim();
      if (value === '-' || !io.stdinIsTTY) return (await io.readStdin()).trim();
      return (await io.readSecret(prompt)).trim();
    };

    let result: Secret | null;
    try {
      const client = ctx.client();
      if (method === 'token') {
        const token = await secret('token', 'Token (will be hidden): ');
        if (!token) throw new LocalError('a token must be passed to auth, see "keep login -h"');
        let info: { data?: TokenInfo } | null;
        try {
          info = await client.call('GET', 'auth/token/lookup-self', { token });
        } catch (err) {
          throw Object.assign(err as Error, {
            message: `error looking up token: ${(err as Error).message}`,
          });
        }
        const data = info?.data ?? {};
        const policies = [...(data.policies ?? []), ...(data.identity_policies ?? [])];
        result = {
          auth: {
            client_token: token,
            accessor: data.accessor ?? '',
            policies,
            token_policies: data.policies ?? [],
            identity_policies: data.identity_policies ?? [],
            metadata: data.meta ?? null,
            lease_duration: data.ttl ?? 0,
            renewable: data.renewable ?? false,
          },
        };
      } else if (method === 'userpass' || method === 'ldap') {
        const username = config.username;
        if (!username) throw new LocalError("'username' must be specified");
        const password = await secret('password', 'Password (will be hidden): ');
        if (!password) throw new LocalError('a password must be given, see "keep login -h"');
        result = await client.write(`auth/${mount}/login/${username}`, { password });
      } else if (method === 'github') {
        // As Vault's CLI: token=, else the environment, else a prompt (or stdin).
        const fromEnv = io.env.KEEP_AUTH_GITHUB_TOKEN || io.env.VAULT_AUTH_GITHUB_TOKEN;
        if (!config.token && fromEnv) config.token = fromEnv;
        const token = await secret('token', 'GitHub Personal Access Token (will be hidden): ');
        if (!token) throw new LocalError('a GitHub token must be given, see "keep login -h"');
        result = await client.write(`auth/${mount}/login`, { token });
      } else {
        ui.error(
          wrapAtLength(
            `Unknown auth method: ${method}. Use "keep auth list" to see the enabled auth ` +
              'methods; token, userpass, ldap and github can log in from this command.',
          ),
        );
        return 1;
      }
    } catch (err) {
      return ctx.fail('Error authenticating', err);
    }

    if (!result?.auth) {
      ui.error(
        wrapAtLength(
          'The server returned a secret, but the secret has no authentication information ' +
            'attached. This should never happen and is likely a bug.',
        ),
      );
      return 2;
    }

    if (!noStore) {
      try {
        storeToken(io.env, result.auth.client_token);
      } catch (err) {
        ui.error(`Error storing token: ${(err as Error).message}`);
        ui.error(`${wrapAtLength(NOT_PERSISTED)}\n`);
        ui.secret(result);
        return 2;
      }
      const envName = ['KEEP_TOKEN', 'VAULT_TOKEN'].find((n) => io.env[n]);
      if (envName) {
        ui.warn(`${wrapAtLength(envTokenWarning(envName))}\n`);
      }
    } else if (!flags['token-only']) {
      ui.warn(`${wrapAtLength(NOT_STORED)}\n`);
    }

    if (flags['no-print']) return 0;
    if (field) return ui.field(result, field);
    if (ui.format === 'table' && !noStore) {
      ui.output(`${wrapAtLength(AUTHENTICATED)}\n`);
    }
    return ui.secret(result);
  },
});

export const loginCommands: Record<string, Command> = { login };
