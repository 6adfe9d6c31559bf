/**
 * The core: seal gate, token check, ACL, audit, routing. Every request from
 * the HTTP layer comes through `handleRequest`, in the order DESIGN.md draws:
 * sealed? → token → ACL → audit → mount → barrier → storage.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { AuditBroker } from '../audit/broker.ts';
import type { AuditEvent, AuditMount } from '../audit/entry.ts';
import { tokenBackend } from '../auth/token/backend.ts';
import { type TokenEntry, TokenStore } from '../auth/token/store.ts';
import type {
  Backend,
  Caller,
  LogicalRequest,
  LogicalResponse,
  SystemView,
} from '../framework/types.ts';
import {
  InternalError,
  isKeepError,
  NotFoundError,
  PermissionDeniedError,
  SealedError,
} from '../lib/errors.ts';
import { KEEP_VERSION } from '../lib/version.ts';
import type { Storage } from '../storage/types.ts';
import { Barrier } from './barrier.ts';
import { HACoordinator } from './ha.ts';
import { MetricsRegistry } from './metrics.ts';
import { type BackendFactory, type MountedBackend, MountRouter } from './mounts.ts';
import { matchesAny } from './path-glob.ts';
import { PolicyStore } from './policy-store.ts';
import { recordRequest } from './request-metrics.ts';
import { Seal } from './seal.ts';
import { StorageView } from './storage-view.ts';
import { sysBackend } from './sys/backend.ts';
import { ResponseWrapper } from './wrapping.ts';

export interface CoreOptions {
  storage: Storage;
  logger: Logger;
  defaultLeaseTtlSeconds: number;
  maxLeaseTtlSeconds: number;
  secretFactories: Map<string, BackendFactory>;
  authFactories: Map<string, BackendFactory>;
  /** Source of the current time; tests pass a controllable one. */
  clock?: () => Date;
  /** The address clients should use for this node (`api_addr`). */
  apiAddr?: string;
}

export interface ClusterIdentity {
  name: string;
  id: string;
}

/** The parts that exist only while unsealed; dropped as a whole on seal. */
interface Unsealed {
  router: MountRouter;
  tokens: TokenStore;
  policies: PolicyStore;
  wrapper: ResponseWrapper;
}

export class Core {
  readonly metrics = new MetricsRegistry();
  readonly audit = new AuditBroker({
    metrics: this.metrics,
    onFault: (fault) =>
      this.logger.error(
        { fault: fault.message },
        'audit failing: requests are refused until an audit device records again',
      ),
  });
  readonly logger: Logger;
  readonly system: SystemView;
  readonly seal: Seal;
  readonly barrier: Barrier;
  readonly storage: Storage;
  readonly apiAddr: string;
  /** Active/standby, when the storage has an HA lock (`ha_enabled`); see ha.ts. */
  readonly ha: HACoordinator | undefined;
  private readonly options: CoreOptions;
  private state: Unsealed | undefined;
  private identity: ClusterIdentity | undefined;
  private unsealedAt = new Date(0);

  constructor(options: CoreOptions) {
    this.options = options;
    this.apiAddr = options.apiAddr ?? '';
    this.logger = options.logger;
    this.storage = options.storage;
    const clock = options.clock ?? (() => new Date());
    this.system = {
      defaultLeaseTtlSeconds: options.defaultLeaseTtlSeconds,
      maxLeaseTtlSeconds: options.maxLeaseTtlSeconds,
      now: clock,
      logger: options.logger,
    };
    this.barrier = new Barrier(options.storage);
    this.seal = new Seal({ storage: options.storage, barrier: this.barrier });
    if (options.storage.haLock) {
      this.ha = new HACoordinator(options.storage.haLock, {
        activate: () => this.postUnseal(),
        standDown: () => this.standDown(),
        logger: options.logger,
        metrics: this.metrics,
        version: KEEP_VERSION,
      });
      if (this.apiAddr) this.ha.setAddresses(this.apiAddr);
    }
  }

  /** Sealed: neither active nor an unsealed HA standby. */
  get sealed(): boolean {
    return this.state === undefined && !this.ha?.running;
  }

  /** An unsealed HA node that does not hold the lock: it forwards requests to the active. */
  get standby(): boolean {
    return this.ha?.standby ?? false;
  }

  /** Name and id of this cluster; known only while unsealed. */
  get cluster(): ClusterIdentity | undefined {
    return this.state ? this.identity : undefined;
  }

  /** When this node last became active. */
  get activeSince(): Date {
    return this.ha?.activeSince ?? this.unsealedAt;
  }

  /** The unsealed parts, or a 503 while sealed. */
  get unsealed(): Unsealed {
    if (!this.state) throw new SealedError();
    return this.state;
  }

  /**
   * `sys/init`: creates the keys, the built-in mounts and policies and the
   * root token, then leaves the server sealed, as Vault does.
   */
  async initialize(opts: { secretShares: number; secretThreshold: number; rootTokenId?: string }) {
    const { keys } = await this.seal.initialize(opts);
    for (const key of keys.slice(0, opts.secretThreshold)) await this.seal.submitShare(key);
    await this.postUnseal();
    const { router, tokens } = this.unsealed;
    await router.mount('secret', {
      path: 'cubbyhole',
      type: 'cubbyhole',
      builtin: true,
      description: 'per-token private secret storage',
    });
    await router.mount('secret', {
      path: 'sys',
      type: 'system',
      builtin: true,
      description: 'system endpoints used for control, policy and debugging',
    });
    await router.mount('auth', {
      path: 'token',
      type: 'token',
      builtin: true,
      description: 'token based credentials',
    });
    const { token } = await tokens.createRoot(opts.rootTokenId);
    await this.sealNow();
    return { keys, rootToken: token };
  }

  /** Submits one unseal share; on the last one, brings the mounts up. */
  async unseal(share: Buffer) {
    const status = await this.seal.submitShare(share);
    if (!status.sealed && this.sealed) {
      // With HA the node campaigns for the lock and loads its state once it holds it.
      if (this.ha) this.ha.start();
      else await this.postUnseal();
    }
    return this.seal.status();
  }

  async sealNow(): Promise<void> {
    // An active HA node stands down and releases the lock: a standby takes over at once.
    await this.ha?.stop();
    await this.standDown();
    await this.seal.seal();
    this.metrics.gauge('keep.core.unsealed', 0);
    this.logger.info('sealed');
  }

  /**
   * Drops what `postUnseal` built, leaving the barrier as it is: the first half
   * of sealing, and what an HA node does when it stops being active.
   */
  private async standDown(): Promise<void> {
    const state = this.state;
    this.state = undefined;
    try {
      // While the barrier is still open: last-use times noted in memory, and
      // whatever else the backends keep there, go to storage.
      await state?.tokens.flushLastUse();
      await state?.router.cleanup();
    } finally {
      state?.router.unload();
      state?.policies.clear();
      state?.tokens.close();
      await this.audit.unload();
    }
  }

  private async postUnseal(): Promise<void> {
    const policies = new PolicyStore(new StorageView(this.barrier, 'sys/policy/'));
    const tokens = new TokenStore({
      storage: new StorageView(this.barrier, 'sys/token/'),
      system: this.system,
      onRevoke: (entry) => this.destroyCubbyhole(entry.hash),
    });
    const secretFactories = new Map(this.options.secretFactories);
    secretFactories.set('system', () => sysBackend(this));
    const authFactories = new Map(this.options.authFactories);
    authFactories.set('token', () => tokenBackend(tokens, { hasSudo: (req) => this.hasSudo(req) }));
    const router = new MountRouter({
      storage: this.barrier,
      system: this.system,
      secretFactories,
      authFactories,
    });
    await policies.ensureDefaults();
    await router.load();
    await this.audit.load(this.barrier, (path, err) =>
      this.logger.error(
        { device: path, err: err.message },
        'audit device could not be opened; requests fail until it is fixed or disabled',
      ),
    );
    this.identity = await this.loadIdentity();
    this.unsealedAt = this.system.now();
    const wrapper = new ResponseWrapper({
      tokens,
      system: this.system,
      cubbyhole: () => {
        const cubby = router.get('secret', 'cubbyhole');
        if (!cubby) throw new InternalError('the cubbyhole mount is missing');
        return cubby.storage;
      },
    });
    this.state = { router, tokens, policies, wrapper };
    this.metrics.gauge('keep.core.unsealed', 1);
    this.logger.info('unsealed');
  }

  private async loadIdentity(): Promise<ClusterIdentity> {
    const raw = await this.barrier.get('core/cluster');
    if (raw) return JSON.parse(raw.toString('utf8')) as ClusterIdentity;
    const id = randomUUID();
    const identity = { name: `keep-cluster-${id.slice(0, 8)}`, id };
    await this.barrier.put('core/cluster', Buffer.from(JSON.stringify(identity)));
    return identity;
  }

  private async destroyCubbyhole(tokenHash: string): Promise<void> {
    const cubby = this.state?.router.get('secret', 'cubbyhole');
    if (!cubby) return;
    const view = new StorageView(cubby.storage, `${tokenHash}/`);
    await view.clear();
  }

  /** Handles one logical request end to end. */
  async handleRequest(req: LogicalRequest): Promise<LogicalResponse | undefined> {
    const started = performance.now();
    const { router, tokens, policies, wrapper } = this.unsealed;

    const mounted = router.match(req.path);
    if (!mounted) {
      throw new NotFoundError(`no handler for route "${req.path}". route entry not found.`);
    }
    req.mountPoint = mounted.routePath;
    req.relPath = relativePath(req.path, mounted.routePath);
    const backend = mounted.backend;
    const ctx = router.contextFor(mounted);

    const mount: AuditMount = {
      path: mounted.routePath,
      type: mounted.entry.type,
      accessor: mounted.entry.accessor,
    };

    const anonymous = matchesAny(req.relPath, backend.unauthenticatedPaths);
    let entry: TokenEntry | undefined;
    try {
      if (!anonymous || req.clientToken) {
        // `from` refuses a token bound to other networks and records its last use.
        entry = req.clientToken
          ? await tokens.lookup(req.clientToken, { from: req.remoteAddr })
          : undefined;
        if (!entry && !anonymous) throw new PermissionDeniedError();
        if (entry) req.caller = callerOf(entry, req.remoteAddr);
      }

      if (req.operation === 'update' && (await backend.exists(req, ctx)) === false) {
        req.operation = 'create';
      }

      if (!anonymous && entry) {
        const acl = await policies.aclFor(entry.policies);
        const verdict = acl.check(req.path, req.operation, req.data);
        const needsSudo = matchesAny(req.relPath, backend.sudoPaths);
        if (!verdict.allowed || (needsSudo && !verdict.sudo)) throw new PermissionDeniedError();
      }
    } catch (err) {
      // A refused request is still recorded, as Vault does; the refusal stands
      // even when no device can record it.
      await this.auditEvent({ type: 'request', req, mount, error: errorText(err) }).catch(() => {});
      recordRequest(this.metrics, req, mounted, {
        startedMs: started,
        status: isKeepError(err) ? err.status : 500,
      });
      throw err;
    }

    // A wrap TTL that cannot be honoured is refused before anything runs.
    if (req.wrapTtlSeconds !== undefined) wrapper.checkTtl(req.wrapTtlSeconds);

    // Fail closed: nothing runs unless the request is on record.
    await this.auditEvent({ type: 'request', req, mount });

    // As in Vault, a use is spent once the request is authorised and before
    // it runs; a token on its last use serves this request and is revoked
    // after it, so the handler (lookup-self, cubbyhole) still sees it.
    let spent: TokenEntry | undefined;
    if (entry && entry.numUses !== 0) {
      const used = await tokens.useToken(entry, { deferRevocation: true });
      if (!used) throw new PermissionDeniedError();
      if (used.numUses === -1) spent = used;
    }

    let resp: LogicalResponse | undefined;
    try {
      resp = await backend.handle(req, ctx);
      if (resp?.auth && mounted.kind === 'auth' && mounted.entry.type !== 'token') {
        const created = await tokens.createFromAuth(resp.auth, {
          path: req.path,
          mountPoint: mounted.routePath,
          mountAccessor: mounted.entry.accessor,
          // The method's own TTLs (`sys/auth/<path>/tune`) bound its tokens.
          ttls: {
            defaultLeaseTtlSeconds:
              mounted.info.defaultLeaseTtlSeconds || this.system.defaultLeaseTtlSeconds,
            maxLeaseTtlSeconds: mounted.info.maxLeaseTtlSeconds || this.system.maxLeaseTtlSeconds,
          },
        });
        // Vault tells the client when its TTL was capped.
        if (created.warnings.length > 0) {
          resp.warnings = [...(resp.warnings ?? []), ...created.warnings];
        }
      }
    } catch (err) {
      const status = isKeepError(err) ? err.status : 500;
      await this.auditEvent({ type: 'response', req, mount, error: errorText(err), status });
      recordRequest(this.metrics, req, mounted, { startedMs: started, status });
      throw err;
    } finally {
      if (spent) await tokens.revoke(spent);
    }
    if (req.wrapTtlSeconds !== undefined && (resp?.data || resp?.auth) && !resp.raw) {
      resp = await wrapper.wrap(resp, req.wrapTtlSeconds, req.path);
    }
    // Fail closed: a response that cannot be recorded is not sent.
    await this.auditEvent({
      type: 'response',
      req,
      mount,
      resp,
      status: resp?.status ?? (resp ? 200 : 204),
    });

    recordRequest(this.metrics, req, mounted, {
      startedMs: started,
      status: resp?.raw?.status ?? resp?.status ?? (resp ? 200 : 204),
    });
    return resp;
  }

  /** Whether the caller's policies grant sudo on the request's path. */
  async hasSudo(req: LogicalRequest): Promise<boolean> {
    if (!req.caller) return false;
    const acl = await this.unsealed.policies.aclFor(req.caller.policies);
    return acl.check(req.path, req.operation, req.data).sudo;
  }

  /** Resolves a token, or undefined when it is unknown, expired or revoked. */
  async lookupToken(token: string): Promise<TokenEntry | undefined> {
    return this.unsealed.tokens.lookup(token);
  }

  mountFor(path: string): MountedBackend | undefined {
    return this.unsealed.router.match(path);
  }

  backendOf(mounted: MountedBackend): Backend {
    return mounted.backend;
  }

  private async auditEvent(event: Omit<AuditEvent, 'time'>): Promise<void> {
    if (!this.audit.enabled) return;
    await this.audit.log({ ...event, time: this.system.now() });
  }
}

/** The message a client sees for an error; internal errors say nothing more. */
function errorText(err: unknown): string {
  return isKeepError(err) ? err.message : 'internal error';
}

function callerOf(entry: TokenEntry, remoteAddr: string): Caller {
  return {
    accessor: entry.accessor,
    displayName: entry.displayName,
    policies: entry.policies,
    entityId: entry.entityId ?? '',
    meta: entry.meta,
    tokenHash: entry.hash,
    remoteAddr,
  };
}

function relativePath(path: string, routePath: string): string {
  if (path.length < routePath.length) return '';
  return path.slice(routePath.length);
}
