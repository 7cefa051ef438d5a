/**
 * Subscription statuses without zod, as `@verifieddit/contracts/statuses`: what the server's webhook
 * path needs of them (issue 11: it answers Stripe before zod is compiled). billing.ts builds its
 * status schema from this list and re-exports all of it from the root.
 */

export const SUBSCRIPTION_STATUSES = [
  'none',
  'incomplete',
  'incomplete_expired',
  'trialing',
  'active',
  'past_due',
  'canceled',
  'unpaid',
  'paused',
] as const;
export type SubscriptionStatus = (typeof SUBSCRIPTION_STATUSES)[number];

/** Features are on only in these states; every other (and any unknown) state turns them off. */
export const ENTITLED_STATUSES: readonly SubscriptionStatus[] = ['active', 'trialing'];
export function isEntitledStatus(status: string): boolean {
  return (ENTITLED_STATUSES as readonly string[]).includes(status);
}
