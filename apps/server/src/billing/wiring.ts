import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import type { RequestHandler } from 'express';
import type { Config } from '../config.js';
import type { Store } from '../store/store.js';
import { InProcessSubscriptionChanges } from './changes/bus.js';
import type { SubscriptionChanges } from './changes/ports.js';
import { StoreCatalog, type CatalogPort } from './catalog.js';
import { LocalBillingProvider, LocalTokenCodec } from './local/provider.js';
import { localBillingPages } from './local/pages.js';
import { BillingService } from './service.js';
import { createStripeClient } from './stripe/client.js';
import { StripeBillingProvider } from './stripe/provider.js';
import { CustomerRepository, SubscriptionRepository } from './subscriptions.js';
import type { BillingProvider } from './types.js';

export interface BillingWiring {
  provider: BillingProvider;
  catalog: CatalogPort;
  customers: CustomerRepository;
  subscriptions: SubscriptionRepository;
  /** Every applied subscription change, from any replica. */
  changes: SubscriptionChanges;
  service: BillingService;
  /** Routes the provider needs on this server (the local Checkout/Portal pages). */
  mounts: { path: string; handler: RequestHandler }[];
}

/** Picks the billing provider: Stripe when a key is configured, else (never in production) the local one. */
export function wireBilling(config: Config, store: Store, options: { catalog?: CatalogPort; provider?: BillingProvider; changes?: SubscriptionChanges } = {}): BillingWiring {
  // The operator's stored catalog (`pnpm billing catalog put`), or the default until one is stored.
  const catalog = options.catalog ?? new StoreCatalog(store);
  const customers = new CustomerRepository(store);
  const changes = options.changes ?? new InProcessSubscriptionChanges();
  const subscriptions = new SubscriptionRepository(store, changes);
  const mounts: BillingWiring['mounts'] = [];
  let provider = options.provider;
  if (!provider && config.stripe.secretKey) {
    provider = new StripeBillingProvider(
      createStripeClient({ secretKey: config.stripe.secretKey, apiVersion: config.stripe.apiVersion, apiBaseUrl: config.stripe.apiBaseUrl }),
    );
  }
  if (!provider) {
    if (config.isProduction) throw new Error('STRIPE_SECRET_KEY is required in production');
    // Dev-only signing key, stable per data directory so local links survive restarts.
    const codec = new LocalTokenCodec(createHash('sha256').update(`local-billing:${resolve(config.dataDir)}`).digest('hex'));
    provider = new LocalBillingProvider(config.publicUrl, codec);
    mounts.push({ path: '/local-billing', handler: localBillingPages({ codec, catalog, subscriptions, customers }) });
  }
  const service = new BillingService({
    provider,
    catalog,
    customers,
    subscriptions,
    appOrigins: config.appOrigins,
    defaultPriceId: config.stripe.defaultPriceId,
  });
  return { provider, catalog, customers, subscriptions, changes, service, mounts };
}
