/**
 * Consul is written in Go, and its clients see Go's own error texts: a bad
 * `?cas=` answers `strconv.ParseUint: parsing "x": invalid syntax`, a bad
 * session TTL `time: invalid duration "x"`, a malformed transaction body
 * `invalid character 'x' looking for beginning of value`. These helpers
 * parse the same inputs Go does and fail with the same words, so scripts
 * that match on Consul's messages keep working.
 */

/** An input Go would refuse; `message` is Go's error text. */
export class GoError extends Error {}

const MAX_UINT64 = 2n ** 64n - 1n;

/** `strconv.ParseUint(s, 10, 64)`. */
export function parseUint64(text: string): bigint {
  if (!/^[0-9]+$/.test(text)) {
    throw new GoError(`strconv.ParseUint: parsing ${goQuote(text)}: invalid syntax`);
  }
  const value = BigInt(text);
  if (value > MAX_UINT64) {
    throw new GoError(`strconv.ParseUint: parsing ${goQuote(text)}: value out of range`);
  }
  return value;
}

/** Nanoseconds per unit, as `time.ParseDuration` spells them. */
const UNITS: Record<string, number> = {
  ns: 1,
  us: 1e3,
  µs: 1e3,
  μs: 1e3,
  ms: 1e6,
  s: 1e9,
  m: 60e9,
  h: 3600e9,
};

/** Go's `Duration` range: int64 nanoseconds, about 292 years. */
const MAX_DURATION_NS = 2 ** 63;

/** `time.ParseDuration`: "10s", "1.5h", "1h30m"; returns nanoseconds. */
export function parseGoDuration(text: string): number {
  const invalid = () => new GoError(`time: invalid duration ${goQuote(text)}`);
  let rest = text;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest[0] === '-' ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw invalid();

  let total = 0;
  while (rest !== '') {
    const number = /^([0-9]*)(\.([0-9]*))?/.exec(rest)!;
    const whole = number[1];
    const fraction = number[3];
    if (whole === '' && (fraction === undefined || fraction === '')) throw invalid();
    rest = rest.slice(number[0].length);

    const unit = /^[^0-9.]*/.exec(rest)![0];
    if (unit === '') throw new GoError(`time: missing unit in duration ${goQuote(text)}`);
    const scale = UNITS[unit];
    if (scale === undefined) {
      throw new GoError(`time: unknown unit ${goQuote(unit)} in duration ${goQuote(text)}`);
    }
    rest = rest.slice(unit.length);
    total += Number(`${whole || '0'}.${fraction || '0'}`) * scale;
    if (total > MAX_DURATION_NS) throw invalid();
  }
  return sign * Math.round(total);
}

/** `time.Duration.String()`: "10s", "24h0m0s", "1.5s", "250ms". */
export function formatGoDuration(ns: number): string {
  if (ns === 0) return '0s';
  const sign = ns < 0 ? '-' : '';
  let rest = Math.abs(ns);
  if (rest < 1e9) {
    if (rest < 1e3) return `${sign}${rest}ns`;
    if (rest < 1e6) return `${sign}${trimFraction(rest / 1e3)}µs`;
    return `${sign}${trimFraction(rest / 1e6)}ms`;
  }
  const hours = Math.floor(rest / 3600e9);
  rest -= hours * 3600e9;
  const minutes = Math.floor(rest / 60e9);
  rest -= minutes * 60e9;
  const seconds = `${trimFraction(rest / 1e9)}s`;
  if (hours > 0) return `${sign}${hours}h${minutes}m${seconds}`;
  if (minutes > 0) return `${sign}${minutes}m${seconds}`;
  return `${sign}${seconds}`;
}

function trimFraction(value: number): string {
  return String(Number(value.toFixed(9)));
}

/** `strconv.Quote` for the printable text Keep quotes in messages. */
export function goQuote(text: string): string {
  return JSON.stringify(text).replace(/[\u007f-\u009f]/g, (c) => {
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}

/** A JSON number kept as its literal text, so uint64 values above 2^53 survive. */
export class GoNumber {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}

/**
 * A decoded JSON value: objects are Maps (later duplicate keys win, as in
 * Go, and no key can reach a prototype), numbers are `GoNumber`s.
 */
export type GoValue = null | boolean | string | GoNumber | GoValue[] | Map<string, GoValue>;

/**
 * Decodes one JSON value the way `json.NewDecoder(body).Decode` does: the
 * first value counts and anything after it is left unread; an empty body is
 * `EOF`, a truncated one `unexpected EOF`, and a syntax error names the byte
 * and where it was met, in Go's words.
 */
export function decodeGoJson(buf: Buffer): GoValue {
  let i = 0;

  const skipSpace = () => {
    while (i < buf.length) {
      const c = buf[i];
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      i++;
    }
  };
  const peek = (): number => {
    if (i >= buf.length) throw new GoError('unexpected EOF');
    return buf[i]!;
  };
  const bad = (context: string): GoError =>
    new GoError(`invalid character ${quoteChar(buf[i]!)} ${context}`);

  const value = (): GoValue => {
    skipSpace();
    const c = peek();
    if (c === 0x7b) return object();
    if (c === 0x5b) return array();
    if (c === 0x22) return string();
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return number();
    if (c === 0x74) return literal('true', true);
    if (c === 0x66) return literal('false', false);
    if (c === 0x6e) return literal('null', null);
    throw bad('looking for beginning of value');
  };

  const object = (): Map<string, GoValue> => {
    const out = new Map<string, GoValue>();
    i++;
    skipSpace();
    if (peek() === 0x7d) {
      i++;
      return out;
    }
    for (;;) {
      skipSpace();
      if (peek() !== 0x22) throw bad('looking for beginning of object key string');
      const key = string();
      skipSpace();
      if (peek() !== 0x3a) throw bad('after object key');
      i++;
      out.set(key, value());
      skipSpace();
      const c = peek();
      i++;
      if (c === 0x7d) return out;
      if (c !== 0x2c) {
        i--;
        throw bad('after object key:value pair');
      }
    }
  };

  const array = (): GoValue[] => {
    const out: GoValue[] = [];
    i++;
    skipSpace();
    if (peek() === 0x5d) {
      i++;
      return out;
    }
    for (;;) {
      out.push(value());
      skipSpace();
      const c = peek();
      i++;
      if (c === 0x5d) return out;
      if (c !== 0x2c) {
        i--;
        throw bad('after array element');
      }
    }
  };

  const string = (): string => {
    const start = i;
    i++;
    for (;;) {
      const c = peek();
      if (c === 0x22) {
        i++;
        return JSON.parse(buf.subarray(start, i).toString('utf8')) as string;
      }
      if (c < 0x20) throw bad('in string literal');
      i++;
      if (c !== 0x5c) continue;
      const e = peek();
      if (e === 0x75) {
        i++;
        for (let n = 0; n < 4; n++) {
          if (!isHex(peek())) throw bad('in \\u hexadecimal character escape');
          i++;
        }
      } else if ('"\\/bfnrt'.includes(String.fromCharCode(e))) {
        i++;
      } else {
        throw bad('in string escape code');
      }
    }
  };

  const isDigit = (c: number) => c >= 0x30 && c <= 0x39;
  const digits = () => {
    while (i < buf.length && isDigit(buf[i]!)) i++;
  };

  const number = (): GoNumber => {
    const start = i;
    if (buf[i] === 0x2d) {
      i++;
      if (!isDigit(peek())) throw bad('in numeric literal');
    }
    if (buf[i] === 0x30) i++;
    else digits();
    if (i < buf.length && buf[i] === 0x2e) {
      i++;
      if (!isDigit(peek())) throw bad('after decimal point in numeric literal');
      digits();
    }
    if (i < buf.length && (buf[i] === 0x65 || buf[i] === 0x45)) {
      i++;
      if (peek() === 0x2b || peek() === 0x2d) i++;
      if (!isDigit(peek())) throw bad('in exponent of numeric literal');
      digits();
    }
    return new GoNumber(buf.subarray(start, i).toString('latin1'));
  };

  const literal = <T extends GoValue>(word: string, result: T): T => {
    for (let n = 0; n < word.length; n++) {
      if (peek() !== word.charCodeAt(n)) {
        throw bad(`in literal ${word} (expecting ${quoteChar(word.charCodeAt(n))})`);
      }
      i++;
    }
    return result;
  };

  skipSpace();
  if (i >= buf.length) throw new GoError('EOF');
  return value();
}

/** How encoding/json names a JSON value's kind in its type errors. */
export function goKind(value: GoValue): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (value instanceof Map) return 'object';
  if (value instanceof GoNumber) return 'number';
  if (typeof value === 'boolean') return 'bool';
  return 'string';
}

/** A uint64 from a JSON number, or undefined when Go would refuse it. */
export function goUint64(value: GoNumber): bigint | undefined {
  if (!/^(0|[1-9][0-9]*)$/.test(value.text)) return undefined;
  const n = BigInt(value.text);
  return n <= MAX_UINT64 ? n : undefined;
}

function isHex(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);
}

/** encoding/json's quoteChar: one byte, in single quotes, escaped as strconv.Quote does. */
function quoteChar(byte: number): string {
  if (byte === 0x27) return "'\\''";
  if (byte === 0x22) return `'"'`;
  const quoted = goQuote(String.fromCharCode(byte));
  return `'${quoted.slice(1, -1)}'`;
}

/**
 * `base64.StdEncoding.DecodeString`, as encoding/json applies it to a
 * `[]byte` field: padded standard alphabet, CR and LF skipped; a bad
 * input reports the offset of the first byte that cannot be decoded.
 */
export function decodeGoBase64(text: string): Buffer {
  const clean = text.replace(/[\r\n]/g, '');
  const offsetOf = (cleanIndex: number): number => {
    let seen = 0;
    for (let i = 0; i < text.length; i++) {
      if (text[i] === '\r' || text[i] === '\n') continue;
      if (seen === cleanIndex) return i;
      seen++;
    }
    return text.length;
  };
  const corrupt = (cleanIndex: number) =>
    new GoError(`illegal base64 data at input byte ${offsetOf(cleanIndex)}`);

  const firstBad = clean.search(/[^A-Za-z0-9+/=]/);
  if (firstBad >= 0) throw corrupt(firstBad);
  const pad = clean.indexOf('=');
  if (pad >= 0) {
    const tail = clean.slice(pad);
    // Padding completes the last quantum: one or two '=' at the very end.
    if (!/^={1,2}$/.test(tail) || clean.length % 4 !== 0 || pad % 4 < 2) throw corrupt(pad);
  } else if (clean.length % 4 !== 0) {
    throw corrupt(clean.length - (clean.length % 4 === 1 ? 1 : 0));
  }
  return Buffer.from(clean, 'base64');
}
