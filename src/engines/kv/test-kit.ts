/**
 * Helpers for the engine tests in this folder and in cubbyhole/: a storage
 * that can be inspected whole and made to fail, a settable clock, and
 * request and context builders. Not imported by engine code.
 */
import type {
  Backend,
  BackendContext,
  Caller,
  LogicalRequest,
  LogicalResponse,
  Operation,
} from '../../framework/types.ts';
import { MemoryStorage } from '../../storage/memory.ts';
import type { Storage, TxnOp, WatchEvent } from '../../storage/types.ts';

/** MemoryStorage that counts writes, can refuse transactions, and dumps everything. */
export class InspectableStorage implements Storage {
  readonly type = 'inspectable';
  readonly inner = new MemoryStorage();
  /** When set, every write throws before touching anything. */
  failWrites = false;
  transactions = 0;
  singleWrites = 0;

  get(key: string) {
    return this.inner.get(key);
  }

  async put(key: string, value: Buffer) {
    this.#refuse();
    this.singleWrites++;
    return this.inner.put(key, value);
  }

  async delete(key: string) {
    this.#refuse();
    this.singleWrites++;
    return this.inner.delete(key);
  }

  list(prefix: string) {
    return this.inner.list(prefix);
  }

  async transaction(ops: TxnOp[]) {
    this.#refuse();
    this.transactions++;
    return this.inner.transaction(ops);
  }

  revision() {
    return this.inner.revision();
  }

  watch(prefix: string, onEvent: (event: WatchEvent) => void) {
    return this.inner.watch(prefix, onEvent);
  }

  close() {
    return this.inner.close();
  }

  /** Every key with its value as text, sorted by key. */
  async snapshot(): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    const walk = async (folder: string) => {
      for (const name of await this.inner.list(folder)) {
        if (name.endsWith('/')) await walk(folder + name);
        else out.set(folder + name, (await this.inner.get(folder + name))!.toString('utf8'));
      }
    };
    await walk('');
    return out;
  }

  #refuse(): void {
    if (this.failWrites) throw new Error('storage unavailable');
  }
}

export class TestClock {
  ms: number;

  constructor(iso = '2024-05-01T12:00:00.123Z') {
    this.ms = Date.parse(iso);
  }

  now = (): Date => new Date(this.ms);

  advanceSeconds(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

export function testContext(
  storage: Storage,
  opts: { clock?: TestClock; mountDefaultTtlSeconds?: number; type?: string } = {},
): BackendContext {
  const clock = opts.clock ?? new TestClock();
  return {
    storage,
    mount: {
      path: 'secret/',
      type: opts.type ?? 'kv',
      uuid: 'mount-uuid',
      accessor: 'kv_1234',
      description: '',
      options: {},
      defaultLeaseTtlSeconds: opts.mountDefaultTtlSeconds ?? 0,
      maxLeaseTtlSeconds: 0,
    },
    system: { defaultLeaseTtlSeconds: 2_764_800, maxLeaseTtlSeconds: 2_764_800, now: clock.now },
  };
}

export function testCaller(name: string, overrides: Partial<Caller> = {}): Caller {
  return {
    accessor: `accessor-${name}`,
    displayName: `token-${name}`,
    policies: ['default'],
    entityId: '',
    meta: {},
    tokenHash: `hash-${name}`,
    remoteAddr: '10.0.0.7',
    ...overrides,
  };
}

export function testRequest(
  operation: Operation,
  relPath: string,
  opts: { data?: Record<string, unknown>; query?: Record<string, string>; caller?: Caller } = {},
): LogicalRequest {
  return {
    id: 'req-1',
    operation,
    path: `secret/${relPath}`,
    relPath,
    mountPoint: 'secret/',
    data: opts.data ?? {},
    query: opts.query ?? {},
    caller: opts.caller ?? testCaller('alice'),
    remoteAddr: '10.0.0.7',
    headers: {},
  };
}

/** Sends one request the way the core does: `update` becomes `create` when nothing exists. */
export async function send(
  backend: Backend,
  ctx: BackendContext,
  operation: Operation,
  relPath: string,
  opts: Parameters<typeof testRequest>[2] = {},
): Promise<LogicalResponse | undefined> {
  const req = testRequest(operation, relPath, opts);
  if (req.operation === 'update' && (await backend.exists(req, ctx)) === false) {
    req.operation = 'create';
  }
  return backend.handle(req, ctx);
}
