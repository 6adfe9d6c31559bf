/** `config`: the mount-wide KV v2 settings every secret falls back on. */
import type { PathSpec } from '../../framework/backend.ts';
import type { FieldData } from '../../framework/fields.ts';
import type { BackendContext, LogicalRequest } from '../../framework/types.ts';
import { parseDuration } from '../../lib/duration.ts';
import { BadRequestError } from '../../lib/errors.ts';
import { loadConfig, saveConfig } from './v2-store.ts';
import { formatGoDuration } from './wire-format.ts';

export function configPath(): PathSpec {
  async function readConfig(_req: LogicalRequest, _fields: FieldData, ctx: BackendContext) {
    const config = await loadConfig(ctx.storage);
    return {
      data: {
        max_versions: config.maxVersions,
        cas_required: config.casRequired,
        delete_version_after: formatGoDuration(config.deleteVersionAfterSeconds),
      },
    };
  }

  async function writeConfig(_req: LogicalRequest, fields: FieldData, ctx: BackendContext) {
    // A null counts as not sent, as for Vault's typed fields.
    const given = (name: string) => fields.raw[name] !== undefined && fields.raw[name] !== null;
    if (!['max_versions', 'cas_required', 'delete_version_after'].some(given)) return undefined;

    const config = await loadConfig(ctx.storage);
    if (given('max_versions')) config.maxVersions = nonNegative(fields, 'max_versions');
    if (given('cas_required')) config.casRequired = fields.bool('cas_required');
    if (given('delete_version_after')) {
      // Any negative value means "disabled"; it is stored and shown as -1s.
      const seconds = parseSignedDuration(fields.raw.delete_version_after);
      config.deleteVersionAfterSeconds = seconds < 0 ? -1 : seconds;
    }

    await saveConfig(ctx.storage, config);
    return undefined;
  }

  return {
    pattern: 'config',
    fields: {
      max_versions: { type: 'int', description: 'Versions kept per secret; 0 means 10.' },
      cas_required: { type: 'bool', description: 'Require "cas" on every write.' },
      delete_version_after: {
        type: 'raw',
        description:
          'Time after which a new version counts as deleted; 0 clears, negative disables.',
      },
    },
    operations: { read: readConfig, update: writeConfig },
    synopsis: 'Configure settings that apply to every secret in this mount.',
    description:
      'max_versions (int): versions kept per secret, 10 when 0. cas_required (bool): ' +
      'require check-and-set on every write. delete_version_after (duration): delete ' +
      'versions this long after they are written; 0 clears it, a negative value disables ' +
      'it for every secret.',
  };
}

export function nonNegative(fields: FieldData, name: string): number {
  const value = fields.int(name);
  if (value < 0) throw new BadRequestError(`"${name}" must not be negative`);
  return value;
}

/** A duration that may be negative: seconds as a number, or "-1h"-style strings. */
function parseSignedDuration(raw: unknown): number {
  const invalid = () =>
    new BadRequestError(
      'error converting input for field "delete_version_after": expected a duration',
    );
  if (typeof raw === 'number') {
    if (!Number.isFinite(raw)) throw invalid();
    return Math.trunc(raw);
  }
  if (typeof raw !== 'string') throw invalid();
  const negative = raw.trim().startsWith('-');
  const magnitude = negative ? raw.trim().slice(1) : raw;
  try {
    const seconds = Math.trunc(parseDuration(magnitude));
    return negative ? -seconds : seconds;
  } catch {
    throw invalid();
  }
}
