import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseArgsData } from './args-data.ts';
import { LocalError } from './errors.ts';

const noStdin = { readStdin: async () => assert.fail('stdin should not be read') };

describe('parseArgsData', () => {
  it('turns key=value pairs into strings, splitting at the first equals sign', async () => {
    assert.deepEqual(await parseArgsData(['a=1', 'b=x=y', 'c='], noStdin), {
      a: '1',
      b: 'x=y',
      c: '',
    });
  });

  it('collects a repeated key into a list', async () => {
    assert.deepEqual(await parseArgsData(['p=a', 'p=b', 'p=c'], noStdin), { p: ['a', 'b', 'c'] });
  });

  it('reads key=@file verbatim and keeps \\@ as a literal at sign', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keep-args-'));
    const file = join(dir, 'pass.txt');
    writeFileSync(file, 'line1\nline2\n');
    assert.deepEqual(await parseArgsData([`pass=@${file}`, 'mail=\\@home'], noStdin), {
      pass: 'line1\nline2\n',
      mail: '@home',
    });
  });

  it('reads key=- and a lone - (JSON object) from stdin, only once', async () => {
    const stdin = { readStdin: async () => 's3cret' };
    assert.deepEqual(await parseArgsData(['token=-'], stdin), { token: 's3cret' });
    const json = { readStdin: async () => '{"a":"b","n":1}' };
    assert.deepEqual(await parseArgsData(['-', 'c=d'], json), { a: 'b', n: 1, c: 'd' });
    await assert.rejects(parseArgsData(['a=-', 'b=-'], stdin), /stdin already consumed/);
  });

  it('merges a JSON object from @file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keep-args-'));
    const file = join(dir, 'data.json');
    writeFileSync(file, '{"user":"x","n":[1,2]}');
    assert.deepEqual(await parseArgsData([`@${file}`], noStdin), { user: 'x', n: [1, 2] });
  });

  it('reports bad pairs and missing files as local errors naming the argument', async () => {
    await assert.rejects(parseArgsData(['novalue'], noStdin), (err: unknown) => {
      assert.ok(err instanceof LocalError);
      assert.equal(err.message, "Invalid key/value pair 'novalue': format must be key=value");
      return true;
    });
    await assert.rejects(parseArgsData(['k=@/nonexistent/x'], noStdin), {
      message:
        "Invalid key/value pair 'k=@/nonexistent/x': error reading file: " +
        'open /nonexistent/x: no such file or directory',
    });
  });
});
