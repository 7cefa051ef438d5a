import type { BillingProviderName, SubscriptionStatus } from '@verifieddit/contracts';

/**
 * One provider-neutral change of a subscription. Stripe webhooks and the local provider both
 * produce these, and `SubscriptionRepository.apply` is the only code that writes them.
 */
export interface SubscriptionUpdate {
  /** The provider event that carried it (dedup key); local completions use a synthetic id. */
  eventId: string;
  accountId: string;
  provider: BillingProviderName;
  providerCustomerId: string | null;
  providerSubscriptionId: string;
  planId: string | null;
  status: SubscriptionStatus;
  features: string[];
  currentPeriodEnd: Date | null;
  cancelAtPeriodEnd: boolean;
  /** Ordering: when the provider produced this state, in epoch seconds (event.created). */
  sourceCreated: number;
  /** Ordering within one second; a fresh provider read outranks every event of the same second. */
  sourceRank: number;
  /**
   * A fresh read of the provider's current state (not an event's snapshot): it also wins over an
   * equal ordering key, since it is at least as new as anything stored for that second.
   */
  authoritative?: boolean;
}

/** Stripe never revives these: once stored for a subscription, only a different subscription replaces them. */
export const TERMINAL_STATUSES = ['canceled', 'incomplete_expired'] as const;

export type ApplyOutcome = 'applied' | 'stale' | 'duplicate' | 'tie';

/** What every billing provider can do. Only `billing/stripe/` knows Stripe exists. */
export interface BillingProvider {
  readonly name: BillingProviderName;
  /** Creates the provider customer for an account. Idempotent per account id. */
  createCustomer(input: { accountId: string; email?: string | undefined }): Promise<{ customerId: string }>;
  createCheckoutSession(input: {
    accountId: string;
    customerId: string;
    /** A provider price id, or a catalog lookup key the provider resolves. */
    price: { id: string } | { lookupKey: string };
    planId: string | null;
    features: string[];
    successUrl: string;
    cancelUrl: string;
  }): Promise<{ id: string; url: string }>;
  createPortalSession(input: { customerId: string; returnUrl: string }): Promise<{ url: string }>;
  /** The subscription as the provider knows it now (for ordering ties), or null if unknown. */
  retrieveSubscription(subscriptionId: string): Promise<ProviderSubscription | null>;
}

export interface ProviderSubscription {
  id: string;
  customerId: string | null;
  status: SubscriptionStatus;
  metadata: Record<string, string>;
  priceIds: string[];
  priceLookupKeys: string[];
  currentPeriodEnd: Date | null;
  cancelAtPeriodEnd: boolean;
}

/** Unknown provider states are kept as-is in spirit but never entitle: map them to a closed state. */
const KNOWN: readonly SubscriptionStatus[] = ['incomplete', 'incomplete_expired', 'trialing', 'active', 'past_due', 'canceled', 'unpaid', 'paused'];
export function normalizeStatus(status: string): SubscriptionStatus {
  return (KNOWN as readonly string[]).includes(status) ? (status as SubscriptionStatus) : 'incomplete';
}
