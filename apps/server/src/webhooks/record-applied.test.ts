import { AsyncLocalStorage } from 'node:async_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerifiedEvent } from '../billing/ports.js';
import { stripeWebhookEventSource } from '../billing/stripe/events.js';
import { SubscriptionRepository } from '../billing/subscriptions.js';
import type { QueryOptions, Store } from '../store/ports.js';
import { captureLogger, startWiredApp } from '../testing/harness.js';
import { rawRequest } from '../testing/raw-http.js';
import { startStripeDouble, type StripeDouble } from '../testing/stripe-double.js';
import { signedDelivery, stripeScenario } from '../testing/stripe-events.js';
import { openReplica, storeTargets, type TestStore } from '../testing/stores.js';
import { WebhookInbox } from './inbox.js';
import { WebhookProcessor } from './processor.js';

const SECRET = 'whsec_oneStatementTestSecret';

const verified = (e: Record<string, any>): VerifiedEvent => ({ id: e.id, type: e.type, created: e.created, apiVersion: e.api_version, livemode: false, payload: e });

describe.each(storeTargets)('webhook deliveries stored and applied in one statement on $name', (target) => {
  let t: TestStore;
  let second: Store;
  let stripe: StripeDouble;
  const statements: string[] = [];
  const inRequest = new AsyncLocalStorage<boolean>();
  let app: Awaited<ReturnType<typeof startWiredApp>>;

  beforeAll(async () => {
    t = await target.open();
    // A second "replica": its own pool on the same database (PGlite has one connection, so it shares it).
    second = t.databaseUrl ? await openReplica(t.databaseUrl) : t.store;
    stripe = await startStripeDouble();
    // The real store, counting the statements sent on behalf of an HTTP request. Whatever else runs in
    // the process meanwhile (a background pass, the tail of an earlier test) is not this delivery's.
    const counting: Store = Object.assign(Object.create(t.store) as Store, {
      query: (text: string, params?: unknown[], options?: QueryOptions) => {
        if (inRequest.getStore()) statements.push(text);
        return t.store.query(text, params, options);
      },
    });
    app = await startWiredApp({
      store: counting,
      env: { STRIPE_SECRET_KEY: 'sk_test_51OneStatement', STRIPE_API_BASE_URL: stripe.url, STRIPE_WEBHOOK_SECRET: SECRET },
      overrides: { webhookInbox: { baseDelayMs: 1 } },
    });
    // Runs before Express's own listener, in the same emit: everything the request leads to inherits the mark.
    app.server.prependListener('request', () => inRequest.enterWith(true));
  });
  afterAll(async () => {
    await app.shutdown();
    await stripe.close();
    if (second !== t.store) await second.close();
    await t.dispose();
  });

  const scenario = (tag: string) => stripeScenario(tag, stripe);
  const deliver = async (event: unknown) => {
    const { headers, body } = signedDelivery(stripe, JSON.stringify(event), SECRET);
    statements.length = 0;
    // A connection of its own: a kept-alive one the server is closing as it is reused fails with ECONNRESET.
    const res = await rawRequest(app.url, { method: 'POST', path: '/webhook', headers, body });
    return { status: res.status, body: res.json as Record<string, unknown>, statements: statements.length };
  };
  const inboxRow = async (id: string) => (await t.store.query<Record<string, unknown>>('SELECT status, outcome, attempts, reason FROM webhook_events WHERE id = $1', [id]))[0];
  const changesOf = async (account: string) => (await t.store.query('SELECT id FROM subscription_changes WHERE account_id = $1', [account])).length;
  const processorOn = (store: Store, workerId: string, options: { leaseMs?: number } = {}) => {
    const subscriptions = new SubscriptionRepository(store, undefined, { eventOutbox: true });
    const source = stripeWebhookEventSource({
      plans: async () => [],
      findAccountByCustomer: async () => undefined,
      retrieveSubscription: async (id) => ({ id, customerId: 'cus_x', status: 'past_due', metadata: { account_id: `user_${id}` }, priceIds: [], priceLookupKeys: [], currentPeriodEnd: null, cancelAtPeriodEnd: false }),
      claimCustomer: async () => {},
    });
    const inbox = new WebhookInbox(store, { workerId, baseDelayMs: 1, ...options });
    return { inbox, subscriptions, processor: new WebhookProcessor({ inbox, source, subscriptions, log: captureLogger().logger }) };
  };

  it('takes one statement for a new subscription event naming its account, and one for its redelivery', async () => {
    const s = scenario('count');
    await deliver(scenario('count_warm').event('customer.subscription.created')); // the catalog is read once, then cached
    const event = s.event('customer.subscription.updated');
    expect(await deliver(event)).toEqual({ status: 200, body: { received: true }, statements: 1 });
    expect(await inboxRow(event.id)).toEqual({ status: 'processed', outcome: 'applied', attempts: 1, reason: null });
    // Applied before the answer, and visible to the very next read.
    const res = await fetch(`${app.url}/subscription-status`, { headers: { authorization: `Bearer dev_${s.account}` } });
    expect(await res.json()).toMatchObject({ status: 'active', features: ['ai-detect'] });
    expect(await deliver(event)).toEqual({ status: 200, body: { received: true, duplicate: true }, statements: 1 });
    expect(await changesOf(s.account)).toBe(1);
  });

  it('stores an event that maps to no account as unmapped, without claiming it first', async () => {
    const event = scenario('unmapped').event('customer.subscription.created.unmapped');
    // The customer → account lookup, then the insert.
    expect(await deliver(event)).toMatchObject({ status: 200, statements: 2 });
    expect(await inboxRow(event.id)).toMatchObject({ status: 'unmapped', outcome: 'unmapped', attempts: 1 });
  });

  it('settles a same-second tie with exactly one provider read', async () => {
    const s = scenario('tie');
    const first = s.event('customer.subscription.updated');
    const tied = s.event('customer.subscription.updated.past-due');
    tied.created = first.created;
    s.truth('customer.subscription.updated.past-due');
    await deliver(first);
    stripe.clearRequests();
    expect(await deliver(tied)).toMatchObject({ status: 200, body: { received: true } });
    expect(stripe.requestsTo(`/v1/subscriptions/${s.sub}`, 'GET')).toHaveLength(1);
    expect(await inboxRow(tied.id)).toMatchObject({ status: 'processed', outcome: 'applied', attempts: 1 });
    expect(await app.wiring.billing.subscriptions.get(s.account)).toMatchObject({ status: 'past_due', sourceRank: 1 });
  });

  it('stores nothing of a statement that fails halfway, and retries the event the long way', async () => {
    const s = scenario('halfway');
    // Fails the change insert, after the upsert, for this account only.
    await t.store.query(`CREATE FUNCTION refuse_halfway() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.account_id = '${s.account}' THEN RAISE EXCEPTION 'halfway refused'; END IF; RETURN NEW; END $$`);
    await t.store.query('CREATE TRIGGER refuse_halfway BEFORE INSERT ON subscription_changes FOR EACH ROW EXECUTE FUNCTION refuse_halfway()');
    const event = s.event('customer.subscription.updated');
    try {
      expect(await deliver(event)).toMatchObject({ status: 200, body: { received: true } });
      expect(await inboxRow(event.id)).toMatchObject({ status: 'retrying', attempts: 1 });
      expect(await app.wiring.billing.subscriptions.get(s.account)).toBeUndefined();
    } finally {
      await t.store.query('DROP TRIGGER refuse_halfway ON subscription_changes');
      await t.store.query('DROP FUNCTION refuse_halfway()');
    }
    await t.store.query('UPDATE webhook_events SET next_attempt_at = now() WHERE id = $1', [event.id]);
    expect(await app.wiring.webhooks.processor.runDue()).toBeGreaterThanOrEqual(1);
    expect(await inboxRow(event.id)).toMatchObject({ status: 'processed', outcome: 'applied', attempts: 2 });
    expect(await changesOf(s.account)).toBe(1);
  });

  it('applies each event once when two replicas take the same deliveries at once', async () => {
    const a = processorOn(t.store, 'replica_a');
    const b = processorOn(second, 'replica_b');
    // Four accounts (first rows raced for), five events each, every one delivered to both replicas.
    const events = Array.from({ length: 20 }, (_, i) => {
      const e = scenario(`race_${i % 4}`).event('customer.subscription.updated');
      e.id = `evt_race_${i}`;
      e.created += i;
      return e;
    });
    const receipts = await Promise.all(events.flatMap((e) => [a.processor.receive(verified(e)), b.processor.receive(verified(e))]));
    await Promise.all(receipts.flatMap((r) => (r.pending ? [r.pending] : [])));
    for (const [i, e] of events.entries()) {
      expect([receipts[2 * i]!.stored, receipts[2 * i + 1]!.stored].filter(Boolean), e.id).toHaveLength(1);
      expect(await inboxRow(e.id)).toMatchObject({ status: 'processed' });
    }
    const posted = await t.store.query<{ event_id: string }>("SELECT payload->>'eventId' AS event_id FROM subscription_event_outbox");
    const raced = posted.map((p) => p.event_id).filter((id) => id.startsWith('evt_race_'));
    expect(new Set(raced).size).toBe(raced.length);
    for (let k = 0; k < 4; k++) {
      const account = scenario(`race_${k}`).account;
      expect(await a.subscriptions.get(account)).toMatchObject({ lastEventId: `evt_race_${16 + k}` });
    }
  });

  it('lets a redelivery take an event waiting for its retry once due, and leaves a held or not-due one alone', async () => {
    const { processor, subscriptions } = processorOn(t.store, 'redelivery');
    const [due, later, held] = ['due', 'later', 'held'].map((k) => scenario(`redeliver_${k}`).event('customer.subscription.updated'));
    await t.store.query("INSERT INTO webhook_events (id, provider, type, created, payload, status, attempts, next_attempt_at) VALUES ($1, 'stripe', $2, $3, $4::jsonb, 'retrying', 1, now() - interval '1 second')", [due!.id, due!.type, due!.created, JSON.stringify(due)]);
    await t.store.query("INSERT INTO webhook_events (id, provider, type, created, payload, status, attempts, next_attempt_at) VALUES ($1, 'stripe', $2, $3, $4::jsonb, 'retrying', 1, now() + interval '1 hour')", [later!.id, later!.type, later!.created, JSON.stringify(later)]);
    await t.store.query("INSERT INTO webhook_events (id, provider, type, created, payload, status, attempts, locked_by, locked_until) VALUES ($1, 'stripe', $2, $3, $4::jsonb, 'processing', 1, 'other', now() + interval '1 hour')", [held!.id, held!.type, held!.created, JSON.stringify(held)]);

    const takeDue = await processor.receive(verified(due!));
    expect(takeDue.stored).toBe(false);
    expect(await takeDue.pending).toEqual({ status: 'processed', outcome: 'applied' });
    expect(await inboxRow(due!.id)).toMatchObject({ status: 'processed', outcome: 'applied', attempts: 2 });

    for (const [e, status] of [[later!, 'retrying'], [held!, 'processing']] as const) {
      const receipt = await processor.receive(verified(e));
      expect(receipt.stored).toBe(false);
      expect(await receipt.pending).toBeUndefined();
      expect(await inboxRow(e.id)).toMatchObject({ status, attempts: 1 });
      expect(await subscriptions.get(scenario(`redeliver_${e === later ? 'later' : 'held'}`).account)).toBeUndefined();
    }
  });

  it('leaves a tie stored by a replica that crashed before settling it to the retry worker, after its lease', async () => {
    const crashed = processorOn(t.store, 'crashed', { leaseMs: 60_000 });
    const survivor = processorOn(second, 'survivor');
    // The provider double answers a read of subscription <id> with account user_<id>, status past_due.
    const account = 'user_crash';
    const s = scenario('crash');
    const first = s.event('customer.subscription.updated');
    const tie = s.event('customer.subscription.updated.past-due');
    for (const e of [first, tie]) {
      e.data.object.metadata.account_id = account;
      e.data.object.id = 'crash';
      e.created = first.created;
    }
    await crashed.processor.receive(verified(first));
    // The crash: the statement committed, the reread never ran.
    const mapped = await stripeSource().mapLocally(tie);
    if (mapped?.kind !== 'update') throw new Error(`the fixture maps to ${mapped?.kind}`);
    expect(await crashed.inbox.recordApplied(verified(tie), mapped.update, crashed.subscriptions)).toEqual({ stored: 'processing', outcome: 'tie' });
    await survivor.processor.runDue();
    expect(await inboxRow(tie.id)).toMatchObject({ status: 'processing', attempts: 1 });
    await t.store.query("UPDATE webhook_events SET locked_until = now() - interval '1 second' WHERE id = $1", [tie.id]);
    await survivor.processor.runDue();
    expect(await inboxRow(tie.id)).toMatchObject({ status: 'processed', outcome: 'applied', attempts: 2 });
    expect(await survivor.subscriptions.get(account)).toMatchObject({ status: 'past_due', sourceRank: 1, lastEventId: tie.id });
  });

});

/** The Stripe mapping with no provider behind it, for mapping fixtures locally. */
function stripeSource() {
  const none = async () => undefined;
  return stripeWebhookEventSource({ plans: async () => [], findAccountByCustomer: none, retrieveSubscription: async () => null, claimCustomer: async () => {} });
}
