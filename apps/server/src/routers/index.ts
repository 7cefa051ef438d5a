import { router } from '../trpc.js';
import { healthRouter } from './health.js';

export const appRouter = router({
  health: healthRouter.health,
});

export type AppRouter = typeof appRouter;
