import { randomUUID } from 'node:crypto';
import type { Store } from '../store/ports.js';
import type { Rows } from '../store/rows.js';
import type { DetectionVerdict } from './ports.js';

/**
 * The store side of AI detection: the verdict cache with its cross-replica single-flight claim,
 * shared counters (user quota, Sightengine budget) and per-user token buckets. Every operation is a
 * single SQL statement, atomic on PGlite and on PostgreSQL alike (a cached check's are combined in
 * the `ai_detect_admit` function, admission.ts).
 */

export interface CachedVerdict extends DetectionVerdict {
  sha256: string;
}

export type ClaimOutcome = { kind: 'owner'; token: string } | { kind: 'cached'; verdict: CachedVerdict } | { kind: 'busy' };

/** The columns a verdict is made of. */
type VerdictRow = Pick<Rows['ai_detections'], 'sha256' | 'ai_generated' | 'generators' | 'provider' | 'checked_at'>;

const iso = (value: Date | string) => new Date(value).toISOString();

export function verdictOf(row: VerdictRow): CachedVerdict {
  // jsonb: parsed by both drivers; a string only if something stored JSON text.
  const generators = (typeof row.generators === 'string' ? JSON.parse(row.generators) : row.generators) as Record<string, number> | null;
  return {
    sha256: row.sha256,
    aiGenerated: Number(row.ai_generated),
    ...(generators ? { generators } : {}),
    provider: row.provider === 'local' ? 'local' : 'sightengine',
    checkedAt: iso(row.checked_at!),
    operations: 0,
  };
}

export class DetectionRepository {
  constructor(private readonly store: Store) {}

  /** A fresh (unexpired) verdict, if any. */
  async cached(sha256: string): Promise<CachedVerdict | undefined> {
    const [row] = await this.store.query<VerdictRow>(
      `SELECT sha256, ai_generated, generators, provider, checked_at FROM ai_detections WHERE sha256 = $1 AND state = 'done' AND (expires_at IS NULL OR expires_at > now())`,
      [sha256],
    );
    return row ? verdictOf(row) : undefined;
  }

  /**
   * Claims the right to ask upstream for these bytes: succeeds when no row exists, the previous claim's
   * lease ran out (its replica died) or the cached verdict expired. Otherwise reports the verdict or busy.
   */
  async claim(sha256: string, leaseMs: number): Promise<ClaimOutcome> {
    const token = randomUUID();
    const claimed = await this.store.query<Pick<Rows['ai_detections'], 'claim_token'>>(
      `INSERT INTO ai_detections (sha256, state, claim_token, claimed_until)
       VALUES ($1, 'pending', $2, now() + make_interval(secs => $3))
       ON CONFLICT (sha256) DO UPDATE SET state = 'pending', claim_token = EXCLUDED.claim_token,
         claimed_until = EXCLUDED.claimed_until, updated_at = now()
       WHERE (ai_detections.state = 'pending' AND ai_detections.claimed_until < now())
          OR (ai_detections.state = 'done' AND ai_detections.expires_at IS NOT NULL AND ai_detections.expires_at <= now())
       RETURNING claim_token`,
      [sha256, token, leaseMs / 1000],
    );
    if (claimed[0]?.claim_token === token) return { kind: 'owner', token };
    const verdict = await this.cached(sha256);
    return verdict ? { kind: 'cached', verdict } : { kind: 'busy' };
  }

  /** Stores the verdict under our claim (a claim taken over after our lease ran out is left alone). */
  async complete(sha256: string, token: string, verdict: DetectionVerdict, ttlSeconds: number | undefined): Promise<void> {
    await this.store.query(
      `UPDATE ai_detections SET state = 'done', claim_token = NULL, claimed_until = NULL, ai_generated = $3, generators = $4::jsonb,
         provider = $5, checked_at = $6, expires_at = CASE WHEN $7::double precision IS NULL THEN NULL ELSE now() + make_interval(secs => $7::double precision) END,
         updated_at = now()
       WHERE sha256 = $1 AND claim_token = $2`,
      [sha256, token, verdict.aiGenerated, verdict.generators ? JSON.stringify(verdict.generators) : null, verdict.provider, verdict.checkedAt, ttlSeconds ?? null],
    );
  }

  /** Failures are never cached: drop our claim so the next request asks again. */
  async release(sha256: string, token: string): Promise<void> {
    await this.store.query(`DELETE FROM ai_detections WHERE sha256 = $1 AND claim_token = $2 AND state = 'pending'`, [sha256, token]);
  }

  /** Whether someone still holds a live claim (false once it completed, failed or its lease ran out). */
  async pending(sha256: string): Promise<boolean> {
    const rows = await this.store.query(`SELECT 1 FROM ai_detections WHERE sha256 = $1 AND state = 'pending' AND claimed_until >= now()`, [sha256]);
    return rows.length > 0;
  }
}

/** Monthly counters in `usage_counters` (scope, period), shared by every replica. */
export class Counters {
  constructor(private readonly store: Store) {}

  /** Adds `amount` unless that would pass `limit`; returns the new value, or undefined when refused. */
  async reserve(scope: string, period: string, amount: number, limit: number): Promise<number | undefined> {
    if (amount > limit) return undefined;
    const rows = await this.store.query<Pick<Rows['usage_counters'], 'used'>>(
      `INSERT INTO usage_counters (scope, period, used) VALUES ($1, $2, $3)
       ON CONFLICT (scope, period) DO UPDATE SET used = usage_counters.used + EXCLUDED.used
       WHERE usage_counters.used + EXCLUDED.used <= $4
       RETURNING used`,
      [scope, period, amount, limit],
    );
    return rows[0] ? Number(rows[0].used) : undefined;
  }

  /** Adds without a limit (e.g. an answer that cost more operations than reserved). */
  async add(scope: string, period: string, amount: number): Promise<void> {
    await this.store.query(
      `INSERT INTO usage_counters (scope, period, used) VALUES ($1, $2, $3)
       ON CONFLICT (scope, period) DO UPDATE SET used = GREATEST(0, usage_counters.used + EXCLUDED.used)`,
      [scope, period, amount],
    );
  }

  /** Takes back a keyed check's recorded reservation (migration 0012), unless its charge reached the ledger. */
  async giveBackOnce(scope: string, period: string, usageKey: string): Promise<void> {
    await this.store.query(
      `WITH released AS (
         DELETE FROM ai_detect_quota_charges q WHERE q.usage_key = $3 AND NOT EXISTS (SELECT 1 FROM usage_ledger l WHERE l.key = $3)
         RETURNING 1)
       UPDATE usage_counters SET used = GREATEST(0, used - 1) WHERE scope = $1 AND period = $2 AND EXISTS (SELECT 1 FROM released)`,
      [scope, period, usageKey],
    );
  }

  async get(scope: string, period: string): Promise<number> {
    const rows = await this.store.query<Pick<Rows['usage_counters'], 'used'>>('SELECT used FROM usage_counters WHERE scope = $1 AND period = $2', [scope, period]);
    return rows[0] ? Number(rows[0].used) : 0;
  }
}

export interface BucketPolicy {
  /** Tokens added per minute. */
  perMinute: number;
  /** Bucket size (the burst). */
  burst: number;
}

export type TakeResult = { allowed: true; remaining: number } | { allowed: false; remaining: 0; retryAfterSeconds: number };

/** Token buckets in `ai_rate_buckets`: refill and take in one atomic upsert, so replicas share them. */
export class RateBuckets {
  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  async take(scope: string, policy: BucketPolicy): Promise<TakeResult> {
    const now = this.now();
    const perMs = policy.perMinute / 60_000;
    const rows = await this.store.query<Pick<Rows['ai_rate_buckets'], 'tokens'>>(
      `INSERT INTO ai_rate_buckets (scope, tokens, updated_ms) VALUES ($1, $2::double precision - 1, $3)
       ON CONFLICT (scope) DO UPDATE SET
         tokens = LEAST($2::double precision, ai_rate_buckets.tokens + GREATEST(0, $3 - ai_rate_buckets.updated_ms) * $4) - 1,
         updated_ms = GREATEST(ai_rate_buckets.updated_ms, $3)
       WHERE LEAST($2::double precision, ai_rate_buckets.tokens + GREATEST(0, $3 - ai_rate_buckets.updated_ms) * $4) >= 1
       RETURNING tokens`,
      [scope, policy.burst, now, perMs],
    );
    if (rows[0]) return { allowed: true, remaining: Math.floor(Number(rows[0].tokens)) };
    const state = await this.peek(scope, policy);
    return { allowed: false, remaining: 0, retryAfterSeconds: Math.max(1, state.retryAfterSeconds) };
  }

  /** The bucket as it stands now, without taking. */
  async peek(scope: string, policy: BucketPolicy): Promise<{ remaining: number; retryAfterSeconds: number }> {
    const rows = await this.store.query<BucketRow>('SELECT tokens, updated_ms FROM ai_rate_buckets WHERE scope = $1', [scope]);
    return bucketAt(rows[0], policy, this.now());
  }
}

type BucketRow = Pick<Rows['ai_rate_buckets'], 'tokens' | 'updated_ms'>;

/** A bucket as it stands at `nowMs` (refilled since its last take), from its stored row (none: full). */
export function bucketAt(row: BucketRow | undefined, policy: BucketPolicy, nowMs: number): { remaining: number; retryAfterSeconds: number } {
  const perMs = policy.perMinute / 60_000;
  const tokens = row ? Math.min(policy.burst, Number(row.tokens) + Math.max(0, nowMs - Number(row.updated_ms)) * perMs) : policy.burst;
  return { remaining: Math.floor(tokens), retryAfterSeconds: tokens >= 1 ? 0 : Math.ceil((1 - tokens) / perMs / 1000) };
}
