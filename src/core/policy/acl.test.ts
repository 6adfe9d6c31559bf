import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import type { Capability, Operation } from '../../framework/types.ts';
import { type Acl, compileAcl, rootAcl } from './acl.ts';
import { DEFAULT_POLICY, type Policy, type PolicyPathRule, parsePolicy } from './parse.ts';

/** One ACL from HCL documents, one policy each. */
function aclOf(...documents: string[]): Acl {
  return compileAcl(documents.map((text, i) => parsePolicy(`p${i}`, text)));
}

function allows(acl: Acl, path: string, op: Operation, data?: Record<string, unknown>): boolean {
  return acl.check(path, op, data).allowed;
}

describe('path matching', () => {
  // [what it shows, policy, path, operation, allowed]
  const cases: [string, string, string, Operation, boolean][] = [
    [
      'an exact path matches itself',
      'path "secret/a" { capabilities = ["read"] }',
      'secret/a',
      'read',
      true,
    ],
    [
      'an exact path does not match a child',
      'path "secret/a" { capabilities = ["read"] }',
      'secret/a/b',
      'read',
      false,
    ],
    [
      'a glob matches everything below its prefix',
      'path "secret/*" { capabilities = ["read"] }',
      'secret/a/b/c',
      'read',
      true,
    ],
    [
      'a glob matches mid-segment',
      'path "secret/ap*" { capabilities = ["read"] }',
      'secret/app1',
      'read',
      true,
    ],
    [
      'a glob does not match its prefix minus the slash',
      'path "secret/*" { capabilities = ["read"] }',
      'secret',
      'read',
      false,
    ],
    [
      'a lone * matches every path',
      'path "*" { capabilities = ["read"] }',
      'anything/at/all',
      'read',
      true,
    ],
    [
      '+ matches exactly one segment',
      'path "secret/+/config" { capabilities = ["read"] }',
      'secret/web/config',
      'read',
      true,
    ],
    [
      '+ does not match two segments',
      'path "secret/+/config" { capabilities = ["read"] }',
      'secret/web/eu/config',
      'read',
      false,
    ],
    [
      '+ does not match zero segments',
      'path "secret/+/config" { capabilities = ["read"] }',
      'secret/config',
      'read',
      false,
    ],
    [
      '+ matches an empty segment, as in Vault',
      'path "secret/+/config" { capabilities = ["read"] }',
      'secret//config',
      'read',
      true,
    ],
    [
      'a leading + is a wildcard',
      'path "+/config" { capabilities = ["read"] }',
      'kv/config',
      'read',
      true,
    ],
    [
      '+ with a trailing glob matches deeper',
      'path "secret/+/team*" { capabilities = ["read"] }',
      'secret/web/teams/a/b',
      'read',
      true,
    ],
    [
      '+ inside a name is literal',
      'path "secret/a+b" { capabilities = ["read"] }',
      'secret/a+b',
      'read',
      true,
    ],
    [
      '+ inside a name does not glob',
      'path "secret/a+b" { capabilities = ["read"] }',
      'secret/axb',
      'read',
      false,
    ],
    [
      'a * inside a path is literal',
      'path "secret/*/x" { capabilities = ["read"] }',
      'secret/a/x',
      'read',
      false,
    ],
    [
      'a leading slash on the request is ignored',
      'path "secret/a" { capabilities = ["read"] }',
      '/secret/a',
      'read',
      true,
    ],
    [
      'the operation must be granted',
      'path "secret/a" { capabilities = ["read"] }',
      'secret/a',
      'update',
      false,
    ],
    [
      'patch is its own capability',
      'path "secret/a" { capabilities = ["update"] }',
      'secret/a',
      'patch',
      false,
    ],
    [
      'a list on `x/` finds a rule for `x`',
      'path "secret/dir" { capabilities = ["list"] }',
      'secret/dir/',
      'list',
      true,
    ],
    [
      'only a list drops the slash',
      'path "secret/dir" { capabilities = ["read"] }',
      'secret/dir/',
      'read',
      false,
    ],
    [
      'a list on `x/` finds a glob for `x`',
      'path "secret/di*" { capabilities = ["list"] }',
      'secret/dir/',
      'list',
      true,
    ],
    [
      'nothing matching means denied',
      'path "secret/a" { capabilities = ["read"] }',
      'other/a',
      'read',
      false,
    ],
  ];
  for (const [what, policy, path, op, allowed] of cases) {
    test(`${what} (${op} ${path})`, () => {
      assert.equal(allows(aclOf(policy), path, op), allowed);
    });
  }
});

describe('path priority', () => {
  test('an exact rule beats a glob, even one granting more', () => {
    const acl = aclOf(`
      path "secret/*" { capabilities = ["read", "update"] }
      path "secret/locked" { capabilities = ["read"] }
    `);
    assert.equal(allows(acl, 'secret/locked', 'update'), false);
    assert.equal(allows(acl, 'secret/other', 'update'), true);
  });

  test('an exact deny carves a hole in a glob', () => {
    const acl = aclOf(`
      path "secret/*" { capabilities = ["read"] }
      path "secret/super-secret" { capabilities = ["deny"] }
    `);
    assert.equal(allows(acl, 'secret/super-secret', 'read'), false);
    assert.equal(allows(acl, 'secret/super-secret2', 'read'), true);
  });

  test('a rule that grants nothing still shadows a broader one', () => {
    const acl = aclOf('path "secret/*" { capabilities = ["read"] }\npath "secret/x" {}');
    assert.equal(allows(acl, 'secret/x', 'read'), false);
  });

  test('the longest glob prefix wins', () => {
    const acl = aclOf(`
      path "secret/*" { capabilities = ["read"] }
      path "secret/restricted/*" { capabilities = ["deny"] }
      path "secret/restricted/open/*" { capabilities = ["list"] }
    `);
    assert.equal(allows(acl, 'secret/a', 'read'), true);
    assert.equal(allows(acl, 'secret/restricted/a', 'read'), false);
    assert.equal(allows(acl, 'secret/restricted/open/a', 'list'), true);
    assert.equal(allows(acl, 'secret/restricted/open/a', 'read'), false);
  });

  test('a wildcard further along beats one earlier on', () => {
    const acl = aclOf(`
      path "secret/+/b" { capabilities = ["read"] }
      path "secret/a/*" { capabilities = ["list"] }
    `);
    assert.deepEqual(acl.check('secret/a/b', 'list').capabilities, ['list']);
    assert.deepEqual(acl.check('secret/x/b', 'read').capabilities, ['read']);
  });

  test('at the same position, a rule without a trailing * beats one with it', () => {
    const plus = aclOf(`
      path "foo/+" { capabilities = ["read"] }
      path "foo/*" { capabilities = ["list"] }
    `);
    assert.deepEqual(plus.check('foo/bar', 'read').capabilities, ['read']);
    assert.deepEqual(plus.check('foo/bar/baz', 'list').capabilities, ['list']);

    const segment = aclOf(`
      path "secret/+/b*" { capabilities = ["list"] }
      path "secret/+/b" { capabilities = ["read"] }
    `);
    assert.deepEqual(segment.check('secret/a/b', 'read').capabilities, ['read']);
  });

  test('then fewer + segments win', () => {
    const acl = aclOf(`
      path "secret/+/+/c" { capabilities = ["list"] }
      path "secret/+/b/c" { capabilities = ["read"] }
    `);
    assert.deepEqual(acl.check('secret/a/b/c', 'read').capabilities, ['read']);
  });

  test('then the longer pattern wins', () => {
    const acl = aclOf(`
      path "secret/+/b*" { capabilities = ["list"] }
      path "secret/+/bc*" { capabilities = ["read"] }
    `);
    assert.deepEqual(acl.check('secret/a/bcd', 'read').capabilities, ['read']);
    assert.deepEqual(acl.check('secret/a/bxd', 'list').capabilities, ['list']);
  });

  test('and last the pattern that sorts later byte-wise', () => {
    const acl = aclOf(`
      path "secret/+/a/+" { capabilities = ["read"] }
      path "secret/+/+/b" { capabilities = ["list"] }
    `);
    // Same first wildcard, both exact, two + each, equal length: "a" sorts after "+".
    assert.deepEqual(acl.check('secret/x/a/b', 'read').capabilities, ['read']);
  });

  test('a longer glob prefix beats a + rule whose wildcard comes earlier', () => {
    const acl = aclOf(`
      path "+/app/*" { capabilities = ["read"] }
      path "kv/app/db*" { capabilities = ["deny"] }
    `);
    assert.equal(allows(acl, 'kv/app/db1', 'read'), false);
    assert.equal(allows(acl, 'kv/app/web', 'read'), true);
  });

  test('rules in different policies compete on priority, not on policy order', () => {
    const a = 'path "secret/*" { capabilities = ["read", "update"] }';
    const b = 'path "secret/fixed" { capabilities = ["read"] }';
    for (const acl of [aclOf(a, b), aclOf(b, a)]) {
      assert.equal(allows(acl, 'secret/fixed', 'update'), false);
    }
  });
});

describe('merging policies', () => {
  test('unions the capabilities two policies give the same pattern', () => {
    const acl = aclOf(
      'path "secret/*" { capabilities = ["read"] }',
      'path "secret/*" { capabilities = ["update"] }',
    );
    assert.equal(allows(acl, 'secret/x', 'read'), true);
    assert.equal(allows(acl, 'secret/x', 'update'), true);
    assert.deepEqual(acl.capabilities('secret/x'), ['read', 'update']);
  });

  test('unions two blocks for the same pattern inside one policy', () => {
    const acl = aclOf('path "a" { capabilities = ["read"] }\npath "a" { capabilities = ["list"] }');
    assert.deepEqual(acl.capabilities('a'), ['read', 'list']);
  });

  test('lets a deny in any policy win, whichever comes first', () => {
    const grant = 'path "secret/*" { capabilities = ["read", "sudo"] }';
    const deny = 'path "secret/*" { capabilities = ["deny"] }';
    for (const acl of [aclOf(grant, deny), aclOf(deny, grant)]) {
      const decision = acl.check('secret/x', 'read');
      assert.equal(decision.allowed, false);
      assert.equal(decision.sudo, false);
      assert.deepEqual(decision.capabilities, ['deny']);
      assert.deepEqual(acl.capabilities('secret/x'), ['deny']);
    }
  });

  test('merges parameter lists, an empty list absorbing the other', () => {
    const acl = aclOf(
      `path "x" {
        capabilities = ["update"]
        allowed_parameters = { "colour" = ["red"], "size" = [] }
      }`,
      `path "x" {
        capabilities = ["update"]
        allowed_parameters = { "colour" = ["blue"], "size" = ["s"] }
      }`,
    );
    assert.equal(allows(acl, 'x', 'update', { colour: 'red' }), true);
    assert.equal(allows(acl, 'x', 'update', { colour: 'blue' }), true);
    assert.equal(allows(acl, 'x', 'update', { colour: 'green' }), false);
    assert.equal(allows(acl, 'x', 'update', { size: 'xl' }), true);
  });

  test('keeps the Vault quirk: a policy listing allowed parameters narrows one listing none', () => {
    const acl = aclOf(
      'path "x" { capabilities = ["update"] }',
      'path "x" {\n capabilities = ["read"]\n allowed_parameters = { "a" = [] }\n}',
    );
    assert.equal(allows(acl, 'x', 'update', { b: 1 }), false);
  });

  test('unions required parameters', () => {
    const acl = aclOf(
      'path "x" {\n capabilities = ["update"]\n required_parameters = ["a"]\n}',
      'path "x" {\n capabilities = ["update"]\n required_parameters = ["b"]\n}',
    );
    assert.equal(allows(acl, 'x', 'update', { a: 1 }), false);
    assert.equal(allows(acl, 'x', 'update', { a: 1, b: 2 }), true);
  });

  test('keeps the tighter wrapping TTL bounds', () => {
    const acl = aclOf(
      'path "x" {\n capabilities = ["read"]\n max_wrapping_ttl = "1h"\n}',
      'path "x" {\n capabilities = ["read"]\n max_wrapping_ttl = "5m"\n}',
    );
    assert.equal(acl.check('x', 'read', {}, { wrapTtlSeconds: 300 }).allowed, true);
    assert.equal(acl.check('x', 'read', {}, { wrapTtlSeconds: 600 }).allowed, false);
  });

  test('compiles no policies into an ACL that allows nothing', () => {
    const acl = compileAcl([]);
    assert.equal(allows(acl, 'secret/x', 'read'), false);
    assert.deepEqual(acl.capabilities('secret/x'), ['deny']);
  });
});

describe('sudo', () => {
  test('is reported when the matched rule grants it', () => {
    const acl = aclOf(`
      path "sys/mounts/*" { capabilities = ["read", "update", "sudo"] }
      path "sys/audit/*" { capabilities = ["read"] }
    `);
    assert.equal(acl.check('sys/mounts/kv', 'update').sudo, true);
    assert.equal(acl.check('sys/audit/file', 'read').sudo, false);
  });

  test('comes from the matched rule only, not from broader ones', () => {
    const acl = aclOf(`
      path "sys/*" { capabilities = ["read", "sudo"] }
      path "sys/raw/*" { capabilities = ["read"] }
    `);
    assert.equal(acl.check('sys/raw/x', 'read').sudo, false);
  });

  test('does not by itself allow an operation', () => {
    assert.equal(allows(aclOf('path "x" { capabilities = ["sudo"] }'), 'x', 'read'), false);
  });
});

describe('parameter constraints', () => {
  const acl = aclOf(`
    path "allowed" {
      capabilities = ["create", "read", "update", "patch", "delete", "list"]
      allowed_parameters = {
        "colour" = ["red", "bl*", "*een"]
        "size" = []
        "count" = [1, 2]
        "flag" = [true]
      }
    }
    path "denied" {
      capabilities = ["create", "update"]
      denied_parameters = { "admin" = [], "role" = ["root*"] }
    }
    path "both" {
      capabilities = ["update"]
      allowed_parameters = { "role" = ["reader", "root-ish"] }
      denied_parameters = { "role" = ["root*"] }
    }
    path "any-name" {
      capabilities = ["update"]
      allowed_parameters = { "*" = [], "mode" = ["safe"] }
    }
    path "only-star" {
      capabilities = ["update"]
      allowed_parameters = { "*" = ["ignored"] }
    }
    path "deny-all" {
      capabilities = ["update"]
      denied_parameters = { "*" = [] }
    }
    path "required" {
      capabilities = ["read", "update", "delete"]
      required_parameters = ["reason"]
    }
    path "literal-star" {
      capabilities = ["update"]
      allowed_parameters = { "v" = ["*"] }
    }
  `);

  const cases: [string, string, Operation, Record<string, unknown> | undefined, boolean][] = [
    ['a listed value is allowed', 'allowed', 'update', { colour: 'red' }, true],
    ['an unlisted value is refused', 'allowed', 'update', { colour: 'purple' }, false],
    ['a trailing-* value globs a prefix', 'allowed', 'update', { colour: 'blue' }, true],
    ['a leading-* value globs a suffix', 'allowed', 'update', { colour: 'green' }, true],
    ['an empty list allows any value', 'allowed', 'update', { size: 'anything' }, true],
    ['an unlisted parameter is refused', 'allowed', 'update', { shape: 'round' }, false],
    ['names compare case-insensitively', 'allowed', 'update', { COLOUR: 'red' }, true],
    ['values compare case-sensitively', 'allowed', 'update', { colour: 'RED' }, false],
    ['numbers compare by value', 'allowed', 'update', { count: 2 }, true],
    ['a number is not its string', 'allowed', 'update', { count: '2' }, false],
    ['booleans compare by value', 'allowed', 'update', { flag: false }, false],
    [
      'every element of a list must be allowed',
      'allowed',
      'update',
      { colour: ['red', 'blue'] },
      true,
    ],
    ['one bad element refuses a list', 'allowed', 'update', { colour: ['red', 'pink'] }, false],
    [
      'a comma-separated string is checked piece by piece',
      'allowed',
      'update',
      { colour: 'red, blue' },
      true,
    ],
    ['one bad piece refuses the string', 'allowed', 'update', { colour: 'red,pink' }, false],
    ['an empty string is not a wildcard', 'allowed', 'update', { colour: '' }, false],
    ['no data at all is allowed', 'allowed', 'update', undefined, true],
    ['empty data is allowed', 'allowed', 'update', {}, true],
    ['create is checked too', 'allowed', 'create', { shape: 'round' }, false],
    ['patch is checked too', 'allowed', 'patch', { shape: 'round' }, false],
    ['read is checked too, as in Vault', 'allowed', 'read', { shape: 'round' }, false],
    ['delete is not checked', 'allowed', 'delete', { shape: 'round' }, true],
    ['list is not checked', 'allowed', 'list', { shape: 'round' }, true],
    [
      'a denied name with an empty list refuses any value',
      'denied',
      'update',
      { admin: false },
      false,
    ],
    ['a denied glob refuses matching values', 'denied', 'update', { role: 'root-admin' }, false],
    ['a denied list lets other values through', 'denied', 'update', { role: 'reader' }, true],
    [
      'a denied value hidden in a list is refused',
      'denied',
      'update',
      { role: ['reader', 'root'] },
      false,
    ],
    [
      'a denied value hidden after a comma is refused',
      'denied',
      'update',
      { role: 'reader, root' },
      false,
    ],
    ['parameters not denied pass', 'denied', 'create', { other: 1 }, true],
    ['denied beats allowed', 'both', 'update', { role: 'root-ish' }, false],
    ['allowed still applies beside denied', 'both', 'update', { role: 'reader' }, true],
    ['a * name allows any other parameter', 'any-name', 'update', { anything: 1 }, true],
    ['named entries still bind beside *', 'any-name', 'update', { mode: 'unsafe' }, false],
    ['a lone * name ignores its values', 'only-star', 'update', { x: 'y' }, true],
    ['a * in denied refuses any data', 'deny-all', 'update', { x: 1 }, false],
    ['a * in denied lets an empty body through', 'deny-all', 'update', {}, true],
    ['a required parameter must be present', 'required', 'update', { other: 1 }, false],
    ['a required parameter may hold anything', 'required', 'update', { reason: null }, true],
    ['required parameters bind reads, as in Vault', 'required', 'read', undefined, false],
    ['required parameters do not bind deletes', 'required', 'delete', undefined, true],
    ['a lone "*" value matches only itself', 'literal-star', 'update', { v: 'x' }, false],
    ['a lone "*" value matches "*"', 'literal-star', 'update', { v: '*' }, true],
  ];
  for (const [what, path, op, data, allowed] of cases) {
    test(`${what} (${op} ${path} ${JSON.stringify(data)})`, () => {
      assert.equal(allows(acl, path, op, data), allowed);
    });
  }

  test('ignores inherited properties of the data object', () => {
    const data = Object.create({ shape: 'round' }) as Record<string, unknown>;
    data.colour = 'red';
    assert.equal(allows(acl, 'allowed', 'update', data), true);
  });
});

describe('wrapping TTL bounds', () => {
  const acl = aclOf(`
    path "wrap" {
      capabilities = ["read"]
      min_wrapping_ttl = "1m"
      max_wrapping_ttl = "1h"
    }
  `);

  test('refuse an unwrapped request', () => {
    assert.equal(acl.check('wrap', 'read').allowed, false);
  });

  test('allow a wrapping TTL inside the bounds', () => {
    assert.equal(acl.check('wrap', 'read', undefined, { wrapTtlSeconds: 600 }).allowed, true);
  });

  test('refuse wrapping TTLs outside the bounds', () => {
    assert.equal(acl.check('wrap', 'read', undefined, { wrapTtlSeconds: 30 }).allowed, false);
    assert.equal(acl.check('wrap', 'read', undefined, { wrapTtlSeconds: 7200 }).allowed, false);
  });
});

describe('capabilities (sys/capabilities)', () => {
  test('answers ["root"] for root', () => {
    assert.deepEqual(rootAcl().capabilities('any/path'), ['root']);
  });

  test('answers ["deny"] when nothing matches', () => {
    assert.deepEqual(aclOf('path "a" { capabilities = ["read"] }').capabilities('b'), ['deny']);
  });

  test("lists names in Vault's order", () => {
    const acl = aclOf(
      'path "a" { capabilities = ["patch", "create", "delete", "update", "list", "read", "sudo"] }',
    );
    assert.deepEqual(acl.capabilities('a'), [
      'sudo',
      'read',
      'list',
      'update',
      'delete',
      'create',
      'patch',
    ]);
  });

  test('answers ["deny"] for a rule granting nothing', () => {
    assert.deepEqual(aclOf('path "a" {}').capabilities('a'), ['deny']);
  });

  test('looks like a list, so a trailing slash finds the rule without it', () => {
    assert.deepEqual(aclOf('path "a" { capabilities = ["list"] }').capabilities('a/'), ['list']);
  });

  test('returns a fresh array each time', () => {
    const acl = aclOf('path "a" { capabilities = ["read"] }');
    acl.capabilities('a').push('sudo');
    assert.deepEqual(acl.capabilities('a'), ['read']);
  });
});

describe('the root ACL', () => {
  test('allows everything with sudo, from rootAcl() or a policy named root', () => {
    const fromPolicy = compileAcl([{ name: 'root', raw: '', paths: [] }]);
    for (const acl of [rootAcl(), fromPolicy]) {
      assert.equal(acl.root, true);
      const decision = acl.check('sys/raw/anything', 'delete', { any: 'thing' });
      assert.equal(decision.allowed, true);
      assert.equal(decision.sudo, true);
    }
  });

  test('wins when root is listed beside other policies', () => {
    const deny = parsePolicy('d', 'path "*" { capabilities = ["deny"] }');
    const acl = compileAcl([deny, { name: 'root', raw: '', paths: [] }]);
    assert.equal(acl.check('secret/x', 'read').allowed, true);
  });
});

describe('the default policy', () => {
  const acl = aclOf(DEFAULT_POLICY);

  test('lets a token look itself up and manage its cubbyhole', () => {
    assert.equal(allows(acl, 'auth/token/lookup-self', 'read'), true);
    assert.equal(allows(acl, 'auth/token/renew-self', 'update'), true);
    assert.equal(allows(acl, 'cubbyhole/notes', 'create'), true);
    assert.equal(allows(acl, 'sys/capabilities-self', 'update'), true);
  });

  test('grants nothing else', () => {
    assert.equal(allows(acl, 'secret/data/app', 'read'), false);
    assert.equal(allows(acl, 'auth/token/create', 'update'), false);
    assert.equal(allows(acl, 'sys/policy/default', 'update'), false);
  });
});

describe('hasAccessUnder', () => {
  test('is true when a rule covers the mount path itself', () => {
    assert.equal(
      aclOf('path "secret/*" { capabilities = ["read"] }').hasAccessUnder('secret/'),
      true,
    );
  });

  test('is true when an exact or glob rule lies below the mount', () => {
    assert.equal(aclOf('path "kv/a/b" { capabilities = ["read"] }').hasAccessUnder('kv/'), true);
    assert.equal(aclOf('path "kv/a/*" { capabilities = ["list"] }').hasAccessUnder('kv/'), true);
  });

  test('is true when a + rule reaches the mount', () => {
    assert.equal(aclOf('path "+/config" { capabilities = ["read"] }').hasAccessUnder('kv/'), true);
    assert.equal(
      aclOf('path "team/+/db" { capabilities = ["read"] }').hasAccessUnder('team/kv/'),
      true,
    );
  });

  test('is false for deny rules and for other mounts', () => {
    const acl = aclOf(`
      path "kv/a" { capabilities = ["deny"] }
      path "other/*" { capabilities = ["read"] }
      path "x/+/y" { capabilities = ["read"] }
    `);
    assert.equal(acl.hasAccessUnder('kv/'), false);
    assert.equal(acl.hasAccessUnder('secret/'), false);
  });

  test('is true for root', () => {
    assert.equal(rootAcl().hasAccessUnder('anything/'), true);
  });
});

// ---------------------------------------------------------------------------
// Properties

const ALL_CAPS: Capability[] = ['create', 'read', 'update', 'patch', 'delete', 'list', 'sudo'];
const OPERATIONS: Operation[] = ['create', 'read', 'update', 'patch', 'delete', 'list'];

const segmentArb = fc.constantFrom('a', 'b', 'ab', '+', '');
const patternArb = fc
  .tuple(fc.array(segmentArb, { minLength: 1, maxLength: 4 }), fc.boolean())
  .map(([segments, glob]) => segments.join('/') + (glob ? '*' : ''))
  .filter((p) => !p.includes('+*'));
const requestPathArb = fc
  .tuple(
    fc.array(fc.constantFrom('a', 'b', 'ab', 'abc', 'x', ''), { minLength: 1, maxLength: 5 }),
    fc.boolean(),
  )
  .map(([segments, slash]) => segments.join('/') + (slash ? '/' : ''));
const capsArb = fc.oneof(
  { weight: 1, arbitrary: fc.constant<Capability[]>(['deny']) },
  { weight: 5, arbitrary: fc.subarray(ALL_CAPS) },
);
const valueArb = fc.constantFrom<unknown>('red', 'bl*', 'x', 1, true, null);
const paramsArb = fc.option(
  fc.dictionary(fc.constantFrom('colour', 'size', '*'), fc.array(valueArb, { maxLength: 2 }), {
    maxKeys: 2,
    noNullPrototype: true,
  }),
  { nil: undefined },
);
const ruleArb: fc.Arbitrary<PolicyPathRule> = fc
  .record({
    path: patternArb,
    capabilities: capsArb,
    allowedParameters: paramsArb,
    deniedParameters: paramsArb,
    requiredParameters: fc.option(fc.subarray(['colour', 'size'], { minLength: 1 }), {
      nil: undefined,
    }),
  })
  .map((rule) => {
    // Shape the rule as parsePolicy would: no undefined members, no empty maps.
    const out: PolicyPathRule = { path: rule.path, capabilities: rule.capabilities };
    if (rule.capabilities[0] === 'deny') return out;
    if (rule.allowedParameters && Object.keys(rule.allowedParameters).length > 0) {
      out.allowedParameters = rule.allowedParameters;
    }
    if (rule.deniedParameters && Object.keys(rule.deniedParameters).length > 0) {
      out.deniedParameters = rule.deniedParameters;
    }
    if (rule.requiredParameters) out.requiredParameters = rule.requiredParameters;
    return out;
  });
const policyArb: fc.Arbitrary<Policy> = fc.record(
  {
    name: fc.constantFrom('alpha', 'beta', 'gamma'),
    raw: fc.constant('(generated)'),
    paths: fc.array(ruleArb, { maxLength: 6 }),
  },
  { noNullPrototype: true },
);
const dataArb = fc.option(
  fc.dictionary(fc.constantFrom('colour', 'size', 'other', 'COLOUR'), valueArb, {
    maxKeys: 3,
    noNullPrototype: true,
  }),
  { nil: undefined },
);

/**
 * Vault's lookup written the slow, obvious way: collect every matching
 * wildcard rule, sort with Vault's comparison, take the last. The ACL under
 * test must agree with it while doing none of that per request.
 */
function referenceBits(policies: Policy[], rawPath: string, isList: boolean): number | undefined {
  const bitOf = (caps: Capability[]) =>
    caps.includes('deny') ? 1 : caps.reduce((b, c) => b | (1 << (ALL_CAPS.indexOf(c) + 1)), 0);
  const exact = new Map<string, number>();
  const prefix = new Map<string, number>();
  const segment = new Map<string, number>();
  for (const policy of policies) {
    for (const rule of policy.paths) {
      const isSegment = rule.path === '+' || rule.path.includes('/+') || rule.path.startsWith('+/');
      const [table, key] = isSegment
        ? [segment, rule.path]
        : rule.path.endsWith('*')
          ? [prefix, rule.path.slice(0, -1)]
          : [exact, rule.path];
      const before = table.get(key);
      const bits = bitOf(rule.capabilities);
      table.set(key, before === undefined ? bits : before & 1 || bits & 1 ? 1 : before | bits);
    }
  }

  type Candidate = {
    first: number;
    isPrefix: boolean;
    wildcards: number;
    path: string;
    bits: number;
  };
  const nonExact = (path: string): number | undefined => {
    const candidates: Candidate[] = [];
    const prefixes = [...prefix.keys()].filter((k) => path.startsWith(k));
    if (prefixes.length > 0) {
      const longest = prefixes.reduce((a, b) => (b.length > a.length ? b : a));
      candidates.push({
        first: longest.length,
        isPrefix: true,
        wildcards: 0,
        path: longest,
        bits: prefix.get(longest)!,
      });
    }
    const pathParts = path.split('/');
    for (const [full, bits] of segment) {
      const isPrefix = full.endsWith('*');
      const wc = isPrefix ? full.slice(0, -1) : full;
      const parts = wc.split('/');
      if (pathParts.length < parts.length) continue;
      if (!isPrefix && parts.length !== pathParts.length) continue;
      const ok = parts.every(
        (part, i) =>
          part === '+' ||
          part === pathParts[i] ||
          (isPrefix && i === parts.length - 1 && pathParts[i]!.startsWith(part)),
      );
      if (ok) {
        const wildcards = parts.filter((p) => p === '+').length;
        candidates.push({ first: full.indexOf('+'), isPrefix, wildcards, path: wc, bits });
      }
    }
    candidates.sort(
      (a, b) =>
        a.first - b.first ||
        (a.isPrefix === b.isPrefix ? 0 : a.isPrefix ? -1 : 1) ||
        b.wildcards - a.wildcards ||
        a.path.length - b.path.length ||
        (a.path < b.path ? -1 : a.path > b.path ? 1 : 0),
    );
    return candidates.at(-1)?.bits;
  };

  const path = rawPath.replace(/^\/+/, '');
  if (exact.has(path)) return exact.get(path);
  if (isList && exact.has(path.replace(/\/$/, ''))) return exact.get(path.replace(/\/$/, ''));
  if (isList && path.endsWith('/')) {
    const found = nonExact(path.slice(0, -1));
    if (found !== undefined) return found;
  }
  return nonExact(path);
}

describe('properties', () => {
  test("path decisions agree with a naive reading of Vault's rules", () => {
    fc.assert(
      fc.property(
        fc.array(policyArb, { maxLength: 3 }),
        requestPathArb,
        fc.constantFrom(...OPERATIONS),
        (policies, path, op) => {
          // Parameters are the other tests' business: strip them here.
          const bare = policies.map((p) => ({
            ...p,
            paths: p.paths.map((r) => ({ path: r.path, capabilities: r.capabilities })),
          }));
          const decision = compileAcl(bare).check(path, op);
          const bits = referenceBits(bare, path, op === 'list');
          const opBit = 1 << (ALL_CAPS.indexOf(op) + 1);
          if (bits === undefined) {
            assert.deepEqual(decision.capabilities, []);
            assert.equal(decision.allowed, false);
          } else {
            const expected: Capability[] =
              bits & 1 ? ['deny'] : ALL_CAPS.filter((_, i) => bits & (1 << (i + 1)));
            assert.deepEqual(decision.capabilities, expected);
            assert.equal(decision.allowed, (bits & 1) === 0 && (bits & opBit) !== 0);
            assert.equal(decision.sudo, (bits & 1) === 0 && (bits & (1 << 7)) !== 0);
          }

          const acl = compileAcl(policies);
          const listBits = referenceBits(policies, path, true);
          assert.equal(
            acl.capabilities(path).includes('deny'),
            listBits === undefined || listBits === 0 || (listBits & 1) === 1,
          );
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('a policy survives JSON.stringify/parse and compiles to the same decisions', () => {
    fc.assert(
      fc.property(
        fc.array(policyArb, { minLength: 1, maxLength: 3 }),
        fc.array(fc.tuple(requestPathArb, fc.constantFrom(...OPERATIONS), dataArb), {
          minLength: 1,
          maxLength: 10,
        }),
        (policies, requests) => {
          const copies = JSON.parse(JSON.stringify(policies)) as Policy[];
          assert.deepEqual(copies, policies);

          const original = compileAcl(policies);
          const restored = compileAcl(copies);
          for (const [path, op, data] of requests) {
            assert.deepEqual(restored.check(path, op, data), original.check(path, op, data));
            assert.deepEqual(restored.capabilities(path), original.capabilities(path));
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  test('a parsed HCL policy survives JSON.stringify/parse with the same decisions', () => {
    const policy = parsePolicy(
      'mixed',
      `
      path "secret/*" { capabilities = ["read", "list"] }
      path "secret/+/config" {
        capabilities = ["update"]
        allowed_parameters = { "colour" = ["red", "bl*"], "*" = [] }
        denied_parameters = { "admin" = [] }
        required_parameters = ["colour"]
      }
      path "secret/locked" { capabilities = ["deny"] }
      `,
    );
    const copy = JSON.parse(JSON.stringify(policy)) as Policy;
    assert.deepEqual(copy, policy);
    fc.assert(
      fc.property(requestPathArb, fc.constantFrom(...OPERATIONS), dataArb, (path, op, data) => {
        const prefixed = `secret/${path}`;
        assert.deepEqual(
          compileAcl([copy]).check(prefixed, op, data),
          compileAcl([policy]).check(prefixed, op, data),
        );
      }),
    );
  });
});

describe('per-request cost', () => {
  test('returns shared frozen decisions instead of allocating new ones', () => {
    const acl = aclOf('path "secret/*" { capabilities = ["read"] }');
    const first = acl.check('secret/a', 'read');
    assert.equal(acl.check('secret/b', 'read'), first);
    assert.equal(Object.isFrozen(first), true);
    assert.equal(Object.isFrozen(first.capabilities), true);
  });
});
