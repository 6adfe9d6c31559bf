import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConsulError } from '../errors.ts';
import { indentJson, loggableUrl, parseQueryOptions, Query } from './wire.ts';

describe('Consul query options', () => {
  const options = (query: string, random = 0) =>
    parseQueryOptions(new Query(`/v1/kv/a?${query}`), () => random);

  it('waits 5 minutes by default, at most 10, plus up to a sixteenth of jitter', () => {
    assert.equal(options('index=5').waitMs, 300_000);
    assert.equal(options('index=5', 0.999).waitMs, 300_000 + 0.999 * (300_000 / 16));
    assert.equal(options('index=5&wait=1h').waitMs, 600_000);
    assert.equal(options('index=5&wait=2s', 0.5).waitMs, 2000 + 0.5 * 125);
    assert.equal(options('index=5&wait=0s').waitMs, 300_000);
  });

  it('takes flags by presence, whatever their value', () => {
    const q = new Query('/v1/kv/a?recurse=false&keys=True&raw');
    assert.ok(q.has('recurse') && q.has('keys') && q.has('raw'));
    assert.equal(options('stale=0').consistency, 'stale');
    assert.equal(options('consistent').consistency, 'consistent');
    assert.equal(options('').consistency, 'leader');
  });

  it("refuses what Consul refuses, in Consul's words", () => {
    const refusal = (query: string) => {
      try {
        options(query);
      } catch (err) {
        return [(err as ConsulError).status, (err as ConsulError).message];
      }
      return undefined;
    };
    assert.deepEqual(refusal('wait=5'), [400, 'Invalid wait time']);
    assert.deepEqual(refusal('index=-1'), [400, 'Invalid index']);
    assert.deepEqual(refusal('stale&consistent'), [
      400,
      'Cannot specify ?stale with ?consistent, conflicting semantics.',
    ]);
    assert.deepEqual(refusal('dc=eu-west'), [500, 'No path to datacenter']);
    assert.equal(refusal('dc=dc1'), undefined);
  });

  it('hides token values in logged URLs and leaves the token out of echoed flags', () => {
    assert.equal(loggableUrl('/v1/kv/a?token=s3cr3t&recurse'), '/v1/kv/a?token=<hidden>&recurse');
    assert.equal(loggableUrl('/v1/kv/a?recurse&TOKEN=x'), '/v1/kv/a?recurse&TOKEN=<hidden>');
    assert.equal(
      new Query('/v1/kv/a?token=t&cas=1&acquire=s').encodeWithoutToken(),
      'acquire=s&cas=1',
    );
  });

  it('indents JSON as json.MarshalIndent does, keeping big numbers exact', () => {
    assert.equal(
      indentJson('[{"Flags":18446744073709551615,"Value":"a,b:{"},[]]'),
      '[\n    {\n        "Flags": 18446744073709551615,\n        "Value": "a,b:{"\n    },\n    []\n]',
    );
  });
});
