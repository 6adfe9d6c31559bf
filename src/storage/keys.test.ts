import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { assertKey, assertPrefix, compareKeys } from './keys.ts';

test('compareKeys orders strings like their UTF-8 bytes', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (a, b) => {
      const bytes = Math.sign(Buffer.compare(Buffer.from(a), Buffer.from(b)));
      assert.equal(Math.sign(compareKeys(a, b)), bytes);
    }),
    { numRuns: 2000 },
  );
  assert.ok(compareKeys('\u{e000}', '🔑') < 0);
  assert.ok(compareKeys('a', 'a/') < 0);
});

test('keys must be non-empty, relative, NUL-free, well-formed strings', () => {
  for (const bad of ['', '/a', 'a\0', 'a\ud800b', 42]) assert.throws(() => assertKey(bad));
  for (const good of ['a', 'a/', 'a//b', 'é/🔑']) assertKey(good);
});

test('list prefixes are empty or end with a slash', () => {
  for (const bad of ['a', '/a/', 'a\0/']) assert.throws(() => assertPrefix(bad));
  for (const good of ['', 'a/', 'a/b/']) assertPrefix(good);
});
