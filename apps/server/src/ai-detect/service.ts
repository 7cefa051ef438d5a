import { hash, randomUUID } from 'node:crypto';
import { MAX_IMAGE_BYTES, type AiDetectCheckInput, type AiDetectCheckOutput } from '@verifieddit/contracts';
import type { CatalogPort, SubscriptionReader, UsageLedger } from '../billing/ports.js';
import { AppError } from '../errors.js';
import type { LogPort } from '../logger.js';
import type { Store } from '../store/ports.js';
import { admitter } from './admission.js';
import { AnswerLog, type Answer } from './answers.js';
import { createIdempotency, type ChargeId } from './idempotency.js';
import { fetchImage, sniffImageType, type FetchImageOptions, type SupportedImageType } from './fetch-image.js';
import { createLimits } from './limits.js';
import type { AiDetection, AiDetectionSettings, DetectionVerdict, Detector } from './ports.js';
import { createVerdictCache } from './verdicts.js';

/**
 * AI detection: bytes (uploaded or fetched safely) → SHA-256 → cached verdict, or exactly one upstream
 * call per image across every request and replica (verdicts.ts), under the limits (limits.ts). Every
 * counted check is recorded in billing's usage ledger, which meters it.
 *
 * The verdict cache is shared by every account, the answer is not: `cached` and `checkedAt` describe
 * what this account already knew (AnswerLog), so nobody learns that someone else checked an image.
 */

export interface AiDetectionDeps {
  store: Store;
  detector: Detector;
  catalog: CatalogPort;
  subscriptions: SubscriptionReader;
  usage: UsageLedger;
  config: AiDetectionSettings;
  log: LogPort;
  /** Extra image-fetch options (tests: a stub resolver). */
  fetch?: Omit<FetchImageOptions, 'allowLoopback'>;
  now?: () => Date;
  /** Claim lease for the cross-replica single flight (a dead replica's claim is taken over after it). */
  claimLeaseMs?: number;
  /** An idempotency key's claim lease (idempotency.ts; renewed while its check runs). */
  keyLeaseMs?: number;
  /** How long a request waits for another replica's upstream call before giving up. */
  waitTimeoutMs?: number;
  /** How long a group of admissions' statement may take before its checks fail (admission.ts; default 10 s). */
  admissionDeadlineMs?: number;
}

/** The catalog meter detections count towards. */
const METER_EVENT_NAME = 'ai_detection';

/** Standard or URL-safe base64, whitespace allowed, optionally as a data: URL. */
const BASE64 = /^(?:data:[^,]*;base64,)?[A-Za-z0-9+/_\-\s]*(?:=\s*){0,2}$/;

const sniffed = async (bytes: Buffer): Promise<SupportedImageType> => {
  // The declared type is not trusted: the bytes decide.
  const mimeType = await sniffImageType(bytes);
  if (!mimeType) throw new AppError('UNSUPPORTED_MEDIA', 'not a supported image');
  return mimeType;
};

function answerOf(verdict: DetectionVerdict, sha256: string, answer: Answer, requestId: string): AiDetectCheckOutput {
  return {
    aiGenerated: verdict.aiGenerated,
    ...(verdict.generators ? { generators: verdict.generators } : {}),
    imageSha256: sha256,
    cached: answer.cached,
    provider: verdict.provider,
    requestId,
    checkedAt: answer.checkedAt,
  };
}

export function createAiDetection(deps: AiDetectionDeps): AiDetection {
  const now = deps.now ?? (() => new Date());
  const answers = new AnswerLog(deps.store);
  const admit = admitter(deps.store, deps.usage, deps.admissionDeadlineMs === undefined ? {} : { deadlineMs: deps.admissionDeadlineMs });
  const limits = createLimits({ store: deps.store, catalog: deps.catalog, subscriptions: deps.subscriptions, config: deps.config, log: deps.log, now });
  const keys = createIdempotency({
    store: deps.store,
    log: deps.log,
    now,
    ...(deps.keyLeaseMs === undefined ? {} : { claimLeaseMs: deps.keyLeaseMs }),
    ...(deps.waitTimeoutMs === undefined ? {} : { waitTimeoutMs: deps.waitTimeoutMs }),
  });
  const verdicts = createVerdictCache(deps.store, {
    cacheTtlSeconds: deps.config.cacheTtlSeconds,
    log: deps.log,
    ...(deps.claimLeaseMs === undefined ? {} : { claimLeaseMs: deps.claimLeaseMs }),
    ...(deps.waitTimeoutMs === undefined ? {} : { waitTimeoutMs: deps.waitTimeoutMs }),
  });

  /** The bytes, and their type when already known (fetched URLs are sniffed while fetching). */
  async function bytesOf(input: AiDetectCheckInput): Promise<{ bytes: Buffer; mimeType: SupportedImageType | undefined }> {
    if ('url' in input) {
      const fetched = await fetchImage(input.url, { ...deps.fetch, allowLoopback: deps.config.fetchAllowLoopback });
      return { bytes: fetched.bytes, mimeType: fetched.mimeType };
    }
    if (!BASE64.test(input.image)) throw new AppError('VALIDATION_FAILED', 'image must be base64');
    // The decoder skips whitespace itself: no copy of the upload without it.
    const bytes = Buffer.from(input.image.startsWith('data:') ? input.image.slice(input.image.indexOf(',') + 1) : input.image, 'base64');
    if (bytes.length > MAX_IMAGE_BYTES) throw new AppError('IMAGE_TOO_LARGE', `the image is larger than ${MAX_IMAGE_BYTES} bytes`);
    if (bytes.length === 0) throw new AppError('VALIDATION_FAILED', 'image is empty');
    return { bytes, mimeType: undefined };
  }

  type Prepared = { takenEarly: boolean; image: { bytes: Buffer; sha256: string; mimeType: SupportedImageType | undefined } };

  /** The check's bytes and their hash, under the rate limit for a URL (see `check`). */
  async function prepare(userId: string, input: AiDetectCheckInput): Promise<Prepared> {
    // A URL is fetched only under the rate limit; an upload's bytes are decoded and hashed first, so
    // that the token, the quota and a cached verdict cost one statement together (admission.ts).
    const takenEarly = 'url' in input;
    if (takenEarly) await limits.takeRate(userId);
    try {
      const { bytes, mimeType: knownType } = await bytesOf(input);
      const sha256 = hash('sha256', bytes);
      // Bytes with a remembered verdict were sniffed when it was made; anything else is sniffed now.
      return { takenEarly, image: { bytes, sha256, mimeType: knownType ?? (verdicts.knows(sha256) ? undefined : await sniffed(bytes)) } };
    } catch (error) {
      // Bad input is still an attempt: it takes a token, and being rate limited is what it is told first.
      if (!takenEarly) await limits.takeRate(userId);
      throw error;
    }
  }

  /** Admits and charges the check, then answers it; `keyed` names the charge of a keyed check (idempotency.ts). */
  async function charged(userId: string, requestId: string, { takenEarly, image }: Prepared, keyed?: ChargeId): Promise<AiDetectCheckOutput> {
    const chargeId = keyed ?? randomUUID();
    const at = now();
    const { bytes, sha256 } = image;
    const terms = await limits.termsOf(userId, at);
    const { period } = terms.quota;
    const usageOf = (cached: boolean) => ({
      key: `ai-detect:${period}:${userId}:${chargeId}`,
      accountId: userId,
      period,
      meter: METER_EVENT_NAME,
      quantity: 1,
      imageSha256: sha256,
      cached,
    });
    const admission = await admit({ accountId: userId, sha256, terms, takeRate: !takenEarly, usage: usageOf(true), now: at, once: keyed !== undefined });
    if (admission.kind === 'rate-limited') throw limits.rateLimited(admission.retryAfterSeconds);
    if (admission.kind === 'quota-exceeded') throw limits.quotaExceeded(terms.quota.limit, at);
    if (admission.kind === 'hit') {
      verdicts.remember(sha256);
      return answerOf(admission.verdict, sha256, admission.answer, requestId);
    }

    // A miss: the token and the quota are taken; one upstream call across replicas (verdicts.ts).
    const upstream = async () => {
      const type = image.mimeType ?? (await sniffed(bytes));
      if (deps.detector.provider === 'local') return deps.detector.detect(bytes, type);
      return limits.spendBudget(() => deps.detector.detect(bytes, type));
    };
    let result;
    try {
      result = await verdicts.resolve(sha256, upstream);
    } catch (error) {
      // A keyed check gives back its recorded reservation, whichever attempt made it (see limits.refund).
      await limits.refund(userId, period, keyed ? usageOf(false).key : undefined);
      throw error;
    }
    // The ledger notes whether this check cost an upstream call; the answer only says what this
    // account already knew (see AnswerLog): another account's check of the same image is invisible.
    const answer = await answers.answer(userId, sha256, result.verdict, result.fresh && !result.joined, now());
    await deps.usage.record(usageOf(!result.fresh || result.joined));
    return answerOf(result.verdict, sha256, answer, requestId);
  }

  return {
    async check({ userId, requestId, input }) {
      const key = input.idempotencyKey;
      // Without a key: exactly the path it always was (benchmarked), not one statement more.
      if (key === undefined) return charged(userId, requestId, await prepare(userId, input));
      // A URL's key is claimed before fetching, so a replay fetches nothing and takes no rate token.
      if ('url' in input) return keys.once(userId, key, `url:${hash('sha256', input.url)}`, async (chargeId) => charged(userId, requestId, await prepare(userId, input), chargeId));
      const prepared = await prepare(userId, input);
      return keys.once(userId, key, `sha256:${prepared.image.sha256}`, (chargeId) => charged(userId, requestId, prepared, chargeId));
    },

    usage: (userId) => limits.usage(userId),
    budget: () => limits.budget(),
  };
}
