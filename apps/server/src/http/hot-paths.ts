import { aiDetectCheckInputSchema } from '@verifieddit/contracts';
import type { Request, RequestHandler, Response } from 'express';
import { createContext, type Services } from '../context.js';
import type { LogPort } from '../logger.js';
import { isUnexpected, toAppError } from './error-mapping.js';
import { retryAfterHeader, trpcErrorBody } from './errors.js';

const PATH = '/billing.subscriptionStatus';
/** The batch link's inputs for one call of a procedure without input. */
const EMPTY_BATCH_INPUTS = new Set(['{}', '{"0":{}}']);

/** false: a plain call; true: a batch of this one call; undefined: anything else (tRPC answers). */
function shapeOf(rest: string): boolean | undefined {
  if (rest === '') return false;
  if (!rest.startsWith('?')) return undefined;
  const params = new URLSearchParams(rest.slice(1));
  const keys = [...params.keys()];
  if (params.get('batch') !== '1' || keys.some((k) => k !== 'batch' && k !== 'input')) return undefined;
  const input = params.get('input');
  return input === null || EMPTY_BATCH_INPUTS.has(input) ? true : undefined;
}

const quiet: LogPort = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * `billing.subscriptionStatus` — asked on every page load — answered without tRPC's fetch adapter,
 * which turns each Node request into a Fetch `Request` and back and costs more than the procedure
 * (see docs/benchmarks.md). Same auth port, same service, same bytes and headers as tRPC sends for
 * a plain GET or a batch of just this call (what the SDK's batch link sends); the output is the
 * service's typed `SubscriptionStatusOutput`, so it is not parsed again on the way out.
 *
 * Only the success path is taken here. Anything else — a batch of several calls, other query
 * parameters, an input that is not empty, a JSONL accept, a
 * refused token, a store error — falls through to the tRPC mount, which answers it (auth is retried
 * there with the request's logger, so a refusal is logged once and shaped as usual).
 */
export function hotPaths(services: Services): RequestHandler {
  return (req, res, next) => {
    if (req.method !== 'GET' || !req.url.startsWith(PATH) || req.headers['trpc-accept'] || req.headers.accept?.includes('application/jsonl')) return next();
    const batch = shapeOf(req.url.slice(PATH.length));
    if (batch === undefined) return next();
    const ctx = createContext(services, { id: req.id, log: quiet, headers: req.headers });
    services.auth
      .authenticate(ctx.authorization, ctx.log)
      .then((user) => services.billing.subscriptionStatus(user.id))
      .then((status) => answer(res, batch, 200, `{"result":{"data":${JSON.stringify(status)}}}`), () => next());
  };
}

const CHECK_PATH = '/aiDetect.check';
const CHECK_PROCEDURE = 'aiDetect.check';

/** The input of a plain call, or of a batch of just this call (the SDK's batch link); undefined: anything else. */
function checkCallOf(rest: string, body: unknown): { batch: boolean; input: unknown } | undefined {
  if (rest === '') return { batch: false, input: body };
  if (rest !== '?batch=1' || typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const keys = Object.keys(body);
  return keys.length === 1 && keys[0] === '0' ? { batch: true, input: (body as Record<string, unknown>)['0'] } : undefined;
}

/** tRPC's answer (one result, or a batch of it), with the headers tRPC sends. */
function answer(res: Response, batch: boolean, status: number, one: string): void {
  res.statusCode = status;
  res.setHeader('vary', 'trpc-accept, accept');
  res.setHeader('content-type', 'application/json');
  res.end(batch ? `[${one}]` : one);
}

/** A failed check as tRPC answers and logs it (app.ts's onError and responseMeta, trpc.ts's errorFormatter). */
function answerFailure(req: Request, res: Response, batch: boolean, error: unknown): void {
  const known = toAppError(error);
  if (isUnexpected(known)) req.log.error({ err: error, path: CHECK_PROCEDURE }, 'procedure failed');
  else if (known.httpStatus >= 500) req.log.error({ err: error, code: known.code, path: CHECK_PROCEDURE }, 'procedure failed');
  if (known.retryAfterSeconds !== undefined) res.setHeader('retry-after', retryAfterHeader(known.retryAfterSeconds));
  answer(res, batch, known.httpStatus, JSON.stringify({ error: trpcErrorBody(known, req.id, CHECK_PROCEDURE).error }));
}

/**
 * `aiDetect.check` without tRPC's fetch adapter, after the JSON body is read (http/body.ts): for a
 * cached verdict the adapter's Request/Response conversions cost more than the check itself. Same
 * auth port, input schema and service as the procedure; a plain call or a batch of just this call.
 *
 * Before the check runs, anything unusual — an input the schema refuses, a refused token, other query
 * parameters, a JSONL accept — falls through to tRPC, which answers it as usual. Once the check has
 * run it has had effects (a rate token, quota, the ledger), so its answer, success or typed refusal,
 * is given here, in the bytes, status and headers tRPC gives (hot-paths.test.ts compares them).
 */
export function checkHotPath(services: Services): RequestHandler {
  return (req, res, next) => {
    if (req.method !== 'POST' || !req.url.startsWith(CHECK_PATH) || req.headers['trpc-accept'] || req.headers.accept?.includes('application/jsonl')) return next();
    const call = checkCallOf(req.url.slice(CHECK_PATH.length), req.body);
    if (!call) return next();
    const input = aiDetectCheckInputSchema.safeParse(call.input);
    if (!input.success) return next();
    const ctx = createContext(services, { id: req.id, log: quiet, headers: req.headers });
    services.auth.authenticate(ctx.authorization, ctx.log).then(
      (user) =>
        services.aiDetect.check({ userId: user.id, requestId: req.id, input: input.data }).then(
          (output) => answer(res, call.batch, 200, `{"result":{"data":${JSON.stringify(output)}}}`),
          (error: unknown) => answerFailure(req, res, call.batch, error),
        ),
      () => next(),
    ).catch(next);
  };
}
