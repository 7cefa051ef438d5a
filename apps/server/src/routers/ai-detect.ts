import { aiDetectCheckInputSchema, aiDetectCheckOutputSchema, aiDetectUsageOutputSchema } from '@verifieddit/contracts';
import { IMAGE_BODY_LIMIT } from '../http/limits.js';
import { protectedProcedure, router } from '../trpc.js';

export const aiDetectRouter = router({
  check: protectedProcedure
    .meta({ bodyLimit: IMAGE_BODY_LIMIT })
    .input(aiDetectCheckInputSchema)
    .output(aiDetectCheckOutputSchema)
    .mutation(({ ctx, input }) => ctx.services.aiDetect.check({ userId: ctx.user.id, requestId: ctx.requestId, input })),

  usage: protectedProcedure.output(aiDetectUsageOutputSchema).query(({ ctx }) => ctx.services.aiDetect.usage(ctx.user.id)),
});
