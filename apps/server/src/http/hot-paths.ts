import type { RequestHandler } from 'express';
import { createContext, type Services } from '../context.js';
import type { LogPort } from '../logger.js';

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
      .then((status) => {
        res.setHeader('vary', 'trpc-accept, accept');
        res.setHeader('content-type', 'application/json');
        const one = `{"result":{"data":${JSON.stringify(status)}}}`;
        res.end(batch ? `[${one}]` : one);
      }, () => next());
  };
}
