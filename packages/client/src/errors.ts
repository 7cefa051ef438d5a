import { TRPCClientError } from '@trpc/client';
import { isErrorCode, type ErrorCode } from '@verifieddit/contracts';
import type { AppRouter } from '@verifieddit/server';

export type ApiError = TRPCClientError<AppRouter>;

/** True for errors the verifieddit API answered (as opposed to, say, a network failure). */
export function isApiError(error: unknown): error is ApiError {
  return error instanceof TRPCClientError && isErrorCode((error.data as { code?: unknown } | undefined)?.code);
}

/** The contract error code of an API error, or undefined for anything else. Switch on this, never on messages. */
export function getErrorCode(error: unknown): ErrorCode | undefined {
  return isApiError(error) ? (error.data as { code: ErrorCode }).code : undefined;
}

/** The server's request id for an API error: quote it when reporting a problem. */
export function getRequestId(error: unknown): string | undefined {
  if (!isApiError(error)) return undefined;
  const id = (error.data as { requestId?: unknown }).requestId;
  return typeof id === 'string' ? id : undefined;
}

/** Seconds to wait before retrying, when the server said so (rate limits, quotas). */
export function getRetryAfterSeconds(error: unknown): number | undefined {
  if (!isApiError(error)) return undefined;
  const seconds = (error.data as { retryAfterSeconds?: unknown }).retryAfterSeconds;
  return typeof seconds === 'number' ? seconds : undefined;
}

/** One problem with a call's input: where (`path`, e.g. `["cancelUrl"]`) and what is wrong there. */
export interface ValidationIssue {
  path: (string | number)[];
  message: string;
}

/** The structured issues of a VALIDATION_FAILED error (empty for anything else), to show next to form fields. */
export function getValidationIssues(error: unknown): ValidationIssue[] {
  if (!isApiError(error)) return [];
  const issues = (error.data as { issues?: unknown }).issues;
  return Array.isArray(issues) ? (issues as ValidationIssue[]) : [];
}
