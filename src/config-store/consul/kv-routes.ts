/**
 * `/v1/kv/<key>`: GET (single, `?recurse`, `?keys` with `?separator`,
 * `?raw`, blocking `?index`/`?wait`), PUT (`?flags`, `?cas`, `?acquire`,
 * `?release`, raw body up to `kv_max_value_size`) and DELETE (`?recurse`,
 * `?cas`), with Consul's statuses, bodies and headers.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ConsulError } from '../errors.ts';
import { GoError, parseUint64 } from '../go-compat.ts';
import { keyProblem } from '../keys.ts';
import { entryJson } from '../kv-entry.ts';
import { ConfigStore } from '../store.ts';
import { type Access, authenticate, policyPath } from './access.ts';
import { ensureUnsealed, type FaceContext } from './context.ts';
import {
  methodNotAllowed,
  parseQueryOptions,
  Query,
  type QueryOptions,
  sendJson,
  setQueryMeta,
} from './wire.ts';

const PREFIX = '/v1/kv/';
const METHODS = ['GET', 'PUT', 'DELETE'];

export const KV_LIMIT_DOC =
  'https://developer.hashicorp.com/docs/agent/config/config-files#kv_max_value_size';

export function registerKvRoutes(app: FastifyInstance, ctx: FaceContext): void {
  app.route({
    method: ['GET', 'PUT', 'DELETE', 'POST', 'PATCH'],
    url: `${PREFIX}*`,
    bodyLimit: ctx.limits.kvMaxValueBytes,
    handler: async (req, reply) => {
      const url = req.raw.url ?? '';
      const q = new Query(url);
      const opts = parseQueryOptions(q, ctx.random);
      const key = keyFromUrl(url);
      if (key !== '') {
        const problem = keyProblem(key);
        if (problem) throw new ConsulError(400, problem);
      }
      switch (req.method) {
        case 'GET':
          return q.has('keys')
            ? getKeys(ctx, req, reply, q, opts, key)
            : get(ctx, req, reply, q, opts, key);
        case 'PUT':
          return put(ctx, req, reply, q, key);
        case 'DELETE':
          return remove(ctx, req, reply, q, key);
        default:
          return methodNotAllowed(reply, req.method, METHODS);
      }
    },
  });
}

/**
 * The key: the URL path after `/v1/kv/`, percent-decoded (Consul reads the
 * decoded path, so `%2F` is a slash). Traversal sequences are refused as
 * Consul refuses them; escapes that do not decode to UTF-8 cannot name a
 * key Keep can store.
 */
export function keyFromUrl(url: string): string {
  const end = url.indexOf('?');
  const raw = url.slice(PREFIX.length, end === -1 ? undefined : end);
  if (raw.includes('../') || raw.includes('..\\')) {
    throw new ConsulError(400, 'URL path contains invalid traversal sequence');
  }
  if (/%2e%2e(%2f|\/|%5c)|\.\.%2f|%252e%252e%252f/i.test(raw)) {
    throw new ConsulError(400, 'URL path contains encoded traversal sequence');
  }
  if (/%(?![0-9a-fA-F]{2})/.test(raw)) throw new ConsulError(400, '400 Bad Request');
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ConsulError(400, 'key must be valid UTF-8');
  }
}

async function get(
  ctx: FaceContext,
  req: FastifyRequest,
  reply: FastifyReply,
  q: Query,
  opts: QueryOptions,
  key: string,
): Promise<FastifyReply> {
  const recurse = q.has('recurse');
  if (!recurse && key === '') throw new ConsulError(400, 'Missing key name');
  await ensureUnsealed(ctx.core);
  const access = await authenticate(ctx.core, req, q, ctx.clientAddress(req), {
    permission: 'key:read',
    resource: key,
    audit: { path: policyPath(key), operation: 'read', data: q.withoutToken() },
  });
  const blocking = blockingOptions(ctx, reply, opts);

  if (recurse) {
    const { index, value } = await ctx.store.blocking(
      () => ctx.store.list(key),
      ConfigStore.prefixWatch(key),
      blocking,
    );
    const visible = value.filter((entry) => access.canRead(entry.key));
    setQueryMeta(reply, index, opts.consistency);
    if (visible.length < value.length) reply.header('X-Consul-Results-Filtered-By-ACLs', 'true');
    if (visible.length === 0) return reply.code(404).send();
    return sendJson(reply, q, `[${visible.map((e) => entryJson(e)).join(',')}]`);
  }

  if (!access.canRead(key)) throw access.denied('key:read', key);
  const { index, value } = await ctx.store.blocking(
    () => ctx.store.getKey(key),
    ConfigStore.keyWatch(key),
    blocking,
  );
  setQueryMeta(reply, index, opts.consistency);
  if (!value) return reply.code(404).send();
  if (q.has('raw')) {
    // Consul's guard against a stored value being rendered as a page.
    return reply
      .code(200)
      .header('Content-Type', 'text/plain')
      .header('X-Content-Type-Options', 'nosniff')
      .header('Content-Security-Policy', 'sandbox')
      .send(value.value ?? Buffer.alloc(0));
  }
  return sendJson(reply, q, `[${entryJson(value)}]`);
}

async function getKeys(
  ctx: FaceContext,
  req: FastifyRequest,
  reply: FastifyReply,
  q: Query,
  opts: QueryOptions,
  prefix: string,
): Promise<FastifyReply> {
  // Both spellings: Consul kept the historic "seperator" when it fixed it.
  const separator = q.has('separator') ? q.get('separator') : q.get('seperator');
  await ensureUnsealed(ctx.core);
  const access = await authenticate(ctx.core, req, q, ctx.clientAddress(req), {
    permission: 'key:list',
    resource: prefix,
    audit: { path: policyPath(prefix), operation: 'list', data: q.withoutToken() },
  });
  const { index, value } = await ctx.store.blocking(
    () => ctx.store.list(prefix),
    ConfigStore.prefixWatch(prefix),
    blockingOptions(ctx, reply, opts),
  );
  // Filtering before truncating: a folder appears only if a visible key lies in it.
  const visible = value.filter((entry) => access.canList(entry.key));
  const keys = truncateKeys(
    visible.map((e) => e.key),
    prefix,
    separator,
  );
  setQueryMeta(reply, index, opts.consistency);
  if (visible.length < value.length) reply.header('X-Consul-Results-Filtered-By-ACLs', 'true');
  // Consul answers an empty root with [], any other empty prefix with 404.
  if (keys.length === 0 && prefix !== '') return reply.code(404).send();
  return sendJson(reply, q, JSON.stringify(keys));
}

/** Consul's `KVSListKeys`: each key cut just after the first separator past the prefix, deduplicated. */
export function truncateKeys(keys: string[], prefix: string, separator: string): string[] {
  if (separator === '') return keys;
  const out: string[] = [];
  let last: string | undefined;
  for (const key of keys) {
    const at = key.indexOf(separator, prefix.length);
    const shown = at === -1 ? key : key.slice(0, at + separator.length);
    if (shown !== last) out.push(shown);
    last = shown;
  }
  return out;
}

async function put(
  ctx: FaceContext,
  req: FastifyRequest,
  reply: FastifyReply,
  q: Query,
  key: string,
): Promise<FastifyReply> {
  if (key === '') throw new ConsulError(400, 'Missing key name');
  conflictingFlags(q, ['cas', 'acquire', 'release']);
  const flags = q.has('flags') ? goUint(q.get('flags')) : 0n;
  const cas = q.has('cas') ? goUint(q.get('cas')) : undefined;
  const acquire = q.has('acquire') ? q.get('acquire') : undefined;
  const release = q.has('release') ? q.get('release') : undefined;
  const body = (req.body as Buffer | undefined) ?? Buffer.alloc(0);
  await ensureUnsealed(ctx.core);
  const access = await authenticate(ctx.core, req, q, ctx.clientAddress(req), {
    permission: 'key:write',
    resource: key,
    audit: {
      path: policyPath(key),
      operation: 'update',
      data: { ...q.withoutToken(), value: body.toString('base64') },
    },
  });

  const input = { key, value: body.length === 0 ? null : Buffer.from(body), flags };
  const ok = await ctx.store.write(access.author, async (batch) => {
    requireWrite(access, key, (await batch.entry(key)) !== undefined);
    if (cas !== undefined) return (await batch.cas(input, cas)) !== undefined;
    if (acquire !== undefined)
      return (await batch.lock({ ...input, session: acquire })) !== undefined;
    if (release !== undefined) {
      return (await batch.unlock({ ...input, session: release })) !== undefined;
    }
    await batch.set(input);
    return true;
  });
  return sendJson(reply, q, ok ? 'true' : 'false');
}

async function remove(
  ctx: FaceContext,
  req: FastifyRequest,
  reply: FastifyReply,
  q: Query,
  key: string,
): Promise<FastifyReply> {
  conflictingFlags(q, ['recurse', 'cas']);
  const recurse = q.has('recurse');
  if (!recurse && key === '') throw new ConsulError(400, 'Missing key name');
  const cas = q.has('cas') ? goUint(q.get('cas')) : undefined;
  await ensureUnsealed(ctx.core);
  const access = await authenticate(ctx.core, req, q, ctx.clientAddress(req), {
    permission: 'key:write',
    resource: key,
    audit: { path: policyPath(key), operation: 'delete', data: q.withoutToken() },
  });

  const ok = await ctx.store.write(access.author, async (batch) => {
    if (recurse) {
      // All or nothing: one key the caller may not delete refuses the whole tree.
      const keys = await batch.keysWithPrefix(key);
      for (const k of keys.length > 0 ? keys : [key]) {
        if (!access.canDelete(k)) throw access.denied('key:write', k);
      }
      await batch.deleteTree(key);
      return true;
    }
    if (!access.canDelete(key)) throw access.denied('key:write', key);
    if (cas !== undefined) return batch.deleteCas(key, cas);
    await batch.delete(key);
    return true;
  });
  return sendJson(reply, q, ok ? 'true' : 'false');
}

function requireWrite(access: Access, key: string, exists: boolean): void {
  if (!access.canWrite(key, exists)) throw access.denied('key:write', key);
}

/** Consul's `conflictingFlags`: 400 naming every query parameter (the token left out). */
function conflictingFlags(q: Query, flags: string[]): void {
  if (flags.filter((f) => q.has(f)).length > 1) {
    throw new ConsulError(400, `Conflicting flags: ${q.encodeWithoutToken()}\n`);
  }
}

/** A uint64 query value; Consul answers a bad one with a 500 and strconv's words. */
function goUint(text: string): bigint {
  try {
    return parseUint64(text);
  } catch (err) {
    if (err instanceof GoError) throw new ConsulError(500, err.message);
    throw err;
  }
}

export function blockingOptions(ctx: FaceContext, reply: FastifyReply, opts: QueryOptions) {
  const controller = new AbortController();
  // The response closes before it is sent only when the client hangs up: stop waiting then.
  reply.raw.once('close', () => controller.abort());
  return {
    minIndex: opts.minIndex,
    deadlineMs: ctx.store.now() + opts.waitMs,
    signal: controller.signal,
  };
}
