import { isEntitledStatus, type AiDetectUsageOutput } from '@verifieddit/contracts';
import type { CatalogPort, SubscriptionReader } from '../billing/ports.js';
import { AppError } from '../errors.js';
import type { LogPort } from '../logger.js';
import type { Store } from '../store/ports.js';
import type { AiDetectionSettings, DetectionVerdict } from './ports.js';
import { Counters, RateBuckets, type BucketPolicy } from './repository.js';
import { secondsUntilNextUtcMonth } from './sightengine.js';

/**
 * The limits of AI detection, in the order `check` applies them:
 *  1. per-user rate limit (token bucket, default 10/min, burst 5): every attempt takes a token;
 *  2. per-user monthly quota from the plan (catalog `quotas.aiDetectionsPerMonth`; the free plan unless
 *     the subscription is entitled). **Cache hits count**: a check is a check, so what a user may do does
 *     not depend on what others uploaded, and a cached verdict is not a free oracle. Failures never count
 *     (the reservation is returned);
 *  3. the global monthly Sightengine budget (operations), reserved before each upstream call, so the
 *     account is never driven past it; only upstream calls spend it (cache hits and the local detector do not).
 * Every counter lives in the store, shared by replicas.
 */

const BUDGET_SCOPE = 'sightengine:operations';
const userScope = (userId: string) => `ai-detect:user:${userId}`;
const rateScope = (userId: string) => `ai-detect:rate:${userId}`;

/** The calendar month (UTC) a date falls in, e.g. `2026-12`: the period of quotas, the budget and the ledger. */
export function periodOf(date: Date): string {
  return `${date.getUTCFullYear()}-${String(date.getUTCMonth() + 1).padStart(2, '0')}`;
}
function resetOf(date: Date): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1));
}

export interface LimitsDeps {
  store: Store;
  catalog: CatalogPort;
  subscriptions: SubscriptionReader;
  config: Pick<AiDetectionSettings, 'monthlyBudget' | 'ratePerMinute' | 'rateBurst'>;
  log: LogPort;
  now: () => Date;
}

/** A check's limits as the store applies them: the user's token bucket and monthly quota. */
export interface CheckTerms {
  rate: { scope: string; policy: BucketPolicy; nowMs: number };
  quota: { scope: string; period: string; limit: number };
}

export function createLimits(deps: LimitsDeps) {
  const counters = new Counters(deps.store);
  const buckets = new RateBuckets(deps.store, () => deps.now().getTime());
  const policy = { perMinute: deps.config.ratePerMinute, burst: deps.config.rateBurst };

  async function quotaOf(userId: string): Promise<number> {
    const [status, plans] = await Promise.all([deps.subscriptions.statusOf(userId), deps.catalog.plans()]);
    const planId = isEntitledStatus(status.status) && status.plan ? status.plan : 'free';
    const plan = plans.find((candidate) => candidate.id === planId) ?? plans.find((candidate) => candidate.id === 'free');
    return plan?.quotas.aiDetectionsPerMonth ?? 0;
  }

  const rateLimited = (retryAfterSeconds: number) =>
    new AppError('RATE_LIMITED', 'too many detection requests, slow down', { retryAfterSeconds });

  return {
    rateLimited,

    /** Takes one token from the user's bucket, or refuses with RATE_LIMITED and Retry-After. */
    async takeRate(userId: string): Promise<void> {
      const rate = await buckets.take(rateScope(userId), policy);
      if (!rate.allowed) throw rateLimited(rate.retryAfterSeconds);
    },

    /** The user's limits at `at`, for the statement that applies them (admission.ts). */
    async termsOf(userId: string, at: Date): Promise<CheckTerms> {
      const period = periodOf(at);
      return {
        rate: { scope: rateScope(userId), policy, nowMs: at.getTime() },
        quota: { scope: userScope(userId), period, limit: await quotaOf(userId) },
      };
    },

    /** The QUOTA_EXCEEDED refusal of a check at `at`, with the reset as Retry-After. */
    quotaExceeded(limit: number, at: Date): AppError {
      const resetsAt = resetOf(at);
      return new AppError('QUOTA_EXCEEDED', `monthly detection quota (${limit}) used up; it resets at ${resetsAt.toISOString()}`, {
        details: { limit, resetsAt: resetsAt.toISOString() },
        retryAfterSeconds: Math.ceil((resetsAt.getTime() - at.getTime()) / 1000),
      });
    },

    /**
     * Gives back a reserved check (its detection failed: failures never count). A keyed check's
     * reservation (`onceKey`, its ledger key) may come from an earlier attempt, or be gone already:
     * it is given back only if recorded, and never once the charge is in the ledger.
     */
    refund(userId: string, period: string, onceKey?: string): Promise<void> {
      const given = onceKey === undefined ? counters.add(userScope(userId), period, -1) : counters.giveBackOnce(userScope(userId), period, onceKey);
      return given.catch((undo) => deps.log.error({ err: undo, userId }, 'could not return quota'));
    },

    /** Runs one upstream call under the global budget: reserved before, returned on failure, corrected after. */
    async spendBudget(call: () => Promise<DetectionVerdict>): Promise<DetectionVerdict> {
      const at = deps.now();
      const period = periodOf(at);
      const reserved = await counters.reserve(BUDGET_SCOPE, period, 1, deps.config.monthlyBudget);
      if (reserved === undefined) {
        deps.log.warn({ period, budget: deps.config.monthlyBudget }, 'sightengine monthly budget reached; upstream calls stopped');
        throw new AppError('DETECTION_QUOTA_EXHAUSTED', 'the detection service has used up this month’s allowance', {
          retryAfterSeconds: secondsUntilNextUtcMonth(at),
        });
      }
      let verdict: DetectionVerdict;
      try {
        verdict = await call();
      } catch (error) {
        // Sightengine charges nothing for failed calls (request.operations = 0).
        await counters.add(BUDGET_SCOPE, period, -1);
        throw error;
      }
      if (verdict.operations !== 1) await counters.add(BUDGET_SCOPE, period, verdict.operations - 1);
      return verdict;
    },

    async usage(userId: string): Promise<AiDetectUsageOutput> {
      const at = deps.now();
      const [limit, used, rate] = await Promise.all([quotaOf(userId), counters.get(userScope(userId), periodOf(at)), buckets.peek(rateScope(userId), policy)]);
      return {
        used,
        limit,
        resetsAt: resetOf(at).toISOString(),
        rateLimit: { limit: policy.burst, remaining: rate.remaining, retryAfterSeconds: rate.retryAfterSeconds },
      };
    },

    /** Our own count of upstream operations this month (for `pnpm billing sightengine usage`). */
    async budget(): Promise<{ period: string; used: number; budget: number }> {
      const period = periodOf(deps.now());
      return { period, used: await counters.get(BUDGET_SCOPE, period), budget: deps.config.monthlyBudget };
    },
  };
}
