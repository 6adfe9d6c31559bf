/**
 * canonicalPath, fuzzed: whatever spelling a client sends, the path is either
 * refused with a 400 or has exactly one canonical form, free of dot and empty
 * segments, NUL and backslashes, that survives a round trip unchanged.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { fuzz } from '../../test/helpers/fuzz.ts';
import { BadRequestError } from '../lib/errors.ts';
import { canonicalPath, MAX_PATH_BYTES } from './request-path.ts';

/** Pieces that make a path hostile, as they appear on the wire (still percent-encoded). */
const HOSTILE = [
  '..',
  '.',
  '',
  '%2e',
  '%2E',
  '%2e%2e',
  '.%2e',
  '%2E.',
  '%2f',
  '%2F',
  '%5c',
  '%5C',
  '\\',
  '%00',
  '%c0%ae', // overlong "."
  '%c0%af', // overlong "/"
  '%e0%80%ae', // three-byte overlong "."
  '%c1%9c', // overlong "\"
  '%c0%80', // overlong NUL
  '%ed%a0%80', // a UTF-16 surrogate, invalid in UTF-8
  '%f8%80%80%80%ae',
  '%ff',
  '%',
  '%2',
  '%zz',
  '%u002e',
  '%252e', // double-encoded "."
  '%252f',
  '%25',
  '．', // fullwidth full stop
  '。',
  '‥',
  '\u2024', // one dot leader
  '\u200b',
  '\u202e',
  'app ',
  ' ',
  '%20',
  'app%20',
  '%09',
  '?',
  '#',
  ';',
  '%3b',
  'ａｐｐ',
  'APP',
];

const segment = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...HOSTILE) },
  { weight: 2, arbitrary: fc.stringMatching(/^[a-z0-9_.-]{1,12}$/) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }).map(encodeURIComponent) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
  {
    weight: 1,
    arbitrary: fc
      .array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 6 })
      .map((bytes) => bytes.map((b) => `%${b.toString(16).padStart(2, '0')}`).join('')),
  },
  { weight: 1, arbitrary: fc.integer({ min: 1000, max: 5000 }).map((n) => 'k'.repeat(n)) },
);

const rawPath = fc
  .tuple(fc.array(segment, { minLength: 0, maxLength: 8 }), fc.boolean())
  .map(([segments, trailing]) => segments.join('/') + (trailing ? '/' : ''));

/** Each segment percent-encoded: the spelling a careful client sends. */
function encodeSegments(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

function refusesCleanly(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (err) {
    assert.ok(err instanceof BadRequestError, `threw ${String(err)}, not a BadRequestError`);
    assert.equal(err.status, 400);
    assert.ok(err.message.length > 0);
    return true;
  }
}

describe('canonicalPath, fuzzed', () => {
  it('refuses with a 400 or returns one canonical form', async () => {
    await fuzz(
      fc.property(rawPath, (raw) => {
        let path = '';
        if (refusesCleanly(() => (path = canonicalPath(raw)))) return;
        assert.ok(!path.includes('\0'), 'no NUL');
        assert.ok(!path.includes('\\'), 'no backslash');
        assert.ok(Buffer.byteLength(path) <= MAX_PATH_BYTES, 'within the length limit');
        const body = path.endsWith('/') ? path.slice(0, -1) : path;
        for (const seg of body.split('/')) {
          assert.ok(seg !== '' && seg !== '.' && seg !== '..', `segment ${JSON.stringify(seg)}`);
        }
        // The path is the client's bytes decoded exactly once.
        assert.equal(path, decodeURIComponent(raw));
        // Idempotent: the canonical form, spelled out again, decodes to itself.
        assert.equal(canonicalPath(encodeSegments(path)), path);
        // With nothing left to decode, it is its own canonical form.
        if (!path.includes('%')) assert.equal(canonicalPath(path), path);
      }),
      20_000,
    );
  });

  it('gives two spellings the same form only when they decode to the same path', async () => {
    await fuzz(
      fc.property(rawPath, rawPath, (a, b) => {
        let pa: string | undefined;
        let pb: string | undefined;
        try {
          pa = canonicalPath(a);
          pb = canonicalPath(b);
        } catch {
          return;
        }
        assert.equal(pa === pb, decodeURIComponent(a) === decodeURIComponent(b));
      }),
      5_000,
    );
  });

  it('refuses every path holding a dot or empty segment, however it is spelled', async () => {
    const dot = fc.constantFrom('..', '.', '%2e', '%2E%2e', '.%2E', '%2e.', '');
    const plain = fc.stringMatching(/^[a-z0-9_-]{1,8}$/);
    await fuzz(
      fc.property(
        fc.array(plain, { maxLength: 4 }),
        dot,
        fc.array(plain, { minLength: 1, maxLength: 4 }),
        (pre, d, post) => {
          assert.ok(refusesCleanly(() => canonicalPath([...pre, d, ...post].join('/'))));
        },
      ),
      5_000,
    );
  });
});
