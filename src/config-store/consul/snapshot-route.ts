/**
 * `/v1/snapshot`: GET saves a snapshot of all of Keep's storage (values
 * still barrier ciphertext; see snapshot/snapshot.ts), PUT restores one.
 * Both need `sudo` on Vault's snapshot path, `sys/storage/raft/snapshot`
 * (read to save, update to restore): a snapshot holds every secret.
 *
 * A restore replaces the keyring and seal configuration too, so the node
 * seals itself afterwards and opens again with the unseal keys of the
 * server the snapshot came from.
 */
import type { FastifyInstance } from 'fastify';
import {
  restoreSnapshot,
  SnapshotBusyError,
  SnapshotError,
  takeSnapshot,
} from '../../snapshot/snapshot.ts';
import { ConsulError } from '../errors.ts';
import { authenticate } from './access.ts';
import { ensureUnsealed, type FaceContext } from './context.ts';
import { checkDatacenter, methodNotAllowed, Query, sendJson } from './wire.ts';

export const SNAPSHOT_POLICY_PATH = 'sys/storage/raft/snapshot';
/** The largest snapshot a restore accepts. */
const MAX_SNAPSHOT_BYTES = 1024 * 1024 * 1024;

export function registerSnapshotRoute(app: FastifyInstance, ctx: FaceContext): void {
  // Keep's own: one scheduled backup now (`keep operator backup`).
  app.route({
    method: ['GET', 'PUT', 'POST', 'DELETE'],
    url: '/v1/keep/backup',
    handler: async (req, reply) => {
      if (req.method !== 'PUT') return methodNotAllowed(reply, req.method, ['PUT']);
      const q = new Query(req.raw.url ?? '');
      await ensureUnsealed(ctx.core);
      const access = await authenticate(ctx.core, req, q, ctx.clientAddress(req), {
        permission: 'operator:read',
        resource: SNAPSHOT_POLICY_PATH,
        audit: { path: SNAPSHOT_POLICY_PATH, operation: 'read', data: { backup: 'now' } },
      });
      if (!access.canSudo(SNAPSHOT_POLICY_PATH, 'read')) {
        throw access.denied('operator:read', SNAPSHOT_POLICY_PATH);
      }
      if (!ctx.backups) {
        throw new ConsulError(400, 'no backup stanza in the server configuration');
      }
      const done = await ctx.backups.runOnce();
      return sendJson(
        reply,
        q,
        JSON.stringify({ File: done.file, Entries: done.entries, Removed: done.removed }),
      );
    },
  });

  app.route({
    method: ['GET', 'PUT', 'POST', 'DELETE'],
    url: '/v1/snapshot',
    bodyLimit: MAX_SNAPSHOT_BYTES,
    handler: async (req, reply) => {
      if (req.method !== 'GET' && req.method !== 'PUT') {
        return methodNotAllowed(reply, req.method, ['GET', 'PUT']);
      }
      const q = new Query(req.raw.url ?? '');
      checkDatacenter(q);
      await ensureUnsealed(ctx.core);
      const op = req.method === 'GET' ? 'read' : 'update';
      const access = await authenticate(ctx.core, req, q, ctx.clientAddress(req), {
        permission: 'operator:write',
        resource: SNAPSHOT_POLICY_PATH,
        audit: { path: SNAPSHOT_POLICY_PATH, operation: op },
      });
      if (!access.canSudo(SNAPSHOT_POLICY_PATH, op)) {
        throw access.denied(
          req.method === 'GET' ? 'operator:read' : 'operator:write',
          SNAPSHOT_POLICY_PATH,
        );
      }

      if (req.method === 'GET') {
        let snapshot: Awaited<ReturnType<typeof takeSnapshot>>;
        try {
          snapshot = await ctx.store.exclusive(() => takeSnapshot(ctx.core.storage));
        } catch (err) {
          if (err instanceof SnapshotBusyError) throw new ConsulError(503, err.message);
          throw err;
        }
        ctx.logger.info(
          {
            entries: snapshot.header.entries,
            bytes: snapshot.data.length,
            accessor: access.accessor,
          },
          'snapshot saved',
        );
        return reply
          .code(200)
          .header('Content-Type', 'application/x-gzip')
          .header('X-Consul-Index', String(snapshot.header.revision))
          .send(snapshot.data);
      }

      const body = (req.body as Buffer | undefined) ?? Buffer.alloc(0);
      let restored: Awaited<ReturnType<typeof restoreSnapshot>>;
      try {
        restored = await ctx.store.exclusive(() => restoreSnapshot(ctx.core.storage, body));
      } catch (err) {
        if (err instanceof SnapshotError) throw new ConsulError(400, err.message);
        throw err;
      }
      ctx.store.restored();
      ctx.logger.warn(
        { entries: restored.entries, created: restored.created, accessor: access.accessor },
        'snapshot restored; sealing: unseal with the keys of the server the snapshot came from',
      );
      await ctx.core.sealNow();
      return reply.code(200).send();
    },
  });
}
