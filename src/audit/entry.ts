/**
 * Audit entries in Vault's JSON shape, with every string value HMAC'd under
 * the device's salt (`hmac-sha256:<hex>`) unless the device logs raw.
 *
 * Field names follow Vault's file device output, so tools that read Vault
 * audit logs read these too. Object keys are never hashed, only values;
 * numbers and booleans pass through, as in Vault.
 */
import { createHmac } from 'node:crypto';
import type { AuthResult, LogicalRequest, LogicalResponse } from '../framework/types.ts';

/** What the broker knows about the mount serving a request. */
export interface AuditMount {
  path: string;
  type: string;
  accessor: string;
}

/** One request or response as it passes the broker, before formatting. */
export interface AuditEvent {
  type: 'request' | 'response';
  time: Date;
  req: LogicalRequest;
  mount?: AuditMount;
  resp?: LogicalResponse;
  /** The error message the client saw; messages never carry secrets. */
  error?: string;
  status?: number;
}

export interface HashOptions {
  salt: Buffer;
  /** Log strings in the clear (`log_raw`). */
  raw: boolean;
  /** Hash token accessors too (`hmac_accessor`, on by default). */
  hmacAccessor: boolean;
}

export function hmacValue(salt: Buffer, value: string): string {
  return `hmac-sha256:${createHmac('sha256', salt).update(value).digest('hex')}`;
}

/** A deep copy of `value` with every string replaced by its HMAC. */
export function hashStrings(value: unknown, salt: Buffer): unknown {
  if (typeof value === 'string') return hmacValue(salt, value);
  if (Array.isArray(value)) return value.map((v) => hashStrings(v, salt));
  if (value !== null && typeof value === 'object') {
    if (Buffer.isBuffer(value)) return hmacValue(salt, value.toString('base64'));
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = hashStrings(v, salt);
    return out;
  }
  return value;
}

/** Formats one event as Vault's file device would, as an object ready for JSON. */
export function formatEntry(event: AuditEvent, opts: HashOptions): Record<string, unknown> {
  const { req } = event;
  const secret = (v: string | undefined) =>
    v === undefined || v === '' ? v : opts.raw ? v : hmacValue(opts.salt, v);
  const accessor = (v: string | undefined) =>
    v === undefined || v === '' || !opts.hmacAccessor ? v : secret(v);
  const data = (v: unknown) => (v == null ? v : opts.raw ? v : hashStrings(v, opts.salt));

  const entry: Record<string, unknown> = {
    time: event.time.toISOString(),
    type: event.type,
  };
  if (req.caller) {
    entry.auth = {
      client_token: secret(req.clientToken),
      accessor: accessor(req.caller.accessor),
      display_name: req.caller.displayName,
      policies: req.caller.policies,
      token_policies: req.caller.policies,
      metadata: Object.keys(req.caller.meta).length ? data(req.caller.meta) : undefined,
      entity_id: req.caller.entityId,
      token_type: 'service',
    };
  }
  entry.request = {
    id: req.id,
    operation: req.operation,
    mount_point: event.mount?.path,
    mount_type: event.mount?.type,
    mount_accessor: event.mount?.accessor,
    client_token: secret(req.clientToken),
    client_token_accessor: accessor(req.caller?.accessor),
    namespace: { id: 'root' },
    path: req.path,
    data: Object.keys(req.data).length ? data(req.data) : undefined,
    remote_address: req.remoteAddr,
  };
  if (event.type === 'response') {
    const resp = event.resp;
    entry.response = {
      status: event.status,
      mount_point: event.mount?.path,
      mount_type: event.mount?.type,
      mount_accessor: event.mount?.accessor,
      auth: resp?.auth ? formatAuth(resp.auth, secret, accessor, data) : undefined,
      data: resp?.data ? data(resp.data) : undefined,
      wrap_info: resp?.wrapInfo
        ? {
            ...resp.wrapInfo,
            token: secret(resp.wrapInfo.token),
            accessor: accessor(resp.wrapInfo.accessor),
            wrapped_accessor: accessor(resp.wrapInfo.wrapped_accessor),
          }
        : undefined,
      warnings: resp?.warnings?.length ? resp.warnings : undefined,
    };
  }
  if (event.error) entry.error = event.error;
  return entry;
}

function formatAuth(
  auth: AuthResult,
  secret: (v: string | undefined) => string | undefined,
  accessor: (v: string | undefined) => string | undefined,
  data: (v: unknown) => unknown,
): Record<string, unknown> {
  return {
    client_token: secret(auth.clientToken),
    accessor: accessor(auth.accessor),
    display_name: auth.displayName,
    policies: auth.policies,
    token_policies: auth.tokenPolicies ?? auth.policies,
    metadata: auth.metadata && Object.keys(auth.metadata).length ? data(auth.metadata) : undefined,
    token_type: auth.tokenType ?? 'service',
    token_ttl: auth.ttlSeconds,
  };
}
