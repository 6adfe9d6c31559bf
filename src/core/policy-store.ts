/**
 * Policies behind the barrier, stored in their parsed form so loading never
 * reparses HCL, and compiled ACLs cached per set of policy names. Any write
 * or delete clears the cache; the per-request path is one map lookup.
 */
import { NotFoundError } from '../lib/errors.ts';
import type { Storage } from '../storage/types.ts';
import { type Acl, compileAcl, rootAcl } from './policy/acl.ts';
import {
  assertPolicyDeletable,
  assertPolicyWritable,
  DEFAULT_POLICY,
  type Policy,
  parsePolicy,
  WRAPPING_POLICY,
  WRAPPING_POLICY_NAME,
} from './policy/parse.ts';

const ROOT_ACL_KEY = 'root';

export class PolicyStore {
  private readonly storage: Storage;
  private readonly policies = new Map<string, Policy>();
  private readonly acls = new Map<string, Acl>();

  constructor(storage: Storage) {
    this.storage = storage;
  }

  /** Writes the built-in `default` policy the first time a server starts. */
  async ensureDefaults(): Promise<void> {
    if (!(await this.storage.get('default'))) {
      await this.put('default', DEFAULT_POLICY);
    }
  }

  async list(): Promise<string[]> {
    const names = (await this.storage.list('')).filter((n) => !n.endsWith('/'));
    return [...new Set([...names, 'root'])].sort();
  }

  async get(name: string): Promise<Policy | undefined> {
    const key = name.toLowerCase();
    const cached = this.policies.get(key);
    if (cached) return cached;
    if (key === WRAPPING_POLICY_NAME) {
      const builtIn = parsePolicy(key, WRAPPING_POLICY);
      this.policies.set(key, builtIn);
      return builtIn;
    }
    const raw = await this.storage.get(key);
    if (!raw) return undefined;
    const policy = JSON.parse(raw.toString('utf8')) as Policy;
    this.policies.set(key, policy);
    return policy;
  }

  /** Parses, validates and stores a policy; the parse error, if any, is the caller's answer. */
  async put(name: string, text: string): Promise<Policy> {
    const key = name.toLowerCase();
    assertPolicyWritable(key);
    const policy = parsePolicy(key, text);
    await this.storage.put(key, Buffer.from(JSON.stringify(policy)));
    this.policies.set(key, policy);
    this.acls.clear();
    return policy;
  }

  async delete(name: string): Promise<void> {
    const key = name.toLowerCase();
    assertPolicyDeletable(key);
    await this.storage.delete(key);
    this.policies.delete(key);
    this.acls.clear();
  }

  /** The compiled ACL for a token's policies; unknown names are skipped, as Vault does. */
  async aclFor(names: string[]): Promise<Acl> {
    const cacheKey = names.join('\n');
    const cached = this.acls.get(cacheKey);
    if (cached) return cached;
    let acl: Acl;
    if (names.includes(ROOT_ACL_KEY)) {
      acl = rootAcl();
    } else {
      const loaded: Policy[] = [];
      for (const name of names) {
        const policy = await this.get(name);
        if (policy) loaded.push(policy);
      }
      acl = compileAcl(loaded);
    }
    this.acls.set(cacheKey, acl);
    return acl;
  }

  async require(name: string): Promise<Policy> {
    const policy = await this.get(name);
    if (!policy) throw new NotFoundError();
    return policy;
  }

  /** Forget everything held in memory (on seal). */
  clear(): void {
    this.policies.clear();
    this.acls.clear();
  }
}
