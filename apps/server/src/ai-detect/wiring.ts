import type { BillingWiring } from '../billing/wiring.js';
import { createStripeClient } from '../billing/stripe/client.js';
import { StripeUsageMeter } from '../billing/stripe/meter.js';
import type { Config } from '../config.js';
import type { LogPort } from '../logger.js';
import type { Store } from '../store/store.js';
import { ledgerOnlyMeter } from './metering.js';
import { createAiDetection, type AiDetection, type AiDetectionDeps } from './service.js';
import { detectorFor } from './sightengine.js';

/**
 * Builds the AI detection service from the config: Sightengine with credentials (the local detector
 * otherwise, never in production), Stripe meter events when Stripe is configured (the ledger alone otherwise).
 */
export function wireAiDetection(
  config: Config,
  store: Store,
  billing: Pick<BillingWiring, 'catalog' | 'subscriptions' | 'customers'>,
  log: LogPort,
  overrides: Partial<Pick<AiDetectionDeps, 'detector' | 'meter' | 'fetch' | 'now'>> = {},
): AiDetection {
  const meter =
    overrides.meter ??
    (config.stripe.secretKey
      ? new StripeUsageMeter(createStripeClient({ secretKey: config.stripe.secretKey, apiVersion: config.stripe.apiVersion, apiBaseUrl: config.stripe.apiBaseUrl }))
      : ledgerOnlyMeter);
  return createAiDetection({
    store,
    detector: overrides.detector ?? detectorFor(config, log),
    catalog: billing.catalog,
    subscriptions: billing.subscriptions,
    customers: billing.customers,
    meter,
    config: config.aiDetect,
    log,
    ...(overrides.fetch ? { fetch: overrides.fetch } : {}),
    ...(overrides.now ? { now: overrides.now } : {}),
  });
}
