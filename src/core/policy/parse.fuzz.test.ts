/**
 * The policy parser, fuzzed: any document and any name either parses into
 * plain, JSON-safe rules or is refused with a BadRequestError (a 400 with a
 * message), never another exception that would surface as a 500.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { deeplyNested, fuzz, mutatedText } from '../../../test/helpers/fuzz.ts';
import { BadRequestError } from '../../lib/errors.ts';
import { parsePolicy } from './parse.ts';

const CAPABILITIES = ['create', 'read', 'update', 'patch', 'delete', 'list', 'sudo', 'deny'];

const RULE_KEYS = [
  'capabilities',
  'policy',
  'allowed_parameters',
  'denied_parameters',
  'required_parameters',
  'min_wrapping_ttl',
  'max_wrapping_ttl',
  'comment',
  'mfa_methods',
  'control_group',
  '__proto__',
  'constructor',
  'path',
];

const oddString = fc.oneof(
  fc.constantFrom(
    ...CAPABILITIES,
    'write',
    'sudo',
    'fly',
    '*',
    '+',
    '+*',
    'secret/*',
    '/secret/+/x',
    '5m',
    '-1s',
    '1e999',
    '99999999999h',
    '',
    '__proto__',
    '/a/b',
    'a*b',
    '\u0000',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: HCL interpolation, literally
    '${var}',
  ),
  fc.string({ maxLength: 10 }),
  fc.string({ unit: 'binary', maxLength: 10 }),
);

const scalar = fc.oneof(oddString, fc.integer(), fc.double({ noNaN: true }), fc.boolean());

const { value } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...RULE_KEYS), oddString), tie('value'), {
      maxKeys: 4,
    }),
  ),
}));

/** A rule body with the known keys holding values of any type. */
const ruleBody = fc.dictionary(
  fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom(...RULE_KEYS) },
    { weight: 1, arbitrary: oddString },
  ),
  fc.oneof(
    fc.array(fc.constantFrom(...CAPABILITIES, 'fly', ''), { maxLength: 5 }),
    fc.dictionary(oddString, fc.oneof(fc.array(scalar, { maxLength: 3 }), value), { maxKeys: 3 }),
    value,
  ),
  { maxKeys: 4 },
);

const policyDoc = fc
  .tuple(
    fc.array(fc.tuple(oddString, ruleBody), { maxLength: 4 }),
    fc.dictionary(oddString, value, { maxKeys: 2 }),
  )
  .map(([rules, extra]) => {
    const path: Record<string, unknown> = {};
    for (const [pattern, body] of rules) path[pattern] = body;
    return { path, ...extra };
  });

function hclValue(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(hclValue).join(', ')}]`;
  if (typeof v === 'object' && v !== null) {
    return `{\n${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)} = ${hclValue(x)}`)
      .join('\n')}\n}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** The HCL spelling: `path "<pattern>" { key = value }` blocks. */
function toHcl(doc: { path: Record<string, unknown> } & Record<string, unknown>): string {
  let out = '';
  for (const [pattern, body] of Object.entries(doc.path)) {
    out += `path ${JSON.stringify(pattern)} {\n`;
    for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
      const name = /^[A-Za-z_][\w-]*$/.test(k) ? k : JSON.stringify(k);
      out += `  ${name} = ${hclValue(v)}\n`;
    }
    out += '}\n';
  }
  for (const [k, v] of Object.entries(doc)) {
    if (k !== 'path') out += `${JSON.stringify(k)} = ${hclValue(v)}\n`;
  }
  return out;
}

const VALID = `path "secret/data/app/*" {
  capabilities = ["create", "read", "update"]
  allowed_parameters = { "ttl" = ["1h", "2h"], "*" = [] }
  denied_parameters = { "admin" = [] }
  required_parameters = ["ttl"]
  min_wrapping_ttl = "1m"
  max_wrapping_ttl = "1h"
}
path "sys/policy/+" { policy = "read" }
`;

const mutated = mutatedText(VALID, 3, [
  '',
  '"',
  '{',
  '}',
  '[',
  ']',
  '=',
  ',',
  '\n',
  '#',
  '/*',
  '<<EOF\n',
  '\\',
  '\0',
  '*',
  '+',
]);

const deep = deeplyNested(['{', '[', 'a {', '{"path":', 'path "a" { x = [']);

const name = fc.oneof(
  { weight: 8, arbitrary: fc.constant('fuzz') },
  { weight: 1, arbitrary: oddString },
);

function parsesOrRefuses(policyName: string, text: string): void {
  let policy: ReturnType<typeof parsePolicy>;
  try {
    policy = parsePolicy(policyName, text);
  } catch (err) {
    assert.ok(err instanceof BadRequestError, `threw ${String(err)}, not a BadRequestError`);
    assert.equal(err.status, 400);
    assert.ok(err.message.trim().length > 0, 'the error has a message');
    return;
  }
  // Stored as JSON and compiled later without the parser: it must survive the trip.
  assert.deepEqual(JSON.parse(JSON.stringify(policy)), policy);
  for (const rule of policy.paths) {
    assert.equal(typeof rule.path, 'string');
    for (const cap of rule.capabilities) assert.ok(CAPABILITIES.includes(cap), cap);
    if (rule.capabilities.includes('deny')) assert.deepEqual(rule.capabilities, ['deny']);
  }
}

describe('parsePolicy, fuzzed', () => {
  it('JSON policies of any shape parse or are refused with a 400', async () => {
    await fuzz(
      fc.property(name, fc.oneof(policyDoc, value), (n, doc) => {
        parsesOrRefuses(n, JSON.stringify(doc) ?? '');
      }),
      2000,
    );
  });

  it('HCL policies of any shape parse or are refused with a 400', async () => {
    await fuzz(
      fc.property(name, policyDoc, (n, doc) => parsesOrRefuses(n, toHcl(doc))),
      2000,
    );
  });

  it('broken and arbitrary text is refused with a 400', async () => {
    await fuzz(
      fc.property(
        name,
        fc.oneof(
          mutated,
          deep,
          fc.string({ maxLength: 200 }),
          fc.string({ unit: 'binary', maxLength: 200 }),
          fc.json(),
        ),
        parsesOrRefuses,
      ),
      2000,
    );
  });
});
