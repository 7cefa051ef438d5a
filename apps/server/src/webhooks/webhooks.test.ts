import { describe, expect, it, vi } from 'vitest';
import { storeTargets } from '../testing/stores.js';
import { NEW_SECRET, OLD_SECRET, useWebhookApp } from '../testing/webhook-app.js';

describe.each(storeTargets)('Stripe webhooks on $name', (target) => {
  const w = useWebhookApp(target);
  const { scenario, deliver, statusOf, rowsFor } = w;
  const t = w.t;

  it('applies each handled type, reading period dates from subscription items', async () => {
    const s = scenario('each');
    s.truth('customer.subscription.updated');
    expect((await deliver(s.event('customer.subscription.created'))).status).toBe(200);
    expect(await statusOf(s.account)).toMatchObject({ status: 'incomplete', features: [] });

    expect((await deliver(s.event('checkout.session.completed'))).status).toBe(200);
    expect(await statusOf(s.account)).toMatchObject({
      status: 'active',
      plan: 'pro',
      features: ['ai-detect'],
      currentPeriodEnd: new Date(1766242000 * 1000).toISOString(),
      provider: 'stripe',
    });
    // The checkout completion taught us the customer → account mapping.
    expect(await t.store.query('SELECT account_id FROM customers WHERE provider_customer_id = $1', [s.customer])).toEqual([{ account_id: s.account }]);

    await deliver(s.event('customer.subscription.updated.cancel-at-period-end'));
    expect(await statusOf(s.account)).toMatchObject({ status: 'active', cancelAtPeriodEnd: true, features: ['ai-detect'] });
    await deliver(s.event('customer.subscription.updated.past-due'));
    expect(await statusOf(s.account)).toMatchObject({ status: 'past_due', features: [] });
    await deliver(s.event('customer.subscription.deleted'));
    expect(await statusOf(s.account)).toMatchObject({ status: 'canceled', features: [] });
  });

  it('accepts the same event on the alias path and answers a redelivery 200 without a second effect', async () => {
    const s = scenario('dup');
    const event = s.event('customer.subscription.updated');
    const first = await deliver(event, { path: '/api/internal/stripe/webhook' });
    expect(first).toEqual({ status: 200, body: { received: true } });
    const again = await deliver(event);
    expect(again).toEqual({ status: 200, body: { received: true, duplicate: true } });
    const [row] = await rowsFor(event.id);
    expect(row).toMatchObject({ status: 'processed', outcome: 'applied', attempts: 1 });
  });

  it('logs one line for a delivery it stored and applied, the request line naming the event, and stores the payload', async () => {
    const s = scenario('oneline');
    const event = s.event('customer.subscription.updated');
    expect((await deliver(event)).status).toBe(200);
    const lines = () => w.app.logs.records().filter((r) => r.eventId === event.id);
    await vi.waitFor(() => expect(lines().length).toBeGreaterThan(0));
    expect(lines()).toEqual([
      expect.objectContaining({ msg: 'request', path: '/webhook', status: 200, eventType: 'customer.subscription.updated', accountId: s.account, subscriptionStatus: 'active', outcome: 'applied' }),
    ]);
    expect((await rowsFor(event.id))[0]?.payload).toEqual(event);
  });

  it('accepts deliveries signed with either secret during rotation', async () => {
    const s = scenario('rotate');
    s.truth('customer.subscription.updated'); // the two events share a second: the tie is settled by one read
    expect((await deliver(s.event('customer.subscription.created'), { secret: OLD_SECRET })).status).toBe(200);
    expect((await deliver(s.event('customer.subscription.updated'), { secret: NEW_SECRET })).status).toBe(200);
    expect((await statusOf(s.account)).status).toBe('active');
  });

  it('acknowledges event types it does not handle and records them as ignored', async () => {
    const event = scenario('ignored').event('invoice.paid.ignored');
    expect(await deliver(event)).toEqual({ status: 200, body: { received: true, ignored: true } });
    expect((await rowsFor(event.id))[0]).toMatchObject({ status: 'ignored', type: 'invoice.paid' });
  });

  it('acknowledges an event that maps to no account, records why and warns, changing nothing', async () => {
    const event = scenario('unmapped').event('customer.subscription.created.unmapped');
    expect((await deliver(event)).status).toBe(200);
    const [row] = await rowsFor(event.id);
    expect(row).toMatchObject({ status: 'unmapped' });
    expect(row?.reason).toContain('cus_UnknownZ9y8x7');
    expect(w.app.logs.records().some((r) => r.eventId === event.id && r.level === 40)).toBe(true);
    expect(await t.store.query('SELECT * FROM subscriptions WHERE provider_subscription_id = $1', [event.data.object.id])).toEqual([]);
  });

  it('ends a shuffled burst with duplicates and same-second ties in the right state', async () => {
    for (let round = 0; round < 3; round++) {
      // Start of life: created (incomplete), updated (active) and checkout.completed share one second.
      const a = scenario(`burst_a${round}`);
      a.truth('customer.subscription.updated');
      const start = (['customer.subscription.created', 'customer.subscription.updated', 'checkout.session.completed'] as const).map(a.event);
      await Promise.all([...start, ...start].sort(() => Math.random() - 0.5).map((e) => deliver(e)));
      expect(await statusOf(a.account)).toMatchObject({ status: 'active', features: ['ai-detect'] });

      // A whole life, shuffled: the deletion is stamped before the past_due update, and must still win.
      const b = scenario(`burst_b${round}`);
      b.truth('customer.subscription.deleted');
      const all = (
        [
          'customer.subscription.created',
          'customer.subscription.updated',
          'checkout.session.completed',
          'customer.subscription.updated.cancel-at-period-end',
          'customer.subscription.updated.past-due',
          'customer.subscription.deleted',
        ] as const
      ).map(b.event);
      await Promise.all([...all, ...all, ...all.slice(0, 2)].sort(() => Math.random() - 0.5).map((e) => deliver(e)));
      expect(await statusOf(b.account)).toMatchObject({ status: 'canceled', features: [] });
      const rows = await t.store.query<{ n: number }>("SELECT count(*)::int AS n FROM webhook_events WHERE id LIKE $1 AND status = 'processed'", [`%_burst_b${round}`]);
      expect(rows[0]?.n).toBe(6);
    }
  });

  it('spends at most one Stripe read per event', async () => {
    const s = scenario('reads');
    s.truth('customer.subscription.updated');
    w.stripe.clearRequests();
    const events = (['customer.subscription.created', 'customer.subscription.updated', 'checkout.session.completed'] as const).map(s.event);
    for (const e of events) await deliver(e);
    expect(w.stripe.requestsTo(`/v1/subscriptions/${s.sub}`, 'GET').length).toBeLessThanOrEqual(events.length);
  });
});
