import { TRPCError } from '@trpc/server';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Context, Services } from '../context.js';
import { AppError } from '../errors.js';
import { appRouter } from '../routers/index.js';
import { createCallerFactory } from '../trpc.js';

const createCaller = createCallerFactory(appRouter);
type Caller = ReturnType<typeof createCaller>;

/** A tRPC failure as the domain error the Express error middleware answers with. */
export function appErrorOf(error: unknown): unknown {
  if (!(error instanceof TRPCError)) return error;
  if (error.cause instanceof AppError) return error.cause;
  if (error.code === 'BAD_REQUEST' && error.cause && 'issues' in error.cause) {
    const issues = (error.cause as unknown as { issues: { path: PropertyKey[]; message: string }[] }).issues;
    const summary = issues.map((issue) => `${issue.path.map(String).join('.') || '(body)'}: ${issue.message}`).join('; ');
    return new AppError('VALIDATION_FAILED', `Invalid request: ${summary}`, { details: { issues } });
  }
  return error.cause ?? error;
}

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
        next(appErrorOf(error));
      }
    };

  router.post('/create-checkout-session', route((caller, req) => caller.billing.createCheckoutSession(req.body ?? {})));
  router.post('/create-portal-session', route((caller, req) => caller.billing.createPortalSession(req.body ?? {})));
  router.get('/subscription-status', route((caller) => caller.billing.subscriptionStatus()));
  router.post('/ai-detect', route((caller, req) => caller.aiDetect.check(req.body ?? {})));
  return router;
}
