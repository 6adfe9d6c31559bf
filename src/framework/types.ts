/**
 * The logical request and response every mount handles, independent of HTTP.
 * The HTTP layer builds a `LogicalRequest`, the core routes it to a mount, and
 * the mount's backend answers with a `LogicalResponse` (or undefined for 204).
 */
import type { Storage } from '../storage/types.ts';

export type Operation = 'create' | 'read' | 'update' | 'patch' | 'delete' | 'list';

export type Capability =
  | 'create'
  | 'read'
  | 'update'
  | 'patch'
  | 'delete'
  | 'list'
  | 'sudo'
  | 'deny';

/** What the core knows about the caller once the token is resolved. */
export interface Caller {
  /** Token accessor; never the token itself. */
  accessor: string;
  displayName: string;
  policies: string[];
  entityId: string;
  /** Token metadata (`meta` at creation). */
  meta: Record<string, string>;
  /** The hashed token id, usable as a stable per-token key (cubbyhole). */
  tokenHash: string;
  /** Remote address the request came from. */
  remoteAddr: string;
}

export interface LogicalRequest {
  id: string;
  operation: Operation;
  /** Full path below `/v1/`, without leading or trailing slash except lists (trailing `/`). */
  path: string;
  /** Path relative to the mount (set by the router). */
  relPath: string;
  /** Mount point, with trailing slash (`secret/`). */
  mountPoint: string;
  data: Record<string, unknown>;
  /** Query parameters for reads (`version=2`). */
  query: Record<string, string>;
  /** The raw token sent by the client; only the token store may read it. */
  clientToken?: string;
  caller?: Caller;
  remoteAddr: string;
  headers: Record<string, string | string[] | undefined>;
  /** Wrapping TTL requested with `X-Vault-Wrap-TTL`, in seconds. */
  wrapTtlSeconds?: number;
}

/** Authentication result a login path returns; the core turns it into a token. */
export interface AuthResult {
  policies: string[];
  displayName?: string;
  metadata?: Record<string, string>;
  ttlSeconds?: number;
  maxTtlSeconds?: number;
  periodSeconds?: number;
  numUses?: number;
  renewable?: boolean;
  noDefaultPolicy?: boolean;
  boundCidrs?: string[];
  /** Filled by the core once the token exists. */
  clientToken?: string;
  accessor?: string;
  tokenPolicies?: string[];
  tokenType?: 'service' | 'batch';
  orphan?: boolean;
  entityId?: string;
}

export interface LogicalResponse {
  data?: Record<string, unknown> | null;
  auth?: AuthResult | null;
  warnings?: string[];
  leaseDurationSeconds?: number;
  renewable?: boolean;
  leaseId?: string;
  /**
   * A status other than 200 that still carries the envelope, e.g. the 404 a
   * deleted KV v2 version answers with its metadata.
   */
  status?: number;
  /** Copy every `data` key to the top level too (legacy `sys/` endpoints). */
  legacyTopLevel?: boolean;
  /** Raw non-JSON answer (for example a PEM body), with its content type. */
  raw?: { status?: number; contentType: string; body: string | Buffer };
  /** Set when the response was wrapped: the client gets this and nothing else. */
  wrapInfo?: WrapInfo;
}

/** Vault's `wrap_info` object, with its field names. */
export interface WrapInfo {
  token: string;
  accessor: string;
  ttl: number;
  creation_time: string;
  creation_path: string;
  /** The accessor of the token inside a wrapped login response. */
  wrapped_accessor?: string;
}

/** What a backend sees of the server when it handles a request. */
export interface BackendContext {
  /** Storage view private to this mount, already behind the barrier. */
  storage: Storage;
  /** Mount-level settings. */
  mount: MountInfo;
  /** Server-wide settings a backend may need (lease TTLs). */
  system: SystemView;
}

export interface MountInfo {
  path: string;
  type: string;
  uuid: string;
  accessor: string;
  description: string;
  options: Record<string, string>;
  defaultLeaseTtlSeconds: number;
  maxLeaseTtlSeconds: number;
  /** The mount's `user_lockout_config` (tune); undefined when never set. */
  userLockout?: UserLockoutConfig;
}

/**
 * Vault's per-mount user lockout (`user_lockout_config` on
 * `sys/auth/<path>/tune`): failed logins that lock, for how long, and after
 * how long old failures stop counting. Unset fields take the method's
 * defaults (Vault's: 5 failures, 15 minutes, 15 minutes).
 */
export interface UserLockoutConfig {
  threshold?: number;
  durationSeconds?: number;
  counterResetSeconds?: number;
  disable?: boolean;
}

export interface SystemView {
  defaultLeaseTtlSeconds: number;
  maxLeaseTtlSeconds: number;
  now(): Date;
  /**
   * Where the token store and backends record metrics (Vault's names with
   * `keep` for `vault`). The server's telemetry sets it when it starts, so
   * it is read at each use, never captured; absent in unit tests.
   */
  metrics?: MetricRecorder;
  /**
   * The server's logger, for work a backend does off the request path (a
   * background tidy) and for events an operator should see; absent in unit
   * tests. Fields, never secrets.
   */
  logger?: BackendLogger;
}

/** The part of the server's pino logger a backend uses. */
export interface BackendLogger {
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
}

/** The recording half of core/metrics.ts's registry, for layers below the core. */
export interface MetricRecorder {
  incr(name: string, value?: number, labels?: Record<string, string>): void;
  timing(name: string, ms: number, labels?: Record<string, string>): void;
}

/** A mounted engine or auth method. Built with `framework/backend.ts`. */
export interface Backend {
  readonly type: string;
  handle(req: LogicalRequest, ctx: BackendContext): Promise<LogicalResponse | undefined>;
  /** True when the path exists; decides create vs update for ACL checks. */
  exists(req: LogicalRequest, ctx: BackendContext): Promise<boolean | undefined>;
  /** Relative paths (globs with `*`) reachable without a token (logins). */
  readonly unauthenticatedPaths?: string[];
  /** Relative paths (globs with `*`) that also need `sudo` in the caller's policy. */
  readonly sudoPaths?: string[];
  /** Called once after mount and after every unseal. */
  initialize?(ctx: BackendContext): Promise<void>;
  /**
   * Called before the instance is dropped (seal, unmount) while its storage
   * is still open: stop timers and write out what is held in memory.
   */
  cleanup?(ctx: BackendContext): Promise<void>;
}
