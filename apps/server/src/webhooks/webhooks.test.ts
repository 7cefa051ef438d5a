import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWiredApp } from '../testing/harness.js';
import { signedDelivery, stripeScenario } from '../testing/stripe-events.js';
import { startStripeDouble, type StripeDouble } from '../testing/stripe-double.js';
import { useTestStore } from '../testing/fixtures.js';
import { storeTargets } from '../testing/stores.js';

const OLD_SECRET = 'whsec_previousSigningSecret';
const NEW_SECRET = 'whsec_currentSigningSecret';

describe.each(storeTargets)('Stripe webhooks on $name', (target) => {
  const t = useTestStore(target);
  let stripe: StripeDouble;
  let app: Awaited<ReturnType<typeof startWiredApp>>;

  beforeAll(async () => {
    stripe = await startStripeDouble();
    app = await startWiredApp({
      store: t.store,
      env: { STRIPE_SECRET_KEY: 'sk_test_51WebhookTests', STRIPE_API_BASE_URL: stripe.url, STRIPE_WEBHOOK_SECRET: `${OLD_SECRET},${NEW_SECRET}` },
      overrides: { webhookInbox: { baseDelayMs: 1, maxAttempts: 3 } },
    });
  });
  afterAll(async () => {
    await app.shutdown();
    await stripe.close();
  });

  const scenario = (tag: string) => stripeScenario(tag, stripe);

  const deliver = async (payload: unknown, options: { secret?: string; timestamp?: number; path?: string; raw?: string } = {}) => {
    const body = options.raw ?? JSON.stringify(payload);
    const { headers } = signedDelivery(stripe, body, options.secret ?? NEW_SECRET, options.timestamp);
    const res = await fetch(`${app.url}${options.path ?? '/webhook'}`, { method: 'POST', headers, body });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const statusOf = async (account: string) => {
    const res = await fetch(`${app.url}/subscription-status`, { headers: { authorization: `Bearer dev_${account}` } });
    return (await res.json()) as Record<string, any>;
  };
  const rowsFor = (id: string) => t.store.query<Record<string, any>>('SELECT * FROM webhook_events WHERE id = $1', [id]);

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

  it('accepts deliveries signed with either secret during rotation', async () => {
    const s = scenario('rotate');
    s.truth('customer.subscription.updated'); // the two events share a second: the tie is settled by one read
    expect((await deliver(s.event('customer.subscription.created'), { secret: OLD_SECRET })).status).toBe(200);
    expect((await deliver(s.event('customer.subscription.updated'), { secret: NEW_SECRET })).status).toBe(200);
    expect((await statusOf(s.account)).status).toBe('active');
  });

  it.each([
    ['missing signature', async () => fetch(`${app.url}/webhook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }), 'WEBHOOK_SIGNATURE_INVALID', 'missing_signature'],
    ['unknown secret', async () => fetch(`${app.url}/webhook`, { method: 'POST', ...signedDelivery(stripe, JSON.stringify(scenario('bad').event('customer.subscription.created')), 'whsec_somebodyElse') }), 'WEBHOOK_SIGNATURE_INVALID', 'bad_signature'],
    ['stale timestamp', async () => fetch(`${app.url}/webhook`, { method: 'POST', ...signedDelivery(stripe, JSON.stringify(scenario('stale').event('customer.subscription.created')), NEW_SECRET, Math.floor(Date.now() / 1000) - 301) }), 'WEBHOOK_SIGNATURE_INVALID', 'stale_timestamp'],
    ['tampered body', async () => {
      const signed = signedDelivery(stripe, JSON.stringify(scenario('tamper').event('customer.subscription.created')), NEW_SECRET);
      return fetch(`${app.url}/webhook`, { method: 'POST', headers: signed.headers, body: signed.body.replace('incomplete', 'active') });
    }, 'WEBHOOK_SIGNATURE_INVALID', 'bad_signature'],
    ['validly signed non-JSON', async () => fetch(`${app.url}/webhook`, { method: 'POST', ...signedDelivery(stripe, 'this is not json', NEW_SECRET) }), 'WEBHOOK_PAYLOAD_INVALID', 'not_json'],
  ] as const)('refuses a %s with 400 and stores nothing', async (_name, send, code, reason) => {
    const before = await t.store.query<{ n: number }>('SELECT count(*)::int AS n FROM webhook_events');
    const res = await send();
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { code: string; details: { reason: string } } };
    expect(body.error.code).toBe(code);
    expect(body.error.details.reason).toBe(reason);
    const after = await t.store.query<{ n: number }>('SELECT count(*)::int AS n FROM webhook_events');
    expect(after[0]?.n).toBe(before[0]?.n);
  });

  let invalidCase = 0;
  const nested = (depth: number): unknown => (depth === 0 ? 'bottom' : { deeper: nested(depth - 1) });
  it.each([
    ['a NUL character in a metadata value', (e: Record<string, any>): void => { e.data.object.metadata.features = 'ai-detect\u0000'; }, 'data.object.metadata.features contains a NUL character'],
    ['a NUL character in a key', (e: Record<string, any>): void => { e.data.object.metadata['bad\u0000key'] = 'x'; }, 'NUL character'],
    ['a created that is not an integer', (e: Record<string, any>): void => { e.created = 1.5; }, 'created:'],
    ['a created given as a string', (e: Record<string, any>): void => { e.created = '1763650000'; }, 'created:'],
    ['no data.object', (e: Record<string, any>): void => { delete e.data.object; }, 'data.object:'],
    ['a data.object that is an array', (e: Record<string, any>): void => { e.data.object = [1, 2]; }, 'data.object:'],
    ['a subscription status that is a number', (e: Record<string, any>): void => { e.data.object.status = 7; }, 'data.object.status:'],
    ['a metadata value that is not a string', (e: Record<string, any>): void => { e.data.object.metadata.features = ['ai-detect']; }, 'data.object.metadata.features:'],
    ['an item period end that is fractional', (e: Record<string, any>): void => { e.data.object.items.data[0].current_period_end = 1766242000.5; }, 'data.object.items.data.0.current_period_end:'],
    ['a type that is not a string', (e: Record<string, any>): void => { e.type = 42; }, 'type:'],
    ['an unpaired surrogate', (e: Record<string, any>): void => { e.data.object.metadata.note = 'x\ud800y'; }, 'unpaired UTF-16 surrogate'],
    ['nesting 200 levels deep', (e: Record<string, any>): void => { e.data.object.metadata = nested(200); }, 'nested deeper than 64 levels'],
  ] as const)('refuses a signed event with %s: 400 with the reason, logged, kept as invalid, never applied', async (name, spoil, problem) => {
    const s = scenario(`invalid${++invalidCase}`);
    const event = s.event('customer.subscription.updated');
    spoil(event);
    const first = await deliver(event);
    expect(first.status).toBe(400);
    expect(first.body.error).toMatchObject({ code: 'WEBHOOK_PAYLOAD_INVALID', details: { reason: 'invalid_event', storedAs: 'invalid' } });
    expect(first.body.error.message).toContain(problem);
    expect(first.body.error.requestId).toEqual(expect.any(String));
    const [row] = await rowsFor(event.id);
    expect(row).toMatchObject({ status: 'invalid', attempts: 0 });
    expect(row?.reason).toContain(problem);
    // The raw body is kept as a string, so what Stripe sent can be inspected.
    expect(typeof row?.payload).toBe('string');
    expect(app.logs.records().some((r) => r.eventId === event.id && r.level === 40 && String(r.problem).includes(problem))).toBe(true);
    // A redelivery gets the same answer and no second row; the retry worker never picks it up.
    expect((await deliver(event)).status).toBe(400);
    await app.wiring.webhooks.processor.runDue();
    expect((await rowsFor(event.id))[0]).toMatchObject({ status: 'invalid', attempts: 0 });
    expect(await app.wiring.webhooks.inbox.requeue(event.id)).toBe(false);
    expect((await statusOf(s.account)).status).toBe('none');
  });

  it('refuses a signed event whose id cannot be stored with 400, and keeps nothing', async () => {
    const event = scenario('nul_id').event('customer.subscription.updated');
    event.id = 'evt_\u0000nul';
    const before = await t.store.query<{ n: number }>('SELECT count(*)::int AS n FROM webhook_events');
    const res = await deliver(event);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'WEBHOOK_PAYLOAD_INVALID', details: { reason: 'invalid_event' } });
    expect(res.body.error.details.storedAs).toBeUndefined();
    const after = await t.store.query<{ n: number }>('SELECT count(*)::int AS n FROM webhook_events');
    expect(after[0]?.n).toBe(before[0]?.n);
  });

  it('answers an invalid event 400 even while the store is down (retrying cannot help), a valid one 503', async () => {
    const s = scenario('invalid_down');
    const invalid = { ...s.event('customer.subscription.updated'), created: 1.5 };
    const valid = s.event('customer.subscription.created');
    await t.store.query('ALTER TABLE webhook_events RENAME TO webhook_events_offline');
    try {
      expect((await deliver(invalid)).status).toBe(400);
      const down = await deliver(valid);
      expect(down.status).toBe(503);
      expect(down.body.error.code).toBe('NOT_READY');
    } finally {
      await t.store.query('ALTER TABLE webhook_events_offline RENAME TO webhook_events');
    }
  });

  it('answers 405 to other methods and 413 to bodies over 1 MB', async () => {
    const get = await fetch(`${app.url}/webhook`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    const huge = JSON.stringify({ ...scenario('huge').event('customer.subscription.created'), padding: 'x'.repeat(1024 * 1024) });
    const res = await fetch(`${app.url}/webhook`, { method: 'POST', ...signedDelivery(stripe, huge, NEW_SECRET) });
    expect(res.status).toBe(413);
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
    expect(app.logs.records().some((r) => r.eventId === event.id && r.level === 40)).toBe(true);
    expect(await t.store.query('SELECT * FROM subscriptions WHERE provider_subscription_id = $1', [event.data.object.id])).toEqual([]);
  });

  it('answers 5xx while storage is down, then accepts the redelivery', async () => {
    const s = scenario('down');
    const event = s.event('customer.subscription.updated');
    await t.store.query('ALTER TABLE webhook_events RENAME TO webhook_events_offline');
    try {
      const down = await deliver(event);
      expect(down.status).toBe(503);
    } finally {
      await t.store.query('ALTER TABLE webhook_events_offline RENAME TO webhook_events');
    }
    expect((await statusOf(s.account)).status).toBe('none');
    expect((await deliver(event)).status).toBe(200);
    expect((await statusOf(s.account)).status).toBe('active');
  });

  it('retries a failed processing from the inbox with backoff, and parks it as failed after the bound', async () => {
    const s = scenario('retry');
    s.truth('customer.subscription.updated');
    stripe.failNext(`GET /v1/subscriptions/${s.sub}`, 500, 3); // one attempt + two stripe-node retries
    const event = s.event('checkout.session.completed');
    expect((await deliver(event)).status).toBe(200); // durable, so acknowledged
    expect((await rowsFor(event.id))[0]).toMatchObject({ status: 'retrying', attempts: 1 });
    await new Promise((r) => setTimeout(r, 20));
    await app.wiring.webhooks.processor.runDue();
    expect((await rowsFor(event.id))[0]).toMatchObject({ status: 'processed', attempts: 2 });
    expect((await statusOf(s.account)).status).toBe('active');

    const doomed = scenario('doomed');
    stripe.failNext(`GET /v1/subscriptions/${doomed.sub}`, 500, 100);
    const failing = doomed.event('checkout.session.completed');
    await deliver(failing);
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 20));
      await app.wiring.webhooks.processor.runDue();
    }
    expect((await rowsFor(failing.id))[0]).toMatchObject({ status: 'failed', attempts: 3 });
    expect((await app.wiring.webhooks.inbox.list('failed')).map((r) => r.id)).toContain(failing.id);
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
    stripe.clearRequests();
    const events = (['customer.subscription.created', 'customer.subscription.updated', 'checkout.session.completed'] as const).map(s.event);
    for (const e of events) await deliver(e);
    expect(stripe.requestsTo(`/v1/subscriptions/${s.sub}`, 'GET').length).toBeLessThanOrEqual(events.length);
  });
});
