/** `sys/audit` (enable, disable, list audit devices) and `sys/audit-hash`. */
import type { PathSpec } from '../../framework/backend.ts';
import { BadRequestError } from '../../lib/errors.ts';
import type { Core } from '../core.ts';

export function auditPaths(core: Core): PathSpec[] {
  return [
    {
      pattern: 'audit-hash/(?<path>.+)',
      fields: { path: { type: 'string' }, input: { type: 'string' } },
      synopsis: 'The HMAC an audit device logs for a value, to find it in the log.',
      operations: {
        update: async (_req, f) => ({
          legacyTopLevel: true,
          data: { hash: core.audit.hash(f.string('path'), f.string('input')) },
        }),
      },
    },
    {
      pattern: 'audit/(?<path>.+)',
      fields: {
        path: { type: 'string' },
        type: { type: 'string' },
        description: { type: 'string' },
        // Weakly typed, as Vault's: numbers and booleans are taken as strings.
        options: { type: 'string_map' },
        local: { type: 'bool' },
      },
      synopsis: 'Enable or disable an audit device.',
      operations: {
        update: async (_req, f) => {
          const type = f.string('type');
          if (!type) throw new BadRequestError('"type" is required');
          await core.audit.enable({
            path: f.string('path'),
            type,
            description: f.string('description'),
            options: f.get<Record<string, string>>('options'),
            local: f.bool('local'),
          });
          core.logger.info({ device: f.string('path'), type }, 'audit device enabled');
          return undefined;
        },
        delete: async (_req, f) => {
          await core.audit.disable(f.string('path'));
          core.logger.info({ device: f.string('path') }, 'audit device disabled');
          return undefined;
        },
      },
    },
    {
      pattern: 'audit',
      synopsis: 'List the enabled audit devices.',
      operations: {
        read: async () => {
          const data: Record<string, unknown> = {};
          for (const e of core.audit.list()) {
            data[e.path] = {
              path: e.path,
              type: e.type,
              description: e.description,
              options: e.options,
              local: e.local,
            };
          }
          return { legacyTopLevel: true, data };
        },
      },
    },
  ];
}
