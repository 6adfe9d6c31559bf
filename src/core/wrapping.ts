/**
 * Response wrapping: a response travels as a single-use token instead of in
 * the clear, so a secret ID can pass through a deploy log or an object store
 * without being usable by whoever sees it on the way.
 *
 * As in Vault, the response is kept in the cubbyhole of a new orphan token
 * (policy `response-wrapping`, one use, the wrap TTL as its TTL) at
 * `response`, in the shape `cubbyhole/response` reads return; the client gets
 * only `wrap_info`. Unwrapping spends the token's one use, so of two racing
 * unwraps exactly one gets the response.
 */
import type { TokenEntry, TokenStore } from '../auth/token/store.ts';
import { decodeJson, encodeJson } from '../engines/kv/wire-format.ts';
import type { AuthResult, LogicalResponse, SystemView, WrapInfo } from '../framework/types.ts';
import { BadRequestError } from '../lib/errors.ts';
import type { Storage } from '../storage/types.ts';
import { StorageView } from './storage-view.ts';

export const WRAPPING_POLICY = 'response-wrapping';
const RESPONSE_KEY = 'response';

/** What is kept for a wrapped response: enough to answer the unwrap as the original would. */
interface StoredResponse {
  data?: Record<string, unknown> | null;
  auth?: AuthResult | null;
  warnings?: string[];
  lease_duration?: number;
  renewable?: boolean;
  lease_id?: string;
}

export class ResponseWrapper {
  readonly #tokens: TokenStore;
  /** The cubbyhole mount's storage, where each token has a `<tokenHash>/` folder. */
  readonly #cubbyhole: () => Storage;
  readonly #system: SystemView;

  constructor(opts: { tokens: TokenStore; cubbyhole: () => Storage; system: SystemView }) {
    this.#tokens = opts.tokens;
    this.#cubbyhole = opts.cubbyhole;
    this.#system = opts.system;
  }

  /** Checks a requested wrap TTL: at least a second, at most the system's max lease TTL. */
  checkTtl(ttlSeconds: number): void {
    if (!Number.isFinite(ttlSeconds) || ttlSeconds < 1) {
      throw new BadRequestError('wrapping TTL must be at least one second');
    }
    if (ttlSeconds > this.#system.maxLeaseTtlSeconds) {
      throw new BadRequestError('wrapping TTL is more than the maximum allowed');
    }
  }

  /** Wraps `resp`; returns the response the client gets, carrying only `wrapInfo`. */
  async wrap(resp: LogicalResponse, ttlSeconds: number, creationPath: string) {
    this.checkTtl(ttlSeconds);
    const created = await this.#tokens.create(
      {
        policies: [WRAPPING_POLICY],
        noDefaultPolicy: true,
        ttlSeconds,
        explicitMaxTtlSeconds: ttlSeconds,
        numUses: 1,
        renewable: false,
        path: creationPath,
        displayName: 'response-wrapping',
        responseWrapping: true,
      },
      undefined,
    );
    const stored: StoredResponse = {
      data: resp.data ?? null,
      auth: resp.auth ?? null,
      warnings: resp.warnings,
      lease_duration: resp.leaseDurationSeconds,
      renewable: resp.renewable,
      lease_id: resp.leaseId,
    };
    try {
      await this.#folder(created.entry).put(
        RESPONSE_KEY,
        encodeJson({ response: JSON.stringify(stored) }),
      );
    } catch (err) {
      await this.#tokens.revoke(created.entry);
      throw err;
    }
    const wrapInfo: WrapInfo = {
      token: created.token,
      accessor: created.entry.accessor,
      ttl: ttlSeconds,
      creation_time: new Date(created.entry.creationTimeMs).toISOString(),
      creation_path: creationPath,
    };
    if (resp.auth?.accessor) wrapInfo.wrapped_accessor = resp.auth.accessor;
    return { wrapInfo } satisfies LogicalResponse;
  }

  /**
   * The wrapped response of `token`, spending the token. `alreadySpent` is
   * set when the token came as the request's own token, whose one use the
   * core spent on this request (and whose revocation follows it).
   */
  async unwrap(token: string, alreadySpent: boolean): Promise<LogicalResponse> {
    let entry = await this.#wrappingEntry(token, alreadySpent);
    if (!alreadySpent) {
      // Spend the one use first: of two racing unwraps, only one gets past here.
      const used = await this.#tokens.useToken(entry, { deferRevocation: true }).catch(() => {
        throw invalidToken();
      });
      if (!used) throw invalidToken();
      entry = used;
    }
    try {
      const raw = await this.#folder(entry).get(RESPONSE_KEY);
      if (!raw) throw invalidToken();
      const stored = JSON.parse(decodeJson<{ response: string }>(raw).response) as StoredResponse;
      return {
        data: stored.data ?? null,
        auth: stored.auth ?? null,
        warnings: stored.warnings,
        leaseDurationSeconds: stored.lease_duration,
        renewable: stored.renewable,
        leaseId: stored.lease_id,
      };
    } finally {
      // The request's own token is revoked by the core after the request.
      if (!alreadySpent) await this.#tokens.revoke(entry);
    }
  }

  /** `sys/wrapping/lookup`: what the token wraps, without spending it. */
  async lookup(token: string): Promise<Record<string, unknown>> {
    const entry = await this.#wrappingEntry(token, false);
    return {
      creation_ttl: entry.ttlSeconds,
      creation_time: new Date(entry.creationTimeMs).toISOString(),
      creation_path: entry.path,
    };
  }

  /** `sys/wrapping/rewrap`: the same response under a new token; the old one is spent. */
  async rewrap(token: string): Promise<LogicalResponse> {
    const entry = await this.#wrappingEntry(token, false);
    const creationPath = entry.path;
    const ttl = entry.ttlSeconds;
    const resp = await this.unwrap(token, false);
    return this.wrap(resp, ttl, creationPath);
  }

  async #wrappingEntry(token: string, includePending: boolean): Promise<TokenEntry> {
    if (!token) throw new BadRequestError('missing "token"');
    const entry = await this.#tokens.lookup(token, { includePending });
    if (entry?.policies.length !== 1 || entry.policies[0] !== WRAPPING_POLICY) {
      throw invalidToken();
    }
    return entry;
  }

  #folder(entry: TokenEntry): StorageView {
    return new StorageView(this.#cubbyhole(), `${entry.hash}/`);
  }
}

function invalidToken(): BadRequestError {
  return new BadRequestError('wrapping token is not valid or does not exist');
}
