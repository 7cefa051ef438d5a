import { createHash, randomUUID } from 'node:crypto';
import { MAX_IMAGE_BYTES, isEntitledStatus, type AiDetectCheckInput, type Plan } from '@verifieddit/contracts';
import { DEFAULT_CATALOG } from '../billing/catalog.js';
import type { CatalogPort, SubscriptionReader, UsageMeter } from '../billing/ports.js';
import { recordUsage } from '../billing/usage/ledger.js';
import { flushUsageOutbox, ledgerOnlyMeter, startUsageOutbox } from '../billing/usage/outbox.js';
import { AppError } from '../errors.js';
import type { LogPort } from '../logger.js';
import type { Store } from '../store/ports.js';
import { AnswerLog } from './answers.js';
import { fetchImage, sniffImageType, type FetchImageOptions, type SupportedImageType } from './fetch-image.js';
import { Counters, DetectionRepository, RateBuckets, type CachedVerdict } from './repository.js';
import type { AiDetection, AiDetectionSettings, DetectionVerdict, Detector } from './ports.js';
import { secondsUntilNextUtcMonth } from './sightengine.js';

/**
 * AI detection: bytes (uploaded or fetched safely) → SHA-256 → cached verdict, or exactly one upstream
 * call per image across every request and replica.
 *
 * Limits, in the order they apply to `check`:
 *  1. per-user rate limit (token bucket, default 10/min, burst 5): every attempt takes a token;
 *  2. per-user monthly quota from the plan (catalog `quotas.aiDetectionsPerMonth`; the free plan unless
 *     the subscription is entitled). **Cache hits count**: a check is a check, so what a user may do does
 *     not depend on what others uploaded, and a cached verdict is not a free oracle. Failures never count
 *     (the reservation is returned);
 *  3. the global monthly Sightengine budget (operations), reserved before each upstream call, so the
 *     account is never driven past it; only upstream calls spend it (cache hits and the local detector do not).
 * Every counted check is a usage-ledger row (unique key), sent to the meter by the outbox.
 *
 * The verdict cache is shared by every account, the answer is not: `cached` and `checkedAt` describe
 * what this account already knew (AnswerLog), so nobody learns that someone else checked an image.
 */

export interface AiDetectionDeps {
  store: Store;
  detector: Detector;
  catalog: CatalogPort & { active?(): Promise<{ catalog: { meters: { eventName: string }[] } }> };
  subscriptions: SubscriptionReader;
  /** The provider customer of an account, for meter events. */
  /** The account's provider customer, from checkout or from its subscription. */
  customers?: { billingCustomerOf(accountId: string): Promise<string | undefined> };
  meter?: UsageMeter;
  config: AiDetectionSettings;
  log: LogPort;
  /** Extra image-fetch options (tests: a stub resolver). */
  fetch?: Omit<FetchImageOptions, 'allowLoopback'>;
  now?: () => Date;
  /** Claim lease for the cross-replica single flight (a dead replica's claim is taken over after it). */
  claimLeaseMs?: number;
  /** How long a request waits for another replica's upstream call before giving up. */
  waitTimeoutMs?: number;
}

export const METER_EVENT_NAME = 'ai_detection';
const BUDGET_SCOPE = 'sightengine:operations';
const userScope = (userId: string) => `ai-detect:user:${userId}`;
const rateScope = (userId: string) => `ai-detect:rate:${userId}`;

export function periodOf(date: Date): string {
  return `${date.getUTCFullYear()}-${String(date.getUTCMonth() + 1).padStart(2, '0')}`;
}
export function resetOf(date: Date): Date {
  return new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function createAiDetection(deps: AiDetectionDeps): AiDetection {
  const now = deps.now ?? (() => new Date());
  const detections = new DetectionRepository(deps.store);
  const answers = new AnswerLog(deps.store);
  const counters = new Counters(deps.store);
  const buckets = new RateBuckets(deps.store, () => now().getTime());
  const policy = { perMinute: deps.config.ratePerMinute, burst: deps.config.rateBurst };
  const meter = deps.meter ?? ledgerOnlyMeter;
  // Longer than the detector's worst case (3 attempts × 20 s + backoff), so a live owner is never overtaken.
  const leaseMs = deps.claimLeaseMs ?? 120_000;
  const waitTimeoutMs = deps.waitTimeoutMs ?? 150_000;
  /**
   * Verdicts already read, kept in memory only while verdicts never expire (no TTL): a verdict for
   * given bytes does not change, so this skips one store read per cache hit. Bounded, oldest out.
   */
  const memo = new Map<string, DetectionVerdict>();
  const remember = (sha256: string, verdict: DetectionVerdict) => {
    if (deps.config.cacheTtlSeconds !== undefined) return;
    if (memo.size >= 10_000) memo.delete(memo.keys().next().value!);
    memo.set(sha256, verdict);
  };
  /** In-process single flight: one promise per image being resolved. */
  const inflight = new Map<string, Promise<{ verdict: DetectionVerdict; fresh: boolean }>>();

  async function planOf(userId: string): Promise<{ plan: Plan | undefined; limit: number }> {
    const [status, plans] = await Promise.all([deps.subscriptions.statusOf(userId), deps.catalog.plans()]);
    const planId = isEntitledStatus(status.status) && status.plan ? status.plan : 'free';
    const plan = plans.find((candidate) => candidate.id === planId) ?? plans.find((candidate) => candidate.id === 'free');
    return { plan, limit: plan?.quotas.aiDetectionsPerMonth ?? 0 };
  }

  async function eventName(): Promise<string> {
    const meters = deps.catalog.active ? (await deps.catalog.active()).catalog.meters : DEFAULT_CATALOG.meters;
    return (meters.find((m) => m.eventName === METER_EVENT_NAME) ?? meters[0])?.eventName ?? METER_EVENT_NAME;
  }

  const sniffed = async (bytes: Buffer): Promise<SupportedImageType> => {
    // The declared type is not trusted: the bytes decide.
    const mimeType = await sniffImageType(bytes);
    if (!mimeType) throw new AppError('UNSUPPORTED_MEDIA', 'not a supported image');
    return mimeType;
  };

  /** The bytes, and their type when already known (fetched URLs are sniffed while fetching). */
  async function bytesOf(input: AiDetectCheckInput): Promise<{ bytes: Buffer; mimeType: SupportedImageType | undefined }> {
    if ('url' in input) {
      const fetched = await fetchImage(input.url, { ...deps.fetch, allowLoopback: deps.config.fetchAllowLoopback });
      return { bytes: fetched.bytes, mimeType: fetched.mimeType };
    }
    const text = input.image.replace(/^data:[^,]*;base64,/, '').replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(text)) throw new AppError('VALIDATION_FAILED', 'image must be base64');
    const bytes = Buffer.from(text, 'base64');
    if (bytes.length > MAX_IMAGE_BYTES) throw new AppError('IMAGE_TOO_LARGE', `the image is larger than ${MAX_IMAGE_BYTES} bytes`);
    if (bytes.length === 0) throw new AppError('VALIDATION_FAILED', 'image is empty');
    return { bytes, mimeType: undefined };
  }

  async function upstream(bytes: Buffer, knownType: SupportedImageType | undefined): Promise<DetectionVerdict> {
    const mimeType = knownType ?? (await sniffed(bytes));
    if (deps.detector.provider === 'local') return deps.detector.detect(bytes, mimeType);
    const at = now();
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
      verdict = await deps.detector.detect(bytes, mimeType);
    } catch (error) {
      // Sightengine charges nothing for failed calls (request.operations = 0).
      await counters.add(BUDGET_SCOPE, period, -1);
      throw error;
    }
    if (verdict.operations !== 1) await counters.add(BUDGET_SCOPE, period, verdict.operations - 1);
    return verdict;
  }

  /** Cache, or one upstream call across replicas: claim a pending row, or wait for whoever holds it. */
  async function acrossReplicas(sha256: string, bytes: Buffer, mimeType: SupportedImageType | undefined): Promise<{ verdict: DetectionVerdict; fresh: boolean }> {
    const deadline = Date.now() + waitTimeoutMs;
    let pause = 10;
    const known = memo.get(sha256);
    if (known) return { verdict: known, fresh: false };
    for (;;) {
      const hit: CachedVerdict | undefined = await detections.cached(sha256);
      if (hit) {
        remember(sha256, hit);
        return { verdict: hit, fresh: false };
      }
      const claim = await detections.claim(sha256, leaseMs);
      if (claim.kind === 'cached') return { verdict: claim.verdict, fresh: false };
      if (claim.kind === 'owner') {
        try {
          const verdict = await upstream(bytes, mimeType);
          await detections.complete(sha256, claim.token, verdict, deps.config.cacheTtlSeconds);
          remember(sha256, { ...verdict, operations: 0 });
          return { verdict, fresh: true };
        } catch (error) {
          await detections.release(sha256, claim.token).catch((releaseError) => deps.log.warn({ err: releaseError }, 'could not release claim'));
          throw error;
        }
      }
      // Another replica is asking upstream: wait until its claim completes, fails or expires.
      while ((await detections.pending(sha256)) && Date.now() < deadline) {
        await sleep(pause);
        pause = Math.min(250, pause * 2);
      }
      if (Date.now() >= deadline) throw new AppError('DETECTION_UNAVAILABLE', 'timed out waiting for the detection of this image');
    }
  }

  function singleFlight(sha256: string, bytes: Buffer, mimeType: SupportedImageType | undefined): Promise<{ verdict: DetectionVerdict; fresh: boolean; joined: boolean }> {
    const existing = inflight.get(sha256);
    if (existing) return existing.then((result) => ({ ...result, joined: true }));
    const started = acrossReplicas(sha256, bytes, mimeType);
    inflight.set(sha256, started);
    const clear = () => void inflight.delete(sha256);
    started.then(clear, clear);
    return started.then((result) => ({ ...result, joined: false }));
  }

  return {
    async check({ userId, requestId, input }) {
      const rate = await buckets.take(rateScope(userId), policy);
      if (!rate.allowed) {
        throw new AppError('RATE_LIMITED', 'too many detection requests, slow down', { retryAfterSeconds: rate.retryAfterSeconds });
      }
      const { bytes, mimeType: knownType } = await bytesOf(input);
      const sha256 = createHash('sha256').update(bytes).digest('hex');
      // Bytes with a remembered verdict were sniffed when it was made; anything else is sniffed now.
      const mimeType = knownType ?? (memo.has(sha256) ? undefined : await sniffed(bytes));

      const at = now();
      const period = periodOf(at);
      const { limit } = await planOf(userId);
      const reserved = await counters.reserve(userScope(userId), period, 1, limit);
      if (reserved === undefined) {
        const resetsAt = resetOf(at);
        throw new AppError('QUOTA_EXCEEDED', `monthly detection quota (${limit}) used up; it resets at ${resetsAt.toISOString()}`, {
          details: { limit, resetsAt: resetsAt.toISOString() },
          retryAfterSeconds: Math.ceil((resetsAt.getTime() - at.getTime()) / 1000),
        });
      }
      let result: { verdict: DetectionVerdict; fresh: boolean; joined: boolean };
      try {
        result = await singleFlight(sha256, bytes, mimeType);
      } catch (error) {
        await counters.add(userScope(userId), period, -1).catch((undo) => deps.log.error({ err: undo, userId }, 'could not return quota'));
        throw error;
      }
      // The ledger notes whether this check cost an upstream call; the answer only says what this
      // account already knew (see AnswerLog): another account's check of the same image is invisible.
      const cached = !result.fresh || result.joined;
      const answer = await answers.answer(userId, sha256, result.verdict, result.fresh && !result.joined, now());
      await recordUsage(deps.store, {
        key: `ai-detect:${period}:${userId}:${randomUUID()}`,
        accountId: userId,
        period,
        eventName: await eventName(),
        quantity: 1,
        imageSha256: sha256,
        cached,
      });
      const { verdict } = result;
      return {
        aiGenerated: verdict.aiGenerated,
        ...(verdict.generators ? { generators: verdict.generators } : {}),
        imageSha256: sha256,
        cached: answer.cached,
        provider: verdict.provider,
        requestId,
        checkedAt: answer.checkedAt,
      };
    },

    async usage(userId) {
      const at = now();
      const [{ limit }, used, rate] = await Promise.all([planOf(userId), counters.get(userScope(userId), periodOf(at)), buckets.peek(rateScope(userId), policy)]);
      return {
        used,
        limit,
        resetsAt: resetOf(at).toISOString(),
        rateLimit: { limit: policy.burst, remaining: rate.remaining, retryAfterSeconds: rate.retryAfterSeconds },
      };
    },

    flushOutbox: () =>
      flushUsageOutbox({ store: deps.store, meter, log: deps.log, customerOf: async (id) => deps.customers?.billingCustomerOf(id) }),

    startOutbox: (intervalMs) =>
      startUsageOutbox({ store: deps.store, meter, log: deps.log, intervalMs, customerOf: async (id) => deps.customers?.billingCustomerOf(id) }),

    async budget() {
      const period = periodOf(now());
      return { period, used: await counters.get(BUDGET_SCOPE, period), budget: deps.config.monthlyBudget };
    },
  };
}
