import type { RequestHandler } from 'express';
import { AppError } from '../errors.js';
import { sendError } from './errors.js';

/** Every method some route of this API answers. */
const SERVED_METHODS = ['GET', 'HEAD', 'POST', 'OPTIONS'] as const;

/**
 * Anything else (TRACE, PUT, CONNECT, made-up tokens) is a 405 before routing: tRPC turns each request
 * into a Fetch `Request`, which throws on TRACE and CONNECT, and that used to surface as a 500.
 */
export function methodGuard(): RequestHandler {
  const served = new Set<string>(SERVED_METHODS);
  return (req, res, next) => {
    if (served.has(req.method)) return next();
    res.setHeader('allow', SERVED_METHODS.join(', '));
    sendError(res, req.id, new AppError('METHOD_NOT_ALLOWED', `${req.method.slice(0, 32)} is not supported: use ${SERVED_METHODS.join(', ')}`));
  };
}
