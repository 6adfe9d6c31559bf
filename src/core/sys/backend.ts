/**
 * The `sys/` mount: the logical half of Vault's system backend. Endpoints
 * that must answer while sealed (health, seal-status, init, unseal, rekey,
 * leader) are served by the HTTP layer directly, as in Vault.
 */
import { defineBackend, type PathSpec } from '../../framework/backend.ts';
import type { Backend } from '../../framework/types.ts';
import { BadRequestError, PermissionDeniedError } from '../../lib/errors.ts';
import type { Core } from '../core.ts';
import { auditPaths } from './audit.ts';
import { haPaths } from './ha.ts';
import { loggerPaths } from './loggers.ts';
import { metricsPaths } from './metrics.ts';
import { describeMount, mountPaths } from './mounts.ts';
import { policyPaths } from './policies.ts';
import { wrappingPaths } from './wrapping.ts';

export function sysBackend(core: Core): Backend {
  return defineBackend({
    type: 'system',
    // Vault's internal UI listing filters by the caller's token itself.
    unauthenticatedPaths: ['internal/ui/mounts', 'internal/ui/mounts/*', 'wrapping/lookup'],
    sudoPaths: [
      'auth/*',
      'rotate',
      'seal',
      'audit',
      'audit/*',
      'raw',
      'raw/*',
      'step-down',
      'loggers',
      'loggers/*',
    ],
    paths: [
      ...mountPaths(core, 'auth'),
      ...mountPaths(core, 'secret'),
      ...policyPaths(core),
      ...auditPaths(core),
      ...wrappingPaths(core),
      ...metricsPaths(core.metrics),
      ...loggerPaths(core),
      ...keyPaths(core),
      ...haPaths(core),
      ...internalUiPaths(core),
    ],
  });
}

function keyPaths(core: Core): PathSpec[] {
  return [
    {
      pattern: 'key-status',
      synopsis: 'The active encryption key term of the barrier.',
      operations: {
        read: async () => ({ legacyTopLevel: true, data: { ...core.barrier.keyStatus() } }),
      },
    },
    {
      pattern: 'rotate',
      synopsis: 'Add a new encryption key term to the barrier keyring.',
      operations: {
        update: async () => {
          await core.barrier.rotate();
          core.logger.info({ term: core.barrier.keyStatus().term }, 'barrier key rotated');
          return undefined;
        },
      },
    },
    {
      pattern: 'seal',
      synopsis: 'Seal the server.',
      operations: {
        update: async () => {
          // Answer first: sealing drops the state this request is running on.
          setImmediate(() => {
            core.sealNow().catch((err) => core.logger.error({ err }, 'seal failed'));
          });
          return undefined;
        },
      },
    },
  ];
}

function internalUiPaths(core: Core): PathSpec[] {
  return [
    {
      pattern: 'internal/ui/mounts/(?<path>.+)',
      fields: { path: { type: 'string' } },
      synopsis: 'The mount serving a path, for clients that detect the KV version.',
      operations: {
        read: async (req, f) => {
          if (!req.caller) throw new PermissionDeniedError();
          const path = f.string('path').replace(/^\/+/, '');
          const mounted = core.mountFor(path);
          if (!mounted) {
            throw new BadRequestError(`no mount found for path "${path}"`);
          }
          const acl = await core.unsealed.policies.aclFor(req.caller.policies);
          if (!acl.hasAccessUnder(mounted.routePath)) {
            throw new PermissionDeniedError(
              `preflight capability check returned 403, please ensure client's policies grant access to path "${mounted.routePath}"`,
            );
          }
          const info = describeMount(mounted.entry);
          return { data: { ...info, path: mounted.routePath } };
        },
      },
    },
    {
      pattern: 'internal/ui/mounts',
      synopsis: 'The mounts the caller may use.',
      operations: {
        read: async (req) => {
          const secret: Record<string, unknown> = {};
          const auth: Record<string, unknown> = {};
          if (req.caller) {
            const acl = await core.unsealed.policies.aclFor(req.caller.policies);
            for (const m of core.unsealed.router.list('secret')) {
              if (acl.hasAccessUnder(m.routePath)) secret[m.routePath] = describeMount(m.entry);
            }
            for (const m of core.unsealed.router.list('auth')) {
              if (acl.hasAccessUnder(m.routePath)) auth[m.entry.path] = describeMount(m.entry);
            }
          }
          return { data: { secret, auth } };
        },
      },
    },
  ];
}
