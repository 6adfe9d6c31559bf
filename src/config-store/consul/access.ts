/**
 * Who is calling the Consul face and what they may do: a Keep token
 * (`X-Consul-Token`, `?token=` or `Authorization: Bearer`) and the Keep
 * policies on it. A Consul key `a/b` is the Keep path `config/a/b`:
 *
 *   read a key, recurse (per entry)          read
 *   list keys (?keys, per key)               list or read
 *   write a key (PUT, set/cas/lock/unlock)   create (new key) or update (existing)
 *   delete (per key, recurse: every key)     delete
 *
 * Refusals use Consul's words: no token or an unknown one is "ACL not
 * found" or a Permission denied naming the AccessorID and the Consul
 * permission (`key:read`, `key:write`, `key:list`) that was missing.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { AuditMount } from '../../audit/entry.ts';
import type { Core } from '../../core/core.ts';
import type { Acl } from '../../core/policy/acl.ts';
import type { LogicalRequest, Operation } from '../../framework/types.ts';
import { ConsulError } from '../errors.ts';
import type { Author } from '../history.ts';
import { type Query, tokenOf } from './wire.ts';

/** How audit entries name the Consul face, which has no mount. */
export const AUDIT_MOUNT: AuditMount = { path: 'config/', type: 'consul', accessor: '' };

/**
 * Requests whose audit entry was written, waiting for their response entry
 * (server.ts writes it before the answer leaves, and refuses to send an
 * answer no device could record, as the Vault listener does).
 */
export const audited = new WeakMap<FastifyRequest, LogicalRequest>();

/** What the audit log records a request as: a Keep path, an operation and its parameters. */
export interface AuditedAs {
  path: string;
  operation: Operation;
  data?: Record<string, unknown>;
}

/** Consul's AccessorID of the anonymous token, named when a request carries none. */
const ANONYMOUS_ACCESSOR = '00000000-0000-0000-0000-000000000002';

/** The Keep policy path guarding a Consul key. */
export function policyPath(key: string): string {
  return `config/${key}`;
}

export class Access {
  readonly accessor: string;
  readonly root: boolean;
  readonly author: Author;
  readonly #acl: Acl;

  constructor(opts: { accessor: string; acl: Acl; author: Author }) {
    this.accessor = opts.accessor;
    this.#acl = opts.acl;
    this.root = opts.acl.root;
    this.author = opts.author;
  }

  can(key: string, op: Operation): boolean {
    return this.#acl.check(policyPath(key), op).allowed;
  }

  canRead(key: string): boolean {
    return this.can(key, 'read');
  }

  canList(key: string): boolean {
    return this.can(key, 'list') || this.can(key, 'read');
  }

  canWrite(key: string, exists: boolean): boolean {
    return this.can(key, exists ? 'update' : 'create');
  }

  canDelete(key: string): boolean {
    return this.can(key, 'delete');
  }

  /** Whether the token may run `op` with sudo on a Keep path outside `config/`. */
  canSudo(path: string, op: Operation): boolean {
    const decision = this.#acl.check(path, op);
    return decision.allowed && decision.sudo;
  }

  /** Consul's "Permission denied: token with AccessorID '…' lacks permission 'key:write' on "a/b"". */
  denied(permission: string, resource: string): ConsulError {
    return new ConsulError(403, deniedText(this.accessor, permission, resource));
  }
}

export function deniedText(accessor: string, permission: string, resource: string): string {
  return (
    `Permission denied: token with AccessorID '${accessor}' lacks permission ` +
    `'${permission}' on ${JSON.stringify(resource)}`
  );
}

/**
 * Resolves the request's token to an `Access`. Without a token the
 * request is refused as Consul refuses its anonymous token under a deny
 * policy; an unknown, expired or out-of-CIDR token is "ACL not found".
 * A token with limited uses spends one.
 */
export async function authenticate(
  core: Core,
  req: FastifyRequest,
  q: Query,
  remoteAddr: string,
  wanted: { permission: string; resource: string; audit: AuditedAs },
): Promise<Access> {
  const token = tokenOf(req, q);
  const logical: LogicalRequest = {
    id: randomUUID(),
    operation: wanted.audit.operation,
    path: wanted.audit.path,
    relPath: '',
    mountPoint: AUDIT_MOUNT.path,
    data: wanted.audit.data ?? {},
    query: {},
    clientToken: token,
    remoteAddr,
    headers: req.headers,
  };
  const refuse = async (message: string): Promise<never> => {
    // A refused request is on record too, as on the Vault listener; the refusal
    // stands even when no device can record it.
    await auditEvent(core, { type: 'request', req: logical, error: message }).catch(() => {});
    throw new ConsulError(403, message);
  };
  if (token === undefined) {
    return refuse(deniedText(ANONYMOUS_ACCESSOR, wanted.permission, wanted.resource));
  }
  const { tokens, policies } = core.unsealed;
  const entry = await tokens.lookup(token, { from: remoteAddr });
  if (!entry) return refuse('ACL not found');
  logical.caller = {
    accessor: entry.accessor,
    displayName: entry.displayName,
    policies: entry.policies,
    entityId: entry.entityId ?? '',
    meta: entry.meta,
    tokenHash: entry.hash,
    remoteAddr,
  };
  // Fail closed: nothing runs unless the request is on record.
  await auditEvent(core, { type: 'request', req: logical });
  audited.set(req, logical);
  if (entry.numUses !== 0) {
    // The request this use pays for is served even when it was the last use.
    await tokens.useToken(entry);
  }
  const acl = await policies.aclFor(entry.policies);
  return new Access({
    accessor: entry.accessor,
    acl,
    author: { displayName: entry.displayName, accessor: entry.accessor, remoteAddr },
  });
}

/** Writes one audit event when devices are enabled; throws when none could record it. */
export async function auditEvent(
  core: Core,
  event: { type: 'request' | 'response'; req: LogicalRequest; error?: string; status?: number },
): Promise<void> {
  if (!core.audit.enabled) return;
  await core.audit.log({ ...event, mount: AUDIT_MOUNT, time: new Date() });
}
