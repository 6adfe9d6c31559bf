/**
 * A token's policies compiled into one ACL, answering "may this request
 * proceed?" the way Vault's `ACL.AllowOperation` does.
 *
 * Everything that can be decided without the request is decided in
 * `compileAcl`: rules for the same pattern are merged, every wildcard rule
 * gets a priority rank, and the possible answers are built as frozen objects.
 * A check is then a Map lookup, a walk down a prefix trie, a scan of the `+`
 * rules in rank order, and the parameter checks: no parsing, no RegExp and,
 * outside comma-separated parameter values, no allocation.
 */
import type { Capability, Operation } from '../../framework/types.ts';
import { type Policy, type PolicyPathRule, ROOT_POLICY_NAME } from './parse.ts';

export interface AclDecision {
  readonly allowed: boolean;
  /** The matched rule grants `sudo` (Vault's "root privileges" for sudo-protected paths). */
  readonly sudo: boolean;
  /** Capabilities of the matched rule; `["deny"]` for a deny rule, empty when nothing matched. */
  readonly capabilities: readonly Capability[];
}

export interface AclCheckOptions {
  /** TTL of the response wrapping the caller asked for; absent or 0 when not wrapping. */
  wrapTtlSeconds?: number;
}

export interface Acl {
  /** True for the `root` policy, which allows everything. */
  readonly root: boolean;
  /**
   * Decides one request. `data` is the request body (for reads, the query
   * parameters), checked against allowed/denied/required parameters for
   * read, create, update and patch, as Vault does. The returned object is
   * shared and frozen.
   */
  check(
    path: string,
    operation: Operation,
    data?: Record<string, unknown>,
    opts?: AclCheckOptions,
  ): AclDecision;
  /** What `sys/capabilities` answers for a path: `["root"]`, `["deny"]`, or capability names. */
  capabilities(path: string): string[];
  /**
   * Whether any rule grants something at or below a mount path such as
   * `secret/` (Vault's `hasMountAccess`, used to filter `sys/internal/ui/mounts`).
   */
  hasAccessUnder(mountPath: string): boolean;
}

const DENY = 1;
const CREATE = 2;
const READ = 4;
const UPDATE = 8;
const DELETE = 16;
const LIST = 32;
const SUDO = 64;
const PATCH = 128;

const CAPABILITY_BITS: Record<Capability, number> = {
  deny: DENY,
  create: CREATE,
  read: READ,
  update: UPDATE,
  delete: DELETE,
  list: LIST,
  sudo: SUDO,
  patch: PATCH,
};

const OPERATION_BITS: Record<Operation, number> = {
  create: CREATE,
  read: READ,
  update: UPDATE,
  patch: PATCH,
  delete: DELETE,
  list: LIST,
};

/** Order of `AclDecision.capabilities`. */
const DECISION_ORDER: readonly Capability[] = [
  'create',
  'read',
  'update',
  'patch',
  'delete',
  'list',
  'sudo',
];

/** Order Vault's `sys/capabilities` lists names in. */
const ENDPOINT_ORDER: readonly Capability[] = [
  'sudo',
  'read',
  'list',
  'update',
  'delete',
  'create',
  'patch',
];

const SLASH = 47;

/** Mutable while policies are merged, then frozen into an `Entry`. */
interface Permissions {
  bits: number;
  minWrapSeconds: number;
  maxWrapSeconds: number;
  allowed: Map<string, unknown[]> | undefined;
  denied: Map<string, unknown[]> | undefined;
  required: string[];
}

interface Entry {
  readonly perms: Permissions;
  readonly granted: AclDecision;
  readonly refused: AclDecision;
  readonly endpointNames: readonly string[];
}

/** A rule with `+` segments, matched segment by segment. */
interface SegmentRule {
  readonly parts: readonly string[];
  readonly isPrefix: boolean;
  readonly entry: Entry;
  rank: number;
}

interface TrieNode {
  children: Map<number, TrieNode> | undefined;
  entry: Entry | undefined;
  rank: number;
}

/** What Vault's wildcard tie-break looks at (`wcPathDescr` in its acl.go). */
interface Priority {
  /** Byte offset of the first `+` (or of the `*` for plain prefix rules). */
  firstWildcard: number;
  isPrefix: boolean;
  wildcards: number;
  /** The pattern without its trailing `*`, as UTF-8 (Go compares bytes). */
  bytes: Buffer;
  assign(rank: number): void;
}

const NO_MATCH: AclDecision = freezeDecision(false, 0);
const ROOT_DECISION: AclDecision = Object.freeze({
  allowed: true,
  sudo: true,
  capabilities: Object.freeze([...DECISION_ORDER]),
});

const ROOT_ACL: Acl = Object.freeze({
  root: true,
  check: () => ROOT_DECISION,
  capabilities: () => ['root'],
  hasAccessUnder: () => true,
});

/** The ACL of a root token: everything allowed, with sudo. */
export function rootAcl(): Acl {
  return ROOT_ACL;
}

/**
 * Compiles a token's policies. A policy named `root` among them makes the
 * root ACL. (Vault refuses `root` mixed with other policies; the union is
 * root either way, so Keep does not fail the request over it.)
 */
export function compileAcl(policies: readonly Policy[]): Acl {
  if (policies.some((p) => p.name === ROOT_POLICY_NAME)) return ROOT_ACL;

  const exact = new Map<string, Permissions>();
  const prefix = new Map<string, Permissions>();
  const segment = new Map<string, Permissions>();
  for (const policy of policies) {
    for (const rule of policy.paths) {
      const perms = permissionsOf(rule, policy.name);
      const [table, key] = classify(rule.path, exact, prefix, segment);
      const existing = table.get(key);
      if (existing) mergeInto(existing, perms);
      else table.set(key, perms);
    }
  }

  return new PolicyAcl(exact, prefix, segment);
}

/** Vault keeps exact, prefix (`*`) and segment-wildcard (`+`) rules in separate tables. */
function classify(
  path: string,
  exact: Map<string, Permissions>,
  prefix: Map<string, Permissions>,
  segment: Map<string, Permissions>,
): [Map<string, Permissions>, string] {
  if (path === '+' || path.includes('/+') || path.startsWith('+/')) return [segment, path];
  if (path.endsWith('*')) return [prefix, path.slice(0, -1)];
  return [exact, path];
}

function permissionsOf(rule: PolicyPathRule, policyName: string): Permissions {
  let bits = 0;
  for (const cap of rule.capabilities) {
    const bit = Object.hasOwn(CAPABILITY_BITS, cap) ? CAPABILITY_BITS[cap] : undefined;
    if (bit === undefined) {
      throw new Error(`policy ${JSON.stringify(policyName)}: unknown capability ${cap}`);
    }
    bits |= bit;
  }
  if (bits & DENY) bits = DENY;

  return {
    bits,
    minWrapSeconds: rule.minWrappingTtlSeconds ?? 0,
    maxWrapSeconds: rule.maxWrappingTtlSeconds ?? 0,
    allowed: parameterTable(rule.allowedParameters),
    denied: parameterTable(rule.deniedParameters),
    required: (rule.requiredParameters ?? []).map((p) => p.toLowerCase()),
  };
}

function parameterTable(params: Record<string, unknown[]> | undefined) {
  if (!params) return undefined;
  const table = new Map<string, unknown[]>();
  for (const [key, values] of Object.entries(params)) table.set(key.toLowerCase(), [...values]);
  return table.size > 0 ? table : undefined;
}

/**
 * Vault's merge of two rules for the same pattern (`NewACL`): a deny on
 * either side wins outright; otherwise capabilities are unioned, the smaller
 * wrapping TTL bounds are kept, parameter lists are concatenated (an empty
 * list, meaning "any value", absorbs the other) and required parameters are
 * unioned. Note the Vault quirk this keeps: a second policy that lists
 * allowed parameters narrows a first one that listed none.
 */
function mergeInto(existing: Permissions, incoming: Permissions): void {
  if (existing.bits & DENY) return;
  if (incoming.bits & DENY) {
    existing.bits = DENY;
    existing.allowed = undefined;
    existing.denied = undefined;
    return;
  }

  existing.bits |= incoming.bits;
  if (
    incoming.maxWrapSeconds > 0 &&
    (existing.maxWrapSeconds === 0 || incoming.maxWrapSeconds < existing.maxWrapSeconds)
  ) {
    existing.maxWrapSeconds = incoming.maxWrapSeconds;
  }
  if (
    incoming.minWrapSeconds > 0 &&
    (existing.minWrapSeconds === 0 || incoming.minWrapSeconds < existing.minWrapSeconds)
  ) {
    existing.minWrapSeconds = incoming.minWrapSeconds;
  }

  existing.allowed = mergeParameters(existing.allowed, incoming.allowed);
  existing.denied = mergeParameters(existing.denied, incoming.denied);
  for (const param of incoming.required) {
    if (!existing.required.includes(param)) existing.required.push(param);
  }
}

function mergeParameters(
  existing: Map<string, unknown[]> | undefined,
  incoming: Map<string, unknown[]> | undefined,
): Map<string, unknown[]> | undefined {
  if (!incoming) return existing;
  if (!existing) return new Map(incoming);

  for (const [key, values] of incoming) {
    const current = existing.get(key);
    const anyValue = values.length === 0 || (current !== undefined && current.length === 0);
    existing.set(key, anyValue ? [] : [...values, ...(current ?? [])]);
  }
  return existing;
}

class PolicyAcl implements Acl {
  readonly root = false;
  readonly #exact = new Map<string, Entry>();
  readonly #trie: TrieNode | undefined;
  /** Prefix rules by pattern without `*`, for `hasAccessUnder`. */
  readonly #prefixes = new Map<string, Entry>();
  /** Highest priority first. */
  readonly #segments: SegmentRule[] = [];

  constructor(
    exact: Map<string, Permissions>,
    prefix: Map<string, Permissions>,
    segment: Map<string, Permissions>,
  ) {
    for (const [path, perms] of exact) this.#exact.set(path, entryOf(perms));

    const priorities: Priority[] = [];
    if (prefix.size > 0) this.#trie = buildTrie(prefix, priorities, this.#prefixes);

    for (const [path, perms] of segment) {
      const isPrefix = path.endsWith('*');
      const pattern = isPrefix ? path.slice(0, -1) : path;
      const rule: SegmentRule = {
        parts: pattern.split('/'),
        isPrefix,
        entry: entryOf(perms),
        rank: 0,
      };
      this.#segments.push(rule);
      priorities.push({
        firstWildcard: Buffer.byteLength(path.slice(0, path.indexOf('+'))),
        isPrefix,
        wildcards: rule.parts.filter((part) => part === '+').length,
        bytes: Buffer.from(pattern),
        assign: (rank) => {
          rule.rank = rank;
        },
      });
    }

    // Ranks make the tie-break a single integer comparison per check.
    priorities.sort(comparePriority);
    for (const [rank, priority] of priorities.entries()) priority.assign(rank);
    this.#segments.sort((a, b) => b.rank - a.rank);
  }

  check(
    path: string,
    operation: Operation,
    data?: Record<string, unknown>,
    opts?: AclCheckOptions,
  ): AclDecision {
    const entry = this.#lookup(path, operation === 'list');
    if (entry === undefined) return NO_MATCH;

    const perms = entry.perms;
    const bit = Object.hasOwn(OPERATION_BITS, operation) ? OPERATION_BITS[operation] : 0;
    if ((perms.bits & bit) === 0) return entry.refused;
    if (!wrappingAllowed(perms, opts?.wrapTtlSeconds)) return entry.refused;

    const checksParameters =
      operation === 'read' ||
      operation === 'create' ||
      operation === 'update' ||
      operation === 'patch';
    if (checksParameters && !parametersAllowed(perms, data)) return entry.refused;

    return entry.granted;
  }

  capabilities(path: string): string[] {
    // Vault asks as a list operation, so `foo/` also finds a rule for `foo`.
    const entry = this.#lookup(path, true);
    return entry ? [...entry.endpointNames] : ['deny'];
  }

  hasAccessUnder(mountPath: string): boolean {
    if (!this.capabilities(mountPath).includes('deny')) return true;

    for (const [pattern, entry] of this.#exact) {
      if (pattern.startsWith(mountPath) && grantsSomething(entry)) return true;
    }
    for (const [pattern, entry] of this.#prefixes) {
      if (pattern.startsWith(mountPath) && grantsSomething(entry)) return true;
    }
    return this.#segments.some(
      (rule) => grantsSomething(rule.entry) && segmentRuleReaches(rule, mountPath),
    );
  }

  /** Vault's order: exact, exact without the list slash, wildcards without it, wildcards. */
  #lookup(rawPath: string, isList: boolean): Entry | undefined {
    let path = rawPath;
    while (path.charCodeAt(0) === SLASH) path = path.slice(1);

    const exact = this.#exact.get(path);
    if (exact) return exact;

    if (isList && path.charCodeAt(path.length - 1) === SLASH) {
      const trimmed = this.#exact.get(path.slice(0, -1));
      if (trimmed) return trimmed;
      const wildcard = this.#nonExact(path, path.length - 1);
      if (wildcard) return wildcard;
    }

    return this.#nonExact(path, path.length);
  }

  /** Best wildcard rule for `path.slice(0, end)`, without slicing. */
  #nonExact(path: string, end: number): Entry | undefined {
    const node = this.#trie ? longestPrefix(this.#trie, path, end) : undefined;
    if (this.#segments.length === 0) return node?.entry;

    let segmentCount = 1;
    for (let i = 0; i < end; i++) if (path.charCodeAt(i) === SLASH) segmentCount++;

    for (const rule of this.#segments) {
      // The rest rank lower still: the prefix rule wins.
      if (node && node.rank > rule.rank) break;
      if (segmentMatches(rule, path, end, segmentCount)) return rule.entry;
    }
    return node?.entry;
  }
}

function buildTrie(
  prefix: Map<string, Permissions>,
  priorities: Priority[],
  byPattern: Map<string, Entry>,
): TrieNode {
  const root: TrieNode = { children: undefined, entry: undefined, rank: 0 };
  for (const [path, perms] of prefix) {
    let node = root;
    for (let i = 0; i < path.length; i++) {
      node.children ??= new Map();
      const code = path.charCodeAt(i);
      let next = node.children.get(code);
      if (!next) {
        next = { children: undefined, entry: undefined, rank: 0 };
        node.children.set(code, next);
      }
      node = next;
    }

    const target = node;
    target.entry = entryOf(perms);
    byPattern.set(path, target.entry);
    const bytes = Buffer.from(path);
    priorities.push({
      firstWildcard: bytes.length,
      isPrefix: true,
      wildcards: 0,
      bytes,
      assign: (rank) => {
        target.rank = rank;
      },
    });
  }
  return root;
}

function longestPrefix(root: TrieNode, path: string, end: number): TrieNode | undefined {
  let best = root.entry ? root : undefined;
  let node = root;
  for (let i = 0; i < end; i++) {
    const next = node.children?.get(path.charCodeAt(i));
    if (next === undefined) break;
    node = next;
    if (node.entry) best = node;
  }
  return best;
}

/**
 * Vault's path priority for wildcard rules, lowest first:
 * a later first wildcard wins; then a non-prefix rule beats a `*` rule;
 * then fewer `+` segments; then the longer pattern; then the one that sorts
 * later byte-wise.
 */
function comparePriority(a: Priority, b: Priority): number {
  if (a.firstWildcard !== b.firstWildcard) return a.firstWildcard - b.firstWildcard;
  if (a.isPrefix !== b.isPrefix) return a.isPrefix ? -1 : 1;
  if (a.wildcards !== b.wildcards) return b.wildcards - a.wildcards;
  if (a.bytes.length !== b.bytes.length) return a.bytes.length - b.bytes.length;
  return Buffer.compare(a.bytes, b.bytes);
}

/**
 * Vault's segment match: same number of segments (at least as many for a
 * trailing `*`), `+` matches any one segment, even an empty one, and the
 * last part of a `*` rule matches as a prefix of its segment.
 */
function segmentMatches(rule: SegmentRule, path: string, end: number, count: number): boolean {
  const parts = rule.parts;
  if (count < parts.length) return false;
  if (!rule.isPrefix && count !== parts.length) return false;

  let pos = 0;
  for (let i = 0; i < parts.length; i++) {
    let segmentEnd = path.indexOf('/', pos);
    if (segmentEnd === -1 || segmentEnd > end) segmentEnd = end;

    const part = parts[i]!;
    const isLast = i === parts.length - 1;
    if (part === '+') {
      // any segment
    } else if (segmentEnd - pos === part.length && path.startsWith(part, pos)) {
      // the same segment
    } else if (rule.isPrefix && isLast && path.startsWith(part, pos)) {
      // the start of the segment (parts hold no "/", so it cannot run past it)
    } else {
      return false;
    }
    pos = segmentEnd + 1;
  }
  return true;
}

/**
 * Vault's "bare mount" test for `+` rules: the rule's segments, up to the
 * mount's depth, are a match for the mount path (`+/config` reaches
 * `secret/`, `team/+/db` reaches `team/kv/`).
 */
function segmentRuleReaches(rule: SegmentRule, mountPath: string): boolean {
  const mountParts = mountPath.split('/');
  const depth = mountParts.length - 1;
  if (depth < 1 || rule.parts.length < depth) return false;

  const matched: string[] = [];
  for (let i = 0; i < depth; i++) {
    const part = rule.parts[i]!;
    const isLast = i === rule.parts.length - 1;
    if (part === '+' || part === mountParts[i]) {
      matched.push(mountParts[i]!);
    } else if (rule.isPrefix && isLast && mountParts[i]!.startsWith(part)) {
      matched.push(...mountParts.slice(i));
    }
  }
  return `${matched.join('/')}/`.startsWith(mountPath);
}

function grantsSomething(entry: Entry): boolean {
  const bits = entry.perms.bits;
  return (bits & DENY) === 0 && bits !== 0;
}

function wrappingAllowed(perms: Permissions, wrapTtl: number | undefined): boolean {
  const wrapped = wrapTtl !== undefined && wrapTtl > 0;
  if (perms.maxWrapSeconds > 0 && (!wrapped || wrapTtl! > perms.maxWrapSeconds)) return false;
  if (perms.minWrapSeconds > 0 && (!wrapped || wrapTtl! < perms.minWrapSeconds)) return false;
  // Merging two policies can leave max below min; nothing can satisfy both.
  if (
    perms.minWrapSeconds > 0 &&
    perms.maxWrapSeconds > 0 &&
    perms.maxWrapSeconds < perms.minWrapSeconds
  ) {
    return false;
  }
  return true;
}

/**
 * Vault's parameter rules, in its order: every required parameter present;
 * no data → allowed; a `*` in denied refuses any data; a denied value
 * refuses; then every parameter must be allowed by name (or by `*`) and by
 * value. Names are compared lower-cased.
 */
function parametersAllowed(perms: Permissions, data: Record<string, unknown> | undefined) {
  for (const param of perms.required) {
    if (data === undefined || !Object.hasOwn(data, param)) return false;
  }
  if (data === undefined || isEmpty(data)) return true;

  const denied = perms.denied;
  if (denied) {
    if (denied.has('*')) return false;
    for (const key in data) {
      if (!Object.hasOwn(data, key)) continue;
      const values = denied.get(key.toLowerCase());
      if (values !== undefined && valueDenied(data[key], values)) return false;
    }
  }

  const allowed = perms.allowed;
  if (!allowed) return true;
  const anyName = allowed.has('*');
  if (anyName && allowed.size === 1) return true;

  for (const key in data) {
    if (!Object.hasOwn(data, key)) continue;
    const values = allowed.get(key.toLowerCase());
    if (values === undefined) {
      if (!anyName) return false;
    } else if (!valueAllowed(data[key], values)) {
      return false;
    }
  }
  return true;
}

/**
 * A value is allowed if the list is empty, if it matches an entry, or if it
 * is a list (or a comma-separated string, since many Vault fields accept
 * either) whose every element matches.
 *
 * Deliberately stricter than Vault: Vault splits every string and trims the
 * pieces, so `""` (no pieces) and `" admin"` pass a list holding `"admin"`.
 * An empty string often means "use the default", which the policy did not
 * grant; here a string is split only when it holds a comma.
 */
function valueAllowed(value: unknown, list: readonly unknown[]): boolean {
  if (list.length === 0 || valueInList(value, list)) return true;
  if (Array.isArray(value)) return value.every((v) => valueInList(v, list));
  if (typeof value === 'string' && value.includes(',')) {
    return splitCommas(value).every((v) => valueInList(v, list));
  }
  return false;
}

/** A value is denied if the list is empty, it matches, or any element (comma piece) matches. */
function valueDenied(value: unknown, list: readonly unknown[]): boolean {
  if (list.length === 0 || valueInList(value, list)) return true;
  if (Array.isArray(value)) return value.some((v) => valueInList(v, list));
  if (typeof value === 'string' && value !== '') {
    return splitCommas(value).some((v) => valueInList(v, list));
  }
  return false;
}

function splitCommas(value: string): string[] {
  return value.split(',').map((piece) => piece.trim());
}

/**
 * Strings in the policy may glob with a leading and/or trailing `*`
 * (a lone `"*"` matches only itself, as in Vault); other values compare
 * structurally. Unlike Vault, which compares a policy's `30` with a request's
 * JSON number and never finds them equal, numbers compare by value.
 */
function valueInList(value: unknown, list: readonly unknown[]): boolean {
  for (const item of list) {
    if (item === null || item === undefined || value === null || value === undefined) {
      if ((item ?? null) === (value ?? null)) return true;
    } else if (typeof item === 'string') {
      if (typeof value === 'string' && globMatch(item, value)) return true;
    } else if (deepEqual(item, value)) {
      return true;
    }
  }
  return false;
}

function globMatch(pattern: string, value: string): boolean {
  if (pattern.length < 2) return value === pattern;

  const leading = pattern.startsWith('*');
  const trailing = pattern.endsWith('*');
  if (leading && trailing) return value.includes(pattern.slice(1, -1));
  if (leading) return value.endsWith(pattern.slice(1));
  if (trailing) return value.startsWith(pattern.slice(0, -1));
  return value === pattern;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;

  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    return a.every((item, i) => deepEqual(item, b[i]));
  }

  const aRecord = a as Record<string, unknown>;
  const bRecord = b as Record<string, unknown>;
  const keys = Object.keys(aRecord);
  if (keys.length !== Object.keys(bRecord).length) return false;
  return keys.every((key) => Object.hasOwn(bRecord, key) && deepEqual(aRecord[key], bRecord[key]));
}

function isEmpty(data: Record<string, unknown>): boolean {
  for (const key in data) if (Object.hasOwn(data, key)) return false;
  return true;
}

function entryOf(perms: Permissions): Entry {
  return Object.freeze({
    perms,
    granted: freezeDecision(true, perms.bits),
    refused: freezeDecision(false, perms.bits),
    endpointNames: Object.freeze(endpointNames(perms.bits)),
  });
}

function freezeDecision(allowed: boolean, bits: number): AclDecision {
  const capabilities: Capability[] =
    bits & DENY ? ['deny'] : DECISION_ORDER.filter((cap) => bits & CAPABILITY_BITS[cap]);
  return Object.freeze({
    allowed,
    sudo: (bits & SUDO) !== 0,
    capabilities: Object.freeze(capabilities),
  });
}

function endpointNames(bits: number): string[] {
  if (bits & DENY) return ['deny'];
  const names = ENDPOINT_ORDER.filter((cap) => bits & CAPABILITY_BITS[cap]);
  return names.length > 0 ? names : ['deny'];
}
