/**
 * The `kv` engine type. Like Vault's, the mount option `version` picks the
 * flavour: "1" (the default) is unversioned, "2" is versioned.
 */
import type { Backend } from '../../framework/types.ts';
import { BadRequestError } from '../../lib/errors.ts';
import { kvV1Backend } from './v1.ts';
import { kvV2Backend } from './v2.ts';

export function kvBackend(options: Record<string, string>): Backend {
  const version = options.version ?? '';
  if (version === '' || version === '1') return kvV1Backend();
  if (version === '2') return kvV2Backend();
  throw new BadRequestError(`unsupported kv version "${version}": use 1 or 2`);
}

export { kvV1Backend } from './v1.ts';
export { kvV2Backend } from './v2.ts';
