import { ERROR_HTTP_STATUS, type ErrorBody, type ErrorCode, type TrpcErrorEnvelope } from '@verifieddit/contracts';
import { TRPCError } from '@trpc/server';
import { TRPC_ERROR_CODES_BY_KEY, type TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../errors.js';

/**
 * The one place an error becomes a transport answer. Everything a client can get is an AppError with
 * a contract code; it goes out in the REST shape `{ error: { code, message, requestId } }`, or under
 * `/trpc` in tRPC's envelope with the same code and request id in `error.data`, so the SDK can read it.
 */

const TRPC_KEY_OF_STATUS: Record<number, TRPC_ERROR_CODE_KEY> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_SUPPORTED',
  408: 'TIMEOUT',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'UNPROCESSABLE_CONTENT',
  429: 'TOO_MANY_REQUESTS',
  431: 'BAD_REQUEST',
  500: 'INTERNAL_SERVER_ERROR',
  502: 'BAD_GATEWAY',
  503: 'SERVICE_UNAVAILABLE',
  504: 'GATEWAY_TIMEOUT',
};

export function trpcKeyOf(error: AppError): TRPC_ERROR_CODE_KEY {
  return TRPC_KEY_OF_STATUS[error.httpStatus] ?? 'INTERNAL_SERVER_ERROR';
}

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
/** The Retry-After value for a wait of `seconds`: whole seconds, at least 1. */
export const retryAfterHeader = (seconds: number): string => String(Math.max(1, Math.ceil(seconds)));

export function toAppError(error: unknown): AppError {
  if (error instanceof AppError) return error;
  if (error instanceof TRPCError) return fromTrpcError(error);
  return fromHttpError(error) ?? new AppError('INTERNAL', 'Internal error', { cause: error });
}

/** True when `toAppError` turned an unknown failure into the generic INTERNAL (so it must be logged). */
export function isUnexpected(error: AppError): boolean {
  return error.code === 'INTERNAL';
}

function restErrorBody(error: AppError, requestId: string): ErrorBody {
  return { error: { code: error.code, message: error.message, requestId, ...(error.details ? { details: error.details } : {}) } };
}

export function trpcErrorBody(error: AppError, requestId: string, path: string | null): TrpcErrorEnvelope {
  return {
    error: {
      message: error.message,
      code: TRPC_ERROR_CODES_BY_KEY[trpcKeyOf(error)],
      data: {
        code: error.code,
        httpStatus: error.httpStatus,
        requestId,
        retryAfterSeconds: error.retryAfterSeconds ?? null,
        details: error.details && !('issues' in error.details) ? error.details : null,
        issues: (error.details?.issues as Issue[] | undefined) ?? null,
        path,
      },
    },
  };
}

export function isTrpcRequest(req: Request): boolean {
  const url = req.originalUrl;
  return url === '/trpc' || url.startsWith('/trpc/') || url.startsWith('/trpc?');
}

/** The procedure path(s) of a tRPC URL, undecoded: `/trpc/a.b,c.d?batch=1` → `a.b,c.d`. */
export function trpcPathOf(req: Request): string | null {
  const path = req.originalUrl.split('?')[0]!.slice('/trpc/'.length);
  return path || null;
}

/** Answers an error in the shape of the route it came to (tRPC envelope under /trpc, REST elsewhere). */
export function sendError(res: Response, requestId: string, error: AppError): void {
  const req = res.req;
  if (error.retryAfterSeconds !== undefined) res.setHeader('retry-after', retryAfterHeader(error.retryAfterSeconds));
  // A body we stopped reading is not drained: closing is the only way to stop a client still sending.
  if (!req.complete) res.setHeader('connection', 'close');
  if (isTrpcRequest(req)) res.status(error.httpStatus).json(trpcErrorBody(error, requestId, trpcPathOf(req)));
  else res.status(error.httpStatus).json(restErrorBody(error, requestId));
}

export function notFound(req: Request, res: Response): void {
  sendError(res, req.id, new AppError('NOT_FOUND', `No route for ${req.method} ${req.path}`));
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

