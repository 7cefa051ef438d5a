import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStripeClient } from '../billing/stripe/client.js';
import type { BillingProvider, ProviderSubscription } from '../billing/ports.js';
import { stripeWebhookEventSource } from '../billing/stripe/events.js';
import { SubscriptionRepository } from '../billing/subscriptions.js';
import { captureLogger, startWiredApp } from '../testing/harness.js';
import { stripeEvent } from '../testing/stripe-events.js';
import { useTestStore } from '../testing/fixtures.js';
import { openReplica, storeTargets } from '../testing/stores.js';
import type { Store } from '../store/ports.js';
import { WebhookInbox } from './inbox.js';
import { WebhookProcessor } from './processor.js';
import type { Rows } from '../store/rows.js';

const SECRET = 'whsec_claimsTestSecret';
const signer = createStripeClient({ secretKey: 'sk_test_signer', apiVersion: '2026-10-28.endive' });

/** A provider double that only knows how to read subscriptions, counting (and optionally stalling) reads. */
function readOnlyProvider(state: (id: string) => ProviderSubscription | null, stall?: Promise<void>) {
  const reads: string[] = [];
  const unavailable = async (): Promise<never> => {
    throw new Error('not part of this test');
  };
  const provider: BillingProvider = {
    name: 'stripe',
    createCustomer: unavailable,
    createCheckoutSession: unavailable,
    createPortalSession: unavailable,
    async retrieveSubscription(id) {
      reads.push(id);
      if (stall) await stall;
      return state(id);
    },
  };
  return { provider, reads };
}

const canceledSub = (id: string, account: string): ProviderSubscription => ({
  id,
  customerId: `cus_${account}`,
  status: 'canceled',
  metadata: { account_id: account, features: 'ai-detect' },
  priceIds: [],
  priceLookupKeys: [],
  currentPeriodEnd: new Date(1766242000 * 1000),
  cancelAtPeriodEnd: false,
});

describe.each(storeTargets)('webhook inbox claims on $name', (target) => {
  const t = useTestStore(target);
  let second: Store;

  beforeAll(async () => {
    // A second "replica": its own pool on the same database (PGlite has one connection, so it shares it).
    second = t.databaseUrl ? await openReplica(t.databaseUrl) : t.store;
  });
  afterAll(async () => {
    if (second !== t.store) await second.close();
  });

  const insertDue = async (ids: string[]) => {
    for (const [i, id] of ids.entries()) {
      await t.store.query(
        `INSERT INTO webhook_events (id, provider, type, created, payload, status, next_attempt_at)
         VALUES ($1, 'stripe', 'customer.subscription.updated', $2, '{}'::jsonb, 'received', now())`,
        [id, 1_763_650_000 + i],
      );
    }
  };

  it('lets workers polling together claim disjoint due events, each exactly once', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `evt_claim_race_${target.name}_${i}`);
    await insertDue(ids);
    const a = new WebhookInbox(t.store, { workerId: 'replica_a' });
    const b = new WebhookInbox(second, { workerId: 'replica_b' });
    const drain = async (inbox: WebhookInbox) => {
      const got: string[] = [];
      for (;;) {
        const rows = await inbox.claimDue(3);
        if (!rows.length) return got;
        got.push(...rows.map((r) => r.id).filter((id) => ids.includes(id)));
      }
    };
    const claimed = (await Promise.all([drain(a), drain(b), drain(a), drain(b)])).flat();
    expect(claimed.sort()).toEqual([...ids].sort());
    const rows = await t.store.query<Pick<Rows['webhook_events'], 'attempts' | 'status'>>('SELECT attempts, status FROM webhook_events WHERE id = ANY($1::text[])', [ids]);
    expect(rows.every((r) => r.attempts === 1 && r.status === 'processing')).toBe(true);
  });

  it("takes over a crashed worker's claim only after its lease ends, and the old holder can no longer complete it", async () => {
    const id = `evt_claim_lease_${target.name}`;
    await insertDue([id]);
    const crashed = new WebhookInbox(t.store, { workerId: 'crashed', leaseMs: 150 });
    const survivor = new WebhookInbox(second, { workerId: 'survivor', leaseMs: 60_000 });
    expect((await crashed.claimDue(100)).map((r) => r.id)).toContain(id);
    expect((await survivor.claimDue(100)).map((r) => r.id)).not.toContain(id);
    await new Promise((r) => setTimeout(r, 250));
    const [taken] = (await survivor.claimDue(100)).filter((r) => r.id === id);
    expect(taken).toMatchObject({ status: 'processing', attempts: 2 });
    await crashed.complete(id, 'processed', 'applied');
    expect(await survivor.get(id)).toMatchObject({ status: 'processing' });
    await survivor.complete(id, 'processed', 'applied');
    expect(await survivor.get(id)).toMatchObject({ status: 'processed', outcome: 'applied' });
  });

  it('gives back only its own leases of attempts that ended unrecorded, never another worker\'s nor a fresh or running one', async () => {
    const [dead, fresh, running, foreign] = ['dead', 'fresh', 'running', 'foreign'].map((k) => `evt_orphan_${k}_${target.name}`) as [string, string, string, string];
    await insertDue([dead, running, foreign]);
    const mine = new WebhookInbox(t.store, { workerId: 'orphans_mine' });
    const other = new WebhookInbox(second, { workerId: 'orphans_other' });
    for (const id of [dead, running]) expect(await mine.claim(id)).toBeDefined();
    expect(await other.claim(foreign)).toBeDefined();
    // Leases taken 5 s ago, as if their attempts died when the store went away.
    await t.store.query("UPDATE webhook_events SET locked_until = locked_until - interval '5 seconds' WHERE id = ANY($1::text[])", [[dead, running, foreign]]);
    await insertDue([fresh]);
    expect(await mine.claim(fresh)).toBeDefined();

    expect(await mine.releaseOrphanedLeases([running])).toEqual([dead]);
    expect(await mine.get(dead)).toMatchObject({ status: 'retrying', attempts: 0 });
    for (const id of [running, fresh, foreign]) expect(await mine.get(id)).toMatchObject({ status: 'processing', attempts: 1 });
    // Due right away, and the old attempt cannot complete what is claimed again.
    const [again] = (await other.claimDue(100)).filter((r) => r.id === dead);
    expect(again).toMatchObject({ status: 'processing', attempts: 1 });
    await mine.complete(dead, 'processed', 'applied');
    expect(await mine.get(dead)).toMatchObject({ status: 'processing' });
  });

  it('spends no second read when a checkout completion (already a fresh read) ties with the stored state', async () => {
    const account = `user_tie_${target.name}`;
    const sub = `sub_tie_${target.name}`;
    const event = stripeEvent('checkout.session.completed');
    event.id = `evt_tie_${target.name}`;
    event.data.object.metadata = { account_id: account };
    event.data.object.client_reference_id = account;
    event.data.object.customer = `cus_${account}`;
    event.data.object.subscription = sub;
    const subscriptions = new SubscriptionRepository(t.store);
    // Another event of the same second already stored the ended subscription from a fresh read.
    await subscriptions.apply({
      eventId: 'evt_earlier_same_second', accountId: account, provider: 'stripe', providerCustomerId: `cus_${account}`,
      providerSubscriptionId: sub, planId: null, status: 'canceled', features: ['ai-detect'], currentPeriodEnd: null,
      cancelAtPeriodEnd: false, sourceCreated: event.created, sourceRank: 1, authoritative: true,
    });
    const { provider, reads } = readOnlyProvider((id) => canceledSub(id, account));
    const source = stripeWebhookEventSource({
      plans: async () => [],
      findAccountByCustomer: async () => undefined,
      retrieveSubscription: (id) => provider.retrieveSubscription(id),
      claimCustomer: async () => {},
    });
    const inbox = new WebhookInbox(t.store);
    const processor = new WebhookProcessor({ inbox, source, subscriptions, log: captureLogger().logger });
    const row = await inbox.record(
      { id: event.id, type: event.type, created: event.created, apiVersion: event.api_version, livemode: false, payload: event },
      'claim',
    );
    expect(await processor.processClaimed(row!)).toEqual({ status: 'processed', outcome: 'tie' });
    expect(reads).toEqual([sub]);
    expect(await subscriptions.get(account)).toMatchObject({ status: 'canceled' });
  });

  it('acknowledges a delivery whose processing outlasts the deadline and finishes it in the background', async () => {
    let release!: () => void;
    const stall = new Promise<void>((r) => (release = r));
    const event = stripeEvent('checkout.session.completed');
    const account = `user_slow_${target.name}`;
    const sub = `sub_slow_${target.name}`;
    event.id = `evt_slow_${target.name}`;
    event.data.object.metadata = { account_id: account };
    event.data.object.client_reference_id = account;
    event.data.object.customer = `cus_slow_${target.name}`;
    event.data.object.subscription = sub;
    const { provider, reads } = readOnlyProvider((id) => ({ ...canceledSub(id, account), status: 'active', customerId: `cus_slow_${target.name}` }), stall);
    const app = await startWiredApp({
      store: t.store,
      env: { STRIPE_WEBHOOK_SECRET: SECRET },
      overrides: { billingProvider: provider, webhookInbox: { inlineDeadlineMs: 100 } },
    });
    try {
      const body = JSON.stringify(event);
      // The provider read stalls until release() below: an answer at all proves the ack did not wait for it.
      const res = await fetch(`${app.url}/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'stripe-signature': signer.webhooks.generateTestHeaderString({ payload: body, secret: SECRET }) },
        body,
      });
      expect(res.status).toBe(200);
      expect(await app.wiring.webhooks.inbox.get(event.id)).toMatchObject({ status: 'processing', attempts: 1 });
      // A redelivery meanwhile is a duplicate, and the retry worker leaves the leased row alone.
      const again = await fetch(`${app.url}/webhook`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'stripe-signature': signer.webhooks.generateTestHeaderString({ payload: body, secret: SECRET }) },
        body,
      });
      expect(await again.json()).toEqual({ received: true, duplicate: true });
      expect(await app.wiring.webhooks.processor.runDue()).toBe(0);
      release();
      for (let i = 0; i < 50 && (await app.wiring.webhooks.inbox.get(event.id))?.status !== 'processed'; i++) await new Promise((r) => setTimeout(r, 20));
      expect(await app.wiring.webhooks.inbox.get(event.id)).toMatchObject({ status: 'processed', outcome: 'applied', attempts: 1 });
      expect(await new SubscriptionRepository(t.store).statusOf(account)).toMatchObject({ status: 'active', features: ['ai-detect'] });
      expect(reads).toEqual([sub]);
    } finally {
      release();
      await app.shutdown();
    }
  });
});
