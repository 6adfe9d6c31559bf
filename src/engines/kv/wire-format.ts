/**
 * Value formats Vault's KV engines put on the wire, where Go's formatting
 * differs from JavaScript's.
 */

/**
 * RFC 3339 with nine fractional digits, the shape of Vault's KV timestamps
 * (`2018-03-22T02:24:06.945319214Z`). JavaScript clocks stop at milliseconds,
 * so the last six digits are always zero.
 */
export function formatTimestamp(ms: number | null | undefined): string {
  if (ms === null || ms === undefined) return '';
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, -1)}000000Z`;
}

/**
 * A whole number of seconds as Go's `time.Duration.String()` prints it
 * (`0s`, `45s`, `1m0s`, `3h25m19s`, `-1s`), which is how Vault reports
 * `delete_version_after`.
 */
export function formatGoDuration(totalSeconds: number): string {
  if (totalSeconds === 0) return '0s';
  const sign = totalSeconds < 0 ? '-' : '';
  let rest = Math.abs(Math.trunc(totalSeconds));
  const hours = Math.floor(rest / 3600);
  rest -= hours * 3600;
  const minutes = Math.floor(rest / 60);
  const seconds = rest - minutes * 60;
  if (hours > 0) return `${sign}${hours}h${minutes}m${seconds}s`;
  if (minutes > 0) return `${sign}${minutes}m${seconds}s`;
  return `${sign}${seconds}s`;
}

/** Storage values are JSON in UTF-8; the barrier encrypts them below us. */
export function encodeJson(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value), 'utf8');
}

export function decodeJson<T>(raw: Buffer): T {
  return JSON.parse(raw.toString('utf8')) as T;
}

/**
 * Several messages in one string, laid out as hashicorp/go-multierror does
 * (`1 error occurred:\n\t* …\n\n`), which Vault clients show verbatim.
 */
export function multiErrorText(messages: string[]): string {
  const points = messages.map((message) => `* ${message}`).join('\n\t');
  const head = messages.length === 1 ? '1 error occurred' : `${messages.length} errors occurred`;
  return `${head}:\n\t${points}\n\n`;
}
