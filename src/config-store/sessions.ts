/**
 * Consul sessions: what `PUT /v1/session/create` accepts, how a session is
 * stored, and its wire shape. Checks and nodes do not exist in Keep; the
 * one node is this server and the one check is Consul's implicit
 * `serfHealth`, so a session that names anything else is refused as Consul
 * refuses an unregistered check.
 */
import { ConsulError, stateError } from './errors.ts';
import {
  formatGoDuration,
  GoError,
  GoNumber,
  type GoValue,
  goKind,
  parseGoDuration,
} from './go-compat.ts';

export type SessionBehavior = 'release' | 'delete';

export interface SessionRecord {
  id: string;
  name: string;
  node: string;
  lockDelayNs: number;
  behavior: SessionBehavior;
  /** As the client sent it ("30s"); '' for no TTL. */
  ttl: string;
  nodeChecks: string[];
  createIndex: number;
  modifyIndex: number;
  /** Accessor of the token that created it; only it (or root) may renew or destroy it. */
  owner: string;
}

/** Consul's implicit node health check. */
export const SERF_CHECK = 'serfHealth';

/** Consul's limits on a session TTL (`session_ttl_min` default, `SessionTTLMax`). */
export const DEFAULT_SESSION_TTL_MIN_NS = 10e9;
const SESSION_TTL_MAX_NS = 24 * 3600e9;

/** Consul turns a lock delay below this many nanoseconds into seconds ("15" means 15s). */
const LOCK_DELAY_SECONDS_BELOW = 1000;

export interface SessionRequest {
  name: string;
  node: string;
  lockDelayNs: number;
  behavior: string;
  ttl: string;
  nodeChecks: string[];
  serviceChecks: string[];
}

/**
 * Reads a create body (field names matched case-insensitively, as Go's
 * decoder does). Defaults: this node, the serf check, 15s lock delay,
 * release on invalidation, no TTL. A body Go could not decode is a 400.
 */
export function parseSessionRequest(body: GoValue | undefined, nodeName: string): SessionRequest {
  const request: SessionRequest = {
    name: '',
    node: nodeName,
    lockDelayNs: 15e9,
    behavior: 'release',
    ttl: '',
    nodeChecks: [SERF_CHECK],
    serviceChecks: [],
  };
  if (body === undefined || body === null) return request;
  if (!(body instanceof Map)) {
    throw decodeFailed(
      `json: cannot unmarshal ${goKind(body)} into Go value of type structs.Session`,
    );
  }

  for (const [name, value] of body) {
    switch (name.toLowerCase()) {
      case 'name':
        request.name = stringField('Name', value);
        break;
      case 'node':
        request.node = stringField('Node', value);
        break;
      case 'behavior':
        request.behavior = stringField('Behavior', value);
        break;
      case 'ttl':
        request.ttl = stringField('TTL', value);
        break;
      case 'lockdelay':
        request.lockDelayNs = lockDelay(value);
        break;
      case 'checks':
      case 'nodechecks':
        // Naming checks at all replaces the default serf check; [] means none.
        request.nodeChecks = stringList(name, value);
        break;
      case 'servicechecks':
        request.serviceChecks = serviceChecks(value);
        break;
      default:
        // Unknown fields are ignored, as Consul's decoder ignores them.
        break;
    }
  }
  return request;
}

/**
 * The checks Consul's session endpoint and state store make, with their
 * words and their status (500: Consul answers them as RPC errors).
 */
export function validateSession(
  request: SessionRequest,
  opts: { nodeName: string; ttlMinNs: number },
): { behavior: SessionBehavior; ttlNs: number } {
  if (request.node === '') throw stateError('Must provide Node');
  if (request.behavior !== '' && request.behavior !== 'release' && request.behavior !== 'delete') {
    throw stateError(`Invalid Behavior setting '${request.behavior}'`);
  }
  let ttlNs = 0;
  if (request.ttl !== '') {
    try {
      ttlNs = parseGoDuration(request.ttl);
    } catch (err) {
      throw stateError(`Session TTL '${request.ttl}' invalid: ${(err as Error).message}`);
    }
    if (ttlNs !== 0 && (ttlNs < opts.ttlMinNs || ttlNs > SESSION_TTL_MAX_NS)) {
      throw stateError(
        `Invalid Session TTL '${ttlNs}', must be between ` +
          `[${formatGoDuration(opts.ttlMinNs)}=${formatGoDuration(SESSION_TTL_MAX_NS)}]`,
      );
    }
  }
  if (request.node !== opts.nodeName) throw stateError('Missing node registration');
  for (const check of [...request.nodeChecks, ...request.serviceChecks]) {
    if (check !== SERF_CHECK) throw stateError(`Missing check '${check}' registration`);
  }
  return { behavior: request.behavior === 'delete' ? 'delete' : 'release', ttlNs };
}

/** Invalidation happens after twice the TTL without a renew, as Consul's leader times it. */
export function ttlDeadlineMs(record: SessionRecord, nowMs: number): number | undefined {
  if (record.ttl === '') return undefined;
  const ns = parseGoDuration(record.ttl);
  return ns === 0 ? undefined : nowMs + (2 * ns) / 1e6;
}

export function encodeSession(record: SessionRecord): Buffer {
  return Buffer.from(JSON.stringify(record));
}

export function decodeSession(raw: Buffer): SessionRecord {
  return JSON.parse(raw.toString('utf8')) as SessionRecord;
}

/** Consul's `Session` wire shape; LockDelay in nanoseconds, as Go encodes a Duration. */
export function sessionJson(record: SessionRecord): Record<string, unknown> {
  return {
    ID: record.id,
    Name: record.name,
    Node: record.node,
    LockDelay: record.lockDelayNs,
    Behavior: record.behavior,
    TTL: record.ttl,
    NodeChecks: record.nodeChecks.length > 0 ? record.nodeChecks : null,
    ServiceChecks: null,
    CreateIndex: record.createIndex,
    ModifyIndex: record.modifyIndex,
  };
}

/** Session IDs are UUIDs; anything else cannot name a session. */
export function isSessionId(id: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);
}

function decodeFailed(message: string): ConsulError {
  return new ConsulError(400, `Request decode failed: ${message}`);
}

function typeError(value: GoValue, field: string, type: string): ConsulError {
  return decodeFailed(
    `json: cannot unmarshal ${goKind(value)} into Go struct field Session.${field} of type ${type}`,
  );
}

function stringField(field: string, value: GoValue): string {
  if (value === null) return '';
  if (typeof value !== 'string') throw typeError(value, field, 'string');
  return value;
}

function stringList(field: string, value: GoValue): string[] {
  if (value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw typeError(value, field, '[]string');
  }
  return value as string[];
}

function serviceChecks(value: GoValue): string[] {
  if (value === null) return [];
  if (!Array.isArray(value)) throw typeError(value, 'ServiceChecks', '[]structs.ServiceCheck');
  return value.map((check) => {
    const id = check instanceof Map ? check.get('ID') : check;
    return typeof id === 'string' ? id : String(id);
  });
}

/** `FixupLockDelay`: a duration string or a number; below 1000 (ns) it means seconds. */
function lockDelay(value: GoValue): number {
  let ns: number;
  if (typeof value === 'string') {
    try {
      ns = parseGoDuration(value);
    } catch (err) {
      if (err instanceof GoError) throw decodeFailed(err.message);
      throw err;
    }
  } else if (value instanceof GoNumber) {
    ns = Math.trunc(Number(value.text));
  } else {
    throw typeError(value, 'LockDelay', 'time.Duration');
  }
  if (!Number.isFinite(ns) || ns < 0) throw decodeFailed('lock delay must not be negative');
  return ns < LOCK_DELAY_SECONDS_BELOW ? ns * 1e9 : ns;
}
