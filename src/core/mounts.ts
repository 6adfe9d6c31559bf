/**
 * The mount tables: secrets engines (`sys/mounts`) and auth methods
 * (`sys/auth`). Both are persisted behind the barrier and routed by longest
 * prefix. Each mount gets a storage view of its own, keyed by the mount's
 * UUID so a remount keeps its data.
 */
import { randomUUID } from 'node:crypto';
import type {
  Backend,
  BackendContext,
  MountInfo,
  SystemView,
  UserLockoutConfig,
} from '../framework/types.ts';
import { BadRequestError, NotFoundError } from '../lib/errors.ts';
import type { Storage } from '../storage/types.ts';
import { StorageView } from './storage-view.ts';

export interface MountEntry {
  path: string;
  type: string;
  description: string;
  uuid: string;
  accessor: string;
  /** `default_lease_ttl` / `max_lease_ttl` in seconds; 0 means the system's. */
  config: {
    default_lease_ttl: number;
    max_lease_ttl: number;
    /** Auth mounts: Vault's `user_lockout_config`, durations in seconds; absent until tuned. */
    user_lockout_config?: StoredUserLockout;
  };
  options: Record<string, string>;
  local: boolean;
  seal_wrap: boolean;
  /** Mounts Keep itself needs cannot be disabled or moved. */
  builtin: boolean;
}

/** `user_lockout_config` as persisted in the mount table, with Vault's names. */
export interface StoredUserLockout {
  lockout_threshold?: number;
  lockout_duration?: number;
  lockout_counter_reset?: number;
  disable_lockout?: boolean;
}

export type MountKind = 'secret' | 'auth';

export type BackendFactory = (entry: MountEntry) => Backend;

export interface MountedBackend {
  entry: MountEntry;
  kind: MountKind;
  /** Path as routed: `secret/` or `auth/userpass/`. */
  routePath: string;
  backend: Backend;
  storage: StorageView;
  info: MountInfo;
}

const TABLE_KEYS: Record<MountKind, string> = { secret: 'core/mounts', auth: 'core/auth' };
const VIEW_PREFIX: Record<MountKind, string> = { secret: 'logical/', auth: 'auth/' };

/** Paths reserved for the core, which no user mount may shadow. */
const RESERVED = ['sys/', 'auth/', 'cubbyhole/', 'identity/'];

export class MountRouter {
  private readonly storage: Storage;
  private readonly system: SystemView;
  private readonly factories: Record<MountKind, Map<string, BackendFactory>>;
  private readonly tables: Record<MountKind, MountEntry[]> = { secret: [], auth: [] };
  /** Route paths sorted longest first, so the first prefix hit is the longest. */
  private routes: MountedBackend[] = [];

  constructor(opts: {
    storage: Storage;
    system: SystemView;
    secretFactories: Map<string, BackendFactory>;
    authFactories: Map<string, BackendFactory>;
  }) {
    this.storage = opts.storage;
    this.system = opts.system;
    this.factories = { secret: opts.secretFactories, auth: opts.authFactories };
  }

  /** Loads both tables from storage and instantiates every backend. */
  async load(): Promise<void> {
    for (const kind of ['secret', 'auth'] as const) {
      const raw = await this.storage.get(TABLE_KEYS[kind]);
      this.tables[kind] = raw ? (JSON.parse(raw.toString('utf8')) as MountEntry[]) : [];
    }
    this.rebuildRoutes();
    for (const mounted of this.routes) {
      await mounted.backend.initialize?.(this.contextFor(mounted));
    }
  }

  /** Lets every backend write out what it holds in memory, before a seal. */
  async cleanup(): Promise<void> {
    await Promise.allSettled(
      this.routes.map((r) => r.backend.cleanup?.(this.contextFor(r)) ?? Promise.resolve()),
    );
  }

  /** Drops every backend instance (on seal). */
  unload(): void {
    this.routes = [];
    this.tables.secret = [];
    this.tables.auth = [];
  }

  list(kind: MountKind): MountedBackend[] {
    return this.routes.filter((r) => r.kind === kind);
  }

  /** The mount serving `path`, found by longest prefix. */
  match(path: string): MountedBackend | undefined {
    const probe = path.endsWith('/') ? path : `${path}/`;
    return this.routes.find((r) => probe.startsWith(r.routePath));
  }

  get(kind: MountKind, path: string): MountedBackend | undefined {
    const routePath = routePathFor(kind, normalizeMountPath(path));
    return this.routes.find((r) => r.routePath === routePath);
  }

  async mount(
    kind: MountKind,
    input: {
      path: string;
      type: string;
      description?: string;
      config?: Partial<MountEntry['config']>;
      options?: Record<string, string>;
      local?: boolean;
      seal_wrap?: boolean;
      builtin?: boolean;
    },
  ): Promise<MountEntry> {
    const path = normalizeMountPath(input.path);
    if (!this.factories[kind].has(input.type)) {
      throw new BadRequestError(`plugin not found in the catalog: ${input.type}`);
    }
    const routePath = routePathFor(kind, path);
    if (!input.builtin && kind === 'secret' && RESERVED.some((r) => routePath.startsWith(r))) {
      throw new BadRequestError(`cannot mount '${path}': path is reserved`);
    }
    const clash = this.routes.find(
      (r) => r.routePath.startsWith(routePath) || routePath.startsWith(r.routePath),
    );
    if (clash) {
      throw new BadRequestError(`path is already in use at ${clash.entry.path}`);
    }
    const entry: MountEntry = {
      path,
      type: input.type,
      description: input.description ?? '',
      uuid: randomUUID(),
      accessor: `${input.type}_${randomUUID().slice(0, 8)}`,
      config: { default_lease_ttl: 0, max_lease_ttl: 0, ...input.config },
      options: input.options ?? {},
      local: input.local ?? false,
      seal_wrap: input.seal_wrap ?? false,
      builtin: input.builtin ?? false,
    };
    const mounted = this.instantiate(kind, entry);
    await mounted.backend.initialize?.(this.contextFor(mounted));
    this.tables[kind].push(entry);
    await this.persist(kind);
    this.rebuildRoutes();
    return entry;
  }

  async unmount(kind: MountKind, path: string): Promise<void> {
    const mounted = this.get(kind, path);
    if (!mounted) return;
    if (mounted.entry.builtin) {
      throw new BadRequestError(`cannot unmount '${mounted.entry.path}'`);
    }
    this.tables[kind] = this.tables[kind].filter((e) => e.uuid !== mounted.entry.uuid);
    await this.persist(kind);
    this.rebuildRoutes();
    // Before the clear, so nothing the instance flushes late survives it.
    await mounted.backend.cleanup?.(this.contextFor(mounted));
    await mounted.storage.clear();
  }

  async tune(
    kind: MountKind,
    path: string,
    changes: {
      config?: Partial<MountEntry['config']>;
      description?: string;
      options?: Record<string, string>;
    },
  ): Promise<MountEntry> {
    const mounted = this.get(kind, path);
    if (!mounted) throw new BadRequestError(`no mount at '${normalizeMountPath(path)}'`);
    const entry = mounted.entry;
    if (changes.config) entry.config = { ...entry.config, ...changes.config };
    if (changes.description !== undefined) entry.description = changes.description;
    if (changes.options) {
      if (changes.options.version && changes.options.version !== (entry.options.version ?? '1')) {
        if (!(entry.options.version === undefined && changes.options.version === '1')) {
          throw new BadRequestError('changing the KV version of a mount is not supported');
        }
      }
      entry.options = { ...entry.options, ...changes.options };
    }
    await this.persist(kind);
    this.rebuildRoutes();
    return entry;
  }

  contextFor(mounted: MountedBackend): BackendContext {
    return { storage: mounted.storage, mount: mounted.info, system: this.system };
  }

  private instantiate(kind: MountKind, entry: MountEntry): MountedBackend {
    const factory = this.factories[kind].get(entry.type);
    if (!factory) throw new NotFoundError(`no backend of type ${entry.type}`);
    const routePath = routePathFor(kind, entry.path);
    return {
      entry,
      kind,
      routePath,
      backend: factory(entry),
      storage: new StorageView(this.storage, `${VIEW_PREFIX[kind]}${entry.uuid}/`),
      info: mountInfo(routePath, entry),
    };
  }

  private rebuildRoutes(): void {
    const previous = new Map(this.routes.map((r) => [r.entry.uuid, r]));
    const routes: MountedBackend[] = [];
    for (const kind of ['secret', 'auth'] as const) {
      for (const entry of this.tables[kind]) {
        const known = previous.get(entry.uuid);
        // A tuned mount keeps its backend instance (and any caches it holds).
        routes.push(
          known
            ? { ...known, entry, info: mountInfo(known.routePath, entry) }
            : this.instantiate(kind, entry),
        );
      }
    }
    routes.sort((a, b) => b.routePath.length - a.routePath.length);
    this.routes = routes;
  }

  private async persist(kind: MountKind): Promise<void> {
    await this.storage.put(TABLE_KEYS[kind], Buffer.from(JSON.stringify(this.tables[kind])));
  }
}

/** `secret`, `/secret/`, `secret//` → `secret/`; refuses empty and dotted paths. */
export function normalizeMountPath(path: string): string {
  const trimmed = path.replace(/^\/+/, '').replace(/\/+$/, '');
  if (trimmed === '') throw new BadRequestError('mount path cannot be empty');
  const segments = trimmed.split('/');
  if (segments.some((s) => s === '' || s === '.' || s === '..')) {
    throw new BadRequestError(`invalid mount path "${path}"`);
  }
  return `${trimmed}/`;
}

function mountInfo(routePath: string, entry: MountEntry): MountInfo {
  return {
    path: routePath,
    type: entry.type,
    uuid: entry.uuid,
    accessor: entry.accessor,
    description: entry.description,
    options: entry.options,
    defaultLeaseTtlSeconds: entry.config.default_lease_ttl,
    maxLeaseTtlSeconds: entry.config.max_lease_ttl,
    userLockout: userLockoutOf(entry.config.user_lockout_config),
  };
}

function userLockoutOf(stored: StoredUserLockout | undefined): UserLockoutConfig | undefined {
  if (!stored) return undefined;
  return {
    threshold: stored.lockout_threshold,
    durationSeconds: stored.lockout_duration,
    counterResetSeconds: stored.lockout_counter_reset,
    disable: stored.disable_lockout,
  };
}

function routePathFor(kind: MountKind, path: string): string {
  return kind === 'auth' ? `auth/${path}` : path;
}
