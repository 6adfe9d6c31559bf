/**
 * Times every storage operation and counts the failures, below the barrier
 * (so it sees ciphertext only, and every engine's traffic):
 *
 *   keep.storage.<op>   timing (ms), label `backend`; op is get, put, delete, list, transaction
 *   keep.storage.error  counter, labels `backend` and `operation`
 *
 * Vault times its barrier (`vault.barrier.get`) and each backend under its
 * own name (`vault.postgres.get`); one name with a `backend` label lets one
 * dashboard and one alert serve every backend. The cost is a clock read and
 * one registry call per operation; until telemetry attaches a registry, the
 * clock read only.
 */
import type { MetricRecorder } from '../framework/types.ts';
import type { HALock, Storage, TxnOp, WatchEvent } from '../storage/types.ts';

export const STORAGE_OPERATIONS = ['get', 'put', 'delete', 'list', 'transaction'] as const;

export class MeteredStorage implements Storage {
  readonly #inner: Storage;
  readonly #labels: { backend: string };
  /** Set by the telemetry once the core (which owns the registry) exists. */
  metrics: MetricRecorder | undefined;

  constructor(inner: Storage) {
    this.#inner = inner;
    this.#labels = { backend: inner.type };
  }

  get type(): string {
    return this.#inner.type;
  }

  get haLock(): HALock | undefined {
    return this.#inner.haLock;
  }

  get(key: string): Promise<Buffer | undefined> {
    return this.#measure('get', () => this.#inner.get(key));
  }

  put(key: string, value: Buffer): Promise<number> {
    return this.#measure('put', () => this.#inner.put(key, value));
  }

  delete(key: string): Promise<number> {
    return this.#measure('delete', () => this.#inner.delete(key));
  }

  list(prefix: string): Promise<string[]> {
    return this.#measure('list', () => this.#inner.list(prefix));
  }

  transaction(ops: TxnOp[]): Promise<number> {
    return this.#measure('transaction', () => this.#inner.transaction(ops));
  }

  revision(): Promise<number> {
    return this.#inner.revision();
  }

  watch(prefix: string, onEvent: (event: WatchEvent) => void): () => void {
    return this.#inner.watch(prefix, onEvent);
  }

  close(): Promise<void> {
    return this.#inner.close();
  }

  async #measure<T>(op: (typeof STORAGE_OPERATIONS)[number], work: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await work();
    } catch (err) {
      this.metrics?.incr('keep.storage.error', 1, { ...this.#labels, operation: op });
      throw err;
    } finally {
      this.metrics?.timing(`keep.storage.${op}`, performance.now() - started, this.#labels);
    }
  }
}
