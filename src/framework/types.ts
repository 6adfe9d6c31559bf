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
}

export interface SystemView {
  defaultLeaseTtlSeconds: number;
  maxLeaseTtlSeconds: number;
  now(): Date;
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
}
