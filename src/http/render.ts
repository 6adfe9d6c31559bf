/**
 * Vault's wire shapes: the response envelope with every key present, the
 * `auth` object, and `{"errors": [...]}` for every failure.
 */
import type { FastifyReply } from 'fastify';
import type { AuthResult, LogicalResponse } from '../framework/types.ts';
import type { KeepError } from '../lib/errors.ts';

/** Exactly this content type: hvac ignores error bodies under any other. */
export const JSON_TYPE = 'application/json';

export function renderAuth(auth: AuthResult): Record<string, unknown> {
  const out: Record<string, unknown> = {
    client_token: auth.clientToken ?? '',
    accessor: auth.accessor ?? '',
    policies: auth.policies,
    token_policies: auth.tokenPolicies ?? auth.policies,
    metadata: auth.metadata ?? null,
    lease_duration: auth.ttlSeconds ?? 0,
    renewable: auth.renewable ?? false,
    entity_id: auth.entityId ?? '',
    token_type: auth.tokenType ?? 'service',
    orphan: auth.orphan ?? false,
    mfa_requirement: null,
    num_uses: auth.numUses ?? 0,
  };
  return out;
}

export function envelope(
  requestId: string,
  resp: LogicalResponse,
  mountType: string,
): Record<string, unknown> {
  const body: Record<string, unknown> = {
    request_id: requestId,
    lease_id: resp.leaseId ?? '',
    renewable: resp.renewable ?? false,
    lease_duration: resp.leaseDurationSeconds ?? 0,
    data: resp.data ?? null,
    wrap_info: resp.wrapInfo ?? null,
    warnings: resp.warnings?.length ? resp.warnings : null,
    auth: resp.auth ? renderAuth(resp.auth) : null,
    mount_type: mountType,
  };
  if (resp.legacyTopLevel && resp.data) {
    for (const [k, v] of Object.entries(resp.data)) {
      if (!(k in body)) body[k] = v;
    }
  }
  return body;
}

/**
 * Sends `body` as JSON. It goes out as a Buffer because fastify appends
 * `; charset=utf-8` to a JSON content type when the payload is a string.
 */
export function sendJson(reply: FastifyReply, status: number, body: unknown): FastifyReply {
  return reply
    .code(status)
    .header('content-type', JSON_TYPE)
    .header('cache-control', 'no-store')
    .send(Buffer.from(JSON.stringify(body)));
}

export function sendError(reply: FastifyReply, err: KeepError): FastifyReply {
  const errors = err.message === '' ? [] : [err.message, ...err.details];
  return sendJson(reply, err.status, { errors });
}
