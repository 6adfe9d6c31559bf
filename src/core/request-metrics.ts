/**
 * What the core records for each request that reached a mount, whether the
 * backend answered or failed:
 *
 *   keep.core.handle_request        timing (ms), every request but logins (Vault's)
 *   keep.core.handle_login_request  timing (ms), logins (Vault's)
 *   keep.route.<op>.<mount>         timing (ms), mount with `/` as `-`: keep.route.read.secret- (Vault's)
 *   keep.core.mount_request         timing (ms), labels mount_point, operation, code: request
 *                                   counts (`_count`) and latency by mount and status (Keep's)
 *   keep.auth.login                 counter, labels auth_method, mount_point (Keep's)
 *   keep.auth.login_failure         counter, same labels (Keep's)
 *
 * A login is a request to an auth method's unauthenticated path (the token
 * method has none that log in). Requests refused before they reach a mount
 * (sealed, no such mount) are counted by status at the HTTP layer only.
 */
import type { LogicalRequest } from '../framework/types.ts';
import type { MetricsRegistry } from './metrics.ts';
import type { MountedBackend } from './mounts.ts';
import { matchesAny } from './path-glob.ts';

export function recordRequest(
  metrics: MetricsRegistry,
  req: LogicalRequest,
  mounted: MountedBackend,
  outcome: { startedMs: number; status: number },
): void {
  const ms = performance.now() - outcome.startedMs;
  const login =
    mounted.kind === 'auth' &&
    mounted.entry.type !== 'token' &&
    matchesAny(req.relPath, mounted.backend.unauthenticatedPaths);

  metrics.timing(login ? 'keep.core.handle_login_request' : 'keep.core.handle_request', ms);
  metrics.timing(`keep.route.${req.operation}.${mounted.routePath.replaceAll('/', '-')}`, ms);
  metrics.timing('keep.core.mount_request', ms, {
    mount_point: mounted.routePath,
    operation: req.operation,
    code: String(outcome.status),
  });
  if (login) {
    const labels = { auth_method: mounted.entry.type, mount_point: mounted.routePath };
    metrics.incr(outcome.status < 400 ? 'keep.auth.login' : 'keep.auth.login_failure', 1, labels);
  }
}
