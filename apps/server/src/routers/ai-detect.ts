import { aiDetectCheckInputSchema, aiDetectCheckOutputSchema, aiDetectUsageOutputSchema } from '@verifieddit/contracts';
import type { AiDetection } from '../ai-detect/service.js';
import type { Context } from '../context.js';
import { AppError } from '../errors.js';
import { protectedProcedure, router } from '../trpc.js';

/** The service as procedures see it (the integrator adds `aiDetect` to `Services` in context.ts). */
export type AiDetectPort = Pick<AiDetection, 'check' | 'usage'>;

function aiDetectOf(ctx: Pick<Context, 'services'>): AiDetectPort {
  const service = (ctx.services as Context['services'] & { aiDetect?: AiDetectPort }).aiDetect;
  if (!service) throw new AppError('NOT_READY', 'AI detection is not available');
  return service;
}

export const aiDetectRouter = router({
  check: protectedProcedure
    .input(aiDetectCheckInputSchema)
    .output(aiDetectCheckOutputSchema)
    .mutation(({ ctx, input }) => aiDetectOf(ctx).check({ userId: ctx.user.id, requestId: ctx.requestId, input })),

  usage: protectedProcedure.output(aiDetectUsageOutputSchema).query(({ ctx }) => aiDetectOf(ctx).usage(ctx.user.id)),
});
