import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  decodeGoBase64,
  decodeGoJson,
  formatGoDuration,
  GoNumber,
  parseGoDuration,
  parseUint64,
} from './go-compat.ts';

const jsonError = (text: string) => {
  try {
    decodeGoJson(Buffer.from(text));
  } catch (err) {
    return (err as Error).message;
  }
  return 'no error';
};

describe('Go-compatible parsing', () => {
  it('reads uint64 query values as strconv.ParseUint does', () => {
    assert.equal(parseUint64('18446744073709551615'), 2n ** 64n - 1n);
    assert.throws(() => parseUint64('abc'), {
      message: 'strconv.ParseUint: parsing "abc": invalid syntax',
    });
    assert.throws(() => parseUint64('-1'), { message: /invalid syntax/ });
    assert.throws(() => parseUint64('18446744073709551616'), {
      message: 'strconv.ParseUint: parsing "18446744073709551616": value out of range',
    });
  });

  it('parses and prints durations as package time does', () => {
    assert.equal(parseGoDuration('10s'), 10e9);
    assert.equal(parseGoDuration('1h30m'), 5400e9);
    assert.equal(parseGoDuration('1.5ms'), 1.5e6);
    assert.equal(parseGoDuration('0'), 0);
    assert.throws(() => parseGoDuration('10'), { message: 'time: missing unit in duration "10"' });
    assert.throws(() => parseGoDuration('ten'), { message: 'time: invalid duration "ten"' });
    assert.throws(() => parseGoDuration('5y'), {
      message: 'time: unknown unit "y" in duration "5y"',
    });
    assert.equal(formatGoDuration(24 * 3600e9), '24h0m0s');
    assert.equal(formatGoDuration(10e9), '10s');
    assert.equal(formatGoDuration(1.5e9), '1.5s');
    assert.equal(formatGoDuration(250e6), '250ms');
  });

  it("reports malformed JSON in encoding/json's words", () => {
    assert.equal(jsonError(''), 'EOF');
    assert.equal(jsonError('  \n'), 'EOF');
    assert.equal(jsonError('[{"KV": {'), 'unexpected EOF');
    assert.equal(jsonError('x'), "invalid character 'x' looking for beginning of value");
    assert.equal(jsonError('[1 2]'), "invalid character '2' after array element");
    assert.equal(jsonError('{"a" 1}'), "invalid character '1' after object key");
    assert.equal(jsonError('{"a":1 "b":2}'), `invalid character '"' after object key:value pair`);
    assert.equal(
      jsonError('{a:1}'),
      "invalid character 'a' looking for beginning of object key string",
    );
    assert.equal(jsonError('["a\nb"]'), "invalid character '\\n' in string literal");
    assert.equal(jsonError('[tru]'), "invalid character ']' in literal true (expecting 'e')");
    assert.equal(jsonError('[-x]'), "invalid character 'x' in numeric literal");
    assert.equal(jsonError("['a']"), "invalid character '\\'' looking for beginning of value");
  });

  it('decodes the first value only, keeping numbers exact and keys safe', () => {
    const value = decodeGoJson(
      Buffer.from('[{"Flags": 18446744073709551615, "__proto__": 1}] junk'),
    );
    assert.ok(Array.isArray(value));
    const op = value[0] as Map<string, unknown>;
    assert.deepEqual(op.get('Flags'), new GoNumber('18446744073709551615'));
    assert.ok(op.has('__proto__'));
  });

  it('decodes base64 strictly, naming the offending byte', () => {
    assert.equal(decodeGoBase64('aGVsbG8=').toString(), 'hello');
    assert.throws(() => decodeGoBase64('aGV*bG8='), {
      message: 'illegal base64 data at input byte 3',
    });
    assert.throws(() => decodeGoBase64('aGVsbG8'), { message: /illegal base64 data/ });
  });
});
