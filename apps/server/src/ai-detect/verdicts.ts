import { AppError } from '../errors.js';
import type { LogPort } from '../logger.js';
import type { Store } from '../store/ports.js';
import type { DetectionVerdict } from './ports.js';
import { DetectionRepository } from './repository.js';

/** A verdict and how it was obtained: `fresh` paid for an upstream call; `joined` shared another request's. */
export interface ResolvedVerdict {
  verdict: DetectionVerdict;
  fresh: boolean;
  joined: boolean;
}

export interface VerdictCacheSettings {
  /** undefined: verdicts never expire. */
  cacheTtlSeconds: number | undefined;
  log: LogPort;
  /** Claim lease for the cross-replica single flight (a dead replica's claim is taken over after it). */
  claimLeaseMs?: number;
  /** How long a request waits for another replica's upstream call before giving up. */
  waitTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The verdict cache keyed by the bytes' SHA-256, with its single flight: one promise per image in a
 * process, and across replicas one claimed `pending` row while the others poll for the verdict.
 */
export function createVerdictCache(store: Store, settings: VerdictCacheSettings) {
  const detections = new DetectionRepository(store);
  // Longer than the detector's worst case (3 attempts × 20 s + backoff), so a live owner is never overtaken.
  const leaseMs = settings.claimLeaseMs ?? 120_000;
  const waitTimeoutMs = settings.waitTimeoutMs ?? 150_000;
  /**
   * Bytes that got a verdict were sniffed as an image when it was made, and stay one whatever the
   * TTL: their repeats skip sniffing. Bounded, oldest out. (Verdicts themselves are not kept here: a
   * cached check reads its verdict in the admission statement anyway.)
   */
  const images = new Set<string>();
  const remember = (sha256: string) => {
    if (images.size >= 10_000) images.delete(images.values().next().value!);
    images.add(sha256);
  };
  const inflight = new Map<string, Promise<{ verdict: DetectionVerdict; fresh: boolean }>>();

  /** Cache, or one upstream call across replicas: claim a pending row, or wait for whoever holds it. */
  async function acrossReplicas(sha256: string, upstream: () => Promise<DetectionVerdict>): Promise<{ verdict: DetectionVerdict; fresh: boolean }> {
    const deadline = Date.now() + waitTimeoutMs;
    let pause = 10;
    for (;;) {
      // The caller's admission found no verdict just now: claim at once. A claim finds a verdict
      // completed meanwhile itself (it reads it when the row is done and fresh).
      const claim = await detections.claim(sha256, leaseMs);
      if (claim.kind === 'cached') {
        remember(sha256);
        return { verdict: claim.verdict, fresh: false };
      }
      if (claim.kind === 'owner') {
        try {
          const verdict = await upstream();
          await detections.complete(sha256, claim.token, verdict, settings.cacheTtlSeconds);
          remember(sha256);
          return { verdict, fresh: true };
        } catch (error) {
          await detections.release(sha256, claim.token).catch((releaseError) => settings.log.warn({ err: releaseError }, 'could not release claim'));
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

  return {
    /** Whether these bytes got a verdict seen by this process (so they were sniffed as an image then). */
    knows: (sha256: string): boolean => images.has(sha256),

    /** Notes bytes whose verdict was read elsewhere (the admission statement). */
    remember,

    /** The verdict for these bytes; `upstream` runs only when no request anywhere has one or is getting one. */
    resolve(sha256: string, upstream: () => Promise<DetectionVerdict>): Promise<ResolvedVerdict> {
      const existing = inflight.get(sha256);
      if (existing) return existing.then((result) => ({ ...result, joined: true }));
      const started = acrossReplicas(sha256, upstream);
      inflight.set(sha256, started);
      const clear = () => void inflight.delete(sha256);
      started.then(clear, clear);
      return started.then((result) => ({ ...result, joined: false }));
    },
  };
}
