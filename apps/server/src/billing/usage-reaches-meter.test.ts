import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { releaseParkedUsage } from './usage/outbox.js';
import { pngVariant } from '../testing/images.js';
import { startSightengineDouble, type SightengineDouble } from '../testing/sightengine-double.js';
import { signedDelivery, stripeScenario } from '../testing/stripe-events.js';
import { startStripeDouble, type StripeDouble } from '../testing/stripe-double.js';
import { useWiredApp } from '../testing/fixtures.js';
import { storeTargets } from '../testing/stores.js';
import type { Rows } from '../store/rows.js';

const SECRET = 'whsec_usageReachesMeter';

/**
 * Every billable detection reaches Stripe's meter exactly once, whichever way the account became a
 * customer: through subscription events alone (Dashboard, migrated, lost checkout), or with the
 * checkout completion arriving after the first detections.
 */
describe.each(storeTargets)('usage reaches the meter on $name', (target) => {
  let stripe: StripeDouble;
  let sightengine: SightengineDouble;
  beforeAll(async () => {
    stripe = await startStripeDouble();
    sightengine = await startSightengineDouble();
  });
  afterAll(async () => {
    await sightengine.close();
    await stripe.close();
  });
  const wired = useWiredApp({
    target,
    env: () => ({
      STRIPE_SECRET_KEY: 'sk_test_51UsageMeter',
      STRIPE_API_BASE_URL: stripe.url,
      STRIPE_WEBHOOK_SECRET: SECRET,
      SIGHTENGINE_API_USER: sightengine.apiUser,
      SIGHTENGINE_API_SECRET: sightengine.apiSecret,
      SIGHTENGINE_BASE_URL: sightengine.baseUrl,
      AI_DETECT_RATE_BURST: '50',
      AI_DETECT_RATE_PER_MINUTE: '600',
    }),
  });

  const deliver = async (event: unknown) => {
    const res = await fetch(`${wired.app.url}/webhook`, { method: 'POST', ...signedDelivery(stripe, JSON.stringify(event), SECRET) });
    expect(res.status).toBe(200);
  };
  const detect = async (account: string, n: number) => {
    for (let i = 0; i < n; i++) {
      const res = await fetch(`${wired.app.url}/ai-detect`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer dev_${account}` },
        body: JSON.stringify({ image: pngVariant(`${target.name}:${account}:${i}`).toString('base64'), mimeType: 'image/png' }),
      });
      expect(res.status).toBe(200);
    }
  };
  const ledger = (account: string) =>
    wired.store.store.query<Pick<Rows['usage_ledger'], 'key' | 'status' | 'occurred_at'>>(
      'SELECT key, status, occurred_at FROM usage_ledger WHERE account_id = $1 ORDER BY key',
      [account],
    );
  const meterEventsFor = (customer: string) => stripe.meterEvents.filter((e: any) => e.payload.stripe_customer_id === customer) as any[];

  it('meters a subscription that arrived only as customer.subscription.updated with account metadata', async () => {
    const s = stripeScenario('dashboard', stripe);
    s.truth('customer.subscription.updated');
    await deliver(s.event('customer.subscription.updated'));
    // No checkout ever completed: there is no customer mapping, only the subscription's customer.
    expect(await wired.store.store.query('SELECT 1 FROM customers WHERE account_id = $1', [s.account])).toEqual([]);

    await detect(s.account, 3);
    const flushed = await wired.app.wiring.billing.outbox.flush();
    expect(flushed.noCustomer).toBe(0);

    const rows = await ledger(s.account);
    expect(rows.map((r) => r.status)).toEqual(['sent', 'sent', 'sent']);
    const events = meterEventsFor(s.customer);
    expect(events.map((e) => e.identifier).sort()).toEqual(rows.map((r) => r.key));
    expect(events.every((e) => e.event_name === 'ai_detection' && e.payload.value === '1')).toBe(true);

    // Nothing is sent twice.
    await wired.app.wiring.billing.outbox.flush();
    expect(meterEventsFor(s.customer)).toHaveLength(3);
  });

  it('sends usage parked before a late checkout completion, with its original identifiers and times, once', async () => {
    const s = stripeScenario('late-checkout', stripe);
    await detect(s.account, 2);
    const first = await wired.app.wiring.billing.outbox.flush();
    expect(first.noCustomer).toBe(2);
    const parked = await ledger(s.account);
    expect(parked.map((r) => r.status)).toEqual(['no_customer', 'no_customer']);
    expect(meterEventsFor(s.customer)).toEqual([]);

    s.truth('customer.subscription.updated');
    await deliver(s.event('checkout.session.completed'));
    // The periodic pass looks at accounts whose customer appeared lately: these two rows.
    expect(await releaseParkedUsage(wired.store.store, { recentSeconds: 600 })).toBe(2);
    await detect(s.account, 1);
    const second = await wired.app.wiring.billing.outbox.flush();
    expect(second).toMatchObject({ sent: 3, noCustomer: 0, failed: 0 });

    const rows = await ledger(s.account);
    expect(rows.map((r) => r.status)).toEqual(['sent', 'sent', 'sent']);
    const events = meterEventsFor(s.customer);
    expect(events.map((e) => e.identifier).sort()).toEqual(rows.map((r) => r.key));
    for (const row of parked) {
      const event = events.find((e) => e.identifier === row.key);
      expect(event.timestamp).toBe(Math.floor(new Date(row.occurred_at).getTime() / 1000));
    }
    await wired.app.wiring.billing.outbox.flush();
    expect(meterEventsFor(s.customer)).toHaveLength(3);
  });

  it('keeps a free account’s usage parked, and releases it by the full pass once a customer appears', async () => {
    const account = `user_free_${target.name}`;
    await detect(account, 1);
    await wired.app.wiring.billing.outbox.flush();
    expect((await ledger(account)).map((r) => r.status)).toEqual(['no_customer']);
    expect(await releaseParkedUsage(wired.store.store)).toBe(0);
    await wired.store.store.query(`INSERT INTO customers (account_id, provider, provider_customer_id) VALUES ($1, 'stripe', 'cus_free_later_${target.name}')`, [account]);
    expect(await releaseParkedUsage(wired.store.store)).toBe(1);
    await wired.app.wiring.billing.outbox.flush();
    expect((await ledger(account)).map((r) => r.status)).toEqual(['sent']);
    expect(meterEventsFor(`cus_free_later_${target.name}`)).toHaveLength(1);
  });
});
