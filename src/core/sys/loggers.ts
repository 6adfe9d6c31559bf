/**
 * `sys/loggers` (Vault 1.11+): read, change and reset the log level while
 * the server runs. Changes are not persisted: a restart goes back to
 * `log_level`, `-log-level` or `KEEP_LOG_LEVEL`, as in Vault. Keep has one
 * logger, shown as `core`; `sys/loggers/core` is the same logger. Every
 * operation needs `sudo` (sys/backend.ts), since a debug level makes the
 * server log more about what its clients do.
 */
import type { PathSpec } from '../../framework/backend.ts';
import { BadRequestError } from '../../lib/errors.ts';
import { logLevelName, resetLogLevel, setLogLevel } from '../../lib/logger.ts';
import type { Core } from '../core.ts';

const LOGGER_NAMES = ['core'];

export function loggerPaths(core: Core): PathSpec[] {
  const levels = () => Object.fromEntries(LOGGER_NAMES.map((n) => [n, core.logger.level]));
  const update = (raw: string) => {
    const level = logLevelName(raw);
    if (level === undefined) {
      throw new BadRequestError(
        `invalid level provided: "${raw}" (use trace, debug, info, warn or error)`,
      );
    }
    core.logger.warn({ from: core.logger.level, to: level }, 'log level set through sys/loggers');
    setLogLevel(core.logger, level);
  };
  const named = (name: string) => {
    if (!LOGGER_NAMES.includes(name)) {
      throw new BadRequestError(`no logger found with name "${name}"`);
    }
  };

  return [
    {
      pattern: 'loggers',
      fields: { level: { type: 'string' } },
      synopsis: 'Read, change or reset the log level of every logger.',
      operations: {
        read: async () => ({ data: levels() }),
        update: async (_req, f) => {
          if (!f.has('level')) throw new BadRequestError('"level" is required');
          update(f.string('level'));
          return undefined;
        },
        delete: async () => {
          core.logger.warn('log level reset through sys/loggers');
          resetLogLevel(core.logger);
          return undefined;
        },
      },
    },
    {
      pattern: 'loggers/(?<name>.+)',
      fields: { name: { type: 'string' }, level: { type: 'string' } },
      synopsis: 'Read, change or reset the log level of one logger.',
      operations: {
        read: async (_req, f) => {
          named(f.string('name'));
          return { data: { [f.string('name')]: core.logger.level } };
        },
        update: async (_req, f) => {
          named(f.string('name'));
          if (!f.has('level')) throw new BadRequestError('"level" is required');
          update(f.string('level'));
          return undefined;
        },
        delete: async (_req, f) => {
          named(f.string('name'));
          resetLogLevel(core.logger);
          return undefined;
        },
      },
    },
  ];
}
