/**
 * Command-line flags by the rules of Go's `flag` package, which Vault's CLI
 * uses; LIBRARIES.md §12 records why no npm parser fits.
 *
 * - `-name=value`, `-name value` and `--name` forms; booleans take no separate
 *   value (`-force`, `-force=false`), with Go's `strconv.ParseBool` spellings.
 * - Parsing stops at the first positional argument, at `-` (stdin), and after
 *   `--`. Vault does not look for flags after a positional either: it leaves
 *   them as arguments and warns, so `kv get secret/x -format=json` fails with
 *   "Too many arguments". `trailingFlags` lists such arguments for that warning.
 * - `-h`/`-help` are not flags here; the dispatcher treats them as a request
 *   for help wherever they appear, as Vault's CLI framework does.
 */
import { parseGoDuration } from './duration.ts';

/** A bad command line; the message is Go's wording, printed as is. Exit 1. */
export class FlagError extends Error {}

export interface FlagDef<T> {
  readonly kind: 'string' | 'bool' | 'int' | 'duration' | 'list' | 'map';
  readonly usage: string;
  readonly group: string;
  readonly aliases: readonly string[];
  /** Placeholder in help (`-name=<example>`); empty for booleans. */
  readonly example: string;
  initial(): T;
  /** Folds one occurrence into the value; throws with the reason on bad input. */
  set(raw: string, current: T): T;
}

// biome-ignore lint/suspicious/noExplicitAny: the value type varies per flag
export type FlagSpecs = Record<string, FlagDef<any>>;
export type FlagValues<S extends FlagSpecs> = {
  [K in keyof S]: S[K] extends FlagDef<infer T> ? T : never;
};

export interface ParsedFlags<S extends FlagSpecs> {
  values: FlagValues<S>;
  /** Canonical names of the flags given on the command line. */
  given: ReadonlySet<string>;
  args: string[];
  trailingFlags: string[];
}

interface FlagOptions<T> {
  default?: T;
  aliases?: string[];
  group?: string;
}

const COMMAND_OPTIONS = 'Command Options';

function define<T>(
  kind: FlagDef<T>['kind'],
  usage: string,
  opts: FlagOptions<T>,
  fallback: T,
  set: (raw: string, current: T) => T,
  example: string,
): FlagDef<T> {
  const initial = opts.default ?? fallback;
  return {
    kind,
    usage,
    group: opts.group ?? COMMAND_OPTIONS,
    aliases: opts.aliases ?? [],
    example,
    initial: () => structuredClone(initial),
    set,
  };
}

export function stringFlag(usage: string, opts: FlagOptions<string> = {}): FlagDef<string> {
  return define('string', usage, opts, '', (raw) => raw, 'string');
}

export function boolFlag(usage: string, opts: FlagOptions<boolean> = {}): FlagDef<boolean> {
  return define('bool', usage, opts, false, parseGoBool, '');
}

export function intFlag(usage: string, opts: FlagOptions<number> = {}): FlagDef<number> {
  return define('int', usage, opts, 0, parseGoInt, 'int');
}

/**
 * Nanoseconds. Vault's extensions apply: a bare number means seconds and
 * `system` means -1 (the server's default).
 */
export function durationFlag(usage: string, opts: FlagOptions<number> = {}): FlagDef<number> {
  const set = (raw: string) => {
    const text = raw === 'system' ? '-1' : raw;
    return parseGoDuration(/[smh]$/.test(text) ? text : `${text}s`);
  };
  return define('duration', usage, opts, 0, set, 'duration');
}

/** Repeatable: `-policy=a -policy=b`. Values are trimmed, never split on commas. */
export function listFlag(usage: string, opts: FlagOptions<string[]> = {}): FlagDef<string[]> {
  const set = (raw: string, current: string[]) => [...current, raw.trim()];
  return define('list', usage, opts, [], set, 'string');
}

/** Repeatable `key=value` pairs: `-metadata team=ops -metadata env=dev`. */
export function mapFlag(
  usage: string,
  opts: FlagOptions<Record<string, string>> = {},
): FlagDef<Record<string, string>> {
  const set = (raw: string, current: Record<string, string>) => {
    const at = raw.indexOf('=');
    if (at === -1) throw new Error(`missing = in KV pair: ${JSON.stringify(raw)}`);
    return { ...current, [raw.slice(0, at)]: raw.slice(at + 1) };
  };
  return define('map', usage, opts, {}, set, 'key=value');
}

/** Go's `strconv.ParseBool`. */
export function parseGoBool(text: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(text)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(text)) return false;
  throw new Error('parse error');
}

const INT_PREFIXES: Record<string, number> = { '0x': 16, '0o': 8, '0b': 2 };

/** Go's `strconv.ParseInt(text, 0, 64)`: sign, 0x/0o/0b/0 prefixes, `_` between digits. */
export function parseGoInt(text: string): number {
  const negative = text.startsWith('-');
  let body = /^[+-]/.test(text) ? text.slice(1) : text;
  let base = 10;

  const prefix = body.slice(0, 2).toLowerCase();
  if (INT_PREFIXES[prefix] !== undefined) {
    base = INT_PREFIXES[prefix];
    body = body.slice(2);
  } else if (body.length > 1 && body.startsWith('0')) {
    base = 8;
    body = body.slice(1);
  }
  if (base !== 10 && body.startsWith('_')) body = body.slice(1); // "0x_1f", "0_7" are legal Go

  const digit = base === 16 ? '[0-9a-fA-F]' : `[0-${base - 1}]`;
  if (!new RegExp(`^${digit}+(_${digit}+)*$`).test(body)) throw new Error('parse error');

  const magnitude = [...body.replaceAll('_', '')].reduce(
    (acc, ch) => acc * BigInt(base) + BigInt(Number.parseInt(ch, 16)),
    0n,
  );
  const value = negative ? -magnitude : magnitude;
  if (value > 2n ** 63n - 1n || value < -(2n ** 63n)) throw new Error('value out of range');
  return Number(value);
}

/** Parses `argv` against `specs` by Go's `flag.FlagSet.Parse` rules. Throws FlagError. */
export function parseFlags<S extends FlagSpecs>(specs: S, argv: readonly string[]): ParsedFlags<S> {
  const byName = new Map<string, string>();
  for (const [key, def] of Object.entries(specs)) {
    for (const name of [key, ...def.aliases]) byName.set(name, key);
  }

  const values = Object.fromEntries(
    Object.entries(specs).map(([key, def]) => [key, def.initial()]),
  ) as FlagValues<S>;
  const given = new Set<string>();
  const rest = [...argv];

  while (rest.length > 0) {
    const arg = rest[0];
    if (arg.length < 2 || arg[0] !== '-') break;
    rest.shift();
    if (arg === '--') break;

    const name0 = arg.slice(arg[1] === '-' ? 2 : 1);
    if (name0 === '' || name0[0] === '-' || name0[0] === '=') {
      throw new FlagError(`bad flag syntax: ${arg}`);
    }
    const eq = name0.indexOf('=');
    const name = eq === -1 ? name0 : name0.slice(0, eq);
    const key = byName.get(name);
    if (key === undefined) throw new FlagError(`flag provided but not defined: -${name}`);

    const def = specs[key];
    let raw: string;
    if (eq !== -1) raw = name0.slice(eq + 1);
    else if (def.kind === 'bool') raw = 'true';
    else if (rest.length > 0) raw = rest.shift()!;
    else throw new FlagError(`flag needs an argument: -${name}`);

    try {
      (values as Record<string, unknown>)[key] = def.set(raw, values[key]);
    } catch (err) {
      const reason = (err as Error).message;
      throw new FlagError(
        def.kind === 'bool'
          ? `invalid boolean value ${JSON.stringify(raw)} for -${name}: ${reason}`
          : `invalid value ${JSON.stringify(raw)} for flag -${name}: ${reason}`,
      );
    }
    given.add(key);
  }

  const trailingFlags = rest.filter((a) => a.startsWith('-') && a !== '-');
  return { values, given, args: rest, trailingFlags };
}

/** Vault's warning for flags written after the positional arguments. */
export function trailingFlagsWarning(trailing: readonly string[]): string {
  return (
    'Command flags must be provided before positional arguments. ' +
    `The following arguments will not be parsed as flags: [${trailing.join(',')}]`
  );
}

/** Help text grouped by flag group, in Vault's layout. */
export function formatFlagHelp(specs: FlagSpecs, wrap: (text: string) => string): string {
  const groups = new Map<string, string[]>();
  for (const [name, def] of Object.entries(specs)) {
    const head = def.example ? `  -${name}=<${def.example}>` : `  -${name}`;
    const aliases = def.aliases.map((a) => `"-${a}"`).join(' and ');
    const usage = aliases ? `${def.usage} This is aliased as ${aliases}.` : def.usage;
    const lines = groups.get(def.group) ?? [];
    lines.push(`${head}\n${wrap(usage)}\n`);
    groups.set(def.group, lines);
  }
  return [...groups]
    .map(([group, lines]) => `${group}:\n\n${lines.join('\n')}`)
    .join('\n')
    .trimEnd();
}
