/**
 * Routes beside Consul's KV API on the same listener:
 *
 *   GET /v1/status/leader, /v1/status/peers   Consul's, for clients that probe them
 *   GET /v1/keep/history/<key>?limit=N        one key's changes, newest first
 *   GET /v1/keep/history?prefix=&author=&since=&until=&limit=
 *                                             search across keys (entries the caller may read)
 *   PUT /v1/keep/rollback/<key>?to=<time>[&recurse]
 *                                             put a key, or a prefix, back as it was at a time
 *
 * Times are RFC 3339 or Unix seconds. History needs `read` on each key;
 * a rollback needs the write or delete it makes on every key it changes.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConsulError } from '../errors.ts';
import { keyProblem } from '../keys.ts';
import { authenticate } from './access.ts';
import { ensureUnsealed, type FaceContext } from './context.ts';
import { keyFromUrl as kvKeyFromUrl } from './kv-routes.ts';
import { checkDatacenter, methodNotAllowed, Query, sendJson } from './wire.ts';

const HISTORY = '/v1/keep/history';
const ROLLBACK = '/v1/keep/rollback/';
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 10_000;

export function registerStatusRoutes(app: FastifyInstance, ctx: FaceContext): void {
  // Answered while sealed too: a sealed node has no leader to name.
  app.get('/v1/status/leader', async (req, reply) => {
    const q = new Query(req.raw.url ?? '');
    return sendJson(reply, q, JSON.stringify(ctx.core.sealed ? '' : ctx.leaderAddress()));
  });
  app.get('/v1/status/peers', async (req, reply) => {
    const q = new Query(req.raw.url ?? '');
    return sendJson(reply, q, JSON.stringify(ctx.core.sealed ? [] : [ctx.leaderAddress()]));
  });
}

export function registerHistoryRoutes(app: FastifyInstance, ctx: FaceContext): void {
  const history = async (req: FastifyRequest, reply: FastifyReply, key: string) => {
    const q = new Query(req.raw.url ?? '');
    checkDatacenter(q);
    const limit = parseLimit(q.get('limit'));
    await ensureUnsealed(ctx.core);
    const access = await authenticate(ctx.core, req, q, ctx.clientAddress(req), {
      permission: 'key:read',
      resource: key,
      audit: { path: `config/${key}`, operation: 'read', data: q.withoutToken() },
    });
    if (key !== '') {
      if (!access.canRead(key)) throw access.denied('key:read', key);
      return sendJson(reply, q, JSON.stringify(await ctx.store.history(key, limit)));
    }
    const entries = await ctx.store.searchHistory({
      prefix: q.has('prefix') ? q.get('prefix') : undefined,
      author: q.has('author') ? q.get('author') : undefined,
      sinceMs: q.has('since') ? parseTime('since', q.get('since')) : undefined,
      untilMs: q.has('until') ? parseTime('until', q.get('until')) : undefined,
      limit,
      visible: (k) => access.canRead(k),
    });
    return sendJson(reply, q, JSON.stringify(entries));
  };

  app.get(HISTORY, (req, reply) => history(req, reply, ''));
  app.get(`${HISTORY}/*`, (req, reply) => {
    const key = keyFrom(req.raw.url ?? '', `${HISTORY}/`);
    return history(req, reply, key);
  });

  app.route({
    method: ['GET', 'PUT', 'POST', 'DELETE'],
    url: `${ROLLBACK}*`,
    handler: async (req, reply) => {
      if (req.method !== 'PUT') return methodNotAllowed(reply, req.method, ['PUT']);
      const q = new Query(req.raw.url ?? '');
      checkDatacenter(q);
      const key = keyFrom(req.raw.url ?? '', ROLLBACK);
      const recurse = q.has('recurse');
      if (key === '' && !recurse) throw new ConsulError(400, 'Missing key name');
      if (!q.has('to')) throw new ConsulError(400, 'Missing "to": the time to roll back to');
      const toMs = parseTime('to', q.get('to'));
      await ensureUnsealed(ctx.core);
      const access = await authenticate(ctx.core, req, q, ctx.clientAddress(req), {
        permission: 'key:write',
        resource: key,
        audit: { path: `config/${key}`, operation: 'update', data: q.withoutToken() },
      });
      const result = await ctx.store.rollback(key, {
        recurse,
        toMs,
        author: access.author,
        check: (k, change, exists) => {
          const allowed = change === 'delete' ? access.canDelete(k) : access.canWrite(k, exists);
          if (!allowed) throw access.denied('key:write', k);
        },
      });
      return sendJson(reply, q, JSON.stringify({ Index: result.index, Changed: result.changed }));
    },
  });
}

function keyFrom(url: string, prefix: string): string {
  const key = kvKeyFromUrl(`/v1/kv/${url.slice(prefix.length)}`);
  if (key !== '') {
    const problem = keyProblem(key);
    if (problem) throw new ConsulError(400, problem);
  }
  return key;
}

function parseLimit(text: string): number {
  if (text === '') return DEFAULT_LIMIT;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) {
    throw new ConsulError(
      400,
      `Invalid limit ${JSON.stringify(text)}: a whole number 1-${MAX_LIMIT}`,
    );
  }
  return n;
}

/** RFC 3339 or Unix seconds. */
export function parseTime(name: string, text: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const ms = /^\d{4}-\d{2}-\d{2}T/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(ms)) {
    throw new ConsulError(
      400,
      `Invalid ${name} ${JSON.stringify(text)}: use RFC 3339 (2026-01-02T15:04:05Z) or Unix seconds`,
    );
  }
  return ms;
}
