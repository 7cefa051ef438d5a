import { retryLink, type TRPCLink } from '@trpc/client';
import type { ErrorCode } from '@verifieddit/contracts';
import type { AppRouter } from '@verifieddit/server';
import { getErrorCode } from './errors.js';

/**
 * Retries of `aiDetect.check` that never charge twice. A check is a paid mutation: a retry is safe only
 * with the idempotency key of the first attempt, so the server answers it (charged once) instead of
 * checking again. One link gives each call its key (unless the caller gave one), before the retry link,
 * so every retry of that call sends the same input, key included.
 */

const CHECK = 'aiDetect.check';

/**
 * Failures after which the check may have run, or may run if asked again: no answer at all (a network
 * error, a timeout, a dropped connection), a proxy's or the server's 5xx, a detection that failed. A
 * refusal (validation, auth, quota, rate limit, IDEMPOTENCY_KEY_REUSED) is the caller's to handle.
 */
const RETRYABLE = new Set<ErrorCode | undefined>([undefined, 'NOT_READY', 'INTERNAL', 'DETECTION_UNAVAILABLE', 'REQUEST_TIMEOUT']);

/** A random key; crypto.randomUUID exists only in secure contexts, getRandomValues everywhere. */
function newKey(): string {
  if (typeof globalThis.crypto.randomUUID === 'function') return globalThis.crypto.randomUUID();
  return Array.from(globalThis.crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, '0')).join('');
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** Gives each check call that has no `idempotencyKey` a new one, kept by its retries below. */
const checkKeys = (): TRPCLink<AppRouter> => () => ({ op, next }) =>
  next(op.path === CHECK && isObject(op.input) && op.input.idempotencyKey === undefined ? { ...op, input: { ...op.input, idempotencyKey: newKey() } } : op);

export interface CheckRetryOptions {
  /** Retries of a failed `aiDetect.check` (same key each time); 0 turns them off. Default 2. */
  retries?: number;
  /** Wait before retry n (1, 2, …), in ms. Default 250 ms doubling, at most 4 s. */
  retryDelayMs?: (retry: number) => number;
}

/** The links that make `aiDetect.check` keyed and retried; other procedures pass through untouched. */
export function checkRetryLinks(options: CheckRetryOptions = {}): TRPCLink<AppRouter>[] {
  const retries = options.retries ?? 2;
  const delay = options.retryDelayMs ?? ((retry: number) => Math.min(4_000, 250 * 2 ** (retry - 1)));
  // Without retries a key buys nothing and costs the server a keyed check's two extra statements.
  if (retries <= 0) return [];
  return [
    checkKeys(),
    retryLink<AppRouter>({
      retry: ({ op, error, attempts }) => op.path === CHECK && attempts <= retries && !op.signal?.aborted && RETRYABLE.has(getErrorCode(error)),
      retryDelayMs: (attempts) => delay(attempts),
    }),
  ];
}
