import type { RequestHandler } from 'express';
import type { Config } from '../config.js';
import type { LogPort } from '../logger.js';
import type { Store } from '../store/ports.js';
import { InProcessSubscriptionChanges } from './changes/bus.js';
import type { SubscriptionChanges } from './changes/ports.js';
import { StatusStreams } from './changes/status-streams.js';
import { StoreCatalog } from './catalog.js';
import { LocalBillingProvider, LocalTokenCodec } from './local/provider.js';
import { localBillingPages } from './local/pages.js';
import type { BillingProvider, CatalogPort, RecoverySource, UsageLedger, UsageMeter, UsageOutbox, WebhookEventSource, WebhookVerifier } from './ports.js';
import { LocalBillingState } from './local/state.js';
import { BillingService } from './service.js';
import { createStripeClient } from './stripe/client.js';
import { stripeWebhookEventSource } from './stripe/events.js';
import { stripeRecoverySource } from './stripe/recovery.js';
import { StripeUsageMeter } from './stripe/meter.js';
import { StripeBillingProvider } from './stripe/provider.js';
import { createStripeWebhookVerifier } from './stripe/webhook-verify.js';
import { CachedSubscriptionReader } from './status-cache.js';
import { CustomerRepository } from './customers.js';
import { SubscriptionRepository } from './subscriptions.js';
import { createUsageLedger } from './usage/ledger.js';
import { createUsageOutbox, ledgerOnlyMeter } from './usage/outbox.js';

export interface BillingWiring {
  provider: BillingProvider;
  catalog: CatalogPort;
  customers: CustomerRepository;
  subscriptions: SubscriptionRepository;
  /** Entitlement reads for procedures and quotas: cached, invalidated by `changes`. */
  statuses: CachedSubscriptionReader;
  /** Every applied subscription change, from any replica. */
  changes: SubscriptionChanges;
  /** Open `billing.onStatusChange` streams; closed first on a graceful stop. */
  streams: StatusStreams;
  service: BillingService;
  /** Where billable usage is recorded. */
  usage: UsageLedger;
  /** Sends recorded usage to the meter: Stripe meter events, or nowhere (the ledger alone) without Stripe. */
  outbox: UsageOutbox;
  /** Provider events for the webhook route: signature check and mapping to `SubscriptionUpdate`s. */
  webhookVerifier: WebhookVerifier;
  webhookSource: WebhookEventSource;
  /** Reconcile and catch-up read from here; undefined without a Stripe key (nothing to recover from). */
  recovery: RecoverySource | undefined;
  /** Routes the provider needs on this server (the local Checkout/Portal pages). */
  mounts: { path: string; handler: RequestHandler }[];
}

/**
 * Picks the billing provider: Stripe when a key is configured, else (never in production) the local one.
 * The one Stripe client is built here and shared by everything that talks to Stripe (provider, usage meter).
 */
export function wireBilling(
  config: Config,
  store: Store,
  log: LogPort,
  options: { catalog?: CatalogPort; provider?: BillingProvider; meter?: UsageMeter; changes?: SubscriptionChanges } = {},
): BillingWiring {
  // The operator's stored catalog (`pnpm billing catalog put`), or the default until one is stored.
  const catalog = options.catalog ?? new StoreCatalog(store);
  const customers = new CustomerRepository(store);
  const changes = options.changes ?? new InProcessSubscriptionChanges();
  const subscriptions = new SubscriptionRepository(store, changes, { eventOutbox: config.subscriptionEvents !== undefined });
  const statuses = new CachedSubscriptionReader(subscriptions, changes);
  const mounts: BillingWiring['mounts'] = [];
  const stripe = config.stripe.secretKey
    ? createStripeClient({ secretKey: config.stripe.secretKey, apiVersion: config.stripe.apiVersion, apiBaseUrl: config.stripe.apiBaseUrl })
    : undefined;
  let provider = options.provider ?? (stripe ? new StripeBillingProvider(stripe) : undefined);
  if (!provider) {
    if (config.isProduction) throw new Error('STRIPE_SECRET_KEY is required in production');
    // Links are signed with a random key kept in the store: they survive restarts, and knowing where
    // the data lives is not enough to forge one.
    const state = new LocalBillingState(store);
    const codec = new LocalTokenCodec(() => state.linkKey());
    provider = new LocalBillingProvider(config.publicUrl, codec, state);
    mounts.push({ path: '/local-billing', handler: localBillingPages({ codec, state, catalog, subscriptions, customers }) });
  }
  const streams = new StatusStreams({ history: subscriptions, changes, maxPerAccount: config.live.streamsPerAccount });
  const service = new BillingService({
    streams,
    provider,
    catalog,
    customers,
    subscriptions,
    statuses,
    appOrigins: config.appOrigins,
    defaultPriceId: config.stripe.defaultPriceId,
  });
  const meter = options.meter ?? (stripe ? new StripeUsageMeter(stripe) : ledgerOnlyMeter);
  const usage = createUsageLedger(store, catalog);
  const outbox = createUsageOutbox({ store, meter, log, customerOf: (accountId) => customers.billingCustomerOf(accountId) });
  const billingProvider = provider;
  const mapping = {
    plans: () => catalog.plans(),
    findAccountByCustomer: (customerId: string) => customers.findAccountByCustomer(customerId),
    retrieveSubscription: (id: string) => billingProvider.retrieveSubscription(id),
    claimCustomer: async (accountId: string, customerId: string) => {
      await customers.claim(accountId, 'stripe', customerId);
    },
  };
  const webhookSource = stripeWebhookEventSource(mapping);
  const recovery = stripe ? stripeRecoverySource(stripe, mapping) : undefined;
  const webhookVerifier = createStripeWebhookVerifier(config.stripe.webhookSecrets);
  return { provider, catalog, customers, subscriptions, statuses, changes, streams, service, usage, outbox, webhookVerifier, webhookSource, recovery, mounts };
}
