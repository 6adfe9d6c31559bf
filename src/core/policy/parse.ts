/**
 * ACL policy documents, parsed once when written.
 *
 * Vault policies are HCL1 or JSON. `parsePolicy` turns one into a `Policy`:
 * plain data that is stored as JSON and compiled by `acl.ts` without touching
 * the HCL parser again, so reading policies back at unseal costs a
 * `JSON.parse`, not ~10 ms of HCL per policy.
 */
import type { Capability } from '../../framework/types.ts';
import { parseDuration } from '../../lib/duration.ts';
import { BadRequestError } from '../../lib/errors.ts';
import { loadHcl } from '../../lib/hcl.ts';

/** One `path "…" { … }` block, normalised. */
export interface PolicyPathRule {
  /** The pattern as written minus one leading `/`: `secret/*`, `secret/+/config`. */
  path: string;
  /**
   * Granted capabilities in a fixed order, without duplicates, legacy
   * `policy = "…"` already expanded. `["deny"]` alone when the block denies;
   * empty when the block grants nothing (it still matches, and so still
   * shadows less specific patterns).
   */
  capabilities: Capability[];
  /** Lower-cased parameter name → permitted values (`[]`: any value). Absent: no limit. */
  allowedParameters?: Record<string, unknown[]>;
  /** Lower-cased parameter name → refused values (`[]`: any value). */
  deniedParameters?: Record<string, unknown[]>;
  requiredParameters?: string[];
  minWrappingTtlSeconds?: number;
  maxWrappingTtlSeconds?: number;
}

/** A named policy: its source text and the rules parsed from it. JSON-safe. */
export interface Policy {
  name: string;
  raw: string;
  paths: PolicyPathRule[];
}

export const ROOT_POLICY_NAME = 'root';
export const DEFAULT_POLICY_NAME = 'default';
/** Built in, never stored: what a response-wrapping token may do. */
export const WRAPPING_POLICY_NAME = 'response-wrapping';
export const WRAPPING_POLICY = `path "cubbyhole/response" {
    capabilities = ["create", "read"]
}
path "sys/wrapping/unwrap" {
    capabilities = ["update"]
}`;

/**
 * The `default` policy every non-root token gets unless told otherwise:
 * Vault's, minus the paths of features Keep does not have (identity entity
 * look-ups, OIDC provider authorisation, Enterprise control groups).
 */
export const DEFAULT_POLICY = `# A token may look itself up, renew itself and revoke itself.
path "auth/token/lookup-self" {
    capabilities = ["read"]
}

path "auth/token/renew-self" {
    capabilities = ["update"]
}

path "auth/token/revoke-self" {
    capabilities = ["update"]
}

# A token may ask which capabilities it holds on given paths.
path "sys/capabilities-self" {
    capabilities = ["update"]
}

# The web UI reads the caller's merged ACL to decide what to show.
path "sys/internal/ui/resultant-acl" {
    capabilities = ["read"]
}

# Renewing or looking up a lease needs its id, which only its holder knows.
# sys/renew is the older path, kept for older clients.
path "sys/renew" {
    capabilities = ["update"]
}

path "sys/leases/renew" {
    capabilities = ["update"]
}

path "sys/leases/lookup" {
    capabilities = ["update"]
}

# Every token has a private cubbyhole.
path "cubbyhole/*" {
    capabilities = ["create", "read", "update", "delete", "list"]
}

# Response wrapping: wrap any value, inspect a wrapping token, unwrap it.
path "sys/wrapping/wrap" {
    capabilities = ["update"]
}

path "sys/wrapping/lookup" {
    capabilities = ["update"]
}

path "sys/wrapping/unwrap" {
    capabilities = ["update"]
}

# General-purpose hashing.
path "sys/tools/hash" {
    capabilities = ["update"]
}

path "sys/tools/hash/*" {
    capabilities = ["update"]
}
`;

/** Canonical order of capabilities inside a `PolicyPathRule`. */
const CAPABILITY_ORDER: readonly Capability[] = [
  'create',
  'read',
  'update',
  'patch',
  'delete',
  'list',
  'sudo',
];

/** The pre-0.5 `policy = "…"` shorthand, expanded as Vault expands it (no `patch`). */
const LEGACY_POLICY: Record<string, Capability[]> = {
  deny: ['deny'],
  read: ['read', 'list'],
  write: ['create', 'read', 'update', 'delete', 'list'],
  sudo: ['create', 'read', 'update', 'delete', 'list', 'sudo'],
};

const RULE_KEYS = new Set([
  'comment',
  'policy',
  'capabilities',
  'allowed_parameters',
  'denied_parameters',
  'required_parameters',
  'min_wrapping_ttl',
  'max_wrapping_ttl',
]);

const ENTERPRISE_RULE_KEYS = new Set(['mfa_methods', 'control_group']);

const POLICY_NAME = /^[a-z0-9_@+=,:-][a-z0-9_.@+=,:-]*$/;
const MAX_POLICY_NAME_LENGTH = 256;

/**
 * Vault's name normalisation (trimmed, lower-cased), plus a character check:
 * names become storage keys and URL segments, so `/`, blanks and control
 * characters are refused rather than silently creating nested keys.
 */
export function normalizePolicyName(name: string): string {
  if (typeof name !== 'string') throw new BadRequestError('policy name must be a string');

  const normalized = name.trim().toLowerCase();
  if (normalized === '') throw new BadRequestError('policy name missing');
  if (normalized.length > MAX_POLICY_NAME_LENGTH || !POLICY_NAME.test(normalized)) {
    throw new BadRequestError(
      `invalid policy name ${JSON.stringify(name)}: use letters, digits and _ - . @ + = , : ` +
        `(at most ${MAX_POLICY_NAME_LENGTH} characters, not starting with ".")`,
    );
  }

  return normalized;
}

/** Refuses writes to `root`, which is built in and has no document. Returns the normalised name. */
export function assertPolicyWritable(name: string): string {
  const normalized = normalizePolicyName(name);
  if (normalized === ROOT_POLICY_NAME) throw new BadRequestError('cannot update "root" policy');
  if (normalized === WRAPPING_POLICY_NAME) {
    throw new BadRequestError('cannot update "response-wrapping" policy');
  }
  return normalized;
}

/** Refuses deleting `root` or `default`. Returns the normalised name. */
export function assertPolicyDeletable(name: string): string {
  const normalized = normalizePolicyName(name);
  if (normalized === ROOT_POLICY_NAME) throw new BadRequestError('cannot delete "root" policy');
  if (normalized === WRAPPING_POLICY_NAME) {
    throw new BadRequestError('cannot delete "response-wrapping" policy');
  }
  if (normalized === DEFAULT_POLICY_NAME) throw new BadRequestError('cannot delete default policy');
  return normalized;
}

/**
 * Parses an HCL1 or JSON policy document the way Vault's `ParseACLPolicy`
 * does. Throws `BadRequestError` naming the path and key at fault; for a
 * syntax error the message carries the parser's `line:column`.
 */
export function parsePolicy(name: string, text: string): Policy {
  const policyName = normalizePolicyName(name);
  if (typeof text !== 'string') throw new BadRequestError('policy document must be a string');

  const doc = decodeHcl(text);
  for (const key of Object.keys(doc)) {
    if (key !== 'name' && key !== 'path') fail(`invalid key ${JSON.stringify(key)}`);
  }

  const paths: PolicyPathRule[] = [];
  for (const [pattern, body] of pathBlocks(doc.path)) {
    const rule = parseRule(pattern, body);
    if (rule) paths.push(rule);
  }

  return { name: policyName, raw: text, paths };
}

function fail(message: string): never {
  throw new BadRequestError(`failed to parse policy: ${message}`);
}

/** HCL or JSON text → the decoded root object (blocks as lists of one-key objects). */
function decodeHcl(text: string): Record<string, unknown> {
  // HCL1's JSON reader shrugs off unbalanced braces, and reads `{"path": [1,}`
  // as an empty document: a typo would silently become a policy granting
  // nothing. JSON documents are therefore checked strictly first.
  if (text.trimStart().startsWith('{')) assertStrictJson(text);

  let out: string;
  try {
    out = loadHcl()(text);
  } catch {
    fail('the document could not be read as HCL or JSON');
  }

  // The parser reports errors as a returned string, not an exception, e.g.
  // "unable to parse JSON: At 3:5: expected: IDENT | STRING got: RBRACE".
  if (!out.startsWith('{')) fail(out.replace(/^unable to (parse|print) JSON: /, ''));

  const doc: unknown = JSON.parse(out);
  if (!isPlainObject(doc)) fail('does not contain a root object');
  return doc;
}

function assertStrictJson(text: string): void {
  try {
    JSON.parse(text);
  } catch (err) {
    const message = (err as Error).message;
    const at = /at position (\d+)/.exec(message);
    if (!at) fail(`invalid JSON: ${message}`);
    const before = text.slice(0, Number(at[1]));
    const line = before.split('\n').length;
    const column = before.length - before.lastIndexOf('\n');
    fail(
      `At ${line}:${column}: invalid JSON: ${message.replace(/ in JSON at position \d+.*$/, '')}`,
    );
  }
}

/** `path` blocks as [pattern, body] pairs, in document order. */
function* pathBlocks(value: unknown): Generator<[string, Record<string, unknown>]> {
  if (value === undefined) return;
  if (!Array.isArray(value)) fail('"path" must be a block: path "<pattern>" { ... }');

  for (const item of value) {
    if (!isPlainObject(item)) fail('"path" must be a block: path "<pattern>" { ... }');
    for (const [pattern, bodies] of Object.entries(item)) {
      const list = Array.isArray(bodies) ? bodies : [bodies];
      for (const body of list) {
        if (!isPlainObject(body)) {
          fail(`path ${JSON.stringify(pattern)}: expected a block { ... }`);
        }
        yield [pattern, body];
      }
    }
  }
}

/** One path block → a rule. Mirrors Vault's `parsePaths`, including its order of checks. */
function parseRule(pattern: string, body: Record<string, unknown>): PolicyPathRule {
  const where = `path ${JSON.stringify(pattern)}`;
  for (const key of Object.keys(body)) {
    if (ENTERPRISE_RULE_KEYS.has(key)) {
      fail(`${where}: ${key} is a Vault Enterprise feature that Keep does not support`);
    }
    if (!RULE_KEYS.has(key)) fail(`${where}: invalid key ${JSON.stringify(key)}`);
  }

  const path = pattern.startsWith('/') ? pattern.slice(1) : pattern;
  if (path.includes('+*')) {
    fail(`path ${JSON.stringify(path)}: invalid use of wildcards ('+*' is forbidden)`);
  }

  let requested = stringList(body.capabilities, `${where}: capabilities`);
  if (body.policy !== undefined) {
    const known = typeof body.policy === 'string' && Object.hasOwn(LEGACY_POLICY, body.policy);
    if (!known) fail(`${where}: invalid policy ${JSON.stringify(body.policy)}`);
    const legacy = LEGACY_POLICY[body.policy as string]!;
    // `policy = "deny"` replaces the list; the others add to it.
    requested = body.policy === 'deny' ? legacy : [...requested, ...legacy];
  }

  // Vault stops at the first "deny": nothing else in the block is read.
  const granted = new Set<Capability>();
  for (const cap of requested) {
    if (cap === 'deny') return { path, capabilities: ['deny'] };
    if (!(CAPABILITY_ORDER as readonly string[]).includes(cap)) {
      fail(`${where}: invalid capability ${JSON.stringify(cap)}`);
    }
    granted.add(cap as Capability);
  }

  const rule: PolicyPathRule = {
    path,
    capabilities: CAPABILITY_ORDER.filter((cap) => granted.has(cap)),
  };

  const allowed = parameterMap(body.allowed_parameters, `${where}: allowed_parameters`);
  if (allowed) rule.allowedParameters = allowed;
  const denied = parameterMap(body.denied_parameters, `${where}: denied_parameters`);
  if (denied) rule.deniedParameters = denied;

  const required = stringList(body.required_parameters, `${where}: required_parameters`);
  for (const param of required) {
    if (param.includes('*')) {
      fail(`${where}: required_parameters: wildcard is not permitted in ${JSON.stringify(param)}`);
    }
  }
  if (required.length > 0) rule.requiredParameters = [...new Set(required)];

  const minWrap = wrappingTtl(body.min_wrapping_ttl, 'min_wrapping_ttl', where);
  const maxWrap = wrappingTtl(body.max_wrapping_ttl, 'max_wrapping_ttl', where);
  if (minWrap > 0 && maxWrap > 0 && maxWrap < minWrap) {
    fail(`${where}: max_wrapping_ttl cannot be less than min_wrapping_ttl`);
  }
  if (minWrap > 0) rule.minWrappingTtlSeconds = minWrap;
  if (maxWrap > 0) rule.maxWrappingTtlSeconds = maxWrap;

  return rule;
}

function stringList(value: unknown, what: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    fail(`${what} must be a list of strings`);
  }
  return value;
}

/**
 * `allowed_parameters` / `denied_parameters`: a map of name → list of values.
 * Keys are lower-cased as Vault does; `*` is the only wildcard key. Empty map
 * → undefined, because Vault treats an empty map as no map at all.
 */
function parameterMap(value: unknown, what: string): Record<string, unknown[]> | undefined {
  if (value === undefined) return undefined;

  // HCL1 decodes a map as a list of one or more objects.
  const parts = Array.isArray(value) ? value : [value];
  const entries: [string, unknown[]][] = [];
  for (const part of parts) {
    if (!isPlainObject(part)) fail(`${what} must be a map of parameter name to list of values`);
    for (const [key, values] of Object.entries(part)) {
      const quoted = JSON.stringify(key);
      if (!Array.isArray(values)) fail(`${what}: the values of ${quoted} must be a list`);
      if (key.includes('*') && key !== '*') {
        fail(`${what}: parameter key ${quoted} cannot contain wildcards other than a lone "*"`);
      }
      // Vault's newest JSON-pointer keys (`/a/b`) are not implemented; refuse
      // them rather than matching a literal parameter named "/a/b".
      if (key.startsWith('/')) {
        fail(`${what}: parameter key ${quoted}: nested parameter paths are not supported`);
      }
      entries.push([key.toLowerCase(), values]);
    }
  }

  // fromEntries defines own properties, so a "__proto__" key stays a key.
  return entries.length > 0 ? Object.fromEntries(entries) : undefined;
}

function wrappingTtl(value: unknown, key: string, where: string): number {
  if (value === undefined) return 0;
  if (typeof value !== 'string' && typeof value !== 'number') {
    fail(`${where}: ${key} must be a duration such as "5m"`);
  }
  try {
    return parseDuration(value);
  } catch (err) {
    fail(`${where}: ${key}: ${(err as Error).message}`);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
