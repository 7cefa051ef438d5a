import { ERROR_HTTP_STATUS, type ErrorCode } from '@verifieddit/contracts/error-codes';
import type { TRPCError } from '@trpc/server';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../errors.js';
import { sendError } from './errors.js';

/**
 * Whatever was thrown, as the AppError a client gets: tRPC's own failures, Express's HTTP errors and
 * contract validation failures get their contract code; anything else is a logged, generic INTERNAL.
 * Loaded after the server listens, by the app and by the webhook routes served first; errors.ts answers.
 */

/**
 * tRPC's own test for its errors (getTRPCErrorFromUnknown: an Error named TRPCError), so that the
 * webhook routes served before the tRPC app is loaded do not load @trpc/server for it.
 */
const isTrpcError = (error: unknown): error is TRPCError => error instanceof Error && error.name === 'TRPCError';

/** tRPC's own error codes, for errors tRPC raises itself (bad batch, unknown procedure, …). */
const APP_CODE_OF_TRPC: Partial<Record<TRPC_ERROR_CODE_KEY, ErrorCode>> = {
  BAD_REQUEST: 'BAD_REQUEST',
  PARSE_ERROR: 'BAD_REQUEST',
  UNAUTHORIZED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  METHOD_NOT_SUPPORTED: 'METHOD_NOT_ALLOWED',
  TIMEOUT: 'REQUEST_TIMEOUT',
  CONFLICT: 'CONFLICT',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_CONTENT_TYPE',
  TOO_MANY_REQUESTS: 'RATE_LIMITED',
  CLIENT_CLOSED_REQUEST: 'BAD_REQUEST',
};

type Issue = {
  path: (string | number)[];
  message: string;
  code?: string;
};

interface ZodLikeIssue {
  path?: PropertyKey[];
  message?: string;
  code?: string;
  errors?: ZodLikeIssue[][];
}

const pathOf = (issue: ZodLikeIssue, prefix: (string | number)[]): (string | number)[] => [
  ...prefix,
  ...(issue.path ?? []).map((p) => (typeof p === 'number' ? p : String(p))),
];

const describeIssues = (issues: Issue[]) => issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');

/** Flattens zod issues; for a union, the alternative with the fewest issues (all of them on a tie). */
function flattenIssues(issues: ZodLikeIssue[], prefix: (string | number)[] = []): Issue[][] {
  const out: Issue[] = [];
  for (const issue of issues) {
    if (issue.code === 'invalid_union' && issue.errors?.length) {
      const branches = issue.errors.map((branch) => flattenIssues(branch, pathOf(issue, prefix)).flat());
      const fewest = Math.min(...branches.map((b) => b.length));
      const best = branches.filter((b) => b.length === fewest);
      const distinct = [...new Map(best.map((b) => [describeIssues(b), b])).values()];
      if (distinct.length === 1) out.push(...distinct[0]!);
      else return [out, ...distinct].filter((b) => b.length);
      continue;
    }
    // zod's default for a missing field reads "Invalid input: expected string, received undefined".
    const missing = issue.code === 'invalid_type' && /received undefined$/.test(issue.message ?? '');
    out.push({ path: pathOf(issue, prefix), message: missing ? 'required' : (issue.message ?? 'invalid'), ...(issue.code ? { code: issue.code } : {}) });
  }
  return [out];
}

/** A contract validation failure, worded the same on REST and tRPC: `Invalid request: cancelUrl: …`. */
function validationError(rawIssues: readonly unknown[]): AppError {
  const alternatives = flattenIssues(rawIssues as ZodLikeIssue[]);
  const issues = alternatives.flat();
  const summary = alternatives.length > 1 ? `either ${alternatives.map(describeIssues).join(', or ')}` : describeIssues(issues);
  return new AppError('VALIDATION_FAILED', `Invalid request: ${summary}`, { details: { issues } });
}

const hasIssues = (cause: unknown): cause is { issues: unknown[] } =>
  typeof cause === 'object' && cause !== null && Array.isArray((cause as { issues?: unknown }).issues);

/** Errors raised by Express, its body readers and the router carry an HTTP status; keep the 4xx ones. */
function fromHttpError(error: unknown): AppError | undefined {
  if (!error || typeof error !== 'object') return undefined;
  const { status, statusCode, type, message } = error as { status?: unknown; statusCode?: unknown; type?: unknown; message?: unknown };
  const httpStatus = typeof status === 'number' ? status : typeof statusCode === 'number' ? statusCode : undefined;
  if (type === 'parameters.too.many') return new AppError('PAYLOAD_TOO_LARGE', 'Too many fields in the form');
  if (type === 'entity.too.large') return new AppError('PAYLOAD_TOO_LARGE', 'Request body is larger than the allowed limit');
  if (type === 'entity.parse.failed') return new AppError('BAD_REQUEST', 'Request body is not valid JSON');
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') return new AppError('UNSUPPORTED_CONTENT_TYPE', 'Unsupported body encoding');
  if (httpStatus === undefined || httpStatus < 400 || httpStatus >= 500) return undefined;
  if (error instanceof URIError || (typeof message === 'string' && message.startsWith('Failed to decode param')))
    return new AppError('BAD_REQUEST', 'The URL has a malformed percent-escape');
  const code = (Object.keys(ERROR_HTTP_STATUS) as ErrorCode[]).find(
    (c) => ERROR_HTTP_STATUS[c] === httpStatus && ['BAD_REQUEST', 'NOT_FOUND', 'METHOD_NOT_ALLOWED', 'REQUEST_TIMEOUT', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_CONTENT_TYPE', 'HEADERS_TOO_LARGE'].includes(c),
  );
  return new AppError(code ?? 'BAD_REQUEST', 'The request could not be read');
}

/** tRPC's own failures (raised before or around our procedures) as contract errors. */
function fromTrpcError(error: TRPCError): AppError {
  if (error.cause instanceof AppError) return error.cause;
  if (error.code === 'BAD_REQUEST' && hasIssues(error.cause)) return validationError(error.cause.issues);
  const code = APP_CODE_OF_TRPC[error.code];
  if (!code) return new AppError('INTERNAL', 'Internal error', { cause: error });
  if (error.cause instanceof SyntaxError) return new AppError('BAD_REQUEST', 'The input is not valid JSON', { cause: error });
  if (error.code === 'UNSUPPORTED_MEDIA_TYPE') return new AppError(code, 'Send the body as application/json', { cause: error });
  return new AppError(code, error.message, { cause: error });
}

/** Whatever was thrown, as the AppError the client gets: unknown failures become a generic INTERNAL. */
export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (isTrpcError(error)) return fromTrpcError(error);
  return fromHttpError(error) ?? new AppError('INTERNAL', 'Internal error', { cause: error });
}

/** True when `toAppError` turned an unknown failure into the generic INTERNAL (so it must be logged). */
export function isUnexpected(error: AppError): boolean {
  return error.code === 'INTERNAL';
}

/** The one Express error middleware: AppErrors keep their code, everything else is a logged, generic 500. */
export function errorMiddleware(error: unknown, req: Request, res: Response, _next: NextFunction): void {
  const known = toAppError(error);
  if (isUnexpected(known)) req.log.error({ err: error }, 'unhandled error');
  else if (known.httpStatus >= 500) req.log.error({ err: error, code: known.code }, 'request failed');
  if (res.headersSent) {
    res.end();
    return;
  }
  sendError(res, req.id, known);
}
