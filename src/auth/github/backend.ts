/**
 * The `github` auth method: members of a GitHub organization log in with a
 * personal access token and get the policies mapped to their teams and to
 * themselves, as with Vault's github method (hvac's `client.auth.github`,
 * `vault login -method=github`).
 */
import { defineBackend } from '../../framework/backend.ts';
import type { Backend } from '../../framework/types.ts';
import { type ClientLimits, configPath } from './config.ts';
import { loginPath } from './login.ts';
import { mapPaths } from './maps.ts';

const HELP =
  'The github auth method lets members of a GitHub organization log in with a personal ' +
  'access token. Configure the organization at config, then map teams and users to ' +
  'policies under map/teams and map/users.';

export function githubBackend(limits: ClientLimits = {}): Backend {
  return defineBackend({
    type: 'github',
    help: HELP,
    unauthenticatedPaths: ['login'],
    paths: [configPath(limits), loginPath(limits), ...mapPaths('teams'), ...mapPaths('users')],
  });
}
