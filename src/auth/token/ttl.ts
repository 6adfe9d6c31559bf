/**
 * Token lifetimes, computed the way Vault's `CalculateTTL` does, so a client
 * asking for a TTL, a period or an increment gets the number Vault would give.
 */
import { BadRequestError } from '../../lib/errors.ts';

export interface SystemTtls {
  defaultLeaseTtlSeconds: number;
  maxLeaseTtlSeconds: number;
}

export interface TtlRequest {
  /** Renewal increment asked for; 0 when creating or when none was given. */
  incrementSeconds: number;
  /** TTL asked for at creation, or granted by the last renewal. */
  ttlSeconds: number;
  periodSeconds: number;
  /** Max TTL set by the issuing auth method (a role), 0 when none. */
  maxTtlSeconds: number;
  explicitMaxTtlSeconds: number;
  /** When the token was issued, unix seconds: max TTLs count from here. */
  startSeconds: number;
  nowSeconds: number;
}

export interface TtlResult {
  ttlSeconds: number;
  /** Unix seconds the token may not outlive; undefined for an uncapped periodic token. */
  deadlineSeconds?: number;
  warnings: string[];
}

/**
 * The effective max is the smallest of the system max, the method's max and
 * the explicit max. A periodic token gets its period each time and only an
 * explicit max bounds its life; any other token gets the increment, else the
 * asked TTL, else the system default, never past issue time + effective max.
 */
export function calculateTtl(system: SystemTtls, req: TtlRequest): TtlResult {
  const warnings: string[] = [];
  let maxTtl = system.maxLeaseTtlSeconds;
  if (req.maxTtlSeconds > 0 && req.maxTtlSeconds < maxTtl) maxTtl = req.maxTtlSeconds;
  if (req.explicitMaxTtlSeconds > 0 && req.explicitMaxTtlSeconds < maxTtl) {
    maxTtl = req.explicitMaxTtlSeconds;
  }
  // A zero system max is a configuration error, not the caller's fault.
  if (maxTtl <= 0) throw new Error('max TTL must be greater than zero');

  let ttl: number;
  let deadline: number | undefined;
  if (req.periodSeconds > 0) {
    ttl = req.periodSeconds;
    if (ttl > maxTtl) {
      warnings.push(
        `period of "${humanDuration(ttl)}" exceeded the effective max_ttl of ` +
          `"${humanDuration(maxTtl)}"; period value is capped accordingly`,
      );
      ttl = maxTtl;
    }
    if (req.explicitMaxTtlSeconds > 0) deadline = req.startSeconds + req.explicitMaxTtlSeconds;
  } else {
    if (req.incrementSeconds > 0) ttl = req.incrementSeconds;
    else if (req.ttlSeconds > 0) ttl = req.ttlSeconds;
    else ttl = system.defaultLeaseTtlSeconds;
    deadline = req.startSeconds + maxTtl;
  }

  if (deadline !== undefined) {
    const left = deadline - req.nowSeconds;
    if (left <= 0) throw new BadRequestError('past the max TTL, cannot renew');
    if (ttl > left) {
      warnings.push(
        `TTL of "${humanDuration(ttl)}" exceeded the effective max_ttl of ` +
          `"${humanDuration(left)}"; TTL value is capped accordingly`,
      );
      ttl = left;
    }
  }
  return { ttlSeconds: ttl, deadlineSeconds: deadline, warnings };
}

/** Go's duration text without zero parts (`1h`, `1h30m`, `90s` → `1m30s`), as Vault's warnings. */
export function humanDuration(seconds: number): string {
  if (seconds <= 0) return '0s';
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}`;
}
