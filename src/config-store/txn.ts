/**
 * `PUT /v1/txn`: Consul's transaction body, its limits and its verbs.
 *
 * The body is decoded as Go decodes it into `api.TxnOps` (field names in
 * any case, values base64, uint64 numbers), so malformed input fails with
 * Consul's status and words. Every operation then runs on one batch: all
 * of them apply, or the batch is dropped and the client gets a 409 with
 * one `{OpIndex, What}` per failed operation, as Consul collects them.
 */
import type { Batch } from './batch.ts';
import { ConsulError, TxnAborted, type TxnError } from './errors.ts';
import {
  decodeGoBase64,
  decodeGoJson,
  GoError,
  GoNumber,
  type GoValue,
  goKind,
  goUint64,
} from './go-compat.ts';
import { keyProblem } from './keys.ts';
import { entryJson, type KvEntry } from './kv-entry.ts';

/** Consul's `maxTxnOps`. */
export const MAX_TXN_OPS = 128;

export const TXN_LIMIT_DOC = 'https://www.consul.io/docs/agent/config/config-files#txn_max_req_len';

export interface KvTxnOp {
  verb: string;
  key: string;
  value: Buffer | null;
  flags: bigint;
  index: bigint;
  session: string;
}

/** A decoded operation: a KV op, one of Consul's other kinds (which Keep lacks), or none. */
export type TxnOpInput =
  | { kind: 'kv'; kv: KvTxnOp }
  | { kind: 'unsupported'; what: string }
  | { kind: 'none' };

const WRITE_VERBS = new Set([
  'set',
  'delete',
  'delete-cas',
  'delete-tree',
  'cas',
  'lock',
  'unlock',
]);

/** Verbs that change nothing; a transaction of only these is a read (`?stale` applies). */
export function isWrite(op: TxnOpInput): boolean {
  return op.kind === 'kv' ? WRITE_VERBS.has(op.kv.verb) : op.kind === 'unsupported';
}

/**
 * Decodes and checks a transaction body: `Failed to parse body: ...` (400)
 * for what Go cannot decode, 413 for too many operations or a value over
 * the KV size limit.
 */
export function parseTxn(body: Buffer, kvMaxValueBytes: number): TxnOpInput[] {
  let decoded: GoValue;
  let ops: TxnOpInput[];
  try {
    decoded = decodeGoJson(body);
    ops = toOps(decoded);
  } catch (err) {
    if (err instanceof GoError) throw new ConsulError(400, `Failed to parse body: ${err.message}`);
    throw err;
  }
  if (ops.length > MAX_TXN_OPS) {
    throw new ConsulError(
      413,
      `Transaction contains too many operations (${ops.length} > ${MAX_TXN_OPS})`,
    );
  }
  for (const op of ops) {
    if (op.kind !== 'kv') continue;
    const size = op.kv.value?.length ?? 0;
    if (size > kvMaxValueBytes) {
      throw new ConsulError(
        413,
        `Value for key ${JSON.stringify(op.kv.key)} is too large (${size} > ${kvMaxValueBytes} bytes)`,
      );
    }
  }
  return ops;
}

function typeError(value: GoValue, where: string, type: string): GoError {
  return new GoError(`json: cannot unmarshal ${goKind(value)} into ${where} of type ${type}`);
}

function toOps(decoded: GoValue): TxnOpInput[] {
  if (decoded === null) return [];
  if (!Array.isArray(decoded)) throw typeError(decoded, 'Go value', 'api.TxnOps');
  return decoded.map((item): TxnOpInput => {
    if (item === null) return { kind: 'none' };
    if (!(item instanceof Map)) throw typeError(item, 'Go value', 'api.TxnOp');
    let kv: KvTxnOp | undefined;
    let other: string | undefined;
    for (const [name, value] of item) {
      const field = name.toLowerCase();
      if (field === 'kv') {
        if (value === null) continue;
        if (!(value instanceof Map)) {
          throw typeError(value, 'Go struct field TxnOp.KV', 'api.KVTxnOp');
        }
        kv = toKvOp(value);
      } else if (['node', 'service', 'check', 'session'].includes(field) && value !== null) {
        other = name;
      }
    }
    if (kv) return { kind: 'kv', kv };
    if (other) {
      return {
        kind: 'unsupported',
        what: `${other} operations are not supported: Keep's config store serves KV operations only`,
      };
    }
    return { kind: 'none' };
  });
}

function toKvOp(fields: Map<string, GoValue>): KvTxnOp {
  const op: KvTxnOp = { verb: '', key: '', value: null, flags: 0n, index: 0n, session: '' };
  const where = (field: string) => `Go struct field KVTxnOp.KV.${field}`;
  const text = (field: string, value: GoValue, type = 'string'): string => {
    if (value === null) return '';
    if (typeof value !== 'string') throw typeError(value, where(field), type);
    return value;
  };
  const uint = (field: string, value: GoValue): bigint => {
    if (value === null) return 0n;
    if (!(value instanceof GoNumber)) throw typeError(value, where(field), 'uint64');
    const n = goUint64(value);
    if (n === undefined) {
      throw new GoError(
        `json: cannot unmarshal number ${value.text} into ${where(field)} of type uint64`,
      );
    }
    return n;
  };
  for (const [name, value] of fields) {
    switch (name.toLowerCase()) {
      case 'verb':
        op.verb = text('Verb', value, 'api.KVOp');
        break;
      case 'key':
        op.key = text('Key', value);
        break;
      case 'value':
        if (value === null) op.value = null;
        else if (typeof value === 'string') op.value = decodeGoBase64(value);
        else throw typeError(value, where('Value'), '[]uint8');
        break;
      case 'flags':
        op.flags = uint('Flags', value);
        break;
      case 'index':
        op.index = uint('Index', value);
        break;
      case 'session':
        op.session = text('Session', value);
        break;
      default:
        break;
    }
  }
  if (op.value !== null && op.value.length === 0) op.value = null;
  return op;
}

/** What a transaction may do with one key, decided before anything runs. */
export type TxnAccess = 'read' | 'write' | 'delete';

/** The access each verb needs, as Consul's `kvsPreApply` decides it. */
export function accessFor(verb: string): TxnAccess | undefined {
  switch (verb) {
    case 'get':
    case 'get-or-empty':
    case 'get-tree':
      // Filtered on the way out, not refused.
      return undefined;
    case 'check-session':
    case 'check-index':
      return 'read';
    case 'delete':
    case 'delete-cas':
    case 'delete-tree':
      return 'delete';
    default:
      return 'write';
  }
}

export interface TxnHooks {
  /** An error message when the caller may not run `op`; checked for every op first. */
  precheck(op: KvTxnOp): Promise<string | undefined>;
  /** Whether a read result for `key` may be shown to the caller. */
  visible(key: string): boolean;
}

/**
 * Runs the operations on `batch`. Returns the `Results` array as JSON
 * fragments, or throws `TxnAborted` with every failure.
 */
export async function runTxn(batch: Batch, ops: TxnOpInput[], hooks: TxnHooks): Promise<string[]> {
  const errors: TxnError[] = [];
  for (const [OpIndex, op] of ops.entries()) {
    if (op.kind !== 'kv') continue;
    const problem = await precheck(op.kv, hooks);
    if (problem) errors.push({ OpIndex, What: problem });
  }
  if (errors.length > 0) throw new TxnAborted(errors);

  const results: string[] = [];
  for (const [OpIndex, op] of ops.entries()) {
    try {
      if (op.kind === 'none') throw new TxnOpError('no operation specified');
      if (op.kind === 'unsupported') throw new TxnOpError(op.what);
      for (const [entry, withValue] of await runVerb(batch, op.kv)) {
        if (hooks.visible(entry.key)) results.push(`{"KV":${entryJson(entry, withValue)}}`);
      }
    } catch (err) {
      if (!(err instanceof TxnOpError || err instanceof ConsulError)) throw err;
      errors.push({ OpIndex, What: err.message });
    }
  }
  if (errors.length > 0) throw new TxnAborted(errors);
  return results;
}

class TxnOpError extends Error {}

async function precheck(op: KvTxnOp, hooks: TxnHooks): Promise<string | undefined> {
  if (op.key === '' && op.verb !== 'delete-tree') return 'Must provide key';
  const problem = op.key === '' ? undefined : keyProblem(op.key);
  if (problem) return problem;
  return hooks.precheck(op);
}

/** One verb, as Consul's `txnKVS` runs it; the entries it reports and whether with values. */
async function runVerb(batch: Batch, op: KvTxnOp): Promise<[KvEntry, boolean][]> {
  const input = { key: op.key, value: op.value, flags: op.flags, session: op.session };
  const key = JSON.stringify(op.key);
  const written = (entry: KvEntry | undefined, failure: string): [KvEntry, boolean][] => {
    if (!entry) throw new TxnOpError(failure);
    return [[entry, false]];
  };
  switch (op.verb) {
    case 'set':
      return [[await batch.set(input), false]];
    case 'cas':
      return written(await batch.cas(input, op.index), `failed to set key ${key}, index is stale`);
    case 'lock':
      return written(await batch.lock(input), `failed to lock key ${key}, lock is already held`);
    case 'unlock':
      return written(
        await batch.unlock(input),
        `failed to unlock key ${key}, lock isn't held, or is held by another session`,
      );
    case 'delete':
      await batch.delete(op.key);
      return [];
    case 'delete-cas':
      if (!(await batch.deleteCas(op.key, op.index))) {
        throw new TxnOpError(`failed to delete key ${key}, index is stale`);
      }
      return [];
    case 'delete-tree':
      await batch.deleteTree(op.key);
      return [];
    case 'get': {
      const entry = await batch.entry(op.key);
      if (!entry) throw new TxnOpError(`key ${key} doesn't exist`);
      return [[entry, true]];
    }
    case 'get-or-empty': {
      const entry = await batch.entry(op.key);
      const empty: KvEntry = {
        key: op.key,
        value: null,
        flags: op.flags,
        createIndex: 0,
        modifyIndex: op.index > 0n ? Number(op.index) : 0,
        lockIndex: 0,
        session: op.session,
      };
      return [[entry ?? empty, true]];
    }
    case 'get-tree':
      return (await batch.entriesWithPrefix(op.key)).map((entry) => [entry, true]);
    case 'check-session': {
      const entry = await batch.entry(op.key);
      if (!entry) throw new TxnOpError(`failed to check session, key ${key} doesn't exist`);
      if (entry.session !== op.session) {
        throw new TxnOpError(
          `failed session check for key ${key}, current session ${JSON.stringify(entry.session)} != ${JSON.stringify(op.session)}`,
        );
      }
      return [[entry, false]];
    }
    case 'check-index': {
      const entry = await batch.entry(op.key);
      if (!entry) throw new TxnOpError(`failed to check index, key ${key} doesn't exist`);
      if (BigInt(entry.modifyIndex) !== op.index) {
        throw new TxnOpError(
          `failed index check for key ${key}, current modify index ${entry.modifyIndex} != ${op.index}`,
        );
      }
      return [[entry, false]];
    }
    case 'check-not-exists':
      if (await batch.entry(op.key)) throw new TxnOpError(`key ${key} exists`);
      return [];
    default:
      throw new TxnOpError(`unknown KV verb ${JSON.stringify(op.verb)}`);
  }
}
