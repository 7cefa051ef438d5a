import type { ErrorBody, ErrorIssue, TrpcErrorEnvelope } from '@verifieddit/contracts/error-codes';
import type { TRPC_ERROR_CODE_KEY, TRPC_ERROR_CODES_BY_KEY } from '@trpc/server/rpc';
import type { Request, Response } from 'express';
import { AppError } from '../errors.js';

/**
 * The one place an error becomes a transport answer. Everything a client can get is an AppError with
 * a contract code; it goes out in the REST shape `{ error: { code, message, requestId } }`, or under
 * `/trpc` in tRPC's envelope with the same code and request id in `error.data`, so the SDK can read it.
 * Part of what the server compiles before it listens (the starting app answers with it), so it loads
 * neither zod nor @trpc/server; error-mapping.ts turns what was thrown into an AppError.
 */

/**
 * tRPC's JSON-RPC error numbers (its TRPC_ERROR_CODES_BY_KEY) for the codes answered here, written out
 * so @trpc/server is not loaded; the type checker holds each to tRPC's own.
 */
const TRPC_NUMBER_OF_KEY = {
  BAD_REQUEST: -32600,
  UNAUTHORIZED: -32001,
  FORBIDDEN: -32003,
  NOT_FOUND: -32004,
  METHOD_NOT_SUPPORTED: -32005,
  TIMEOUT: -32008,
  CONFLICT: -32009,
  PAYLOAD_TOO_LARGE: -32013,
  UNSUPPORTED_MEDIA_TYPE: -32015,
  UNPROCESSABLE_CONTENT: -32022,
  TOO_MANY_REQUESTS: -32029,
  INTERNAL_SERVER_ERROR: -32603,
  BAD_GATEWAY: -32603,
  SERVICE_UNAVAILABLE: -32603,
  GATEWAY_TIMEOUT: -32603,
} as const satisfies { [K in TRPC_ERROR_CODE_KEY]?: (typeof TRPC_ERROR_CODES_BY_KEY)[K] };
type TrpcKey = keyof typeof TRPC_NUMBER_OF_KEY;

const TRPC_KEY_OF_STATUS: Record<number, TrpcKey> = {
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

export function trpcKeyOf(error: AppError): TrpcKey {
  return TRPC_KEY_OF_STATUS[error.httpStatus] ?? 'INTERNAL_SERVER_ERROR';
}

/** The Retry-After value for a wait of `seconds`: whole seconds, at least 1. */
export const retryAfterHeader = (seconds: number): string => String(Math.max(1, Math.ceil(seconds)));

function restErrorBody(error: AppError, requestId: string): ErrorBody {
  return { error: { code: error.code, message: error.message, requestId, ...(error.details ? { details: error.details } : {}) } };
}

export function trpcErrorBody(error: AppError, requestId: string, path: string | null): TrpcErrorEnvelope {
  return {
    error: {
      message: error.message,
      code: TRPC_NUMBER_OF_KEY[trpcKeyOf(error)],
      data: {
        code: error.code,
        httpStatus: error.httpStatus,
        requestId,
        retryAfterSeconds: error.retryAfterSeconds ?? null,
        details: error.details && !('issues' in error.details) ? error.details : null,
        issues: (error.details?.issues as ErrorIssue[] | undefined) ?? null,
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
