/**
 * Durations as Vault reads them in configs, policies and API fields
 * (`parseutil.ParseDurationSecond`): a whole number of seconds (`3600`,
 * `"3600"`), whole days (`"7d"`), or a Go duration string (`"768h"`,
 * `"1h30m"`, `"1.5s"`, `"250ms"`).
 *
 * Stricter than Vault on purpose, since the result feeds TTLs: negative
 * values, the empty string, fractional plain numbers and surrounding blanks
 * are refused instead of becoming zero or being truncated.
 */

const NS_PER_SECOND = 1_000_000_000n;

// Go's int64 nanosecond limit (about 292 years); Go refuses anything longer.
const MAX_NS = 2n ** 63n - 1n;

const UNIT_NS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n, // U+00B5 micro sign
  μs: 1_000n, // U+03BC Greek small mu
  ms: 1_000_000n,
  s: NS_PER_SECOND,
  m: 60n * NS_PER_SECOND,
  h: 3600n * NS_PER_SECOND,
};

/**
 * Parses a duration and returns it in seconds. Whole-second inputs give
 * integers; sub-second units can give a fraction (`"1500ms"` → 1.5).
 * Throws an `Error` whose message quotes the input and says what is accepted.
 */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') return parseSecondsNumber(value);
  if (typeof value !== 'string') {
    throw new Error(`invalid duration: expected a string or a number, got ${typeof value}`);
  }

  if (value === '') throw new Error('invalid duration: empty string');
  if (value.trim() !== value) {
    throw new Error(`invalid duration ${JSON.stringify(value)}: surrounding blanks`);
  }
  if (value.startsWith('-')) {
    throw new Error(`invalid duration ${JSON.stringify(value)}: durations cannot be negative`);
  }

  if (/^\d+$/.test(value)) return checkedSeconds(BigInt(value) * NS_PER_SECOND, value);

  // Whole days: Vault's own extension, not part of Go's syntax.
  if (/^\d+d$/.test(value)) {
    return checkedSeconds(BigInt(value.slice(0, -1)) * 86400n * NS_PER_SECOND, value);
  }

  return checkedSeconds(parseGoDuration(value), value);
}

function parseSecondsNumber(value: number): number {
  if (!Number.isFinite(value)) throw new Error(`invalid duration ${value}: not a finite number`);
  if (value < 0) throw new Error(`invalid duration ${value}: durations cannot be negative`);
  if (!Number.isSafeInteger(value)) {
    throw new Error(`invalid duration ${value}: a plain number must be a whole number of seconds`);
  }

  return checkedSeconds(BigInt(value) * NS_PER_SECOND, String(value));
}

/** Go's `time.ParseDuration` grammar: `[+]` then one or more `<decimal><unit>`. */
function parseGoDuration(input: string): bigint {
  const quoted = JSON.stringify(input);
  let s = input.startsWith('+') ? input.slice(1) : input;

  // Go accepts a bare "0" without a unit.
  if (s === '0') return 0n;
  if (s === '') throw new Error(`invalid duration ${quoted}`);

  let total = 0n;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s)!;
    const whole = m[1]!;
    const fraction = m[2] ?? '';
    if (whole === '' && fraction === '') {
      throw new Error(`invalid duration ${quoted}: expected a number at ${JSON.stringify(s)}`);
    }
    s = s.slice(m[0].length);

    const unitMatch = /^[^\d.]*/.exec(s)!;
    const unit = unitMatch[0];
    if (unit === '') {
      throw new Error(
        `invalid duration ${quoted}: missing unit (use h, m, s, ms, us or ns, e.g. "90s")`,
      );
    }
    const unitNs = UNIT_NS[unit];
    if (unitNs === undefined || !Object.hasOwn(UNIT_NS, unit)) {
      throw new Error(
        `invalid duration ${quoted}: unknown unit ${JSON.stringify(unit)} ` +
          '(use h, m, s, ms, us or ns)',
      );
    }
    s = s.slice(unit.length);

    total += BigInt(whole || '0') * unitNs;
    if (fraction !== '') {
      // Truncated to whole nanoseconds, as Go does.
      total += (BigInt(fraction) * unitNs) / 10n ** BigInt(fraction.length);
    }
    if (total > MAX_NS) throw new Error(`invalid duration ${quoted}: too long`);
  }

  return total;
}

function checkedSeconds(ns: bigint, input: string): number {
  if (ns > MAX_NS) throw new Error(`invalid duration ${JSON.stringify(input)}: too long`);
  if (ns % NS_PER_SECOND === 0n) return Number(ns / NS_PER_SECOND);
  return Number(ns) / 1e9;
}
