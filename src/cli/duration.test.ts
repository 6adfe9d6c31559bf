import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { formatGoDuration, humanDuration, parseGoDuration } from './duration.ts';

describe('Go durations', () => {
  it('parses the forms time.ParseDuration accepts', () => {
    const cases: [string, number][] = [
      ['0', 0],
      ['1h', 3600e9],
      ['1h30m', 5400e9],
      ['1.5h', 5400e9],
      ['-2m', -120e9],
      ['+5s', 5e9],
      ['300ms', 300e6],
      ['1us', 1e3],
      ['1µs', 1e3],
      ['10ns', 10],
      ['.5s', 0.5e9],
      ['2h45m30.5s', (2 * 3600 + 45 * 60 + 30.5) * 1e9],
    ];
    for (const [text, ns] of cases) assert.equal(parseGoDuration(text), ns, text);
  });

  it('rejects malformed text with Go’s messages', () => {
    assert.throws(() => parseGoDuration(''), /^Error: time: invalid duration ""$/);
    assert.throws(() => parseGoDuration('1'), /time: missing unit in duration "1"/);
    assert.throws(() => parseGoDuration('1d'), /time: unknown unit "d" in duration "1d"/);
    assert.throws(() => parseGoDuration('.s'), /time: invalid duration ".s"/);
    assert.throws(() => parseGoDuration('h'), /time: invalid duration "h"/);
  });

  it('formats like Duration.String', () => {
    const cases: [number, string][] = [
      [0, '0s'],
      [1, '1ns'],
      [1500, '1.5µs'],
      [300e6, '300ms'],
      [1e9, '1s'],
      [1.5e9, '1.5s'],
      [90e9, '1m30s'],
      [3600e9, '1h0m0s'],
      [2764800e9, '768h0m0s'],
      [-5400e9, '-1h30m0s'],
    ];
    for (const [ns, text] of cases) assert.equal(formatGoDuration(ns), text, text);
  });

  it('prints seconds counts the way Vault tables show them', () => {
    assert.equal(humanDuration(0), '0s');
    assert.equal(humanDuration(2764800), '768h');
    assert.equal(humanDuration(3600), '1h');
    assert.equal(humanDuration(3660), '1h1m');
    assert.equal(humanDuration(3601), '1h1s');
    assert.equal(humanDuration(60), '1m');
    assert.equal(humanDuration(90), '1m30s');
    assert.equal(humanDuration(45), '45s');
  });

  it('round-trips every whole-nanosecond duration through String and ParseDuration', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 52), max: 2 ** 52 }), (ns) => {
        assert.equal(parseGoDuration(formatGoDuration(ns)), ns);
      }),
    );
  });
});
