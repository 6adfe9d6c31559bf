/** `sys/audit` (enable, disable, list audit devices) and `sys/audit-hash`. */
import type { PathSpec } from '../../framework/backend.ts';
import { BadRequestError } from '../../lib/errors.ts';
import type { Core } from '../core.ts';

function stringMap(value: unknown): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new BadRequestError('"options" must be a map of strings');
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) {
    if (typeof v === 'object' && v !== null) {
      throw new BadRequestError(`option "${k}" must be a string`);
    }
    out[k] = String(v);
  }
  return out;
}

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
        options: { type: 'map' },
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
            options: stringMap(f.raw.options),
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
