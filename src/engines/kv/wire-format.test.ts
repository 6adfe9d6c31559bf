import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatGoDuration, formatTimestamp, multiErrorText } from './wire-format.ts';

describe('wire formats', () => {
  it('prints timestamps as RFC 3339 with nine fractional digits', () => {
    assert.equal(
      formatTimestamp(Date.UTC(2018, 2, 22, 2, 24, 6, 945)),
      '2018-03-22T02:24:06.945000000Z',
    );
    assert.equal(formatTimestamp(Date.UTC(2020, 0, 1)), '2020-01-01T00:00:00.000000000Z');
  });

  it('prints a missing timestamp as the empty string', () => {
    assert.equal(formatTimestamp(null), '');
  });

  it('prints durations as Go does', () => {
    assert.equal(formatGoDuration(0), '0s');
    assert.equal(formatGoDuration(45), '45s');
    assert.equal(formatGoDuration(60), '1m0s');
    assert.equal(formatGoDuration(3600), '1h0m0s');
    assert.equal(formatGoDuration(12319), '3h25m19s');
    assert.equal(formatGoDuration(-1), '-1s');
    assert.equal(formatGoDuration(2_764_800), '768h0m0s');
  });

  it('lays out several messages as go-multierror does', () => {
    assert.equal(multiErrorText(['a']), '1 error occurred:\n\t* a\n\n');
    assert.equal(multiErrorText(['a', 'b']), '2 errors occurred:\n\t* a\n\t* b\n\n');
  });
});
