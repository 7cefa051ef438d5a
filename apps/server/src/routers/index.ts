import { router } from '../trpc.js';
import { billingRouter } from './billing.js';
import { healthRouter } from './health.js';

export const appRouter = router({
  health: healthRouter.health,
  billing: billingRouter,
});

export type AppRouter = typeof appRouter;
