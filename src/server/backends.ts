/** The engines and auth methods a server can mount, by type name. */
import { approleBackend } from '../auth/approle/backend.ts';
import { githubBackend } from '../auth/github/backend.ts';
import { userpassBackend } from '../auth/userpass/backend.ts';
import type { BackendFactory } from '../core/mounts.ts';
import { cubbyholeBackend } from '../engines/cubbyhole/cubbyhole.ts';
import { kvBackend } from '../engines/kv/index.ts';
import { pkiBackend } from '../engines/pki/index.ts';

export function secretEngines(): Map<string, BackendFactory> {
  return new Map<string, BackendFactory>([
    ['kv', (entry) => kvBackend(entry.options)],
    ['cubbyhole', () => cubbyholeBackend()],
    ['pki', () => pkiBackend()],
  ]);
}

/** Auth methods besides `token`, which the core always mounts. */
export function authMethods(): Map<string, BackendFactory> {
  return new Map<string, BackendFactory>([
    ['approle', () => approleBackend()],
    ['userpass', () => userpassBackend()],
    ['github', () => githubBackend()],
  ]);
}
