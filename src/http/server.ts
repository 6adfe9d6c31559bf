/**
 * The Vault API listener: fastify behind the LIST-verb shim, one catch-all
 * logical route, the raw `sys/` routes, and one error mapping.
 */
import type { Duplex } from 'node:stream';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { Core } from '../core/core.ts';
import { renderMetrics } from '../core/sys/metrics.ts';
import { isKeepError, KeepError, PayloadTooLargeError } from '../lib/errors.ts';
import { clientAddressResolver } from './client-address.ts';
import { answeredLocally, forwardToActive } from './forward.ts';
import { listShimServerFactory } from './list-shim.ts';
import { handleLogical } from './logical.ts';
import { sendError, sendJson } from './render.ts';
import { registerSysRaw } from './sys-raw.ts';

/** `type/subtype` and any parameters: what fastify takes as a Content-Type (lib/content-type.js). */
const MEDIA_TYPE = /^\s*[\w!#$%&'*+.^`|~-]+\/[\w!#$%&'*+.^`|~-]+\s*(?:;.*)?$/s;

/** Vault's default per-listener request size limit. */
export const DEFAULT_MAX_REQUEST_BYTES = 32 * 1024 * 1024;

export interface ApiServerOptions {
  maxRequestBytes?: number;
  tls?: { cert: Buffer; key: Buffer };
  /** The listener's `telemetry { unauthenticated_metrics_access }`. */
  unauthenticatedMetricsAccess?: boolean;
  /** The listener's `x_forwarded_for_authorized_addrs`: proxies whose X-Forwarded-For counts. */
  trustedProxies?: string[];
  /** HA standbys answer 307 to the active node instead of forwarding (`disable_clustering`). */
  haRedirect?: boolean;
}

/**
 * The path after `/v1/` exactly as the client sent it, still percent-encoded:
 * the router's decoded parameter would turn `%2F` into a `/` before
 * canonicalPath could refuse it.
 */
export function rawApiPath(url: string): string {
  const query = url.indexOf('?');
  return url.slice('/v1/'.length, query === -1 ? undefined : query);
}

/**
 * Requests Node's HTTP parser cannot read (an unknown method, a control
 * character in a header, headers over the limit) are answered here, before
 * any route, in Vault's `{"errors": [...]}` shape; the connection is closed.
 */
function answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
  const reason = tooLarge
    ? 'Request Header Fields Too Large'
    : status === 408
      ? 'Request Timeout'
      : 'Bad Request';
  const body = JSON.stringify({
    errors: [tooLarge ? 'request headers are too large' : 'malformed HTTP request'],
  });
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export function buildApiServer(core: Core, opts: ApiServerOptions = {}): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: opts.maxRequestBytes ?? DEFAULT_MAX_REQUEST_BYTES,
    serverFactory: listShimServerFactory({ tls: opts.tls }),
    // Vault paths carry their own meaning in every byte; keep them as sent.
    routerOptions: {
      ignoreTrailingSlash: false,
      ignoreDuplicateSlashes: false,
      maxParamLength: 8192,
    },
    return503OnClosing: true,
    // Requests fastify refuses before routing (a bad percent-encoding) still
    // get Vault's error shape.
    frameworkErrors: (err, _req, reply) => {
      sendJson(reply, 400, { errors: [`invalid request: ${err.message}`] });
    },
    clientErrorHandler: answerClientError,
  });

  // Vault reads every body as JSON whatever the content type; decode it ourselves.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  // fastify answers 415 to a Content-Type that is not a media type (an empty
  // value, `;`) before any route runs, where Vault ignores the header. Such a
  // header is dropped, so the body is read like any other.
  app.addHook('onRequest', (req, _reply, done) => {
    const type = req.headers['content-type'];
    if (type !== undefined && !MEDIA_TYPE.test(type)) delete req.headers['content-type'];
    done();
  });

  registerSysRaw(app, core);
  if (core.ha) {
    // A standby answers health, seal and leader questions itself; the rest goes to the active.
    const localMetrics = opts.unauthenticatedMetricsAccess ?? false;
    const redirect = opts.haRedirect ?? false;
    app.addHook('preHandler', async (req, reply) => {
      if (!core.standby || answeredLocally(req.url, localMetrics)) return;
      return forwardToActive(core, req, reply, { redirect });
    });
  }
  if (opts.unauthenticatedMetricsAccess) {
    // Vault serves this listener's sys/metrics outside the logical router:
    // no token, no audit entry, and an answer while sealed.
    app.get('/v1/sys/metrics', async (req, reply) => {
      const query = req.query as Record<string, string | undefined>;
      const answer = await renderMetrics(core.metrics, {
        format: query.format,
        accept: req.headers.accept,
      });
      return reply
        .code(answer.status ?? 200)
        .header('content-type', answer.contentType)
        .send(answer.body);
    });
  }
  // Every answer, raw sys/ routes and errors included, by status code.
  app.addHook('onResponse', (_req, reply, done) => {
    const code = reply.statusCode;
    core.metrics.incr('keep.core.response_status_code', 1, {
      code: String(code),
      type: `${Math.floor(code / 100)}xx`,
    });
    done();
  });
  const clientAddress = clientAddressResolver(opts.trustedProxies ?? []);
  app.route({
    method: ['GET', 'PUT', 'POST', 'DELETE', 'PATCH'],
    url: '/v1/*',
    handler: (req, reply) =>
      handleLogical(core, req, reply, rawApiPath(req.raw.url ?? ''), clientAddress),
  });

  app.setNotFoundHandler((_req, reply) => sendJson(reply, 404, { errors: [] }));
  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (isKeepError(err)) {
      // Error messages are written never to carry a secret; the no-leak test holds them to it.
      core.logger.debug(
        { reqId: req.id, status: err.status, error: err.message },
        'request refused',
      );
      return sendError(reply, err);
    }
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return sendError(reply, new PayloadTooLargeError());
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      return sendError(
        reply,
        new KeepError(err.message, { status: err.statusCode, code: 'client' }),
      );
    }
    core.logger.error({ err, reqId: req.id, path: req.routeOptions.url }, 'request failed');
    return sendJson(reply, 500, { errors: [`internal error; request id ${req.id}`] });
  });
  return app;
}
