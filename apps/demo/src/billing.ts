import type { inferRouterOutputs } from '@trpc/server';
import type { AppRouter } from '@verifieddit/client';

export type SubscriptionStatus = inferRouterOutputs<AppRouter>['billing']['subscriptionStatus'];

export const isEntitled = (status: SubscriptionStatus | undefined) => status?.status === 'active' || status?.status === 'trialing';

/** An absolute URL on the demo's own origin, for Checkout and the Portal to send the browser back to. */
export const demoUrl = (path: string) => new URL(path, window.location.origin).toString();
