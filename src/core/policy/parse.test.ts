import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { BadRequestError } from '../../lib/errors.ts';
import {
  assertPolicyDeletable,
  assertPolicyWritable,
  DEFAULT_POLICY,
  normalizePolicyName,
  parsePolicy,
} from './parse.ts';

function refuses(text: string, message: RegExp): void {
  assert.throws(
    () => parsePolicy('p', text),
    (err: unknown) => err instanceof BadRequestError && message.test(err.message),
  );
}

describe('parsePolicy', () => {
  test('reads path blocks with every supported key', () => {
    const policy = parsePolicy(
      'app',
      `
      # comments are fine
      path "secret/data/app/*" {
        capabilities = ["read", "create", "update", "read"]
        allowed_parameters = {
          "Colour" = ["red", "blu*"]
          "*" = []
        }
        denied_parameters {
          "admin" = [true]
        }
        required_parameters = ["colour", "colour"]
        min_wrapping_ttl = "1m"
        max_wrapping_ttl = 3600
        comment = "anything"
      }
      `,
    );

    assert.equal(policy.name, 'app');
    assert.deepEqual(policy.paths, [
      {
        path: 'secret/data/app/*',
        capabilities: ['create', 'read', 'update'],
        allowedParameters: { colour: ['red', 'blu*'], '*': [] },
        deniedParameters: { admin: [true] },
        requiredParameters: ['colour'],
        minWrappingTtlSeconds: 60,
        maxWrappingTtlSeconds: 3600,
      },
    ]);
  });

  test('gives the same rules for an HCL document and its JSON form', () => {
    const hcl = parsePolicy(
      'p',
      `
      path "secret/*" {
        capabilities = ["read", "list"]
        denied_parameters = { "ttl" = [] }
      }
      path "sys/mounts/+" { policy = "sudo" }
      path "auth/token/create" {
        capabilities = ["update"]
        allowed_parameters = { "policies" = ["web", "db"] }
        max_wrapping_ttl = "5m"
      }
      `,
    );
    const json = parsePolicy(
      'p',
      JSON.stringify({
        path: {
          'secret/*': { capabilities: ['read', 'list'], denied_parameters: { ttl: [] } },
          'sys/mounts/+': { policy: 'sudo' },
          'auth/token/create': {
            capabilities: ['update'],
            allowed_parameters: { policies: ['web', 'db'] },
            max_wrapping_ttl: '5m',
          },
        },
      }),
    );

    assert.deepEqual(json.paths, hcl.paths);
  });

  test('keeps the raw document text so it can be returned unchanged', () => {
    const text = 'path "a" {\n  capabilities = ["read"]\n}\n';
    assert.equal(parsePolicy('p', text).raw, text);
  });

  test('expands the legacy policy shorthand as Vault does', () => {
    const policy = parsePolicy(
      'p',
      `
      path "r" { policy = "read" }
      path "w" { policy = "write" }
      path "s" { policy = "sudo" }
      path "d" { policy = "deny" }
      path "both" {
        policy = "read"
        capabilities = ["update"]
      }
      `,
    );

    assert.deepEqual(
      policy.paths.map((p) => [p.path, p.capabilities]),
      [
        ['r', ['read', 'list']],
        ['w', ['create', 'read', 'update', 'delete', 'list']],
        ['s', ['create', 'read', 'update', 'delete', 'list', 'sudo']],
        ['d', ['deny']],
        ['both', ['read', 'update', 'list']],
      ],
    );
  });

  test('reduces a block holding deny to deny alone, dropping its parameters', () => {
    const policy = parsePolicy(
      'p',
      `path "x" {
        capabilities = ["read", "deny", "update"]
        allowed_parameters = { "a" = [] }
      }`,
    );
    assert.deepEqual(policy.paths, [{ path: 'x', capabilities: ['deny'] }]);
  });

  test('keeps a block that grants nothing, since it still shadows broader patterns', () => {
    assert.deepEqual(parsePolicy('p', 'path "x" {}').paths, [{ path: 'x', capabilities: [] }]);
  });

  test('strips one leading slash from a path pattern', () => {
    const policy = parsePolicy('p', 'path "/secret/x" { capabilities = ["read"] }');
    assert.equal(policy.paths[0]!.path, 'secret/x');
  });

  test('keeps two blocks for the same path as two rules, merged later', () => {
    const policy = parsePolicy(
      'p',
      'path "a" { capabilities = ["read"] }\npath "a" { capabilities = ["list"] }',
    );
    assert.equal(policy.paths.length, 2);
  });

  test('accepts an empty document as a policy with no rules', () => {
    assert.deepEqual(parsePolicy('p', '').paths, []);
    assert.deepEqual(parsePolicy('p', '# nothing yet\n').paths, []);
  });

  test('treats a parameter named __proto__ as an ordinary key', () => {
    const policy = parsePolicy(
      'p',
      '{"path": {"a": {"capabilities": ["update"], "allowed_parameters": {"__proto__": ["x"]}}}}',
    );
    const allowed = policy.paths[0]!.allowedParameters!;
    assert.deepEqual(Object.keys(allowed), ['__proto__']);
    assert.equal(Object.getPrototypeOf(allowed), Object.prototype);
  });

  test('reports an HCL syntax error with the line and column the parser gave', () => {
    refuses('path "a" {\n  capabilities = ["read"\n}\n', /failed to parse policy: At 4:1: /);
    refuses('path "a" {', /At 1:12: object expected closing RBRACE/);
  });

  test('reports a JSON syntax error with its position', () => {
    refuses('{\n  "path": {"a": {"capabilities": ["read"] "x"}}\n}', /At 2:\d+: invalid JSON/);
  });

  test('refuses JSON that the lenient HCL reader would take as an empty policy', () => {
    refuses('{"path": {"a": {"capabilities": ["read"]}}', /invalid JSON/);
    refuses('{"path": [1,}', /invalid JSON/);
  });

  test('names an unknown capability', () => {
    refuses('path "a" { capabilities = ["read", "fly"] }', /path "a": invalid capability "fly"/);
    refuses('path "a" { capabilities = ["root"] }', /invalid capability "root"/);
  });

  test('names an unknown legacy policy value', () => {
    refuses('path "a" { policy = "admin" }', /path "a": invalid policy "admin"/);
  });

  test('refuses keys Vault does not know, at the top and inside a path', () => {
    refuses('paths "a" { capabilities = ["read"] }', /invalid key "paths"/);
    refuses('path "a" { capability = ["read"] }', /path "a": invalid key "capability"/);
  });

  test('refuses Vault Enterprise keys with a message saying so', () => {
    refuses('path "a" { mfa_methods = ["m"] }', /mfa_methods is a Vault Enterprise feature/);
    refuses(
      'path "a" { control_group = { ttl = "1h" } }',
      /control_group is a Vault Enterprise feature/,
    );
  });

  test('refuses values of the wrong shape', () => {
    refuses('path "a" { capabilities = "read" }', /capabilities must be a list of strings/);
    refuses('path "a" { capabilities = [1] }', /capabilities must be a list of strings/);
    refuses('path = "a"', /"path" must be a block/);
    refuses('path "a" { allowed_parameters = { "x" = "y" } }', /values of "x" must be a list/);
    refuses('path "a" { required_parameters = "x" }', /required_parameters must be a list/);
  });

  test('refuses wildcards where Vault forbids them', () => {
    refuses('path "a/+*" { capabilities = ["read"] }', /'\+\*' is forbidden/);
    refuses('path "a" { allowed_parameters = { "ab*" = [] } }', /cannot contain wildcards/);
    refuses('path "a" { required_parameters = ["a*"] }', /wildcard is not permitted/);
  });

  test('refuses nested parameter paths it does not implement', () => {
    refuses('path "a" { denied_parameters = { "/a/b" = [] } }', /nested parameter paths/);
  });

  test('names the wrapping TTL key whose duration is bad', () => {
    refuses('path "a" { min_wrapping_ttl = "soon" }', /path "a": min_wrapping_ttl: invalid/);
    refuses('path "a" { max_wrapping_ttl = "-5s" }', /max_wrapping_ttl: .*negative/);
    refuses(
      'path "a" {\n min_wrapping_ttl = "10m"\n max_wrapping_ttl = "1m"\n}',
      /max_wrapping_ttl cannot be less than min_wrapping_ttl/,
    );
  });

  test('lower-cases and trims the policy name', () => {
    assert.equal(parsePolicy('  Ops-Team ', '').name, 'ops-team');
  });

  test('parses the built-in default policy', () => {
    const policy = parsePolicy('default', DEFAULT_POLICY);
    const byPath = new Map(policy.paths.map((p) => [p.path, p.capabilities]));
    assert.deepEqual(byPath.get('auth/token/lookup-self'), ['read']);
    assert.deepEqual(byPath.get('auth/token/renew-self'), ['update']);
    assert.deepEqual(byPath.get('auth/token/revoke-self'), ['update']);
    assert.deepEqual(byPath.get('sys/capabilities-self'), ['update']);
    assert.deepEqual(byPath.get('cubbyhole/*'), ['create', 'read', 'update', 'delete', 'list']);
    assert.deepEqual(byPath.get('sys/wrapping/unwrap'), ['update']);
    assert.deepEqual(byPath.get('sys/tools/hash'), ['update']);
    assert.equal(byPath.has('secret/*'), false);
  });
});

describe('policy names', () => {
  test('normalise to trimmed lower case', () => {
    assert.equal(normalizePolicyName(' Web_App.v2 '), 'web_app.v2');
  });

  test('refuse empty names and names that would not be safe storage keys', () => {
    for (const bad of ['', '   ', 'a/b', 'a b', '..', '.hidden', 'tab\there', 'é']) {
      assert.throws(() => normalizePolicyName(bad), BadRequestError, bad);
    }
    assert.throws(() => normalizePolicyName('x'.repeat(257)), /at most 256/);
  });

  test('root cannot be written, whatever its case', () => {
    assert.throws(() => assertPolicyWritable('ROOT'), /cannot update "root" policy/);
    assert.equal(assertPolicyWritable('Default'), 'default');
  });

  test('root and default cannot be deleted', () => {
    assert.throws(() => assertPolicyDeletable('root'), /cannot delete "root" policy/);
    assert.throws(() => assertPolicyDeletable(' default'), /cannot delete default policy/);
    assert.equal(assertPolicyDeletable('web'), 'web');
  });
});
