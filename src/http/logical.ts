/**
 * The catch-all `/v1/*` route: turns an HTTP request into a logical request,
 * hands it to the core and renders Vault's envelope.
 */
import { randomUUID } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Core } from '../core/core.ts';
import { isPlainObject, parseBool } from '../framework/fields.ts';
import type { LogicalRequest, Operation } from '../framework/types.ts';
import { parseDuration } from '../lib/duration.ts';
import { BadRequestError, KeepError, UnsupportedOperationError } from '../lib/errors.ts';
import type { ClientAddressOf } from './client-address.ts';
import { envelope, sendJson } from './render.ts';
import { canonicalPath } from './request-path.ts';

const METHOD_OPERATIONS: Record<string, Operation> = {
  GET: 'read',
  POST: 'update',
  PUT: 'update',
  DELETE: 'delete',
  PATCH: 'patch',
};

const MERGE_PATCH = 'application/merge-patch+json';

/** The client's token: `X-Vault-Token`, else `Authorization: Bearer`. */
export function tokenFrom(req: FastifyRequest): string | undefined {
  const header = req.headers['x-vault-token'];
  if (typeof header === 'string' && header !== '') return header;
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && auth.startsWith('Bearer ')) {
    const token = auth.slice(7).trim();
    return token === '' ? undefined : token;
  }
  return undefined;
}

/** Vault decodes every write body as JSON, whatever the content type says. */
export function decodeBody(req: FastifyRequest): Record<string, unknown> {
  const raw = req.body;
  if (raw === undefined || raw === null) return {};
  const buf = raw as Buffer;
  if (buf.length === 0) return {};
  const text = buf.toString('utf8');
  if (text.length > MAX_JSON_DEPTH && jsonDepthExceeds(text, MAX_JSON_DEPTH)) {
    throw new BadRequestError(`failed to parse JSON input: nested deeper than ${MAX_JSON_DEPTH}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new BadRequestError(`failed to parse JSON input: ${jsonErrorWithoutInput(err)}`);
  }
  if (parsed === null) return {};
  if (!isPlainObject(parsed)) {
    throw new BadRequestError('failed to parse JSON input: body must be a JSON object');
  }
  return parsed;
}

/**
 * Deepest nesting of objects and arrays accepted in a body (Vault's own
 * default). Deeper documents would overflow the stack of every recursive
 * walk after parsing (storage encoding, audit hashing) and answer 500.
 */
export const MAX_JSON_DEPTH = 300;

/** Whether `text` nests objects or arrays deeper than `max`, ignoring brackets in strings. */
export function jsonDepthExceeds(text: string, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) return true;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return false;
}

/**
 * V8's JSON errors quote the input around the fault (`Unexpected token 'h',
 * ..."password": hunter2}" is not valid JSON`), which would echo a secret
 * into the response and the log. Only the position is kept.
 */
export function jsonErrorWithoutInput(err: unknown): string {
  const message = err instanceof Error ? err.message : '';
  const position = /at position (\d+)/.exec(message);
  if (position) return `invalid JSON at position ${position[1]}`;
  if (/end of JSON input/.test(message)) return 'unexpected end of JSON input';
  return 'invalid JSON';
}

/** `X-Vault-Wrap-TTL`: a duration ("5m") or seconds. */
function wrapTtl(header: string): number {
  try {
    return parseDuration(header);
  } catch {
    throw new BadRequestError(`invalid X-Vault-Wrap-TTL "${header.slice(0, 40)}"`);
  }
}

function queryOf(req: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  const query = req.query as Record<string, string | string[]>;
  for (const [k, v] of Object.entries(query)) out[k] = Array.isArray(v) ? v[v.length - 1] : v;
  return out;
}

export function buildLogicalRequest(
  req: FastifyRequest,
  rawPath: string,
  clientAddress: ClientAddressOf = (r) => r.ip,
): LogicalRequest {
  let operation = METHOD_OPERATIONS[req.method];
  if (!operation) throw new UnsupportedOperationError();
  let path = canonicalPath(rawPath);
  const query = queryOf(req);

  if (query.list !== undefined) {
    const list = parseBool(query.list);
    if (list === undefined) throw new BadRequestError(`invalid value for "list": "${query.list}"`);
    if (list && operation === 'read') operation = 'list';
    delete query.list;
  }
  if (operation === 'list' && !path.endsWith('/')) path += '/';
  if (operation === 'patch' && !String(req.headers['content-type'] ?? '').startsWith(MERGE_PATCH)) {
    throw new KeepError(`PATCH requires Content-Type of ${MERGE_PATCH}`, {
      status: 415,
      code: 'unsupported_media_type',
    });
  }

  const data = operation === 'read' || operation === 'list' ? {} : decodeBody(req);
  const wrapHeader = req.headers['x-vault-wrap-ttl'];
  return {
    id: randomUUID(),
    operation,
    path,
    relPath: '',
    mountPoint: '',
    data,
    query,
    clientToken: tokenFrom(req),
    remoteAddr: clientAddress(req),
    headers: req.headers,
    wrapTtlSeconds: typeof wrapHeader === 'string' ? wrapTtl(wrapHeader) : undefined,
  };
}

export async function handleLogical(
  core: Core,
  req: FastifyRequest,
  reply: FastifyReply,
  rawPath: string,
  clientAddress?: ClientAddressOf,
): Promise<FastifyReply> {
  const logical = buildLogicalRequest(req, rawPath, clientAddress);
  const started = performance.now();
  const resp = await core.handleRequest(logical);
  // Method, path and outcome only: never a body, a header or a token.
  core.logger.debug(
    {
      reqId: logical.id,
      op: logical.operation,
      path: logical.path,
      status: resp?.status ?? (resp ? 200 : 204),
      ms: Math.round((performance.now() - started) * 100) / 100,
    },
    'request',
  );
  if (!resp) return reply.code(204).header('cache-control', 'no-store').send();
  if (resp.raw) {
    return reply
      .code(resp.raw.status ?? 200)
      .header('content-type', resp.raw.contentType)
      .send(resp.raw.body);
  }
  const mountType = core.mountFor(logical.path)?.entry.type ?? '';
  return sendJson(reply, resp.status ?? 200, envelope(logical.id, resp, mountType));
}
