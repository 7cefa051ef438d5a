import { describe, expect, it } from 'vitest';
import { signedDelivery } from '../testing/stripe-events.js';
import { storeTargets } from '../testing/stores.js';
import { NEW_SECRET, useWebhookApp } from '../testing/webhook-app.js';

/** Deliveries the webhook route refuses, and what it answers while the store or Stripe is down. */
describe.each(storeTargets)('Stripe webhooks refused or failing on $name', (target) => {
  const w = useWebhookApp(target);
  const { scenario, deliver, statusOf, rowsFor } = w;
  const t = w.t;

  it.each([
    ['missing signature', async () => fetch(`${w.app.url}/webhook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }), 'WEBHOOK_SIGNATURE_INVALID', 'missing_signature'],
    ['unknown secret', async () => fetch(`${w.app.url}/webhook`, { method: 'POST', ...signedDelivery(w.stripe, JSON.stringify(scenario('bad').event('customer.subscription.created')), 'whsec_somebodyElse') }), 'WEBHOOK_SIGNATURE_INVALID', 'bad_signature'],
    ['stale timestamp', async () => fetch(`${w.app.url}/webhook`, { method: 'POST', ...signedDelivery(w.stripe, JSON.stringify(scenario('stale').event('customer.subscription.created')), NEW_SECRET, Math.floor(Date.now() / 1000) - 301) }), 'WEBHOOK_SIGNATURE_INVALID', 'stale_timestamp'],
    ['tampered body', async () => {
      const signed = signedDelivery(w.stripe, JSON.stringify(scenario('tamper').event('customer.subscription.created')), NEW_SECRET);
      return fetch(`${w.app.url}/webhook`, { method: 'POST', headers: signed.headers, body: signed.body.replace('incomplete', 'active') });
    }, 'WEBHOOK_SIGNATURE_INVALID', 'bad_signature'],
    ['validly signed non-JSON', async () => fetch(`${w.app.url}/webhook`, { method: 'POST', ...signedDelivery(w.stripe, 'this is not json', NEW_SECRET) }), 'WEBHOOK_PAYLOAD_INVALID', 'not_json'],
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
    expect(w.app.logs.records().some((r) => r.eventId === event.id && r.level === 40 && String(r.problem).includes(problem))).toBe(true);
    // A redelivery gets the same answer and no second row; the retry worker never picks it up.
    expect((await deliver(event)).status).toBe(400);
    await w.app.wiring.webhooks.processor.runDue();
    expect((await rowsFor(event.id))[0]).toMatchObject({ status: 'invalid', attempts: 0 });
    expect(await w.app.wiring.webhooks.inbox.requeue(event.id)).toBe(false);
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
    const get = await fetch(`${w.app.url}/webhook`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    const huge = JSON.stringify({ ...scenario('huge').event('customer.subscription.created'), padding: 'x'.repeat(1024 * 1024) });
    const res = await fetch(`${w.app.url}/webhook`, { method: 'POST', ...signedDelivery(w.stripe, huge, NEW_SECRET) });
    expect(res.status).toBe(413);
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
    w.stripe.failNext(`GET /v1/subscriptions/${s.sub}`, 500, 3); // one attempt + two stripe-node retries
    const event = s.event('checkout.session.completed');
    expect((await deliver(event)).status).toBe(200); // durable, so acknowledged
    expect((await rowsFor(event.id))[0]).toMatchObject({ status: 'retrying', attempts: 1 });
    await new Promise((r) => setTimeout(r, 20));
    await w.app.wiring.webhooks.processor.runDue();
    expect((await rowsFor(event.id))[0]).toMatchObject({ status: 'processed', attempts: 2 });
    expect((await statusOf(s.account)).status).toBe('active');

    const doomed = scenario('doomed');
    w.stripe.failNext(`GET /v1/subscriptions/${doomed.sub}`, 500, 100);
    const failing = doomed.event('checkout.session.completed');
    await deliver(failing);
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 20));
      await w.app.wiring.webhooks.processor.runDue();
    }
    expect((await rowsFor(failing.id))[0]).toMatchObject({ status: 'failed', attempts: 3 });
    expect((await w.app.wiring.webhooks.inbox.list('failed')).map((r) => r.id)).toContain(failing.id);
  });
});
