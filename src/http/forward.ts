/**
 * What an HA standby does with a request it does not answer itself: pass it
 * to the active node over the active's `api_addr` and relay the answer
 * (request forwarding), or, with `disable_clustering = true`, answer 307 to
 * the same URL on the active node, as Vault's standbys do without forwarding.
 *
 * The client's own token travels with the request and the active node checks
 * it like any other; the standby adds the client's address to
 * `X-Forwarded-For`, which the active honours when the standbys' addresses are
 * in its listener's `x_forwarded_for_authorized_addrs`.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Core } from '../core/core.ts';
import { sendJson } from './render.ts';

/** Paths a standby answers itself (everything else goes to the active node). */
const LOCAL_PATHS = new Set([
  '/v1/sys/health',
  '/v1/sys/seal-status',
  '/v1/sys/init',
  '/v1/sys/unseal',
  '/v1/sys/leader',
  '/v1/sys/ha/echo',
]);

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
  'host',
  'content-length',
]);

const FORWARD_TIMEOUT_MS = 60_000;
/** Marks a request one standby forwarded: the next node answers it or refuses it. */
const FORWARDED_HEADER = 'x-keep-forwarded-by';

/** `localMetrics`: the listener serves `sys/metrics` without a token, so each node answers its own. */
export function answeredLocally(url: string, localMetrics = false): boolean {
  const query = url.indexOf('?');
  const path = query === -1 ? url : url.slice(0, query);
  return LOCAL_PATHS.has(path) || (localMetrics && path === '/v1/sys/metrics');
}

/** Forwards (or redirects) a standby's request; resolves with the reply sent. */
export async function forwardToActive(
  core: Core,
  req: FastifyRequest,
  reply: FastifyReply,
  opts: { redirect: boolean },
): Promise<FastifyReply> {
  const leader = core.ha?.leader;
  if (!leader?.api_addr || leader.id === core.ha?.nodeId) {
    return sendJson(reply, 503, {
      errors: ['this node is a standby and no active node is known yet; retry shortly'],
    });
  }
  // A standby with a stale view must not pass a request on to another standby forever.
  if (req.headers[FORWARDED_HEADER] !== undefined) {
    return sendJson(reply, 503, {
      errors: ['this node is a standby too; the active node changed, retry shortly'],
    });
  }
  const target = new URL(req.raw.url ?? '/', leader.api_addr);
  if (opts.redirect) {
    return reply.code(307).header('location', target.toString()).send();
  }

  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || HOP_BY_HOP.has(name)) continue;
    headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  headers.set(FORWARDED_HEADER, core.ha?.nodeId ?? '1');
  const prior = req.headers['x-forwarded-for'];
  headers.set('x-forwarded-for', prior ? `${prior}, ${req.socket.remoteAddress}` : req.ip);
  const body = req.body as Buffer | undefined;
  const hasBody = body !== undefined && body.length > 0 && !['GET', 'HEAD'].includes(req.method);

  let res: Response;
  try {
    res = await fetch(target, {
      method: req.method,
      headers,
      body: hasBody ? new Uint8Array(body) : undefined,
      redirect: 'manual',
      signal: AbortSignal.timeout(FORWARD_TIMEOUT_MS),
    });
  } catch {
    core.metrics.incr('keep.ha.forward_failed');
    return sendJson(reply, 503, {
      errors: ['this node is a standby and the active node could not be reached; retry shortly'],
    });
  }
  core.metrics.incr('keep.ha.forwarded');
  const payload = Buffer.from(await res.arrayBuffer());
  reply.code(res.status);
  res.headers.forEach((value, name) => {
    if (!HOP_BY_HOP.has(name) && name !== 'content-encoding') reply.header(name, value);
  });
  return reply.send(payload);
}
