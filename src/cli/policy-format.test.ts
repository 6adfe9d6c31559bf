import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LocalError } from './errors.ts';
import { formatPolicy, hasComments } from './policy-format.ts';

describe('formatPolicy', () => {
  it('prints path blocks in source order with capabilities first and aligned assignments', () => {
    const source = `path "secret/*" {capabilities=["read","list"]}
path   "secret/foo" {
    required_parameters = ["a"]
  capabilities = ["create"]
  allowed_parameters { "*" = [] "foo" = ["x", "y"] }
}`;
    assert.equal(
      formatPolicy(source),
      `path "secret/*" {
  capabilities = ["read", "list"]
}

path "secret/foo" {
  capabilities        = ["create"]
  required_parameters = ["a"]

  allowed_parameters = {
    "*"   = []
    "foo" = ["x", "y"]
  }
}
`,
    );
  });

  it('is idempotent and accepts the JSON form of a policy', () => {
    const formatted = formatPolicy('{"path": {"a/*": {"capabilities": ["deny"]}}}');
    assert.equal(formatted, 'path "a/*" {\n  capabilities = ["deny"]\n}\n');
    assert.equal(formatPolicy(formatted), formatted);
  });

  it('reports a parse error without formatting', () => {
    assert.throws(
      () => formatPolicy('path "x" {'),
      (err: unknown) => {
        assert.ok(err instanceof LocalError);
        assert.match(err.message, /^failed to parse policy: .*RBRACE/);
        return true;
      },
    );
  });

  it('refuses files with comments rather than dropping them', () => {
    assert.throws(() => formatPolicy('# mine\npath "x" { capabilities = ["read"] }'), /comments/);
  });
});

describe('hasComments', () => {
  it('finds #, // and /* comments but not comment markers inside strings', () => {
    assert.equal(hasComments('a = 1 # c'), true);
    assert.equal(hasComments('a = 1 // c'), true);
    assert.equal(hasComments('/* c */ a = 1'), true);
    assert.equal(hasComments('path "a/#/b//c" { x = "\\"#" }'), false);
  });
});
