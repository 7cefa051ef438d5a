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
 * implement them; nothing outside billing imports an adapter.
 */


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

/** One usage record sent to the billing provider's meter. */
export interface MeterEvent {
  /** Idempotency: the ledger key. Stripe deduplicates on it for a rolling 24 h. */
  identifier: string;
  eventName: string;
  customerId: string;
  value: number;
  timestamp: Date;
}

/** Where billable usage goes (Stripe meter events; nothing for the local provider). */
export interface UsageMeter {
  readonly name: string;
  send(event: MeterEvent): Promise<void>;
}

/** One billable use. The ledger row is the source of truth; the outbox sends it to the meter. */
export interface UsageRecord {
  /** Unique: recording it again is a no-op. Also the meter event's identifier. */
  key: string;
  accountId: string;
  /** Calendar month (UTC), e.g. `2026-12`. */
  period: string;
  /** The catalog meter it counts towards, by event name (the first meter when the catalog has no such one). */
  meter: string;
  quantity: number;
  imageSha256: string | undefined;
  cached: boolean;
}

/** The usage ledger: where every billable use is recorded before anything is sent anywhere. */
export interface UsageLedger {
  /** Resolves true when recorded, false when the key was already there. */
  record(entry: UsageRecord): Promise<boolean>;
  /**
   * The same write as SQL, for a caller that records usage inside a larger statement (one round trip
   * per request): an INSERT … RETURNING key that writes only where `condition` (SQL) holds.
   * `param` turns each value into a placeholder of the caller's statement.
   */
  insertSql(entry: UsageRecord, condition: string, param: (value: unknown) => string): Promise<string>;
}

/** Sends recorded usage to the meter: one pass on demand, or a loop in the background. */
export interface UsageOutbox {
  flush(): Promise<FlushResult>;
  start(intervalMs?: number): { stop(): Promise<void> };
}

/** What one outbox pass did. */
export interface FlushResult {
  /** Parked rows put back because their account now has a customer. */
  released: number;
  sent: number;
  failed: number;
  noCustomer: number;
}

/** A verified provider event, reduced to what the inbox needs. Provider-neutral. */
export interface VerifiedEvent {
  id: string;
  type: string;
  created: number;
  apiVersion: string | null;
  livemode: boolean;
  payload: unknown;
}

export type WebhookRejectionReason = 'missing_signature' | 'bad_signature' | 'stale_timestamp' | 'not_json' | 'not_an_event' | 'invalid_event' | 'not_configured';

/** Enough of a signed but invalid event to keep a record of it. */
export interface KeptEvent {
  id: string;
  type: string;
  created: number;
}

export class WebhookRejection extends Error {
  constructor(
    readonly reason: WebhookRejectionReason,
    message: string,
    /** For a signed event that can never be stored or applied: what can be kept of it, if anything. */
    readonly keep?: KeptEvent,
  ) {
    super(message);
    this.name = 'WebhookRejection';
  }
}

/** Verifies webhook deliveries; the route knows only this port, never `stripe`. */
export interface WebhookVerifier {
  verify(rawBody: Buffer, signatureHeader: string | undefined): VerifiedEvent;
}

export type MappedEvent =
  | { kind: 'update'; update: SubscriptionUpdate }
  | { kind: 'ignored'; reason: string }
  | { kind: 'unmapped'; reason: string };

/** The Stripe side of webhooks behind a provider-neutral port: the route and processor never see `stripe`. */
export interface WebhookEventSource {
  /** Whether processing this event type can change anything (others are recorded as ignored). */
  handles(type: string): boolean;
  /** Maps a stored, verified event payload. */
  map(payload: unknown): Promise<MappedEvent>;
  /** Re-reads the subscription of an update whose ordering key tied, as a fresh, authoritative update. */
  reread(update: SubscriptionUpdate): Promise<SubscriptionUpdate | null>;
}

/** The ordered subscription upsert: the only way a `SubscriptionUpdate` is written. */
export interface SubscriptionWriter {
  apply(update: SubscriptionUpdate): Promise<ApplyOutcome>;
}

/** An account's subscription as the procedures and quotas see it (`status: 'none'` before any). */
export interface SubscriptionReader {
  statusOf(accountId: string): Promise<SubscriptionStatusOutput>;
}

/** One provider customer per account. */
interface CustomerDirectory {
  get(accountId: string): Promise<{ provider: string; customerId: string } | undefined>;
  findAccountByCustomer(customerId: string): Promise<string | undefined>;
  /** Stores the mapping unless one exists; returns the mapping that won. */
  claim(accountId: string, provider: string, customerId: string): Promise<string>;
}

/**
 * What recovery reads from the provider: every subscription as it is now (reconcile), and the
 * events it recorded (catch-up after deliveries it gave up on). Only billing/stripe/ implements it.
 */
export interface RecoverySource {
  /** Every subscription (any status), newest first, as authoritative updates read now; auto-paginated. */
  subscriptions(options?: { customerId?: string | undefined }): AsyncIterable<MappedEvent & { subscriptionId: string }>;
  /** Events of the handled types created at or after `since` (epoch seconds), oldest first. */
  events(since: number): Promise<VerifiedEvent[]>;
}
