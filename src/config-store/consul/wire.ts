/**
 * Consul's HTTP conventions, shared by every route of the Consul face:
 * presence-style query flags, `?wait`/`?index` and consistency parsing
 * with Consul's error texts, the `X-Consul-*` headers, JSON bodies as Go
 * writes them and plain-text errors.
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ConsulError } from '../errors.ts';
import { parseGoDuration, parseUint64 } from '../go-compat.ts';

/** Consul's default and longest blocking waits, and its jitter (wait / 16, added). */
export const DEFAULT_WAIT_MS = 300_000;
export const MAX_WAIT_MS = 600_000;
const JITTER_FRACTION = 16;

/** The datacenter Keep answers as; `?dc=` naming any other fails as in Consul. */
export const DATACENTER = 'dc1';

/**
 * The query string as Go's `url.ParseQuery` reads it. Flags such as
 * `recurse` count by presence: `?recurse`, `?recurse=1` and even
 * `?recurse=false` all ask for recursion, as in Consul.
 */
export class Query {
  readonly #params: URLSearchParams;

  constructor(rawUrl: string) {
    const at = rawUrl.indexOf('?');
    this.#params = new URLSearchParams(at === -1 ? '' : rawUrl.slice(at + 1));
  }

  has(name: string): boolean {
    return this.#params.has(name);
  }

  /** The first value, '' when absent (Go's `Values.Get`). */
  get(name: string): string {
    return this.#params.get(name) ?? '';
  }

  /** Every parameter but the token, first values only, for the audit log. */
  withoutToken(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of this.#params) if (k !== 'token' && !(k in out)) out[k] = v;
    return out;
  }

  /** Go's `Values.Encode`: sorted by key, `token` left out so no echo carries it. */
  encodeWithoutToken(): string {
    const pairs = [...this.#params].filter(([k]) => k !== 'token');
    pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return new URLSearchParams(pairs).toString();
  }
}

export type Consistency = 'leader' | 'stale' | 'consistent';

export interface QueryOptions {
  consistency: Consistency;
  /** `?index`; 0n when absent. */
  minIndex: bigint;
  /** How long a blocking query may wait, jitter included. */
  waitMs: number;
}

/** Consul's `parse`: dc, consistency, then wait and index, failing with Consul's texts. */
export function parseQueryOptions(q: Query, random: () => number = Math.random): QueryOptions {
  checkDatacenter(q);
  const stale = q.has('stale');
  const consistent = q.has('consistent');
  if (stale && consistent) {
    throw new ConsulError(400, 'Cannot specify ?stale with ?consistent, conflicting semantics.');
  }

  let waitMs = 0;
  const wait = q.get('wait');
  if (wait !== '') {
    try {
      waitMs = parseGoDuration(wait) / 1e6;
    } catch {
      throw new ConsulError(400, 'Invalid wait time');
    }
  }
  let minIndex = 0n;
  const index = q.get('index');
  if (index !== '') {
    try {
      minIndex = parseUint64(index);
    } catch {
      throw new ConsulError(400, 'Invalid index');
    }
  }

  // Consul's blockingQuery: no wait means the default, never more than the cap, plus jitter.
  if (waitMs <= 0) waitMs = DEFAULT_WAIT_MS;
  if (waitMs > MAX_WAIT_MS) waitMs = MAX_WAIT_MS;
  waitMs += random() * (waitMs / JITTER_FRACTION);

  return {
    consistency: consistent ? 'consistent' : stale ? 'stale' : 'leader',
    minIndex,
    waitMs,
  };
}

export function checkDatacenter(q: Query): void {
  const dc = q.get('dc');
  if (dc !== '' && dc !== DATACENTER) throw new ConsulError(500, 'No path to datacenter');
}

/** The request's token: `?token=`, then `X-Consul-Token`, then `Authorization: Bearer`. */
export function tokenOf(req: FastifyRequest, q: Query): string | undefined {
  const fromQuery = q.get('token');
  if (fromQuery !== '') return fromQuery;
  const header = req.headers['x-consul-token'];
  if (typeof header === 'string' && header !== '') return header;
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && /^bearer /i.test(auth)) {
    const token = auth.slice(7).trim();
    if (token !== '') return token;
  }
  return undefined;
}

/** The URL with every `token` query value hidden, for log lines. */
export function loggableUrl(rawUrl: string): string {
  return rawUrl.replace(/([?&]token=)[^&#]*/gi, '$1<hidden>');
}

/** `setMeta`: the blocking index and the leader headers every query answer carries. */
export function setQueryMeta(reply: FastifyReply, index: number, consistency: Consistency): void {
  reply.header('X-Consul-Index', String(index));
  setLeaderMeta(reply);
  reply.header('X-Consul-Effective-Consistency', consistency);
}

/** One node that is always its own leader: the leader is known and was just contacted. */
export function setLeaderMeta(reply: FastifyReply): void {
  reply.header('X-Consul-KnownLeader', 'true');
  reply.header('X-Consul-LastContact', '0');
}

/**
 * Sends JSON text as Go's handler writes it: `application/json`, no
 * trailing newline, indented with four spaces and a newline under `?pretty`.
 */
export function sendJson(reply: FastifyReply, q: Query, json: string, status = 200): FastifyReply {
  const body = q.has('pretty') ? `${indentJson(json)}\n` : json;
  return reply.code(status).header('Content-Type', 'application/json').send(Buffer.from(body));
}

/** A plain-text error body, with the content type Go's sniffing gives text. */
export function sendText(reply: FastifyReply, status: number, text: string): FastifyReply {
  return reply
    .code(status)
    .header('Content-Type', 'text/plain; charset=utf-8')
    .send(Buffer.from(text));
}

/** Re-indents compact JSON text (as `json.MarshalIndent` with four spaces), keeping numbers as written. */
export function indentJson(json: string): string {
  let out = '';
  let depth = 0;
  let inString = false;
  const newline = () => `\n${'    '.repeat(depth)}`;
  for (let i = 0; i < json.length; i++) {
    const c = json[i]!;
    if (inString) {
      out += c;
      if (c === '\\') out += json[++i] ?? '';
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') {
      inString = true;
      out += c;
    } else if (c === '{' || c === '[') {
      const close = c === '{' ? '}' : ']';
      if (json[i + 1] === close) {
        out += c + close;
        i++;
      } else {
        depth++;
        out += c + newline();
      }
    } else if (c === '}' || c === ']') {
      depth--;
      out += newline() + c;
    } else if (c === ',') {
      out += c + newline();
    } else if (c === ':') {
      out += ': ';
    } else {
      out += c;
    }
  }
  return out;
}

/** Go's `MethodNotAllowedError`: 405, the allowed methods in `Allow`. */
export function methodNotAllowed(
  reply: FastifyReply,
  method: string,
  allow: string[],
): FastifyReply {
  reply.header('Allow', allow.join(','));
  return sendText(reply, 405, `method ${method} not allowed`);
}
