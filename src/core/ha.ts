/**
 * Active/standby for nodes that share an HA-capable storage (etcd, PostgreSQL).
 *
 * Every node is unsealed by an operator on its own. An unsealed node campaigns
 * for the storage's HA lock: the holder becomes active (mounts, tokens and
 * policies loaded, requests served); the others stay standby, their barrier
 * unsealed but nothing loaded, and pass requests on to the active node (see
 * http/forward.ts). When the lock is lost (lease lapsed, storage unreachable,
 * `sys/step-down`, shutdown), the node drops its state before anything else, so
 * it stops acting as active; the storage's fence refuses any write it still had
 * in flight once another node holds the lock.
 *
 * Standbys read the lock's holder once a second and echo to the active over its
 * API address; an echo that fails for a few seconds makes `sys/health` say 474.
 * The active keeps the echoes it received for `sys/ha-status`.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { sleep } from '../storage/lock-util.ts';
import type { HALock, HeldLock } from '../storage/types.ts';
import type { MetricsRegistry } from './metrics.ts';

/** What a node publishes about itself: the lock's value, and each echo. */
export interface NodeAdvert {
  id: string;
  hostname: string;
  api_addr: string;
  cluster_addr: string;
  version: string;
}

export interface HANode extends NodeAdvert {
  active: boolean;
  lastEcho?: Date;
}

export interface HAHooks {
  /** Loads the active node's state; the lock is held (and fences writes) while it runs. */
  activate(): Promise<void>;
  /** Drops that state again; the barrier stays unsealed. */
  standDown(): Promise<void>;
  logger: Logger;
  metrics: MetricsRegistry;
  version: string;
}

const ECHO_INTERVAL_MS = 1000;
/** A standby whose echoes have failed this long reports 474. */
const ECHO_HEALTHY_MS = 3500;
/** The active forgets a standby it has not heard from for this long. */
const STANDBY_FORGET_MS = 30_000;
/** Most standbys listed in sys/ha-status. */
const MAX_STANDBYS = 64;
/** After stepping down, a node waits this long before campaigning again. */
const STEP_DOWN_PAUSE_MS = 2000;

export class HACoordinator {
  readonly nodeId = randomUUID();
  readonly #lock: HALock;
  readonly #hooks: HAHooks;
  #apiAddr = '';
  #clusterAddr = '';
  #running = false;
  #active = false;
  #activeSince: Date | undefined;
  #abort: AbortController | undefined;
  #loop: Promise<void> | undefined;
  #echoLoop: Promise<void> | undefined;
  #stepDown: (() => void) | undefined;
  #leader: NodeAdvert | undefined;
  #lastEcho = 0;
  #standbys = new Map<string, { advert: NodeAdvert; lastEcho: Date }>();

  constructor(lock: HALock, hooks: HAHooks) {
    this.#lock = lock;
    this.#hooks = hooks;
    hooks.metrics.gauge('keep.core.active', 0);
  }

  /** This node's addresses, once its listeners are bound. */
  setAddresses(apiAddr: string, clusterAddr?: string): void {
    this.#apiAddr = apiAddr;
    this.#clusterAddr = clusterAddr ?? '';
  }

  get advert(): NodeAdvert {
    return {
      id: this.nodeId,
      hostname: hostname(),
      api_addr: this.#apiAddr,
      cluster_addr: this.#clusterAddr,
      version: this.#hooks.version,
    };
  }

  /** Unsealed and taking part: active or standby. */
  get running(): boolean {
    return this.#running;
  }

  get active(): boolean {
    return this.#active;
  }

  get standby(): boolean {
    return this.#running && !this.#active;
  }

  get activeSince(): Date | undefined {
    return this.#active ? this.#activeSince : undefined;
  }

  /** The active node as last seen (this node, when active). */
  get leader(): NodeAdvert | undefined {
    return this.#active ? this.advert : this.#leader;
  }

  /** A standby that has heard from the active recently. */
  get connectionHealthy(): boolean {
    if (!this.standby) return true;
    return this.#leader !== undefined && Date.now() - this.#lastEcho < ECHO_HEALTHY_MS;
  }

  /** Begins campaigning; called once the barrier is unsealed. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#abort = new AbortController();
    this.#loop = this.#campaign(this.#abort.signal);
    this.#echoLoop = this.#echo(this.#abort.signal);
  }

  /** Stops campaigning; an active node stands down and releases the lock at once. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#abort?.abort();
    this.#stepDown?.();
    await this.#loop;
    await this.#echoLoop;
    this.#leader = undefined;
  }

  /** `sys/step-down`: gives the lock up now; another node takes it over. */
  stepDown(): boolean {
    if (!this.#active || !this.#stepDown) return false;
    this.#hooks.metrics.incr('keep.core.step_down');
    this.#stepDown();
    return true;
  }

  /** The nodes the active knows of: itself and the standbys that echoed lately. */
  nodes(): HANode[] {
    const now = Date.now();
    const out: HANode[] = [];
    const leader = this.leader;
    if (leader)
      out.push({ ...leader, active: true, lastEcho: this.#active ? new Date() : undefined });
    for (const [id, s] of this.#standbys) {
      if (now - s.lastEcho.getTime() > STANDBY_FORGET_MS) this.#standbys.delete(id);
      else if (id !== leader?.id) out.push({ ...s.advert, active: false, lastEcho: s.lastEcho });
    }
    return out;
  }

  /** An echo from a standby; answers whether this node is the active one. */
  recordEcho(advert: NodeAdvert): boolean {
    if (typeof advert?.id === 'string' && advert.id !== this.nodeId) {
      // Echoes are not authenticated (they only feed sys/ha-status): bound what they can fill.
      const known = this.#standbys.has(advert.id);
      if (known || this.#standbys.size < MAX_STANDBYS) {
        this.#standbys.set(advert.id, { advert: sanitize(advert), lastEcho: new Date() });
      }
    }
    return this.#active;
  }

  async #campaign(signal: AbortSignal): Promise<void> {
    const { logger, metrics } = this.#hooks;
    while (!signal.aborted) {
      let held: HeldLock;
      try {
        logger.info({ node: this.nodeId }, 'standby: waiting for the HA lock');
        held = await this.#lock.acquire(JSON.stringify(this.advert), { signal });
      } catch (err) {
        if (signal.aborted) return;
        logger.warn({ err: (err as Error).message }, 'HA lock: acquire failed; retrying');
        await sleep(1000, signal);
        continue;
      }
      if (signal.aborted) {
        await held.release();
        return;
      }

      const stepped = new Promise<'step-down'>((resolve) => {
        this.#stepDown = () => resolve('step-down');
      });
      const lost = new Promise<'lost'>((resolve) => {
        if (held.lost.aborted) resolve('lost');
        held.lost.addEventListener('abort', () => resolve('lost'), { once: true });
      });

      try {
        // Active only once the state is loaded: sys/health must not answer
        // 200 (and a load balancer send writes) while the mounts still load.
        await this.#hooks.activate();
        this.#active = true;
        this.#activeSince = new Date();
      } catch (err) {
        logger.error({ err: (err as Error).message }, 'HA: could not become active; stepping down');
        metrics.incr('keep.core.leadership_setup_failed');
        this.#active = false;
        await this.#hooks.standDown().catch(() => {});
        await held.release();
        await sleep(1000, signal);
        continue;
      }
      metrics.gauge('keep.core.active', 1);
      metrics.incr('keep.core.leadership_changes');
      logger.info({ node: this.nodeId, api_addr: this.#apiAddr }, 'active: holding the HA lock');

      const why = await Promise.race([stepped, lost]);
      // Stop acting as active before anything else, then hand the lock over.
      this.#active = false;
      this.#stepDown = undefined;
      metrics.gauge('keep.core.active', 0);
      if (why === 'lost') metrics.incr('keep.core.leadership_lost');
      logger.warn(
        { reason: why === 'lost' ? String(held.lost.reason?.message ?? 'lost') : 'step-down' },
        'no longer active',
      );
      await this.#hooks.standDown().catch((err) => {
        logger.error({ err: (err as Error).message }, 'HA: error while standing down');
      });
      await held.release();
      if (why === 'step-down' && !signal.aborted) await sleep(STEP_DOWN_PAUSE_MS, signal);
    }
  }

  /** A standby's view of the active: who holds the lock, and whether it answers. */
  async #echo(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      if (!this.#active) {
        try {
          const holder = await this.#lock.holder();
          this.#leader = holder ? parseAdvert(holder) : undefined;
          const leader = this.#leader;
          if (leader && leader.id !== this.nodeId && leader.api_addr) {
            const res = await fetch(new URL('/v1/sys/ha/echo', leader.api_addr), {
              method: 'PUT',
              body: JSON.stringify(this.advert),
              headers: { 'content-type': 'application/json' },
              signal: AbortSignal.any([signal, AbortSignal.timeout(ECHO_INTERVAL_MS)]),
            });
            await res.arrayBuffer();
            if (res.ok) this.#lastEcho = Date.now();
          }
        } catch {
          // Counted by the missing echo: sys/health turns 474.
        }
      }
      await sleep(ECHO_INTERVAL_MS, signal);
    }
  }
}

function parseAdvert(text: string): NodeAdvert | undefined {
  try {
    const value = JSON.parse(text) as NodeAdvert;
    return typeof value?.id === 'string' ? sanitize(value) : undefined;
  } catch {
    return undefined;
  }
}

function sanitize(a: NodeAdvert): NodeAdvert {
  const str = (v: unknown) => (typeof v === 'string' ? v.slice(0, 256) : '');
  return {
    id: str(a.id),
    hostname: str(a.hostname),
    api_addr: str(a.api_addr),
    cluster_addr: str(a.cluster_addr),
    version: str(a.version),
  };
}
