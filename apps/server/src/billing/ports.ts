import type {
  BillingProviderName,
  CheckoutSessionOutput,
  CreateCheckoutSessionInput,
  CreatePortalSessionInput,
  Meter,
  Plan,
  PortalSessionOutput,
  SubscriptionStatus,
  SubscriptionStatusOutput,
} from '@verifieddit/contracts';

/**
 * The billing domain's ports: everything about money that other domains (procedures, webhooks, AI
 * detection) may depend on. Adapters (billing/stripe, billing/local, the store-backed repositories)
 * implement them; nothing outside billing imports an adapter. The usage ports (usage/ports.ts) and
 * the provider-event ports (event-ports.ts) are re-exported here, so this stays the one import.
 */
export * from './event-ports.js';
export * from './usage/ports.js';

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

/** What the billing procedures need; the tRPC context holds this port, not the implementation. */
export interface BillingPort {
  plans(): Promise<Plan[]>;
  createCheckoutSession(accountId: string, input: CreateCheckoutSessionInput): Promise<CheckoutSessionOutput>;
  createPortalSession(accountId: string, input: CreatePortalSessionInput): Promise<PortalSessionOutput>;
  subscriptionStatus(accountId: string): Promise<SubscriptionStatusOutput>;
  /** The account's status now, then every change from any replica (`billing.onStatusChange`). */
  watchStatus(accountId: string, options: WatchStatusOptions): AsyncIterable<StatusEvent>;
}

/** One event of a live status stream: the status as a change left it, and that change's id. */
export interface StatusEvent {
  id: string;
  status: SubscriptionStatusOutput;
}

export interface WatchStatusOptions {
  /** The id of the last event the client received (SSE Last-Event-ID); resume after it. */
  lastEventId?: string | null | undefined;
  /** Aborted when the client goes away. */
  signal?: AbortSignal | undefined;
  /** When the caller's token expires (epoch ms): the stream ends then, and the client reconnects with a fresh one. */
  expiresAt?: number | undefined;
}

/** What is on sale: the operator's stored catalog, or the default. */
export interface CatalogPort {
  plans(): Promise<Plan[]>;
  /** The usage meters (Stripe meter event names) usage is recorded against. */
  meters(): Promise<Meter[]>;
}

/** The ordered subscription upsert: the only way a `SubscriptionUpdate` is written. */
export interface SubscriptionWriter {
  apply(update: SubscriptionUpdate): Promise<ApplyOutcome>;
  /**
   * The same upsert as common table expressions for a caller's own statement (the webhook inbox
   * stores events and applies them in one), for several updates of distinct accounts at once, its
   * parameters numbered from `firstParam`; it writes only where `gate` (SQL over the caller's CTEs and
   * the proposed row `p`) holds.
   */
  embed(updates: readonly SubscriptionUpdate[], options?: { firstParam?: number; gate?: string }): EmbeddedApply;
}

/**
 * The ordered upsert as CTEs: `ctes` defines `proposed, prior, written, change[, queued]`, `proposed`
 * holding one row per update (its number in `ordinality`, from 1); `outcome` and `changeId` are SQL
 * expressions over them for the proposed row `p`.
 */
export interface EmbeddedApply {
  ctes: string;
  params: unknown[];
  /** 'applied' | 'duplicate' | 'tie' | 'stale', or NULL when a concurrent statement created the row first (apply again to know). */
  outcome: string;
  /** The id of the change the statement recorded for `p`, or NULL. */
  changeId: string;
  /** Call once the statement committed, with each update's change id (in order): tells this process's subscribers. */
  committed(changeIds: readonly (number | string | null)[]): void;
}

/** An account's subscription as the procedures and quotas see it (`status: 'none'` before any). */
export interface SubscriptionReader {
  statusOf(accountId: string): Promise<SubscriptionStatusOutput>;
}
