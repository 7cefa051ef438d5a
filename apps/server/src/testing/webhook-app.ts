import { afterAll, beforeAll } from 'vitest';
import { useTestStore } from './fixtures.js';
import { startWiredApp } from './harness.js';
import { signedDelivery, stripeScenario } from './stripe-events.js';
import { startStripeDouble, type StripeDouble } from './stripe-double.js';
import type { Rows } from '../store/rows.js';
import type { StoreTarget, TestStore } from './stores.js';

export const OLD_SECRET = 'whsec_previousSigningSecret';
export const NEW_SECRET = 'whsec_currentSigningSecret';

/**
 * The wired app behind a Stripe double over a fresh store on `target`, accepting both signing secrets
 * (as during a rotation), with a fast retry backoff; and the ways webhook tests talk to it.
 * Read `w.app`, `w.stripe`, `w.t` inside tests (they are set in beforeAll).
 */
export function useWebhookApp(target: StoreTarget) {
  const w = { t: useTestStore(target) } as { t: TestStore; stripe: StripeDouble; app: Awaited<ReturnType<typeof startWiredApp>> };
  beforeAll(async () => {
    w.stripe = await startStripeDouble();
    w.app = await startWiredApp({
      store: w.t.store,
      env: { STRIPE_SECRET_KEY: 'sk_test_51WebhookTests', STRIPE_API_BASE_URL: w.stripe.url, STRIPE_WEBHOOK_SECRET: `${OLD_SECRET},${NEW_SECRET}` },
      overrides: { webhookInbox: { baseDelayMs: 1, maxAttempts: 3 } },
    });
  });
  afterAll(async () => {
    await w.app?.shutdown();
    await w.stripe?.close();
  });
  return Object.assign(w, {
    scenario: (tag: string) => stripeScenario(tag, w.stripe),
    async deliver(payload: unknown, options: { secret?: string; timestamp?: number; path?: string; raw?: string } = {}) {
      const body = options.raw ?? JSON.stringify(payload);
      const { headers } = signedDelivery(w.stripe, body, options.secret ?? NEW_SECRET, options.timestamp);
      const res = await fetch(`${w.app.url}${options.path ?? '/webhook'}`, { method: 'POST', headers, body });
      return { status: res.status, body: (await res.json()) as Record<string, any> };
    },
    async statusOf(account: string) {
      const res = await fetch(`${w.app.url}/subscription-status`, { headers: { authorization: `Bearer dev_${account}` } });
      return (await res.json()) as Record<string, any>;
    },
    rowsFor: (id: string) => w.t.store.query<Rows['webhook_events']>('SELECT * FROM webhook_events WHERE id = $1', [id]),
  });
}
