/**
 * Flags and output pieces the `kv` commands share.
 */
import type { ResponseError } from '../errors.ts';
import { listFlag, stringFlag } from '../flags.ts';
import { headerForMap, mapTable, padEqualSigns, type Secret, type Ui } from '../output.ts';

export const mountFlag = {
  mount: stringFlag(
    'Specifies the path where the KV backend is mounted. If specified, the next argument ' +
      'is the secret path. Otherwise the next argument is the mount path and secret path ' +
      'together, with /data/ inserted for KV v2 secrets.',
  ),
};

export const versionsFlag = {
  versions: listFlag(
    'Specifies the version numbers, comma-separated or as repeated flags (-versions=1,2 or ' +
      '-versions=1 -versions=2).',
  ),
};

/** `-versions` values, each split on commas, as Vault sends them: a list of strings. */
export function parseVersions(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(',').map((s) => s.trim())).filter((s) => s !== '');
}

export function outputPath(ui: Ui, path: string, title: string): void {
  ui.output(padEqualSigns(title, path.length));
  ui.output(path);
  ui.output('');
}

/** Prints the secret a failed request still carried, as Vault does after the error. */
export function outputAttached(ui: Ui, err: unknown): void {
  const secret = (err as ResponseError & { secret?: Secret }).secret;
  if (secret) ui.secret(secret);
}

/** Metadata table of a v2 write answer, under the `Secret Path` header. */
export function outputWriteResult(ui: Ui, fullPath: string, secret: Secret): number {
  if (ui.format !== 'table') return ui.secret(secret);
  outputPath(ui, fullPath, 'Secret Path');
  const metadata = secret.data ?? {};
  ui.output(headerForMap('Metadata', metadata));
  const text = mapTable(metadata);
  if (text) ui.output(text);
  return 0;
}
