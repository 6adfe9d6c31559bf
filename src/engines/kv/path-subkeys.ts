/**
 * `subkeys/<path>`: the shape of a version without its values (Vault 1.10+).
 * Every leaf, and every object at `depth`, becomes null.
 */
import type { PathSpec } from '../../framework/backend.ts';
import { type FieldData, isPlainObject } from '../../framework/fields.ts';
import type { BackendContext, LogicalRequest } from '../../framework/types.ts';
import { NotFoundError } from '../../lib/errors.ts';
import { checkKeyPath } from './key-path.ts';
import { isReadable, loadKey, loadVersionData, nowMs, versionMetadata } from './v2-store.ts';

export function subkeysPath(): PathSpec {
  async function readSubkeys(_req: LogicalRequest, fields: FieldData, ctx: BackendContext) {
    const path = fields.string('path');
    if (path === '') throw new NotFoundError();
    const key = await loadKey(ctx.storage, checkKeyPath(path));
    if (!key) throw new NotFoundError();

    const asked = fields.int('version');
    const number = asked > 0 ? asked : key.currentVersion;
    const version = key.versions[String(number)];
    if (!version) throw new NotFoundError();

    const metadata = versionMetadata(key, number, version);
    if (!isReadable(version, nowMs(ctx))) {
      return { status: 404, data: { subkeys: null, metadata } };
    }
    const data = await loadVersionData(ctx.storage, path, number);
    return { data: { subkeys: stripValues(data, Math.max(0, fields.int('depth')), 1), metadata } };
  }

  return {
    pattern: 'subkeys/(?<path>[\\s\\S]*)',
    fields: {
      path: { type: 'string', description: 'Location of the secret.' },
      version: { type: 'int', description: 'Version to read; the latest when 0 or absent.' },
      depth: { type: 'int', description: 'Deepest level to show; 0 for no limit.' },
    },
    operations: { read: readSubkeys },
    synopsis: "Read the structure of a secret's data with every value replaced by null.",
  };
}

function stripValues(
  data: Record<string, unknown>,
  maxDepth: number,
  depth: number,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(data)) {
    const deeper = maxDepth === 0 || depth < maxDepth;
    const keep = isPlainObject(value) && Object.keys(value).length > 0 && deeper;
    const stripped = keep ? stripValues(value, maxDepth, depth + 1) : null;
    Object.defineProperty(out, name, { value: stripped, enumerable: true, writable: true });
  }
  return out;
}
