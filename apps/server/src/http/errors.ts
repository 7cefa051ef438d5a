import { ERROR_HTTP_STATUS, type ErrorBody, type ErrorCode } from '@verifieddit/contracts';
import type { NextFunction, Request, Response } from 'express';
import { AppError } from '../errors.js';

export function sendError(res: Response, requestId: string, error: AppError): void {
  if (error.retryAfterSeconds !== undefined) res.setHeader('retry-after', String(Math.max(1, Math.ceil(error.retryAfterSeconds))));
  const body: ErrorBody = {
    error: { code: error.code, message: error.message, requestId, ...(error.details ? { details: error.details } : {}) },
  };
  res.status(error.httpStatus).json(body);
}

/** body-parser errors carry a `type`; map the ones a caller can fix. */
function fromBodyParser(error: unknown): AppError | undefined {
  if (!error || typeof error !== 'object' || !('type' in error)) return undefined;
  const type = (error as { type: unknown }).type;
  if (type === 'entity.too.large') {
    const limit = (error as { limit?: number }).limit;
    return new AppError('PAYLOAD_TOO_LARGE', `Request body is larger than the ${limit ? `${limit} byte` : 'allowed'} limit`);
  }
  if (type === 'entity.parse.failed') return new AppError('BAD_REQUEST', 'Request body is not valid JSON');
  if (type === 'encoding.unsupported' || type === 'charset.unsupported') return new AppError('BAD_REQUEST', 'Unsupported body encoding');
  return undefined;
}

export function notFound(req: Request, res: Response): void {
  sendError(res, req.id, new AppError('NOT_FOUND', `No route for ${req.method} ${req.path}`));
}

/** The one Express error middleware: AppErrors keep their code, everything else is a logged, generic 500. */
export function errorMiddleware(error: unknown, req: Request, res: Response, _next: NextFunction): void {
  const known = error instanceof AppError ? error : fromBodyParser(error);
  if (known) {
    if (known.httpStatus >= 500) req.log.error({ err: error, code: known.code }, 'request failed');
    sendError(res, req.id, known);
    return;
  }
  req.log.error({ err: error }, 'unhandled error');
  if (res.headersSent) {
    res.end();
    return;
  }
  sendError(res, req.id, new AppError('INTERNAL', 'Internal error'));
}

export function statusOf(code: ErrorCode): number {
  return ERROR_HTTP_STATUS[code];
}
