import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliCaptured } from '../testing/cli.js';
import { loadConfig } from '../config.js';
import { stripeEvent } from '../testing/stripe-events.js';
import { startStripeDouble, type StripeDouble } from '../testing/stripe-double.js';
import { useTestStore } from '../testing/fixtures.js';
import { openReplica, postgresTargetOrUndefined } from '../testing/stores.js';
import { migrate } from '../store/store.js';
import type { Store } from '../store/ports.js';
import { runRecoveryOnce } from './recovery-job.js';
import { wire } from '../bootstrap.js';
import { captureLogger } from '../testing/harness.js';
import type { Rows } from '../store/rows.js';

/**
 * Healing from Stripe itself, through the CLI an operator runs: `stripe reconcile` after an outage in
 * which subscriptions changed and no event arrived, and `webhooks catch-up` for deliveries Stripe gave
 * up on. PostgreSQL only: the CLI opens its own connection next to the test's.
 */
describe.runIf(postgresTargetOrUndefined)('stripe reconcile and webhooks catch-up', () => {
  const t = useTestStore(postgresTargetOrUndefined!);
  let stripe: StripeDouble;
  const SUBSCRIPTIONS = 150;
  const account = (i: number) => `user_rec_${i}`;
  const env = () => ({ NODE_ENV: 'test', DATABASE_URL: t.databaseUrl!, STRIPE_SECRET_KEY: 'sk_test_51Recovery', STRIPE_API_BASE_URL: stripe.url });

  beforeAll(async () => {
    stripe = await startStripeDouble();
  });
  afterAll(async () => {
    await stripe?.close();
  });

  const cli = (...argv: string[]) => runCliCaptured(argv, loadConfig(env()));
  const template = () => stripeEvent('customer.subscription.updated').data.object;
  const statusOf = async (accountId: string) =>
    (await t.store.query<Pick<Rows['subscriptions'], 'status' | 'cancel_at_period_end'>>('SELECT status, cancel_at_period_end FROM subscriptions WHERE account_id = $1', [accountId]))[0];
  const count = async (table: string) => (await t.store.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table}`))[0]!.n;
  const listPages = () => stripe.requestsTo('/v1/subscriptions', 'GET').length;

  it('repairs every account after an outage of 50 changes, one list page per 100 subscriptions, and writes nothing on a second run', async () => {
    for (let i = 0; i < SUBSCRIPTIONS; i++) {
      stripe.putSubscription({ ...template(), id: `sub_rec_${i}`, customer: `cus_rec_${i}`, status: 'active', metadata: { account_id: account(i), features: 'ai-detect' } });
    }
    const first = await cli('stripe', 'reconcile');
    expect(first.code).toBe(0);
    expect(first.out).toContain(`${SUBSCRIPTIONS} subscriptions listed; 0 accounts in sync; ${SUBSCRIPTIONS} repaired`);

    // The outage: 50 subscriptions change at Stripe and no event reaches us.
    for (let i = 0; i < 50; i++) {
      const change = i % 3 === 0 ? { status: 'past_due' } : i % 3 === 1 ? { status: 'canceled' } : { cancel_at_period_end: true };
      stripe.updateSubscription(`sub_rec_${i}`, change);
    }
    const dry = await cli('stripe', 'reconcile', '--dry-run');
    expect(dry.out).toContain('50 would change (dry run: nothing written)');
    expect(dry.out).toMatch(new RegExp(`${account(0)}  \\|  sub_rec_0  \\|  would apply  \\|  status: active → past_due`));
    expect((await statusOf(account(0)))?.status).toBe('active');

    stripe.clearRequests();
    const changesBefore = await count('subscription_changes');
    const repair = await cli('stripe', 'reconcile');
    expect(repair.code).toBe(0);
    expect(repair.out).toContain(`${SUBSCRIPTIONS} subscriptions listed; ${SUBSCRIPTIONS - 50} accounts in sync; 50 repaired`);
    expect(repair.out).toMatch(new RegExp(`${account(1)}  \\|  sub_rec_1  \\|  applied  \\|  status: active → canceled`));
    expect(listPages()).toBe(Math.ceil(SUBSCRIPTIONS / 100));
    expect(await count('subscription_changes')).toBe(changesBefore + 50);
    for (let i = 0; i < SUBSCRIPTIONS; i++) {
      const expected = i >= 50 || i % 3 === 2 ? 'active' : i % 3 === 0 ? 'past_due' : 'canceled';
      expect(await statusOf(account(i)), account(i)).toMatchObject({ status: expected, cancel_at_period_end: i < 50 && i % 3 === 2 });
    }

    const again = await cli('stripe', 'reconcile');
    expect(again.out).toContain(`${SUBSCRIPTIONS} subscriptions listed; ${SUBSCRIPTIONS} accounts in sync; 0 repaired`);
    expect(await count('subscription_changes')).toBe(changesBefore + 50);
  }, 120_000);

  it('reconciles one account with --account, listing only its customer', async () => {
    stripe.updateSubscription('sub_rec_77', { status: 'unpaid' });
    stripe.clearRequests();
    const one = await cli('stripe', 'reconcile', '--account', account(77));
    expect(one.out).toContain('1 subscriptions listed; 0 accounts in sync; 1 repaired');
    expect(stripe.requestsTo('/v1/subscriptions', 'GET')[0]?.query).toMatchObject({ customer: 'cus_rec_77' });
    expect((await statusOf(account(77)))?.status).toBe('unpaid');
  });

  it('catch-up recovers undelivered events into the inbox and processes each exactly once', async () => {
    const created = Math.floor(Date.now() / 1000) - 120;
    const lost = (n: number, status: string) => {
      const event = stripeEvent('customer.subscription.updated');
      event.id = `evt_lost_${n}`;
      event.created = created + n;
      Object.assign(event.data.object, { id: 'sub_lost', customer: 'cus_lost', status, metadata: { account_id: 'user_lost', features: 'ai-detect' } });
      stripe.putEvent(event);
    };
    lost(1, 'active');
    lost(2, 'past_due');
    // One delivery did arrive: it is in the inbox already and must not be processed again.
    await t.store.query(
      `INSERT INTO webhook_events (id, provider, type, created, payload, status, attempts, outcome) VALUES ('evt_lost_1', 'stripe', 'customer.subscription.updated', $1, '{}'::jsonb, 'processed', 1, 'applied')`,
      [created + 1],
    );
    const run = await cli('webhooks', 'catch-up', '--since', '1h');
    expect(run.code).toBe(0);
    expect(run.out).toContain('recovered evt_lost_2');
    expect(run.out).not.toContain('recovered evt_lost_1');
    expect(run.out).toContain('2 events since');
    expect((await statusOf('user_lost'))?.status).toBe('past_due');

    const second = await cli('webhooks', 'catch-up', '--since', '1h');
    expect(second.out).toContain('0 were missing from the inbox');
    const rows = await t.store.query<Pick<Rows['webhook_events'], 'id' | 'status' | 'attempts'>>(`SELECT id, status, attempts FROM webhook_events WHERE id LIKE 'evt_lost_%' ORDER BY id`);
    expect(rows).toEqual([
      { id: 'evt_lost_1', status: 'processed', attempts: 1 },
      { id: 'evt_lost_2', status: 'processed', attempts: 1 },
    ]);
    expect((await cli('webhooks', 'catch-up', '--since', '45d')).code).toBe(2);
  });

  it('runs the periodic recovery on exactly one of several replicas per interval', async () => {
    const replicas: Store[] = await Promise.all([0, 1, 2].map(() => openReplica(t.databaseUrl)));
    try {
      await Promise.all(replicas.map((s) => migrate(s)));
      const config = loadConfig(env());
      const results = await Promise.all(
        replicas.map((store) => {
          const wiring = wire(config, store, captureLogger().logger);
          return runRecoveryOnce({
            store,
            source: wiring.billing.recovery!,
            subscriptions: wiring.billing.subscriptions,
            inbox: wiring.webhooks.inbox,
            processor: wiring.webhooks.processor,
            log: captureLogger().logger,
            intervalMs: 3_600_000,
          });
        }),
      );
      expect(results.filter((r) => r === 'ran')).toHaveLength(1);
      expect(await count('job_leases')).toBe(1);
    } finally {
      await Promise.all(replicas.map((s) => s.close()));
    }
  });
});
