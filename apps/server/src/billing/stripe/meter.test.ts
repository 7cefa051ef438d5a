import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAiDetection } from '../../ai-detect/service.js';
import { LocalDetector } from '../../ai-detect/sightengine.js';
import { pngVariant } from '../../testing/images.js';
import { recordingLog } from '../../testing/log-recorder.js';
import { startStripeDouble, type StripeDouble } from '../../testing/stripe-double.js';
import { useTestStore } from '../../testing/fixtures.js';
import { storeTargets } from '../../testing/stores.js';
import { staticCatalog } from '../catalog.js';
import { CustomerRepository } from '../customers.js';
import { SubscriptionRepository } from '../subscriptions.js';
import { createUsageLedger } from '../usage/ledger.js';
import { createUsageOutbox } from '../usage/outbox.js';
import { StripeUsageMeter } from './meter.js';
import type { Rows } from '../../store/rows.js';

describe.each(storeTargets)('Stripe usage meter on $name', (target) => {
  const t = useTestStore(target);
  let stripe: StripeDouble;
  beforeAll(async () => {
    stripe = await startStripeDouble();
  });
  afterAll(async () => {
    await stripe.close();
  });

  it('sends each counted detection once as a meter event; an outage is retried without double counting', async () => {
    const customers = new CustomerRepository(t.store);
    await customers.claim('meter_user', 'stripe', 'cus_MeterUser');
    const catalog = staticCatalog();
    const service = createAiDetection({
      store: t.store,
      detector: new LocalDetector(),
      catalog,
      subscriptions: new SubscriptionRepository(t.store),
      usage: createUsageLedger(t.store, catalog),
      config: { monthlyBudget: 500, cacheTtlSeconds: undefined, ratePerMinute: 10, rateBurst: 5, fetchAllowLoopback: false },
      log: recordingLog(),
    });
    const outbox = createUsageOutbox({
      store: t.store,
      meter: new StripeUsageMeter(stripe.stripe({ maxNetworkRetries: 0 })),
      log: recordingLog(),
      customerOf: (id) => customers.billingCustomerOf(id),
    });
    const image = pngVariant(`${target.name}:meter`);
    for (let i = 0; i < 3; i++) await service.check({ userId: 'meter_user', requestId: `r${i}`, input: { image: image.toString('base64'), mimeType: 'image/png' } });

    stripe.failNext('/v1/billing/meter_events', 500, 1);
    expect(await outbox.flush()).toEqual({ released: 0, sent: 2, failed: 1, noCustomer: 0 });
    await t.store.query(`UPDATE usage_ledger SET next_attempt_at = now() WHERE status = 'pending'`);
    expect(await outbox.flush()).toEqual({ released: 0, sent: 1, failed: 0, noCustomer: 0 });
    expect(await outbox.flush()).toEqual({ released: 0, sent: 0, failed: 0, noCustomer: 0 });

    const keys = (await t.store.query<Pick<Rows['usage_ledger'], 'key'>>(`SELECT key FROM usage_ledger WHERE account_id = 'meter_user' AND status = 'sent'`)).map((r) => r.key);
    expect(keys).toHaveLength(3);
    expect(stripe.meterEvents).toHaveLength(3);
    for (const event of stripe.meterEvents) {
      expect(event).toMatchObject({ event_name: 'ai_detection', payload: { stripe_customer_id: 'cus_MeterUser', value: '1' } });
    }
    expect(new Set(stripe.meterEvents.map((e) => e.identifier))).toEqual(new Set(keys));
  });

  it('a resend of an already accepted identifier counts as sent and adds nothing', async () => {
    const meter = new StripeUsageMeter(stripe.stripe({ maxNetworkRetries: 0 }));
    const before = stripe.meterEvents.length;
    const event = { identifier: `dup-${target.name}`, eventName: 'ai_detection', customerId: 'cus_X', value: 1, timestamp: new Date() };
    await meter.send(event);
    await meter.send(event);
    expect(stripe.meterEvents.length - before).toBe(1);
  });

  it('other refusals surface as errors (the outbox retries them)', async () => {
    const meter = new StripeUsageMeter(stripe.stripe({ maxNetworkRetries: 0 }));
    const old = new Date(Date.now() - 40 * 86_400_000);
    await expect(meter.send({ identifier: `old-${target.name}`, eventName: 'ai_detection', customerId: 'cus_X', value: 1, timestamp: old })).rejects.toThrow(/35 calendar days/);
  });
});
