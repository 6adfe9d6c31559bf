/**
 * Go's `time.Duration` text forms, in nanoseconds held as a JS number.
 *
 * Vault's CLI parses duration flags with `time.ParseDuration` and sends TTLs to
 * the server as `Duration.String()` ("1h0m0s"), so both directions are
 * reproduced exactly: servers and scripts see the same strings either way.
 * Precision: a number holds whole nanoseconds exactly up to about 104 days;
 * beyond that only the sub-microsecond digits can drift, which no TTL uses.
 */

const NS_PER_UNIT: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3, // U+00B5 micro sign
  μs: 1e3, // U+03BC Greek mu
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

export const NS_PER_SECOND = 1e9;

/** Parses like Go's `time.ParseDuration`; throws with Go's message text. */
export function parseGoDuration(text: string): number {
  const quoted = JSON.stringify(text);
  let rest = text;
  let sign = 1;

  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest[0] === '-' ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw new Error(`time: invalid duration ${quoted}`);

  let total = 0;
  while (rest !== '') {
    const number = /^(\d*)(?:\.(\d*))?/.exec(rest)!;
    const [whole, intPart, fracPart] = number;
    if (intPart === '' && (fracPart === undefined || fracPart === '')) {
      throw new Error(`time: invalid duration ${quoted}`);
    }
    rest = rest.slice(whole.length);

    const unit = /^[^\d.]+/.exec(rest)?.[0];
    if (unit === undefined) throw new Error(`time: missing unit in duration ${quoted}`);
    const scale = NS_PER_UNIT[unit];
    if (scale === undefined) {
      throw new Error(`time: unknown unit ${JSON.stringify(unit)} in duration ${quoted}`);
    }
    rest = rest.slice(unit.length);

    total += Number(intPart || '0') * scale;
    if (fracPart) total += Math.round(Number(`0.${fracPart}`) * scale);
  }
  return sign * total;
}

/** Formats like Go's `Duration.String()`: "1h0m0s", "1.5s", "300ms", "0s". */
export function formatGoDuration(ns: number): string {
  if (ns === 0) return '0s';
  const sign = ns < 0 ? '-' : '';
  const abs = Math.abs(Math.trunc(ns));

  if (abs < 1e9) {
    if (abs < 1e3) return `${sign}${abs}ns`;
    if (abs < 1e6) return `${sign}${fraction(abs, 3)}µs`;
    return `${sign}${fraction(abs, 6)}ms`;
  }

  const seconds = fraction(abs % 60e9, 9);
  const totalMinutes = Math.floor(abs / 60e9);
  if (totalMinutes === 0) return `${sign}${seconds}s`;

  const minutes = totalMinutes % 60;
  const hours = Math.floor(totalMinutes / 60);
  if (hours === 0) return `${sign}${minutes}m${seconds}s`;
  return `${sign}${hours}h${minutes}m${seconds}s`;
}

/** `value / 10**digits` with trailing zeros (and a bare point) dropped. */
function fraction(value: number, digits: number): string {
  const scale = 10 ** digits;
  const whole = Math.floor(value / scale);
  const frac = String(value % scale)
    .padStart(digits, '0')
    .replace(/0+$/, '');
  return frac === '' ? String(whole) : `${whole}.${frac}`;
}

/**
 * Vault's table rendering of a seconds count: `Duration.String()` without the
 * zero units ("768h", "1h1m", "1m30s").
 */
export function humanDuration(seconds: number): string {
  if (seconds === 0) return '0s';
  let text = formatGoDuration(seconds * NS_PER_SECOND);
  if (text.endsWith('m0s')) text = text.slice(0, -2);
  const at = text.indexOf('h0m');
  if (at > 0) text = text.slice(0, at + 1) + text.slice(at + 3);
  return text;
}
