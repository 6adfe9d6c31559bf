import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parseDuration } from './duration.ts';

describe('parseDuration', () => {
  const accepted: [string | number, number][] = [
    [0, 0],
    [3600, 3600],
    ['0', 0],
    ['45', 45],
    ['768h', 768 * 3600],
    ['30m', 1800],
    ['90s', 90],
    ['1h30m', 5400],
    ['1h30m15s', 5415],
    ['2h0m0s', 7200],
    ['1.5h', 5400],
    ['.5m', 30],
    ['5.s', 5],
    ['+10s', 10],
    ['1500ms', 1.5],
    ['250ms', 0.25],
    ['1000000us', 1],
    ['1000000µs', 1],
    ['1000000μs', 1],
    ['1000000000ns', 1],
    ['7d', 7 * 86400],
    ['0s', 0],
    ['0.000000001s', 1e-9],
  ];
  for (const [input, seconds] of accepted) {
    test(`reads ${JSON.stringify(input)} as ${seconds} seconds`, () => {
      assert.equal(parseDuration(input), seconds);
    });
  }

  const refused: [string | number, RegExp][] = [
    ['', /empty/],
    [' 5s', /blanks/],
    ['5s ', /blanks/],
    ['-5s', /negative/],
    ['-5', /negative/],
    [-1, /negative/],
    [1.5, /whole number of seconds/],
    [Number.NaN, /finite/],
    [Number.POSITIVE_INFINITY, /finite/],
    ['1.5', /missing unit/],
    ['10x', /unknown unit "x"/],
    ['5 s', /unknown unit " s"/],
    ['1h30', /missing unit/],
    ['h', /expected a number/],
    ['.s', /expected a number/],
    ['+', /invalid duration/],
    ['1d12h', /unknown unit "d"/],
    ['1.5d', /unknown unit "d"/],
    ['3000000h', /too long/],
    ['9999999999999999999', /too long/],
    ['abc', /expected a number/],
  ];
  for (const [input, message] of refused) {
    test(`refuses ${JSON.stringify(input)} with a message saying why`, () => {
      assert.throws(() => parseDuration(input), message);
    });
  }

  test("stops at Go's limit of 2^63-1 nanoseconds", () => {
    assert.equal(parseDuration(9_223_372_036), 9_223_372_036);
    assert.throws(() => parseDuration(9_223_372_037), /too long/);
    assert.throws(() => parseDuration('2562048h'), /too long/);
  });

  test('quotes the offending input in its message', () => {
    assert.throws(() => parseDuration('12parsecs'), /"12parsecs"/);
  });

  test('refuses values of other types passed from untyped JSON', () => {
    assert.throws(() => parseDuration(true as unknown as string), /expected a string or a number/);
  });

  test('agrees with composing hours, minutes and seconds by hand', () => {
    fc.assert(
      fc.property(fc.nat({ max: 100_000 }), fc.nat({ max: 59 }), fc.nat({ max: 59 }), (h, m, s) => {
        assert.equal(parseDuration(`${h}h${m}m${s}s`), h * 3600 + m * 60 + s);
      }),
    );
  });

  test('reads any whole number of seconds as itself, as a string or a number', () => {
    fc.assert(
      fc.property(fc.nat({ max: 9_223_372_036 }), (n) => {
        assert.equal(parseDuration(n), n);
        assert.equal(parseDuration(String(n)), n);
        assert.equal(parseDuration(`${n}s`), n);
      }),
    );
  });
});
