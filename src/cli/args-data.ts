/**
 * `key=value` arguments turned into a request body, by the rules of the
 * builder Vault's CLI uses for `write`, `kv put` and friends:
 *
 * - `key=value` sets a string; a repeated key collects its values in a list;
 * - `key=@path` reads the value from a file, verbatim; `key=\@x` is the
 *   literal `@x`; `key=-` reads the value from stdin;
 * - a lone `-` or `@path` merges a JSON object from stdin or the file;
 * - stdin can be consumed once per command.
 */
import { readFile } from 'node:fs/promises';
import { LocalError } from './errors.ts';

export interface DataSources {
  readStdin(): Promise<string>;
  readFile?(path: string): Promise<string>;
}

/** Go's `os.ReadFile` wording for the usual failures. */
export function describeFileError(path: string, err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  const reason: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    EISDIR: 'is a directory',
  };
  return code && reason[code] ? `open ${path}: ${reason[code]}` : (err as Error).message;
}

export async function parseArgsData(
  args: readonly string[],
  sources: DataSources,
): Promise<Record<string, unknown>> {
  const result: Record<string, unknown> = {};
  const read = sources.readFile ?? ((path: string) => readFile(path, 'utf8'));
  let stdinUsed = false;

  const stdin = async () => {
    if (stdinUsed) throw new Error('stdin already consumed');
    stdinUsed = true;
    return sources.readStdin();
  };
  const file = async (path: string) => {
    try {
      return await read(path);
    } catch (err) {
      throw new Error(describeFileError(path, err));
    }
  };

  for (const arg of args) {
    try {
      if (arg === '') continue;
      const eq = arg.indexOf('=');

      if (eq === -1) {
        if (arg === '-') Object.assign(result, decodeObject(await stdin()));
        else if (arg.startsWith('@')) Object.assign(result, decodeObject(await file(arg.slice(1))));
        else throw new Error('format must be key=value');
        continue;
      }

      const key = arg.slice(0, eq);
      let value = arg.slice(eq + 1);
      if (value.startsWith('@')) {
        value = await file(value.slice(1)).catch((err: Error) => {
          throw new Error(`error reading file: ${err.message}`);
        });
      } else if (value.startsWith('\\@')) value = value.slice(1);
      else if (value === '-') value = await stdin();

      if (key in result) {
        const existing = result[key];
        result[key] = Array.isArray(existing) ? [...existing, value] : [existing, value];
      } else {
        result[key] = value;
      }
    } catch (err) {
      throw new LocalError(`Invalid key/value pair '${arg}': ${(err as Error).message}`);
    }
  }
  return result;
}

function decodeObject(text: string): Record<string, unknown> {
  const value: unknown = JSON.parse(text);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new Error('JSON input must be an object');
  }
  return value as Record<string, unknown>;
}
