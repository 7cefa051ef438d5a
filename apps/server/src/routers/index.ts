import { router } from '../trpc.js';
import { aiDetectRouter } from './ai-detect.js';
import { billingRouter } from './billing.js';
import { healthRouter } from './health.js';

export const appRouter = router({
  health: healthRouter.health,
  billing: billingRouter,
  aiDetect: aiDetectRouter,
});

export type AppRouter = typeof appRouter;
