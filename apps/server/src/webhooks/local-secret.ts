import { randomBytes } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { Config } from '../config.js';
import type { Store } from '../store/ports.js';
import { settings } from '../store/schema.js';

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
export async function localWebhookSecret(store: Store): Promise<string> {
  // The first writer wins; everyone (including a concurrent first writer) reads the winner.
  await store.db
    .insert(settings)
    .values({ key: KEY, value: `whsec_local_${randomBytes(24).toString('base64url')}` })
    .onConflictDoNothing({ target: settings.key });
  const [row] = await store.db.select({ value: settings.value }).from(settings).where(eq(settings.key, KEY));
  if (!row) throw new Error('local webhook secret missing after insert');
  return row.value;
}
