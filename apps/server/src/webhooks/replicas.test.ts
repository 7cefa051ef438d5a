import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, serverDir } from '../testing/processes.js';
import { SubscriptionRepository } from '../billing/subscriptions.js';
import { signedDelivery, stripeScenario, type EventFixture } from '../testing/stripe-events.js';
import { startStripeDouble, type StripeDouble } from '../testing/stripe-double.js';
import { useTestStore } from '../testing/fixtures.js';
import { postgresTargetOrUndefined } from '../testing/stores.js';
import type { Rows } from '../store/rows.js';

const SECRET = 'whsec_replicaTestSecret';

/** A real server process, started the way production starts one (main.ts), on the shared database. */
async function startReplica(env: Record<string, string>): Promise<{ url: string; child: ChildProcess; output: () => string }> {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    cwd: serverDir,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', LOG_LEVEL: 'warn', PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`replica exited: ${output}`);
    const ready = await fetch(`${url}/ready`).then((r) => r.status === 200, () => false);
    if (ready) return { url, child, output: () => output };
    if (Date.now() > deadline) throw new Error(`replica did not become ready: ${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.runIf(postgresTargetOrUndefined)('two server processes on one PostgreSQL', () => {
  const t = useTestStore(postgresTargetOrUndefined!);
  let stripe: StripeDouble;
  const replicas: Awaited<ReturnType<typeof startReplica>>[] = [];

  beforeAll(async () => {
    stripe = await startStripeDouble();
    const env = { DATABASE_URL: t.databaseUrl!, STRIPE_SECRET_KEY: 'sk_test_51Replicas', STRIPE_API_BASE_URL: stripe.url, STRIPE_WEBHOOK_SECRET: SECRET };
    replicas.push(...(await Promise.all([startReplica(env), startReplica(env)])));
  }, 90_000);
  afterAll(async () => {
    for (const r of replicas) r.child.kill('SIGTERM');
    await Promise.all(replicas.map((r) => new Promise((resolve) => (r.child.exitCode !== null ? resolve(null) : r.child.once('exit', resolve)))));
    await stripe.close();
  });

  it('gives a burst delivered to both at once, with duplicates, one effect per event and the right final states', async () => {
    const life: EventFixture[] = [
      'customer.subscription.created',
      'customer.subscription.updated',
      'checkout.session.completed',
      'customer.subscription.updated.cancel-at-period-end',
      'customer.subscription.updated.past-due',
      'customer.subscription.deleted',
    ];
    const accounts: { account: string; expected: string; ids: string[] }[] = [];
    const deliveries: { body: string }[] = [];
    for (let i = 0; i < 8; i++) {
      const ended = i % 2 === 0; // half live their whole life, half only its first second
      const s = stripeScenario(`r${i}`, stripe);
      const events = (ended ? life : life.slice(0, 3)).map(s.event);
      s.truth(ended ? 'customer.subscription.deleted' : 'customer.subscription.updated');
      const account = s.account;
      accounts.push({ account, expected: ended ? 'canceled' : 'active', ids: events.map((e) => e.id) });
      for (const e of events) deliveries.push({ body: JSON.stringify(e) }, { body: JSON.stringify(e) });
    }
    // Every delivery goes to both replicas at the same moment, in a shuffled order.
    const sends = deliveries
      .sort(() => Math.random() - 0.5)
      .flatMap(({ body }) =>
        replicas.map((r) => fetch(`${r.url}/webhook`, { method: 'POST', ...signedDelivery(stripe, body, SECRET) }).then((res) => res.status)),
      );
    const statuses = await Promise.all(sends);
    expect(statuses.every((s) => s === 200)).toBe(true);

    const repo = new SubscriptionRepository(t.store);
    for (const { account, expected } of accounts) {
      expect((await repo.statusOf(account)).status, account).toBe(expected);
    }
    const ids = accounts.flatMap((a) => a.ids);
    const rows = await t.store.query<Pick<Rows['webhook_events'], 'id' | 'status' | 'attempts'>>(
      'SELECT id, status, attempts FROM webhook_events WHERE id = ANY($1::text[])',
      [ids],
    );
    expect(rows).toHaveLength(ids.length);
    // Claimed exactly once each, across both processes: one effect per event.
    expect(rows.filter((r) => r.status !== 'processed' || r.attempts !== 1)).toEqual([]);
  }, 60_000);
});
