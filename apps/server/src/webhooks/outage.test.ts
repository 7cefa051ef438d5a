import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BillingProvider, ProviderSubscription } from '../billing/ports.js';
import { startWiredApp } from '../testing/harness.js';
import { signedDelivery, stripeScenario } from '../testing/stripe-events.js';
import { startStripeDouble, type StripeDouble } from '../testing/stripe-double.js';
import { useTestStore } from '../testing/fixtures.js';
import { postgresTargetOrUndefined } from '../testing/stores.js';
import { startTcpProxy, type TcpProxy } from '../testing/tcp-proxy.js';
import type { Store } from '../store/ports.js';
import { openStore } from '../store/store.js';
import type { Rows } from '../store/rows.js';

const SECRET = 'whsec_outageTestSecret';
const EVENTS = 12;
/** What the issue promises: every stored event processed within 15 s of the database answering again. */
const RECOVERY_BOUND_MS = 15_000;

/**
 * A real PostgreSQL outage in the middle of processing: the server reaches the database through a
 * TCP proxy that the test cuts (every connection reset, the port refusing) and restores.
 */
describe.skipIf(!postgresTargetOrUndefined)('webhook processing across a PostgreSQL outage', () => {
  const t = useTestStore(postgresTargetOrUndefined!);
  let proxy: TcpProxy;
  let proxied: Store;
  let stripe: StripeDouble;
  let app: Awaited<ReturnType<typeof startWiredApp>>;
  let retries: { stop(): Promise<void> };
  let releaseReads!: () => void;
  const readsStalled = new Promise<void>((resolve) => (releaseReads = resolve));
  let readsStarted = 0;

  beforeAll(async () => {
    const direct = new URL(t.databaseUrl!);
    proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
    const viaProxy = new URL(t.databaseUrl!);
    viaProxy.host = `127.0.0.1:${proxy.port}`;
    proxied = await openStore({ databaseUrl: viaProxy.toString() });
    stripe = await startStripeDouble();
    // Checkout completions read the subscription once; the read stalls until the database is gone.
    const reader = stripe.stripe();
    const provider: Pick<BillingProvider, 'retrieveSubscription'> = {
      async retrieveSubscription(id) {
        readsStarted++;
        await readsStalled;
        const sub = await reader.subscriptions.retrieve(id);
        return {
          id: sub.id,
          customerId: typeof sub.customer === 'string' ? sub.customer : null,
          status: sub.status,
          metadata: sub.metadata,
          priceIds: [],
          priceLookupKeys: [],
          currentPeriodEnd: null,
          cancelAtPeriodEnd: false,
        } as ProviderSubscription;
      },
    };
    const unavailable = async (): Promise<never> => {
      throw new Error('not part of this test');
    };
    app = await startWiredApp({
      store: proxied,
      env: { STRIPE_SECRET_KEY: 'sk_test_51Outage', STRIPE_API_BASE_URL: stripe.url, STRIPE_WEBHOOK_SECRET: SECRET },
      overrides: {
        billingProvider: { name: 'stripe', createCustomer: unavailable, createCheckoutSession: unavailable, createPortalSession: unavailable, ...provider },
        // Acknowledge right away; processing goes on under its lease (as with a slow Stripe read).
        webhookInbox: { inlineDeadlineMs: 50 },
      },
    });
    // The background retry worker exactly as the server runs it (default interval).
    retries = app.wiring.webhooks.processor.start();
  });
  afterAll(async () => {
    releaseReads?.();
    await retries?.stop();
    await app?.shutdown();
    await proxied?.close();
    await proxy?.close();
    await stripe?.close();
  });

  it('processes every stored event within 15 s of the database answering again', async ({ annotate }) => {
    const scenarios = Array.from({ length: EVENTS }, (_, i) => stripeScenario(`outage${i}`, stripe));
    const events = scenarios.map((s) => {
      s.truth('customer.subscription.updated');
      return s.event('checkout.session.completed');
    });
    for (const event of events) {
      const body = JSON.stringify(event);
      const res = await fetch(`${app.url}/webhook`, { method: 'POST', ...signedDelivery(stripe, body, SECRET) });
      expect(res.status).toBe(200); // stored, so acknowledged; processing is stalled in the Stripe read
    }
    await expect.poll(() => readsStarted, { timeout: 10_000 }).toBe(EVENTS);

    // The database goes away while every event is mid-processing: applying fails, and so does
    // recording the failure, so each event's lease is left behind.
    await proxy.cut();
    const failedPasses = () => app.logs.records().filter((r) => r.worker === 'webhook retries' && r.level === 40).length;
    const failedPassesBefore = failedPasses();
    releaseReads();
    const failedIds = () => new Set(app.logs.records().filter((r) => r.level === 50 && typeof r.eventId === 'string' && r.eventId.includes('_outage')).map((r) => r.eventId)).size;
    await expect.poll(failedIds, { timeout: 10_000 }).toBe(EVENTS);
    // The outage lasts over one retry pass, which fails too (waited for, not slept: passes are 5 s apart).
    await expect.poll(failedPasses, { timeout: 10_000, interval: 100 }).toBeGreaterThan(failedPassesBefore);

    await proxy.restore();
    const back = Date.now();
    const pending = async () =>
      (await t.store.query<{ n: number }>("SELECT count(*)::int AS n FROM webhook_events WHERE status <> 'processed' AND id LIKE '%_outage%'"))[0]!.n;
    await expect.poll(pending, { timeout: RECOVERY_BOUND_MS, interval: 100 }).toBe(0);
    const recoveredMs = Date.now() - back;
    await annotate(`all ${EVENTS} events processed ${recoveredMs} ms after the database answered again`);

    const rows = await t.store.query<Pick<Rows['webhook_events'], 'status' | 'attempts'>>("SELECT status, attempts FROM webhook_events WHERE id LIKE '%_outage%'");
    expect(rows).toHaveLength(EVENTS);
    // The attempts the outage killed do not count toward the retry bound.
    for (const row of rows) expect(row).toEqual({ status: 'processed', attempts: 1 });
    for (const s of scenarios) {
      const res = await fetch(`${app.url}/subscription-status`, { headers: { authorization: `Bearer dev_${s.account}` } });
      expect(((await res.json()) as { status: string }).status).toBe('active');
    }
  }, 60_000);
});
