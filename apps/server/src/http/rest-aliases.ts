import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Context, Services } from '../context.js';
import { appRouter } from '../routers/index.js';
import { createCallerFactory } from '../trpc.js';

const createCaller = createCallerFactory(appRouter);
type Caller = ReturnType<typeof createCaller>;

/**
 * No body at all is an empty input (the validation names the missing fields); `null` stays `null`.
 * Typed `never` because the procedure validates it: the caller's input type is not checked here.
 */
const bodyOf = (req: Request): never => (req.body === undefined ? {} : req.body) as never;

/**
 * The classic REST paths existing callers use. Each one calls the very same tRPC procedure (same
 * auth middleware, same contract schemas) through a server-side caller.
 */
export function restAliases(services: Services): Router {
  const router = express.Router();
  const route =
    (call: (caller: Caller, req: Request) => Promise<unknown>) =>
    async (req: Request, res: Response, next: NextFunction) => {
      const ctx: Context = { requestId: req.id, log: req.log, services, authorization: req.get('authorization'), user: null };
      try {
        res.json(await call(createCaller(ctx), req));
      } catch (error) {
        // The error middleware maps tRPC's validation errors to VALIDATION_FAILED, worded as on tRPC.
        next(error);
      }
    };

  router.post('/create-checkout-session', route((caller, req) => caller.billing.createCheckoutSession(bodyOf(req))));
  router.post('/create-portal-session', route((caller, req) => caller.billing.createPortalSession(bodyOf(req))));
  router.get('/subscription-status', route((caller) => caller.billing.subscriptionStatus()));
  router.post('/ai-detect', route((caller, req) => caller.aiDetect.check(bodyOf(req))));
  return router;
}
