/**
 * `login` with a GitHub personal access token, in the steps of Vault's
 * github method: who is the token's user (`GET /user`), is the user in the
 * configured organization, matched by its numeric id (`GET /user/orgs`),
 * which of the organization's teams is the user in (`GET /user/teams`,
 * matched by name and by slug, case-insensitively), and which policies the
 * team and user maps grant. The token gets the union, plus the config's own
 * `token_policies`.
 *
 * The GitHub token is only ever sent to GitHub: it is not stored, not put on
 * the Keep token, and not quoted in any error.
 */
import type { PathSpec } from '../../framework/backend.ts';
import type { BackendContext } from '../../framework/types.ts';
import { cidrMatcher } from '../../lib/cidr.ts';
import { BadRequestError, KeepError, PermissionDeniedError } from '../../lib/errors.ts';
import { authFromSettings } from '../token-fields.ts';
import { GithubClient } from './client.ts';
import { apiRoot, type ClientLimits, loadConfig, saveConfig } from './config.ts';
import { mappedPolicies } from './maps.ts';

/** Classic tokens are 40 characters, fine-grained ones under 100; nothing real is longer. */
const MAX_TOKEN_CHARS = 1024;

/** Counters on the core's metrics registry: keep.github.login.success and .failure. */
function count(ctx: BackendContext, name: string): void {
  ctx.system.metrics?.incr(`keep.github.${name}`, 1, { mount: ctx.mount.path });
}

export function loginPath(limits: ClientLimits): PathSpec {
  return {
    pattern: 'login',
    fields: { token: { type: 'string', description: 'A GitHub personal access token.' } },
    synopsis: 'Log in with a GitHub personal access token.',
    description:
      'The token needs the read:org scope. Errors: 400 for a token GitHub refuses or a ' +
      'user outside the organization, 502 when GitHub cannot be reached.',
    operations: {
      update: async (req, f, ctx) => {
        const token = f.string('token');
        if (token === '') throw new BadRequestError('missing token');
        // Printable ASCII only: anything else cannot be a GitHub token, nor go in a header.
        if (token.length > MAX_TOKEN_CHARS || !/^[\x21-\x7e]+$/.test(token)) {
          throw new BadRequestError('invalid GitHub token: not in the form of a GitHub token');
        }

        const config = await loadConfig(ctx.storage);
        if (!config) throw new BadRequestError('configuration has not been set');
        if (!cidrMatcher(config.token.boundCidrs)(req.remoteAddr)) {
          throw new PermissionDeniedError();
        }

        try {
          const client = new GithubClient({ ...limits, baseUrl: apiRoot(config), token });
          if (config.organization_id === 0) {
            // A config stored before the id was known: trust on first use, as Vault does.
            const org = await client.org(config.organization);
            if (!org) throw new BadRequestError('user is not part of required org');
            config.organization_id = org.id;
            await saveConfig(ctx.storage, config);
          }

          const user = await client.user();
          const org = (await client.orgs()).find((o) => o.id === config.organization_id);
          if (!org) throw new BadRequestError('user is not part of required org');

          const teamNames: string[] = [];
          for (const team of await client.teams()) {
            if (team.organization.id !== org.id) continue;
            teamNames.push(team.name, team.slug);
          }
          const policies = [
            ...(await mappedPolicies(ctx.storage, 'teams', teamNames)),
            ...(await mappedPolicies(ctx.storage, 'users', [user.login])),
          ];
          const warnings =
            org.login === config.organization
              ? undefined
              : [
                  `the organization name has changed to "${org.login}"; consider updating ` +
                    `organization in the config (organization_id=${org.id})`,
                ];
          const auth = authFromSettings(config.token, {
            displayName: user.login,
            metadata: { username: user.login, org: org.login },
            extraPolicies: policies,
            aliasName: user.login,
          });
          count(ctx, 'login.success');
          return { warnings, auth };
        } catch (err) {
          if (err instanceof KeepError) count(ctx, 'login.failure');
          throw err;
        }
      },
    },
  };
}
