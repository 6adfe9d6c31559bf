/**
 * Output in the shapes Vault's CLI prints, because operators' scripts and
 * eyes are used to them: `Key    Value` tables with dashed underlines and
 * `n/a` for empty cells, values printed the way Go's `%v` prints decoded JSON,
 * `== Title ==` headers sized to the table, durations as "768h",
 * `-field` values without a newline unless stdout is a terminal, and JSON
 * pretty-printed with two spaces.
 */
import { humanDuration } from './duration.ts';
import type { CliIO } from './io.ts';

export interface SecretAuth {
  client_token: string;
  accessor: string;
  policies: string[] | null;
  token_policies?: string[] | null;
  identity_policies?: string[] | null;
  metadata: Record<string, string> | null;
  lease_duration: number;
  renewable: boolean;
}

export interface WrapInfo {
  token: string;
  accessor: string;
  ttl: number;
  creation_time: string;
  creation_path: string;
  wrapped_accessor?: string;
}

/** A Vault response envelope, as far as the CLI reads it. */
export interface Secret {
  request_id?: string;
  lease_id?: string;
  lease_duration?: number;
  renewable?: boolean;
  data?: Record<string, unknown> | null;
  warnings?: string[] | null;
  auth?: SecretAuth | null;
  wrap_info?: WrapInfo | null;
}

export type OutputFormat = 'table' | 'json';

/** Go's `%v` of a value decoded from JSON: `[a b]`, `map[k:v]`, `<nil>`. */
export function formatValue(value: unknown): string {
  if (value === null || value === undefined) return '<nil>';
  if (Array.isArray(value)) return `[${value.map(formatValue).join(' ')}]`;
  if (typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${k}:${formatValue((value as Record<string, unknown>)[k])}`);
    return `map[${entries.join(' ')}]`;
  }
  return String(value);
}

/** Go's `%q` of a string slice: `["default" "root"]`. */
export function formatQuotedList(list: readonly string[] | null | undefined): string {
  return `[${(list ?? []).map((s) => JSON.stringify(s)).join(' ')}]`;
}

/** Keys whose numbers Vault prints as durations. */
export function looksLikeDuration(key: string): boolean {
  return (
    ['period', 'ttl', 'duration', 'lease_max', 'ttl_max'].includes(key) ||
    key.endsWith('_period') ||
    key.endsWith('_ttl') ||
    key.endsWith('_duration')
  );
}

function durationValue(value: unknown): unknown {
  return typeof value === 'number' && Number.isInteger(value) ? humanDuration(value) : value;
}

/**
 * Aligned columns joined by four spaces, as Go's `columnize`: cells are
 * trimmed, empty ones read `n/a`, and the last cell of a row is never padded.
 */
export function columnize(rows: readonly (readonly string[])[]): string {
  const cells = rows.map((row) => row.map((c) => c.trim() || 'n/a'));
  const widths: number[] = [];
  for (const row of cells) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, [...cell].length);
    });
  }
  return cells
    .map((row) =>
      row.map((cell, i) => (i === row.length - 1 ? cell : padEnd(cell, widths[i]))).join('    '),
    )
    .join('\n');
}

function padEnd(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - [...text].length));
}

/** A header row, a row of dashes under it, then the rows. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const dashes = header.map((h) => '-'.repeat(h.trim().length));
  return columnize([header, dashes, ...rows]);
}

/** `== Title ==` padded with equal signs to `totalLength`, as Vault sizes it. */
export function padEqualSigns(title: string, totalLength: number): string {
  let signs = totalLength - (title.length + 2);
  if (signs <= 0) signs = 4;
  if (signs % 2 !== 0) signs += 1;
  const side = '='.repeat(signs / 2);
  return `${side} ${title} ${side}`;
}

/** A section header as wide as the key/value table of `data` below it. */
export function headerForMap(title: string, data: Record<string, unknown>): string {
  const widest = Math.max(0, ...Object.keys(data).map((k) => k.length));
  return padEqualSigns(title, widest + 4 + 5);
}

/** A key/value table of a map; empty string for an empty map. */
export function mapTable(data: Record<string, unknown>): string {
  const rows = Object.keys(data)
    .sort()
    .map((k) => [k, formatValue(looksLikeDuration(k) ? durationValue(data[k]) : data[k])]);
  return rows.length === 0 ? '' : table(['Key', 'Value'], rows);
}

/** The rows Vault shows for a response: lease, auth, wrapping, then sorted data. */
export function secretTable(secret: Secret): string {
  const rows: string[][] = [];
  const lease = secret.lease_duration ?? 0;
  if (lease > 0) {
    if (secret.lease_id) {
      rows.push(['lease_id', secret.lease_id]);
      rows.push(['lease_duration', humanDuration(lease)]);
      rows.push(['lease_renewable', String(secret.renewable ?? false)]);
    } else {
      rows.push(['refresh_interval', humanDuration(lease)]);
    }
  }

  const auth = secret.auth;
  if (auth) {
    rows.push(['token', auth.client_token]);
    rows.push(['token_accessor', auth.accessor]);
    const duration = auth.lease_duration === 0 ? '∞' : humanDuration(auth.lease_duration);
    rows.push(['token_duration', duration]);
    rows.push(['token_renewable', String(auth.renewable)]);
    rows.push(['token_policies', formatQuotedList(auth.token_policies)]);
    rows.push(['identity_policies', formatQuotedList(auth.identity_policies)]);
    rows.push(['policies', formatQuotedList(auth.policies)]);
    for (const key of Object.keys(auth.metadata ?? {}).sort()) {
      rows.push([`token_meta_${key}`, formatValue(auth.metadata![key])]);
    }
  }

  const wrap = secret.wrap_info;
  if (wrap) {
    rows.push(['wrapping_token:', wrap.token]);
    rows.push(['wrapping_accessor:', wrap.accessor]);
    rows.push(['wrapping_token_ttl:', humanDuration(wrap.ttl)]);
    rows.push(['wrapping_token_creation_time:', wrap.creation_time]);
    rows.push(['wrapping_token_creation_path:', wrap.creation_path]);
    if (wrap.wrapped_accessor) rows.push(['wrapped_accessor:', wrap.wrapped_accessor]);
  }

  const data = secret.data ?? {};
  for (const key of Object.keys(data).sort()) {
    rows.push([key, formatValue(looksLikeDuration(key) ? durationValue(data[key]) : data[key])]);
  }
  return rows.length === 0 ? '' : table(['Key', 'Value'], rows);
}

/** A `Keys` column, sorted. */
export function listTable(keys: readonly unknown[]): string {
  const sorted = keys.map(String).sort(compareStrings);
  return columnize([['Keys'], ['----'], ...sorted.map((k) => [k])]);
}

/** Byte-order comparison, as Go's `sort.Strings`. */
export function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

export function formatJson(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/**
 * Word-wraps to 78 columns less `pad`, indenting each line by `pad`. Like the
 * Go package Vault uses, it minimises raggedness rather than filling greedily,
 * and it treats newlines in the text as spaces.
 */
export function wrapAtLength(text: string, pad = 0): string {
  const limit = 78 - pad;
  const words = text.trim().replaceAll('\n', ' ').split(' ');
  const n = words.length;
  const lengths = words.map((w) => [...w].length);

  const cost = new Array<number>(n).fill(Number.MAX_SAFE_INTEGER);
  const breakAt = new Array<number>(n).fill(n);
  for (let i = n - 1; i >= 0; i--) {
    let lineLength = lengths[i];
    for (let j = i + 1; j < n; j++) lineLength += 1 + lengths[j];
    if (lineLength <= limit) {
      cost[i] = 0;
      continue;
    }
    let length = lengths[i];
    for (let j = i + 1; j < n; j++) {
      const slack = limit - length;
      const c = slack * slack + cost[j] + (length > limit ? 100_000 : 0);
      if (c < cost[i]) {
        cost[i] = c;
        breakAt[i] = j;
      }
      length += 1 + lengths[j];
    }
  }

  const lines: string[] = [];
  for (let i = 0; i < n; i = breakAt[i]) {
    lines.push(' '.repeat(pad) + words.slice(i, breakAt[i]).join(' '));
  }
  return lines.join('\n');
}

/** The value `-field=NAME` picks from a response, as Vault's `RawField`. */
export function rawField(secret: Secret, field: string): unknown {
  const data = secret.data ?? {};
  if (secret.auth) {
    const auth = secret.auth;
    const fromAuth: Record<string, unknown> = {
      token: auth.client_token,
      token_accessor: auth.accessor,
      token_duration: auth.lease_duration,
      token_renewable: auth.renewable,
      token_policies: auth.token_policies,
      identity_policies: auth.identity_policies,
      policies: auth.policies,
    };
    return field in fromAuth ? fromAuth[field] : data[field];
  }
  if (secret.wrap_info) {
    const wrap = secret.wrap_info;
    const fromWrap: Record<string, unknown> = {
      wrapping_token: wrap.token,
      wrapping_accessor: wrap.accessor,
      wrapping_token_ttl: wrap.ttl,
      wrapping_token_creation_time: wrap.creation_time,
      wrapping_token_creation_path: wrap.creation_path,
      wrapped_accessor: wrap.wrapped_accessor,
    };
    return field in fromWrap ? fromWrap[field] : data[field];
  }
  const fromEnvelope: Record<string, unknown> = {
    lease_duration: secret.lease_duration,
    lease_id: secret.lease_id,
    request_id: secret.request_id,
    renewable: secret.renewable,
    refresh_interval: secret.lease_duration,
    data: 'data' in data ? data.data : data,
  };
  return field in fromEnvelope ? fromEnvelope[field] : data[field];
}

/** Where a command writes: stdout for results, stderr for warnings and errors. */
export class Ui {
  constructor(
    private readonly io: CliIO,
    readonly format: OutputFormat,
  ) {}

  output(text: string): void {
    this.io.stdout(`${text}\n`);
  }

  warn(text: string): void {
    this.io.stderr(`${text}\n`);
  }

  error(text: string): void {
    this.io.stderr(`${text}\n`);
  }

  /**
   * A bare value for pipes: Vault adds the newline only when colour output is
   * on, which its colour library decides from a terminal stdout, `NO_COLOR`
   * and `TERM=dumb`.
   */
  raw(text: string): void {
    const env = this.io.env;
    const colour = this.io.stdoutIsTTY && !env.NO_COLOR && env.TERM !== 'dumb';
    this.io.stdout(colour ? `${text}\n` : text);
  }

  warnings(secret: Secret): void {
    if (!secret.warnings?.length) return;
    this.warn('WARNING! The following warnings were returned from the server:\n');
    for (const w of secret.warnings) {
      this.warn(wrapAtLength(`* ${w}`, 2));
      this.warn('');
    }
  }

  /** A whole response: its table, or its JSON. */
  secret(secret: Secret): number {
    if (this.format === 'json') {
      this.output(formatJson(secret));
      return 0;
    }
    this.warnings(secret);
    const text = secretTable(secret);
    if (text) this.output(text);
    return 0;
  }

  /** A bare map or value: key/value table, or JSON. */
  data(data: unknown): number {
    if (this.format === 'json') {
      this.output(formatJson(data));
      return 0;
    }
    const text = mapTable((data ?? {}) as Record<string, unknown>);
    if (text) this.output(text);
    return 0;
  }

  /** A list response: the `Keys` table, or the JSON array of keys. */
  list(secret: Secret): number {
    const keys = (secret.data?.keys ?? []) as unknown[];
    if (this.format === 'json') {
      this.output(formatJson(keys));
      return 0;
    }
    this.warnings(secret);
    this.output(listTable(keys));
    return 0;
  }

  /** `-field` on a response: Vault's field lookup, then `printField`. */
  field(secret: Secret, name: string): number {
    return this.printField(rawField(secret, name), name);
  }

  /** `-field` on a plain map, such as the data of a KV v2 secret. */
  dataField(data: Record<string, unknown>, name: string): number {
    return this.printField(data[name], name);
  }

  /** One value: raw in table format, JSON in JSON format. Exit 1 when absent. */
  private printField(value: unknown, name: string): number {
    if (value === null || value === undefined) {
      this.error(`Field "${name}" not present in secret`);
      return 1;
    }
    this.raw(this.format === 'json' ? formatJson(value) : formatValue(value));
    return 0;
  }
}
