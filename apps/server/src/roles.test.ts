import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SubscriptionRepository } from './billing/subscriptions.js';
import { loadConfig } from './config.js';
import { dutiesOf } from './roles.js';
import { startServerProcess, type ServerProcess } from './testing/processes.js';
import { signedDelivery, stripeEvent, stripeScenario } from './testing/stripe-events.js';
import { startStripeDouble, type StripeDouble } from './testing/stripe-double.js';
import { useTestStore } from './testing/fixtures.js';
import { postgresTargetOrUndefined } from './testing/stores.js';
import type { Rows } from './store/rows.js';

const SECRET = 'whsec_rolesTestSecret';
// Far below the defaults (5 s / 10 s), so "a worker would have run by now" takes a second, not a minute.
const WORKER_INTERVAL_MS = '100';
const METRICS_TOKEN = 'roles-metrics-token-0123456789';
const scrape = (url: string) => fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });

describe('ROLE', () => {
  it('defaults to all and refuses an unknown role by name', () => {
    expect(loadConfig({}).role).toBe('all');
    expect(() => loadConfig({ ROLE: 'cron' })).toThrow(/ROLE: must be one of all, api, webhooks, worker/);
  });

  it('gives each role its duties', () => {
    expect(dutiesOf('all')).toEqual({ api: true, webhooks: true, workers: true });
    expect(dutiesOf('api')).toEqual({ api: true, webhooks: false, workers: false });
    expect(dutiesOf('webhooks')).toEqual({ api: false, webhooks: true, workers: true });
    expect(dutiesOf('worker')).toEqual({ api: false, webhooks: false, workers: true });
  });
});

describe.runIf(postgresTargetOrUndefined)('ROLE=api and ROLE=webhooks processes on one PostgreSQL', () => {
  const t = useTestStore(postgresTargetOrUndefined!);
  let stripe: StripeDouble;
  let env: Record<string, string>;
  const started: ServerProcess[] = [];
  const backlogEventId = 'evt_roles_backlog_unmapped';
  const backlogLedgerKey = 'roles-backlog-usage';

  const backlog = async () => ({
    event: (await t.store.query<Pick<Rows['webhook_events'], 'status'>>('SELECT status FROM webhook_events WHERE id = $1', [backlogEventId]))[0]?.status,
    usage: (await t.store.query<Pick<Rows['usage_ledger'], 'status'>>('SELECT status FROM usage_ledger WHERE key = $1', [backlogLedgerKey]))[0]?.status,
  });

  beforeAll(async () => {
    stripe = await startStripeDouble();
    env = {
      DATABASE_URL: t.databaseUrl!,
      STRIPE_SECRET_KEY: 'sk_test_51Roles',
      STRIPE_API_BASE_URL: stripe.url,
      STRIPE_WEBHOOK_SECRET: SECRET,
      WORKER_INTERVAL_MS,
      METRICS_TOKEN,
    };
    // Work only a background worker picks up: a webhook event due for a retry, and usage not yet metered.
    const event = stripeEvent('customer.subscription.created.unmapped');
    event.id = backlogEventId;
    await t.store.query(
      `INSERT INTO webhook_events (id, provider, type, api_version, created, payload, status, attempts, next_attempt_at)
       VALUES ($1, 'stripe', $2, $3, $4, $5::jsonb, 'retrying', 1, now())`,
      [event.id, event.type, event.api_version, event.created, JSON.stringify(event)],
    );
    await t.store.query(
      `INSERT INTO usage_ledger (key, account_id, period, event_name, quantity) VALUES ($1, 'user_roles_free', '2026-12', 'ai_detection', 1)`,
      [backlogLedgerKey],
    );
  }, 150_000);

  afterAll(async () => {
    await Promise.all(started.map((p) => p.stop()));
    await stripe?.close();
  });

  it('ROLE=api serves the API and /ready, has no webhook route, and runs no background worker', async () => {
    const api = await startServerProcess({ env: { ...env, ROLE: 'api' } });
    started.push(api);

    const health = (await (await fetch(`${api.url}/health`)).json()) as Record<string, unknown>;
    expect(health).toMatchObject({ status: 'ok', role: 'api', workers: [] });
    expect((await fetch(`${api.url}/ready`)).status).toBe(200);
    expect((await fetch(`${api.url}/trpc/health`)).status).toBe(200);
    expect((await scrape(api.url)).status).toBe(200);
    const delivery = signedDelivery(stripe, JSON.stringify(stripeEvent('customer.subscription.created')), SECRET);
    const webhook = await fetch(`${api.url}/webhook`, { method: 'POST', ...delivery });
    expect(webhook.status).toBe(404);

    // Fifteen worker intervals later the backlog is untouched: nothing in this process polls.
    await new Promise((r) => setTimeout(r, 15 * Number(WORKER_INTERVAL_MS)));
    expect(await backlog()).toEqual({ event: 'retrying', usage: 'pending' });
  }, 150_000);

  it('ROLE=webhooks takes deliveries, processes them, runs the workers over the backlog, and serves no API', async () => {
    const hooks = await startServerProcess({ env: { ...env, ROLE: 'webhooks' } });
    started.push(hooks);

    const health = (await (await fetch(`${hooks.url}/health`)).json()) as { role: string; workers: string[] };
    expect(health.role).toBe('webhooks');
    expect([...health.workers].sort()).toEqual(['change-history', 'idempotency-keys', 'meter-outbox', 'stripe-recovery', 'webhook-retry']);
    expect((await fetch(`${hooks.url}/ready`)).status).toBe(200);
    expect((await fetch(`${hooks.url}/trpc/health`)).status).toBe(404);
    expect((await scrape(hooks.url)).status).toBe(200);

    // The backlog the API process left alone: the retry worker settles the event (it maps to no
    // account), the outbox settles the usage (a free account has nothing to meter). Polled until both
    // are settled: the event passes through 'processing' on its way, which is not an answer yet.
    await expect.poll(backlog, { timeout: 30_000, interval: 100 }).toEqual({ event: 'unmapped', usage: 'no_customer' });

    // A delivery to this process is stored and applied.
    const s = stripeScenario('roles', stripe);
    s.truth('customer.subscription.updated');
    for (const name of ['customer.subscription.created', 'customer.subscription.updated', 'checkout.session.completed'] as const) {
      const res = await fetch(`${hooks.url}/webhook`, { method: 'POST', ...signedDelivery(stripe, JSON.stringify(s.event(name)), SECRET) });
      expect(res.status, name).toBe(200);
    }
    const repo = new SubscriptionRepository(t.store);
    expect((await repo.statusOf(s.account)).status).toBe('active');
    const rows = await t.store.query<Pick<Rows['webhook_events'], 'status'>>(`SELECT status FROM webhook_events WHERE id LIKE '%\\_roles'`);
    expect(rows.map((r) => r.status)).toEqual(['processed', 'processed', 'processed']);
  }, 150_000);
});
