/**
 * `/v1/session/*`: create (PUT, optional JSON body), destroy and renew
 * (PUT), info, list and node (GET, blocking). Any valid token may create a
 * session (a session alone can do nothing: taking a lock needs write on the
 * key); only the token that created it, or a root token, may renew or
 * destroy it.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConsulError } from '../errors.ts';
import { decodeGoJson, GoError, type GoValue } from '../go-compat.ts';
import { parseSessionRequest, type SessionRecord, sessionJson } from '../sessions.ts';
import { ConfigStore } from '../store.ts';
import { type Access, authenticate } from './access.ts';
import { ensureUnsealed, type FaceContext } from './context.ts';
import { blockingOptions } from './kv-routes.ts';
import {
  checkDatacenter,
  methodNotAllowed,
  parseQueryOptions,
  Query,
  sendJson,
  sendText,
  setQueryMeta,
} from './wire.ts';

const ALL_METHODS: ('GET' | 'PUT' | 'POST' | 'DELETE' | 'PATCH')[] = [
  'GET',
  'PUT',
  'POST',
  'DELETE',
  'PATCH',
];

export function registerSessionRoutes(app: FastifyInstance, ctx: FaceContext): void {
  const route = (
    url: string,
    method: 'GET' | 'PUT',
    handler: (req: FastifyRequest, reply: FastifyReply, q: Query, arg: string) => Promise<unknown>,
  ) => {
    const fixed = url.endsWith('*') ? url.slice(0, -1) : url;
    app.route({
      method: ALL_METHODS,
      url,
      bodyLimit: 64 * 1024,
      handler: async (req, reply) => {
        if (req.method !== method) return methodNotAllowed(reply, req.method, [method]);
        const raw = req.raw.url ?? '';
        const q = new Query(raw);
        const end = raw.indexOf('?');
        // Consul's TrimPrefix: everything after the route's fixed part names the session or node.
        const arg = decodeURIComponentSafe(raw.slice(fixed.length, end === -1 ? undefined : end));
        return handler(req, reply, q, arg);
      },
    });
  };

  const caller = async (req: FastifyRequest, q: Query, permission: string, resource: string) => {
    await ensureUnsealed(ctx.core);
    const path = `consul/${(req.raw.url ?? '').split('?')[0]!.slice('/v1/'.length)}`;
    return authenticate(ctx.core, req, q, ctx.clientAddress(req), {
      permission,
      resource,
      audit: {
        path,
        operation: req.method === 'GET' ? 'read' : 'update',
        data: q.withoutToken(),
      },
    });
  };

  route('/v1/session/create', 'PUT', async (req, reply, q) => {
    checkDatacenter(q);
    const body = (req.body as Buffer | undefined) ?? Buffer.alloc(0);
    let decoded: GoValue | undefined;
    if (body.length > 0) {
      try {
        decoded = decodeGoJson(body);
      } catch (err) {
        if (err instanceof GoError) {
          throw new ConsulError(400, `Request decode failed: ${err.message}`);
        }
        throw err;
      }
    }
    const request = parseSessionRequest(decoded, ctx.store.nodeName);
    const access = await caller(req, q, 'session:write', request.node);
    const id = await ctx.store.createSession(request, access.author);
    return sendJson(reply, q, JSON.stringify({ ID: id }));
  });

  route('/v1/session/destroy/*', 'PUT', async (req, reply, q, id) => {
    checkDatacenter(q);
    if (id === '') throw new ConsulError(400, 'Missing session');
    const access = await caller(req, q, 'session:write', ctx.store.nodeName);
    const { value } = await ctx.store.getSession(id);
    if (!value) throw new ConsulError(500, `Unknown session ${JSON.stringify(id)}`);
    requireOwner(access, value);
    await ctx.store.destroySession(id, access.author);
    return sendJson(reply, q, 'true');
  });

  route('/v1/session/renew/*', 'PUT', async (req, reply, q, id) => {
    const opts = parseQueryOptions(q, ctx.random);
    if (id === '') throw new ConsulError(400, 'Missing session');
    const access = await caller(req, q, 'session:write', ctx.store.nodeName);
    const { index, value } = await ctx.store.getSession(id);
    if (!value) return sendText(reply, 404, `Session id '${id}' not found`);
    requireOwner(access, value);
    const renewed = await ctx.store.renewSession(id);
    if (!renewed) return sendText(reply, 404, `Session id '${id}' not found`);
    setQueryMeta(reply, index, opts.consistency);
    return sendJson(reply, q, JSON.stringify([sessionJson(renewed)]));
  });

  const listing = (select: (sessions: SessionRecord[], arg: string) => SessionRecord[]) => {
    return async (req: FastifyRequest, reply: FastifyReply, q: Query, arg: string) => {
      const opts = parseQueryOptions(q, ctx.random);
      await caller(req, q, 'session:read', arg);
      const { index, value } = await ctx.store.blocking(
        async () => {
          const all = await ctx.store.listSessions();
          return { index: all.index, value: select(all.value, arg) };
        },
        ConfigStore.sessionWatch(),
        blockingOptions(ctx, reply, opts),
      );
      setQueryMeta(reply, index, opts.consistency);
      return sendJson(reply, q, JSON.stringify(value.map(sessionJson)));
    };
  };

  const info = listing((sessions, id) => sessions.filter((s) => s.id === id));
  route('/v1/session/info/*', 'GET', async (req, reply, q, id) => {
    if (id === '') throw new ConsulError(400, 'Missing session');
    return info(req, reply, q, id);
  });
  const byNode = listing((sessions, node) => sessions.filter((s) => s.node === node));
  route('/v1/session/node/*', 'GET', async (req, reply, q, node) => {
    if (node === '') throw new ConsulError(400, 'Missing node name');
    return byNode(req, reply, q, node);
  });
  route(
    '/v1/session/list',
    'GET',
    listing((sessions) => sessions),
  );
}

function requireOwner(access: Access, session: SessionRecord): void {
  if (access.root || access.accessor === session.owner) return;
  throw access.denied('session:write', session.node);
}

function decodeURIComponentSafe(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new ConsulError(400, '400 Bad Request');
  }
}
