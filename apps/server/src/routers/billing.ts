import {
  checkoutSessionOutputSchema,
  createCheckoutSessionInputSchema,
  createPortalSessionInputSchema,
  plansOutputSchema,
  portalSessionOutputSchema,
  subscriptionStatusOutputSchema,
} from '@verifieddit/contracts';
import { protectedProcedure, publicProcedure, router } from '../trpc.js';

export const billingRouter = router({
  plans: publicProcedure.output(plansOutputSchema).query(async ({ ctx }) => ({ plans: await ctx.services.billing.plans() })),

  createCheckoutSession: protectedProcedure
    .input(createCheckoutSessionInputSchema)
    .output(checkoutSessionOutputSchema)
    .mutation(({ ctx, input }) => ctx.services.billing.createCheckoutSession(ctx.user.id, input)),

  createPortalSession: protectedProcedure
    .input(createPortalSessionInputSchema)
    .output(portalSessionOutputSchema)
    .mutation(({ ctx, input }) => ctx.services.billing.createPortalSession(ctx.user.id, input)),

  subscriptionStatus: protectedProcedure
    .output(subscriptionStatusOutputSchema)
    .query(({ ctx }) => ctx.services.billing.subscriptionStatus(ctx.user.id)),
});
