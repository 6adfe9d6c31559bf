/**
 * The `sys/` endpoints Vault serves outside its logical router: they answer
 * while sealed and return bare objects rather than the envelope.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Core } from '../core/core.ts';
import { BadRequestError } from '../lib/errors.ts';
import { KEEP_VERSION, VAULT_API_VERSION } from '../lib/version.ts';
import { decodeBody } from './logical.ts';
import { sendJson } from './render.ts';

const BUILD_DATE = '2026-12-03T00:00:00Z';

export function registerSysRaw(app: FastifyInstance, core: Core): void {
  app.route({
    method: ['GET', 'HEAD'],
    url: '/v1/sys/health',
    handler: (req, reply) => health(core, req, reply),
  });
  app.get('/v1/sys/seal-status', async (_req, reply) =>
    sendJson(reply, 200, await sealStatus(core)),
  );
  app.get('/v1/sys/init', async (_req, reply) =>
    sendJson(reply, 200, { initialized: await core.seal.initialized() }),
  );
  app.route({
    method: ['PUT', 'POST'],
    url: '/v1/sys/init',
    handler: (req, reply) => init(core, req, reply),
  });
  app.route({
    method: ['PUT', 'POST'],
    url: '/v1/sys/unseal',
    handler: (req, reply) => unseal(core, req, reply),
  });
  app.get('/v1/sys/leader', async (_req, reply) => sendJson(reply, 200, await leader(core)));
  // A standby's echo to the active node (core/ha.ts): who it is, for sys/ha-status.
  app.put('/v1/sys/ha/echo', async (req, reply) => {
    if (!core.ha || core.sealed) return sendJson(reply, 503, { errors: ['not an HA node'] });
    const active = core.ha.recordEcho(decodeBody(req) as never);
    return sendJson(reply, active ? 200 : 409, { active });
  });
  app.get('/v1/sys/rekey/init', async (_req, reply) =>
    sendJson(reply, 200, await core.seal.rekeyStatus()),
  );
  app.route({
    method: ['PUT', 'POST'],
    url: '/v1/sys/rekey/init',
    handler: async (req, reply) => {
      const body = decodeBody(req);
      const status = await core.seal.rekeyInit({
        secretShares: intField(body, 'secret_shares'),
        secretThreshold: intField(body, 'secret_threshold'),
      });
      return sendJson(reply, 200, status);
    },
  });
  app.delete('/v1/sys/rekey/init', async (_req, reply) => {
    await core.seal.rekeyCancel();
    return reply.code(204).send();
  });
  app.route({
    method: ['PUT', 'POST'],
    url: '/v1/sys/rekey/update',
    handler: async (req, reply) => {
      const body = decodeBody(req);
      const result = await core.seal.rekeyUpdate(shareFrom(body.key), stringField(body, 'nonce'));
      return sendJson(reply, 200, renderRekeyResult(result));
    },
  });
}

async function sealStatus(core: Core) {
  const s = await core.seal.status();
  const cluster = core.sealed ? undefined : core.cluster;
  return {
    type: 'shamir',
    initialized: s.initialized,
    sealed: s.sealed,
    t: s.t,
    n: s.n,
    progress: s.progress,
    nonce: s.nonce,
    version: VAULT_API_VERSION,
    build_date: BUILD_DATE,
    migration: false,
    cluster_name: cluster?.name,
    cluster_id: cluster?.id,
    recovery_seal: false,
    storage_type: core.storage.type,
    keep_version: KEEP_VERSION,
  };
}

/** Codes and override parameters as DESIGN.md's table: first match answers. */
async function health(core: Core, req: FastifyRequest, reply: FastifyReply) {
  const q = req.query as Record<string, string | undefined>;
  const code = (name: string, fallback: number): number => {
    const raw = q[name];
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 100 || n > 999) {
      throw new BadRequestError(`invalid value for "${name}": "${raw}"`);
    }
    return n;
  };
  const initialized = await core.seal.initialized();
  const sealed = core.sealed;
  let status: number;
  // A node that cannot audit fails every request: say so, so a load
  // balancer drains it. The probe lets a node whose disk recovered heal.
  if (!sealed && core.audit.fault) await core.audit.probe();
  const fault = sealed ? undefined : core.audit.fault;
  const standby = !sealed && core.standby;
  const haHealthy = core.ha?.connectionHealthy ?? true;
  if (!initialized) status = code('uninitcode', 501);
  else if (sealed) status = code('sealedcode', 503);
  else if (fault) status = code('degradedcode', 531);
  else if (standby && !haHealthy) status = code('haunhealthycode', 474);
  else if (standby) status = truthy(q.standbyok) ? 200 : code('standbycode', 429);
  else status = code('activecode', 200);
  const cluster = sealed ? undefined : core.cluster;
  const body = {
    initialized,
    sealed,
    standby,
    performance_standby: false,
    replication_performance_mode: 'disabled',
    replication_dr_mode: 'disabled',
    server_time_utc: Math.floor(Date.now() / 1000),
    version: VAULT_API_VERSION,
    enterprise: false,
    cluster_name: cluster?.name,
    cluster_id: cluster?.id,
    echo_duration_ms: 0,
    clock_skew_ms: 0,
    replication_primary_canary_age_ms: 0,
    removed_from_cluster: false,
    ha_connection_healthy: haHealthy,
    degraded: fault !== undefined,
    faults: fault ? [fault] : [],
  };
  if (req.method === 'HEAD') return reply.code(status).header('cache-control', 'no-store').send();
  return sendJson(reply, status, body);
}

async function init(core: Core, req: FastifyRequest, reply: FastifyReply) {
  const body = decodeBody(req);
  for (const unsupported of [
    'pgp_keys',
    'root_token_pgp_key',
    'recovery_shares',
    'recovery_threshold',
  ]) {
    const v = body[unsupported];
    if (
      v !== undefined &&
      v !== null &&
      !(Array.isArray(v) && v.length === 0) &&
      v !== '' &&
      v !== 0
    ) {
      throw new BadRequestError(`"${unsupported}" is not supported by this server`);
    }
  }
  const secretShares = intField(body, 'secret_shares');
  const secretThreshold = intField(body, 'secret_threshold');
  const { keys, rootToken } = await core.initialize({ secretShares, secretThreshold });
  core.logger.info({ secretShares, secretThreshold }, 'initialized');
  return sendJson(reply, 200, {
    keys: keys.map((k) => k.toString('hex')),
    keys_base64: keys.map((k) => k.toString('base64')),
    root_token: rootToken,
  });
}

async function unseal(core: Core, req: FastifyRequest, reply: FastifyReply) {
  const body = decodeBody(req);
  if (body.reset === true || body.reset === 'true') {
    await core.seal.resetUnseal();
    return sendJson(reply, 200, await sealStatus(core));
  }
  if (body.key === undefined)
    throw new BadRequestError(
      "'key' must be specified in request body as JSON, or 'reset' set to true",
    );
  await core.unseal(shareFrom(body.key));
  return sendJson(reply, 200, await sealStatus(core));
}

async function leader(core: Core) {
  if (core.ha) {
    // Vault answers sealed nodes with an empty leader, unsealed ones with the active's addresses.
    const active = core.ha.active;
    const leaderNode = core.sealed ? undefined : core.ha.leader;
    return {
      ha_enabled: true,
      is_self: active,
      active_time: active ? core.activeSince.toISOString() : '0001-01-01T00:00:00Z',
      leader_address: leaderNode?.api_addr ?? '',
      leader_cluster_address: leaderNode?.cluster_addr ?? '',
      performance_standby: false,
      performance_standby_last_remote_wal: 0,
      raft_committed_index: 0,
      raft_applied_index: 0,
    };
  }
  return {
    ha_enabled: false,
    is_self: !core.sealed,
    active_time: core.sealed ? '0001-01-01T00:00:00Z' : core.activeSince.toISOString(),
    leader_address: core.sealed ? '' : core.apiAddr,
    leader_cluster_address: '',
    performance_standby: false,
    performance_standby_last_remote_wal: 0,
    raft_committed_index: 0,
    raft_applied_index: 0,
  };
}

function truthy(value: string | undefined): boolean {
  return value !== undefined && ['', '1', 't', 'true', 'True', 'TRUE'].includes(value);
}

/** A share comes as hex (`keys`) or base64 (`keys_base64`), as Vault accepts both. */
export function shareFrom(value: unknown): Buffer {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new BadRequestError("'key' must be a non-empty string");
  }
  const text = value.trim();
  if (/^[0-9a-fA-F]+$/.test(text) && text.length % 2 === 0) return Buffer.from(text, 'hex');
  if (/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return Buffer.from(text, 'base64');
  throw new BadRequestError("'key' must be a valid hex or base64 string");
}

function intField(body: Record<string, unknown>, name: string): number {
  const v = body[name];
  const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) {
    throw new BadRequestError(`"${name}" must be an integer`);
  }
  return n;
}

function stringField(body: Record<string, unknown>, name: string): string {
  const v = body[name];
  if (typeof v !== 'string' || v === '') throw new BadRequestError(`"${name}" must be specified`);
  return v;
}

function renderRekeyResult(result: Record<string, unknown>): Record<string, unknown> {
  const keys = result.keys as Buffer[] | undefined;
  if (!keys) return result;
  return {
    ...result,
    keys: keys.map((k) => k.toString('hex')),
    keys_base64: keys.map((k) => k.toString('base64')),
  };
}
