import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VerifiedEvent } from '../billing/ports.js';
import { stripeWebhookEventSource } from '../billing/stripe/events.js';
import { SubscriptionRepository } from '../billing/subscriptions.js';
import type { QueryOptions, Store } from '../store/ports.js';
import { isStoreUnavailable } from '../store/store.js';
import { captureLogger } from '../testing/harness.js';
import { stripeEvent } from '../testing/stripe-events.js';
import { storeTargets, type TestStore } from '../testing/stores.js';
import { WebhookInbox } from './inbox.js';
import { WebhookProcessor } from './processor.js';
import { groupedRecorder } from './record-group.js';

/** A new subscription event of `account`, `created` seconds after a fixed start (later is newer). */
function subscriptionEvent(id: string, account: string, created: number): VerifiedEvent {
  const e = stripeEvent('customer.subscription.updated');
  e.id = id;
  e.created = 1_700_000_000 + created;
  e.data.object.id = `sub_${account}`;
  e.data.object.metadata = { ...e.data.object.metadata, account_id: account };
  return { id: e.id, type: e.type, created: e.created, apiVersion: e.api_version, livemode: false, payload: e, payloadText: JSON.stringify(e) };
}

describe.each(storeTargets)('webhook deliveries arriving together on $name', (target) => {
  let t: TestStore;
  const statements: string[] = [];
  let processor: WebhookProcessor;
  let subscriptions: SubscriptionRepository;

  beforeAll(async () => {
    t = await target.open();
    // The real store, counting every statement sent through it.
    const counting: Store = Object.assign(Object.create(t.store) as Store, {
      query: (text: string, params?: unknown[], options?: QueryOptions) => {
        statements.push(text);
        return t.store.query(text, params, options);
      },
    });
    subscriptions = new SubscriptionRepository(counting, undefined, { eventOutbox: true });
    const none = async () => undefined;
    const source = stripeWebhookEventSource({ plans: async () => [], findAccountByCustomer: none, retrieveSubscription: async () => null, claimCustomer: async () => {} });
    const inbox = new WebhookInbox(counting, { workerId: 'grouping', baseDelayMs: 1 });
    processor = new WebhookProcessor({ inbox, source, subscriptions, log: captureLogger().logger });
  });
  afterAll(() => t.dispose());

  /** Delivers the events in one turn of the event loop, as concurrent requests reach the store. */
  const receiveTogether = async (events: VerifiedEvent[]) => {
    statements.length = 0;
    const receipts = await Promise.all(events.map((e) => processor.receive(e)));
    await Promise.all(receipts.flatMap((r) => (r.pending ? [r.pending] : [])));
    return receipts;
  };
  const inboxRow = async (id: string) => (await t.store.query<Record<string, unknown>>('SELECT status, outcome, attempts FROM webhook_events WHERE id = $1', [id]))[0];
  const changesOf = async (account: string) => (await t.store.query('SELECT id FROM subscription_changes WHERE account_id = $1', [account])).length;
  const outboxOf = async (account: string) => (await t.store.query("SELECT change_id FROM subscription_event_outbox WHERE payload->>'accountId' = $1", [account])).length;

  it('stores and applies events of several accounts in one statement: a fraction of a statement per ack', async () => {
    const events = Array.from({ length: 8 }, (_, i) => subscriptionEvent(`evt_group_${i}`, `user_group_${i}`, i));
    const receipts = await receiveTogether(events);
    expect(statements).toHaveLength(1);
    expect(receipts.map((r) => r.stored)).toEqual(events.map(() => true));
    for (const [i, e] of events.entries()) {
      expect(receipts[i]!.processed).toMatchObject({ eventId: e.id, accountId: `user_group_${i}`, outcome: 'applied' });
      expect(await inboxRow(e.id)).toEqual({ status: 'processed', outcome: 'applied', attempts: 1 });
      expect(await subscriptions.get(`user_group_${i}`)).toMatchObject({ status: 'active', lastEventId: e.id });
      expect([await changesOf(`user_group_${i}`), await outboxOf(`user_group_${i}`)]).toEqual([1, 1]);
    }
    // Redelivered together: every one a duplicate, still one statement, nothing applied again.
    expect((await receiveTogether(events)).map((r) => r.stored)).toEqual(events.map(() => false));
    expect(statements).toHaveLength(1);
    expect(await changesOf('user_group_0')).toBe(1);
  });

  it('acks the rest of a group when one event fails, and retries that one alone until it is applied', async () => {
    const poisoned = 'user_poison_2';
    await t.store.query(`CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.account_id = '${poisoned}' THEN RAISE EXCEPTION 'poisoned event'; END IF; RETURN NEW; END $$`);
    await t.store.query('CREATE TRIGGER refuse_poison BEFORE INSERT ON subscription_changes FOR EACH ROW EXECUTE FUNCTION refuse_poison()');
    const events = Array.from({ length: 5 }, (_, i) => subscriptionEvent(`evt_poison_${i}`, `user_poison_${i}`, i));
    try {
      const receipts = await receiveTogether(events);
      // Durable and acknowledged, every one; the failing one waits for its retry.
      expect(receipts.map((r) => r.stored)).toEqual(events.map(() => true));
      for (const [i, e] of events.entries()) {
        expect(await inboxRow(e.id)).toEqual(i === 2 ? { status: 'retrying', outcome: null, attempts: 1 } : { status: 'processed', outcome: 'applied', attempts: 1 });
        expect(await changesOf(`user_poison_${i}`)).toBe(i === 2 ? 0 : 1);
      }
      expect(await subscriptions.get(poisoned)).toBeUndefined();
    } finally {
      await t.store.query('DROP TRIGGER refuse_poison ON subscription_changes');
      await t.store.query('DROP FUNCTION refuse_poison()');
    }
    await t.store.query('UPDATE webhook_events SET next_attempt_at = now() WHERE id = $1', [events[2]!.id]);
    expect(await processor.runDue()).toBeGreaterThanOrEqual(1);
    expect(await inboxRow(events[2]!.id)).toEqual({ status: 'processed', outcome: 'applied', attempts: 2 });
    expect([await changesOf(poisoned), await outboxOf(poisoned)]).toEqual([1, 1]);
  });

  it('fails a group together when the store is unreachable, without trying each event alone', async () => {
    const sent: string[] = [];
    const down: Store = Object.assign(Object.create(t.store) as Store, {
      query: async (text: string) => {
        sent.push(text);
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
      },
    });
    const none = async () => undefined;
    const source = stripeWebhookEventSource({ plans: async () => [], findAccountByCustomer: none, retrieveSubscription: async () => null, claimCustomer: async () => {} });
    const inbox = new WebhookInbox(down, { workerId: 'down' });
    const offline = new WebhookProcessor({ inbox, source, subscriptions: new SubscriptionRepository(down), log: captureLogger().logger });
    const events = Array.from({ length: 3 }, (_, i) => subscriptionEvent(`evt_down_${i}`, `user_down_${i}`, i));
    const results = await Promise.allSettled(events.map((e) => offline.receive(e)));
    // Not durable, so never acknowledged: each delivery fails (the route answers 503 and Stripe retries).
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected']);
    // The group's statement, then each delivery's long way (its inbox insert): no statement per event in between.
    expect(sent.filter((text) => text.includes('jsonb_populate_recordset'))).toHaveLength(1);
    expect(sent).toHaveLength(1 + events.length);
  });

  /** The recorder on `store` with a short deadline (still ample for a real statement on a busy CI machine). */
  const recorderOn = (store: Store) => {
    const record = groupedRecorder(store, { workerId: 'deadline', leaseMs: 60_000 }, { deadlineMs: 1_000 });
    const source = stripeWebhookEventSource({ plans: async () => [], findAccountByCustomer: async () => undefined, retrieveSubscription: async () => null, claimCustomer: async () => {} });
    return (events: VerifiedEvent[]) =>
      Promise.allSettled(
        events.map(async (e) => {
          const mapped = await source.mapLocally(e.payload);
          if (mapped?.kind !== 'update') throw new Error(`${e.id} does not map locally`);
          return record(e, mapped.update, subscriptions);
        }),
      );
  };
  /** The ids of the events a statement carries (its first parameter). */
  const idsOf = (params?: unknown[]) => params?.[0] as string[];

  it("refuses a stuck group's deliveries at the deadline and acknowledges the ones queued behind it", async () => {
    let release!: () => void;
    const released = new Promise<void>((done) => (release = done));
    let late: Promise<unknown> | undefined;
    const stuck: Store = Object.assign(Object.create(t.store) as Store, {
      query: (text: string, params?: unknown[], options?: QueryOptions) => {
        // The first group's statement hangs, as on a half-open connection, until the test releases it.
        if (late || idsOf(params)?.length !== 3) return t.store.query(text, params, options);
        return (late = released.then(() => t.store.query(text, params, options)));
      },
    });
    const deliver = recorderOn(stuck);
    const group = Array.from({ length: 3 }, (_, i) => subscriptionEvent(`evt_stuck_${i}`, `user_stuck_${i}`, i));
    // Same turn, but the first account's next event waits for the next group: behind the stuck one.
    const behind = subscriptionEvent('evt_stuck_next', 'user_stuck_0', 10);
    const results = await deliver([...group, behind]);
    expect(results.slice(0, 3).map((r) => r.status === 'rejected' && isStoreUnavailable(r.reason))).toEqual([true, true, true]);
    expect(results[3]).toMatchObject({ status: 'fulfilled', value: { stored: 'processed', outcome: 'applied' } });
    expect((await deliver([subscriptionEvent('evt_stuck_after', 'user_stuck_after', 0)]))[0]).toMatchObject({ status: 'fulfilled', value: { stored: 'processed' } });
    // The stuck statement commits after all: Stripe's redelivery is a duplicate, nothing applied twice.
    release();
    await late;
    const again = await deliver(group);
    expect(again.map((r) => r.status === 'fulfilled' && r.value.known)).toEqual(['processed', 'processed', 'processed']);
    expect(await changesOf('user_stuck_1')).toBe(1);
    // A stuck statement that fails late fails nothing more (and is no unhandled rejection).
    let fail!: () => void;
    const failing = new Promise<void>((done) => (fail = done)).then(() => Promise.reject(new Error('connection reset at last')));
    const more = recorderOn(Object.assign(Object.create(t.store) as Store, { query: () => failing }));
    const [refused] = await more([subscriptionEvent('evt_stuck_fail', 'user_stuck_fail', 0)]);
    expect(refused).toMatchObject({ status: 'rejected', reason: { code: 'ETIMEDOUT' } });
    fail();
    await failing.catch(() => {});
    await new Promise((done) => setImmediate(done));
  });

  it('stops trying a failed group event by event once the store proves unreachable', async () => {
    const alone: string[] = [];
    const flaky: Store = Object.assign(Object.create(t.store) as Store, {
      query: async (_text: string, params?: unknown[]) => {
        const ids = idsOf(params);
        // The group fails for its own reasons (a deadlock); then the store goes away.
        if (ids.length > 1) throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
        alone.push(ids[0]!);
        throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
      },
    });
    const events = Array.from({ length: 4 }, (_, i) => subscriptionEvent(`evt_flaky_${i}`, `user_flaky_${i}`, i));
    const results = await recorderOn(flaky)(events);
    expect(results.map((r) => r.status === 'rejected' && isStoreUnavailable(r.reason))).toEqual([true, true, true, true]);
    expect(alone).toEqual(['evt_flaky_0']);
  });

  it('fails a group together, without trying each event alone, on a client-side error after its statement may have committed', async () => {
    const sent: number[] = [];
    const broken = new TypeError("Cannot read properties of undefined (reading 'rows')");
    const lost: Store = Object.assign(Object.create(t.store) as Store, {
      query: async (text: string, params?: unknown[], options?: QueryOptions) => {
        sent.push(idsOf(params).length);
        const rows = await t.store.query(text, params, options);
        if (idsOf(params).length > 1) throw broken;
        return rows;
      },
    });
    const events = Array.from({ length: 3 }, (_, i) => subscriptionEvent(`evt_lost_${i}`, `user_lost_${i}`, i));
    const results = await recorderOn(lost)(events);
    expect(results).toEqual(events.map(() => ({ status: 'rejected', reason: broken })));
    // The group's statement only: alone, each event would have been sent again.
    expect(sent).toEqual([3]);
    expect(await changesOf('user_lost_1')).toBe(1);
  });

  it("applies one account's events arriving together in their order, and a repeated one once", async () => {
    const [first, second, third] = [0, 1, 2].map((i) => subscriptionEvent(`evt_order_${i}`, 'user_order', 10 + i));
    const other = subscriptionEvent('evt_order_other', 'user_order_other', 10);
    const receipts = await receiveTogether([first!, second!, other, third!, second!]);
    expect(receipts.map((r) => r.stored)).toEqual([true, true, true, true, false]);
    expect(receipts.slice(0, 4).map((r) => r.processed?.outcome)).toEqual(['applied', 'applied', 'applied', 'applied']);
    // An account's row is touched once per statement, so its events went in one group after another.
    expect(statements).toHaveLength(4);
    expect(await subscriptions.get('user_order')).toMatchObject({ lastEventId: third!.id });
    expect(await changesOf('user_order')).toBe(3);
  });
});
