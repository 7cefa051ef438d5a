import {
  checkoutSessionOutputSchema,
  createCheckoutSessionInputSchema,
  createPortalSessionInputSchema,
  plansOutputSchema,
  portalSessionOutputSchema,
  onStatusChangeInputSchema,
  subscriptionStatusOutputSchema,
} from '@verifieddit/contracts';
import { tracked } from '@trpc/server';
import { AppError } from '../errors.js';
import { protectedProcedure, publicProcedure, router, toTRPCError } from '../trpc.js';

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

  /**
   * Live entitlements over SSE (httpSubscriptionLink): the current status first, then every change
   * applied by any replica. Events are tracked (id = the change id), so a reconnect resumes after
   * `lastEventId`. Auth is checked when the stream opens; it ends with UNAUTHENTICATED when the
   * token expires (the SDK reconnects with a fresh one).
   */
  onStatusChange: protectedProcedure.input(onStatusChangeInputSchema).subscription(async function* ({ ctx, input, signal }) {
    const events = ctx.services.billing.watchStatus(ctx.user.id, { lastEventId: input?.lastEventId, signal, expiresAt: ctx.user.expiresAt });
    try {
      for await (const event of events) yield tracked(event.id, subscriptionStatusOutputSchema.parse(event.status));
    } catch (error) {
      // Errors inside a stream skip the procedure middleware: map them here so the client sees the code.
      throw error instanceof AppError ? toTRPCError(error) : error;
    }
  }),

  subscriptionStatus: protectedProcedure
    .output(subscriptionStatusOutputSchema)
    .query(({ ctx }) => ctx.services.billing.subscriptionStatus(ctx.user.id)),
});
