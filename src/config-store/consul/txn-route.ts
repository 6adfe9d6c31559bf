/**
 * `PUT /v1/txn`: up to 128 KV operations applied atomically. 200 with
 * `{"Results": [...], "Errors": null}` when all apply; 409 with
 * `{"Results": null, "Errors": [{"OpIndex", "What"}]}` when any fails, and
 * then nothing is written. A transaction of reads only takes `?stale` and
 * `?consistent` and answers the leader headers, as Consul's fast path does.
 */
import type { FastifyInstance } from 'fastify';
import { TxnAborted } from '../errors.ts';
import { accessFor, isWrite, parseTxn, runTxn } from '../txn.ts';
import { type Access, authenticate } from './access.ts';
import { ensureUnsealed, type FaceContext } from './context.ts';
import {
  checkDatacenter,
  methodNotAllowed,
  parseQueryOptions,
  Query,
  sendJson,
  setLeaderMeta,
} from './wire.ts';

export function registerTxnRoute(app: FastifyInstance, ctx: FaceContext): void {
  app.route({
    method: ['GET', 'PUT', 'POST', 'DELETE', 'PATCH'],
    url: '/v1/txn',
    bodyLimit: ctx.limits.txnMaxRequestBytes,
    handler: async (req, reply) => {
      if (req.method !== 'PUT') return methodNotAllowed(reply, req.method, ['PUT']);
      const q = new Query(req.raw.url ?? '');
      const body = (req.body as Buffer | undefined) ?? Buffer.alloc(0);
      const ops = parseTxn(body, ctx.limits.kvMaxValueBytes);
      const readOnly = !ops.some(isWrite);
      if (readOnly) parseQueryOptions(q, ctx.random);
      else checkDatacenter(q);

      await ensureUnsealed(ctx.core);
      const access = await authenticate(ctx.core, req, q, ctx.clientAddress(req), {
        permission: readOnly ? 'key:read' : 'key:write',
        resource: '',
        audit: {
          path: 'config/',
          operation: readOnly ? 'read' : 'update',
          data: { ...q.withoutToken(), txn: body.toString('utf8') },
        },
      });
      try {
        const results = await ctx.store.write(access.author, (batch) =>
          runTxn(batch, ops, {
            visible: (key) => access.canRead(key),
            precheck: async (op) => {
              switch (accessFor(op.verb)) {
                case 'read':
                  return access.canRead(op.key) ? undefined : denied(access, 'key:read', op.key);
                case 'delete': {
                  const keys =
                    op.verb === 'delete-tree' ? await batch.keysWithPrefix(op.key) : [op.key];
                  const refused = (keys.length > 0 ? keys : [op.key]).find(
                    (k) => !access.canDelete(k),
                  );
                  return refused === undefined ? undefined : denied(access, 'key:write', refused);
                }
                case 'write': {
                  const exists = (await batch.entry(op.key)) !== undefined;
                  if (!access.canWrite(op.key, exists)) return denied(access, 'key:write', op.key);
                  if (op.verb === 'lock' && ctx.store.lockDelayed(op.key)) {
                    return `failed to lock key ${JSON.stringify(op.key)} due to lock delay`;
                  }
                  return undefined;
                }
              }
            },
          }),
        );
        if (readOnly) setLeaderMeta(reply);
        return sendJson(reply, q, `{"Results":[${results.join(',')}],"Errors":null}`);
      } catch (err) {
        if (!(err instanceof TxnAborted)) throw err;
        if (readOnly) setLeaderMeta(reply);
        return sendJson(reply, q, JSON.stringify({ Results: null, Errors: err.errors }), 409);
      }
    },
  });
}

function denied(access: Access, permission: string, key: string): string {
  return access.denied(permission, key).message;
}
