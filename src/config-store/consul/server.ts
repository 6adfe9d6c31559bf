/**
 * The Consul face: a second listener (`config_listener "tcp"`, by default
 * 127.0.0.1:8500) speaking Consul's KV, transaction, session and status
 * APIs over the config store. Plain fastify: Consul clients never send
 * the LIST verb, so the Vault listener's shim is not needed here.
 */
import Fastify, { type FastifyError, type FastifyInstance, type FastifyRequest } from 'fastify';
import { isKeepError } from '../../lib/errors.ts';
import { ConsulError } from '../errors.ts';
import { TXN_LIMIT_DOC } from '../txn.ts';
import { auditEvent, audited } from './access.ts';
import type { FaceContext } from './context.ts';
import { registerHistoryRoutes, registerStatusRoutes } from './keep-routes.ts';
import { KV_LIMIT_DOC, keyFromUrl, registerKvRoutes } from './kv-routes.ts';
import { registerSessionRoutes } from './session-routes.ts';
import { registerSnapshotRoute } from './snapshot-route.ts';
import { registerTxnRoute } from './txn-route.ts';
import { loggableUrl, sendText } from './wire.ts';

export function buildConsulServer(ctx: FaceContext): FastifyInstance {
  const app = Fastify({
    logger: false,
    // Consul keys carry their meaning in every byte; keep the path as sent.
    routerOptions: {
      ignoreTrailingSlash: false,
      ignoreDuplicateSlashes: false,
      maxParamLength: 64 * 1024,
    },
    return503OnClosing: true,
    forceCloseConnections: true,
    // A URL fastify cannot decode never reaches a route; answer it in Consul's plain text.
    frameworkErrors: (err, req, reply) => {
      if (err.code !== 'FST_ERR_BAD_URL') return sendText(reply, 400, err.message);
      try {
        keyFromUrl(`/v1/kv/${(req.raw.url ?? '').replace(/^\/v1\/[^/?]*\/?/, '')}`);
      } catch (refused) {
        if (refused instanceof ConsulError) return sendText(reply, 400, refused.message);
      }
      return sendText(reply, 400, '400 Bad Request');
    },
  });

  // A KV body is the raw value, whatever its content type.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('X-Consul-Default-Acl-Policy', 'deny');
    const logical = audited.get(req);
    if (!logical) return payload;
    audited.delete(req);
    const status = reply.statusCode;
    const error = status >= 400 && Buffer.isBuffer(payload) ? payload.toString() : undefined;
    try {
      await auditEvent(ctx.core, { type: 'response', req: logical, status, error });
      return payload;
    } catch {
      // Fail closed: an answer no audit device could record is not sent.
      reply.code(500).header('Content-Type', 'text/plain; charset=utf-8');
      return Buffer.from('internal error: the response could not be audited');
    }
  });
  app.addHook('onResponse', async (req, reply) => {
    // Never the token: Consul clients still send it as ?token=.
    ctx.logger.debug(
      {
        reqId: req.id,
        method: req.method,
        url: loggableUrl(req.raw.url ?? ''),
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 100) / 100,
      },
      'consul request',
    );
  });

  registerKvRoutes(app, ctx);
  registerTxnRoute(app, ctx);
  registerSessionRoutes(app, ctx);
  registerStatusRoutes(app, ctx);
  registerHistoryRoutes(app, ctx);
  registerSnapshotRoute(app, ctx);

  // Consul's index handler answers unknown paths with an empty 404.
  app.setNotFoundHandler((_req, reply) => reply.code(404).send());
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof ConsulError) return sendText(reply, err.status, err.message);
    if (isKeepError(err)) {
      if (err.status === 503) return sendText(reply, 503, 'Keep is sealed');
      return sendText(reply, err.status, err.message || 'request refused');
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      return sendText(reply, 413, tooLargeText(req, ctx));
    }
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      return sendText(reply, err.statusCode, err.message);
    }
    ctx.logger.error(
      { err, reqId: req.id, method: req.method, url: loggableUrl(req.raw.url ?? '') },
      'consul request failed',
    );
    return sendText(reply, 500, `internal error; request id ${req.id}`);
  });
  return app;
}

/** Consul's 413 texts, from the announced length when there is one. */
function tooLargeText(req: FastifyRequest, ctx: FaceContext): string {
  const txn = (req.raw.url ?? '').startsWith('/v1/txn');
  const max = txn ? ctx.limits.txnMaxRequestBytes : ctx.limits.kvMaxValueBytes;
  const doc = txn ? TXN_LIMIT_DOC : KV_LIMIT_DOC;
  const length = req.headers['content-length'];
  if (length !== undefined) {
    return `Request body(${length} bytes) too large, max size: ${max} bytes. See ${doc}.`;
  }
  return `Request body too large, max size: ${max} bytes. See ${doc}.`;
}
