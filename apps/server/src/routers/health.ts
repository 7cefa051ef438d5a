import { healthOutputSchema } from '@verifieddit/contracts';
import { publicProcedure, router } from '../trpc.js';

export const healthRouter = router({
  health: publicProcedure.output(healthOutputSchema).query(({ ctx }) => ({
    status: 'ok' as const,
    version: ctx.services.version,
    uptimeSeconds: Math.round((Date.now() - ctx.services.startedAt) / 1000),
  })),
});
