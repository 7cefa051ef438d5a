import { randomBytes } from 'node:crypto';
import type { Config } from '../config.js';
import type { Store } from '../store/ports.js';
import { settingOnce } from '../store/settings.js';

const KEY = 'local_stripe_webhook_secret';

/**
 * In development without STRIPE_WEBHOOK_SECRET, `/webhook` verifies with a signing secret generated
 * once and kept in the store, so `pnpm billing webhooks trigger` (which signs with the same one) works
 * with no Stripe account. Never in production (a secret is required there) nor in tests.
 */
export function usesLocalWebhookSecret(config: Pick<Config, 'nodeEnv' | 'stripe'>): boolean {
  return config.nodeEnv === 'development' && config.stripe.webhookSecrets.length === 0;
}

/** The local signing secret, created on first use; every process on the store reads the same one. */
export function localWebhookSecret(store: Store): Promise<string> {
  return settingOnce(store, KEY, () => `whsec_local_${randomBytes(24).toString('base64url')}`);
}
