import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../logger.js';

declare global {
  namespace Express {
    interface Request {
      id: string;
      log: Logger;
    }
  }
}

/** A caller-supplied id is echoed only if it is short and plain, so it cannot forge log lines. */
const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

const requestScope = new AsyncLocalStorage<string>();

/** Runs `fn` with `requestId` as the current request's id (read back by `currentRequestId`). */
export function withRequestId<T>(requestId: string, fn: () => T): T {
  return requestScope.run(requestId, fn);
}

/**
 * The id of the request being handled, for code that is not handed the request: tRPC's error
 * formatter has no context for errors raised before the context is created.
 */
export function currentRequestId(): string | undefined {
  return requestScope.getStore();
}

export function newRequestId(): string {
  return `req_${randomUUID()}`;
}

const REQUEST_LINE = 'requestLineFields';

/** Adds what a route did (e.g. which webhook event it applied) to the request's one log line, instead of a line of its own. */
export function addToRequestLine(res: Response, fields: object): void {
  res.locals[REQUEST_LINE] = { ...(res.locals[REQUEST_LINE] as object | undefined), ...fields };
}

export function requestContext(logger: Logger) {
  return (req: Request, res: Response, next: NextFunction) => {
    const incoming = req.get('x-request-id');
    const id = incoming && SANE_REQUEST_ID.test(incoming) ? incoming : newRequestId();
    req.id = id;
    req.log = logger.child({ requestId: id });
    res.setHeader('x-request-id', id);

    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
      const line = { ...(res.locals[REQUEST_LINE] as object | undefined), method: req.method, path: req.path, status: res.statusCode, durationMs: Math.round(durationMs * 10) / 10 };
      if (res.statusCode >= 500) req.log.error(line, 'request');
      else req.log.info(line, 'request');
    });
    next();
  };
}
