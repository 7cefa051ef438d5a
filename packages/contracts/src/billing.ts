import { z } from 'zod';
import { SUBSCRIPTION_STATUSES } from './statuses.js';

export { ENTITLED_STATUSES, isEntitledStatus, SUBSCRIPTION_STATUSES, type SubscriptionStatus } from './statuses.js';
export const subscriptionStatusSchema = z.enum(SUBSCRIPTION_STATUSES);

export const billingProviderNameSchema = z.enum(['stripe', 'local']);
export type BillingProviderName = z.infer<typeof billingProviderNameSchema>;

const slug = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, 'lowercase letters, digits, - and _');

export const priceSchema = z.object({
  lookupKey: slug,
  currency: z.string().regex(/^[a-z]{3}$/, 'a three-letter lowercase ISO currency code'),
  /** In the currency's smallest unit (cents). */
  amount: z.number().int().nonnegative(),
  interval: z.enum(['day', 'week', 'month', 'year']),
});
export type Price = z.infer<typeof priceSchema>;

export const planSchema = z.object({
  id: slug,
  name: z.string().min(1),
  features: z.array(slug),
  prices: z.array(priceSchema),
  quotas: z.object({ aiDetectionsPerMonth: z.number().int().nonnegative() }),
});
export type Plan = z.infer<typeof planSchema>;

export const plansOutputSchema = z.object({ plans: z.array(planSchema) });
export type PlansOutput = z.infer<typeof plansOutputSchema>;

// A missing field says so; only a present value that is not an http(s) URL gets the URL message.
const redirectUrl = z.url({ protocol: /^https?$/, error: (issue) => (issue.input === undefined ? 'required' : 'must be an absolute http(s) URL') }).max(2048);

export const createCheckoutSessionInputSchema = z
  .object({
    /** A plan id from `billing.plans` (its first price is used). */
    plan: slug.optional(),
    /** A provider price id (e.g. `price_…`), when the frontend knows it. */
    priceId: z.string().min(1).max(255).optional(),
    /** Limit the features granted to one of the plan's features. */
    feature: slug.optional(),
    successUrl: redirectUrl,
    cancelUrl: redirectUrl,
  })
  .refine((input) => !(input.plan && input.priceId), { message: 'give plan or priceId, not both', path: ['priceId'] });
export type CreateCheckoutSessionInput = z.infer<typeof createCheckoutSessionInputSchema>;

export const checkoutSessionOutputSchema = z.object({ id: z.string(), url: z.string() });
export type CheckoutSessionOutput = z.infer<typeof checkoutSessionOutputSchema>;

export const createPortalSessionInputSchema = z.object({ returnUrl: redirectUrl });
export type CreatePortalSessionInput = z.infer<typeof createPortalSessionInputSchema>;

export const portalSessionOutputSchema = z.object({ url: z.string() });
export type PortalSessionOutput = z.infer<typeof portalSessionOutputSchema>;

export const subscriptionStatusOutputSchema = z.object({
  status: subscriptionStatusSchema,
  plan: z.string().nullable(),
  features: z.array(z.string()),
  /** ISO 8601. */
  currentPeriodEnd: z.string().nullable(),
  cancelAtPeriodEnd: z.boolean(),
  provider: billingProviderNameSchema.nullable(),
});
export type SubscriptionStatusOutput = z.infer<typeof subscriptionStatusOutputSchema>;

/**
 * `billing.onStatusChange` (SSE): the current status first, then every change. Each event carries a
 * tracked id; tRPC's httpSubscriptionLink sends the last one back as `lastEventId` when it
 * reconnects, and the stream resumes after it without missing or repeating a change.
 */
export const onStatusChangeInputSchema = z
  .object({
    lastEventId: z.string().max(32).nullish(),
  })
  .optional();
export type OnStatusChangeInput = z.infer<typeof onStatusChangeInputSchema>;
