/**
 * The pure part of `keep env`: where a service's secrets and config live by
 * convention, how a key becomes a variable name (envconsul's rules, as
 * DESIGN.md fixes them), and how the layers merge: config global, then
 * service-global, then service-environment, the later winning; then secrets
 * the same way; a secret beats a config value of the same name, and such a
 * clash is reported (by name and source, never by value).
 */

/** One layer of values: a secret's fields or the keys under a config prefix. */
export interface Layer {
  kind: 'secret' | 'config';
  /** Where it came from, for messages: `secret/checkout/production`, `config checkout/global/`. */
  source: string;
  /** Key (a secret's field, or a config key relative to its prefix) to value. */
  values: Record<string, string>;
}

export interface NamingOptions {
  /** Characters outside `[A-Za-z0-9_]` become `_`. */
  sanitize: boolean;
  /** Names in upper case. */
  upcase: boolean;
}

export interface Conflict {
  name: string;
  /** The secret that won. */
  secret: string;
  /** The config layer that lost. */
  config: string;
}

export interface Merged {
  vars: Record<string, string>;
  /** Variable name to the source of its value. */
  origin: Record<string, string>;
  conflicts: Conflict[];
}

export interface Layout {
  /** KV v2 secrets, lowest precedence first: `{ mount, path }`. */
  secrets: { mount: string; path: string }[];
  /** Config store prefixes (ending in `/`), lowest precedence first. */
  configPrefixes: string[];
}

const NAME_PART = /^[A-Za-z0-9_.-]+$/;

/** Service and environment names are single path segments: no slashes, dots-only or blanks. */
export function checkName(what: string, value: string): string | undefined {
  if (!value) return `${what} is required`;
  if (!NAME_PART.test(value) || value === '.' || value === '..') {
    return `${what} ${JSON.stringify(value)} is not a valid name: use letters, digits, ".", "_" and "-"`;
  }
  return undefined;
}

/**
 * The issue's convention: secrets at `<mount>/S/global` then `<mount>/S/E`;
 * config at `global/`, then `S/global/`, then `S/E/`.
 */
export function conventionLayout(service: string, env: string, secretMount = 'secret'): Layout {
  return {
    secrets: [
      { mount: secretMount, path: `${service}/global` },
      { mount: secretMount, path: `${service}/${env}` },
    ],
    configPrefixes: ['global/', `${service}/global/`, `${service}/${env}/`],
  };
}

/** A config key's name relative to its prefix; undefined for the prefix itself and folders. */
export function relativeKey(prefix: string, key: string): string | undefined {
  if (!key.startsWith(prefix)) return undefined;
  const rest = key.slice(prefix.length);
  if (rest === '' || rest.endsWith('/')) return undefined;
  return rest;
}

/** envconsul's naming: unchanged unless sanitized or upcased. */
export function varName(key: string, opts: NamingOptions): string {
  let name = key;
  if (opts.sanitize) name = name.replace(/[^A-Za-z0-9_]/g, '_');
  if (opts.upcase) name = name.toUpperCase();
  return name;
}

/**
 * Merges layers: every config layer in order, then every secret layer in
 * order, each later one overriding; a secret replacing a config value is a
 * conflict. Empty names are dropped.
 */
export function mergeLayers(layers: Layer[], opts: NamingOptions): Merged {
  const vars: Record<string, string> = {};
  const origin: Record<string, string> = {};
  const fromConfig = new Map<string, string>();
  const conflicts: Conflict[] = [];
  const ordered = [
    ...layers.filter((l) => l.kind === 'config'),
    ...layers.filter((l) => l.kind === 'secret'),
  ];
  for (const layer of ordered) {
    for (const [key, value] of Object.entries(layer.values)) {
      const name = varName(key, opts);
      if (name === '') continue;
      if (layer.kind === 'config') {
        fromConfig.set(name, layer.source);
      } else if (fromConfig.has(name)) {
        const lost = fromConfig.get(name)!;
        const known = conflicts.find((c) => c.name === name);
        if (known) known.secret = layer.source;
        else conflicts.push({ name, secret: layer.source, config: lost });
      }
      vars[name] = value;
      origin[name] = layer.source;
    }
  }
  return { vars, origin, conflicts };
}

/** The conflict line printed on stderr: names and sources, never values. */
export function conflictMessage(c: Conflict): string {
  return `keep env: ${c.name} is set both by ${c.secret} and by ${c.config}; the secret wins`;
}

/** A variable name a POSIX shell accepts in `export NAME=...`. */
export function isShellName(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name);
}

function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Escapes inside a double-quoted dotenv value: newlines spelled out, the rest backslashed. */
const DOTENV_ESCAPES: Record<string, string> = { '\n': '\\n', '\r': '\\r' };

function dotenvQuote(value: string): string {
  const escaped = value.replace(/[\\"\n\r$]/g, (ch) => DOTENV_ESCAPES[ch] ?? `\\${ch}`);
  return `"${escaped}"`;
}

export type EnvFormat = 'dotenv' | 'json' | 'shell';

/** The variables as a file or for `eval`; names a shell cannot take are refused by the caller. */
export function renderEnv(vars: Record<string, string>, format: EnvFormat): string {
  const names = Object.keys(vars).sort();
  if (format === 'json') {
    return `${JSON.stringify(Object.fromEntries(names.map((n) => [n, vars[n]])), null, 2)}\n`;
  }
  const line =
    format === 'shell'
      ? (n: string) => `export ${n}=${shellQuote(vars[n]!)}`
      : (n: string) => `${n}=${dotenvQuote(vars[n]!)}`;
  return names.map((n) => `${line(n)}\n`).join('');
}
