import { createAiDetection, type AiDetectionDeps } from '../ai-detect/service.js';
import { staticCatalog } from '../billing/catalog.js';
import { SubscriptionRepository } from '../billing/subscriptions.js';
import { createUsageLedger } from '../billing/usage/ledger.js';
import type { Store } from '../store/ports.js';

/**
 * The AI detection service over a store, with entitlements and the usage ledger from that store and
 * the static catalog unless one is given: what the service tests and the single-flight bench drive.
 * (No vitest here: the bench imports it.)
 */
export function detectionServiceOver(store: Store, deps: Omit<AiDetectionDeps, 'store' | 'catalog' | 'subscriptions' | 'usage'> & { catalog?: AiDetectionDeps['catalog'] }) {
  const catalog = deps.catalog ?? staticCatalog();
  return createAiDetection({ ...deps, store, catalog, subscriptions: new SubscriptionRepository(store), usage: createUsageLedger(store, catalog) });
}
