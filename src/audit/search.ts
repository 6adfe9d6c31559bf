/**
 * Searching a file device's log: "who read this secret last week" without
 * shipping the log anywhere. Values in the log are HMAC'd, so a value (or an
 * accessor) is searched for by its HMAC, which the server computes with
 * `sys/audit-hash`; the log itself never needs the salt.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';

export interface AuditQuery {
  since?: Date;
  until?: Date;
  /** A path, or a glob with `*` and `+` as in policies. */
  path?: string;
  operation?: string;
  type?: 'request' | 'response';
  /** Each form the accessor may take in the log: the HMAC, and the clear text. */
  accessors?: string[];
  remoteAddress?: string;
  status?: number;
  /** HMACs of a value to find anywhere in request or response data. */
  values?: string[];
}

// biome-ignore lint/suspicious/noExplicitAny: audit lines are free-form JSON
export type AuditLine = Record<string, any>;

export function compileQuery(q: AuditQuery): (line: AuditLine) => boolean {
  const pathRe = q.path ? pathGlob(q.path) : undefined;
  const values = q.values ? new Set(q.values) : undefined;
  const accessors = q.accessors ? new Set(q.accessors) : undefined;
  return (line) => {
    if (line.type !== 'request' && line.type !== 'response') return false;
    if (q.type && line.type !== q.type) return false;
    const time = Date.parse(line.time);
    if (q.since && !(time >= q.since.getTime())) return false;
    if (q.until && !(time <= q.until.getTime())) return false;
    const req = line.request ?? {};
    if (pathRe && !pathRe.test(req.path ?? '')) return false;
    if (q.operation && req.operation !== q.operation) return false;
    if (q.remoteAddress && req.remote_address !== q.remoteAddress) return false;
    if (accessors) {
      const accessor = line.auth?.accessor ?? req.client_token_accessor;
      if (!accessors.has(accessor)) return false;
    }
    if (q.status !== undefined && line.response?.status !== q.status) return false;
    if (values) {
      // Searching hashes the value through sys/audit-hash, which logs it too:
      // those requests are the search itself, not uses of the value.
      if (String(req.path ?? '').startsWith('sys/audit-hash/')) return false;
      if (!containsValue(req.data, values) && !containsValue(line.response?.data, values)) {
        return false;
      }
    }
    return true;
  };
}

/** A policy-style path glob: `+` is one segment, a trailing `*` any suffix. */
export function pathGlob(glob: string): RegExp {
  const star = glob.endsWith('*');
  const body = star ? glob.slice(0, -1) : glob;
  const source = body
    .split('/')
    .map((seg) => (seg === '+' ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${source}${star ? '.*' : ''}$`);
}

function containsValue(value: unknown, wanted: Set<string>): boolean {
  if (typeof value === 'string') return wanted.has(value);
  if (Array.isArray(value)) return value.some((v) => containsValue(v, wanted));
  if (value !== null && typeof value === 'object') {
    return Object.values(value).some((v) => containsValue(v, wanted));
  }
  return false;
}

/** Streams a log file and yields the entries that match; unparsable lines are counted. */
export async function* searchFile(
  file: string,
  match: (line: AuditLine) => boolean,
  stats: { scanned: number; unparsable: number } = { scanned: 0, unparsable: 0 },
): AsyncGenerator<AuditLine> {
  const lines = createInterface({
    input: createReadStream(file),
    crlfDelay: Number.POSITIVE_INFINITY,
  });
  for await (const text of lines) {
    if (text.trim() === '') continue;
    stats.scanned++;
    let line: AuditLine;
    try {
      // A device prefix, if any, comes before the JSON object.
      line = JSON.parse(text.slice(text.indexOf('{')));
    } catch {
      stats.unparsable++;
      continue;
    }
    if (match(line)) yield line;
  }
}
