import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { startWiredApp } from '../testing/harness.js';
import { signedDelivery, stripeEvent } from '../testing/stripe-events.js';
import { startStripeDouble, type StripeDouble } from '../testing/stripe-double.js';
import type { Store } from '../store/ports.js';
import { migrate, openStore } from '../store/store.js';
import { runCliCaptured } from '../testing/cli.js';
import { seedDataDir } from '../testing/stores.js';

const SECRET = 'whsec_cliTestSecret';

// Each CLI run opens the PGlite folder (seconds on a busy machine): a generous timeout.
describe('pnpm billing webhooks list / replay', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'vd-cli-wh-'));
  seedDataDir(join(dir, 'data'));
  const env = () => ({ NODE_ENV: 'test', DATA_DIR: join(dir, 'data'), STRIPE_SECRET_KEY: 'sk_test_51Cli', STRIPE_API_BASE_URL: stripe.url, STRIPE_WEBHOOK_SECRET: SECRET });
  let stripe: StripeDouble;
  let store: Store;

  beforeAll(async () => {
    stripe = await startStripeDouble();
  });
  afterAll(async () => {
    await stripe.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const cli = (...argv: string[]) => runCliCaptured(argv, loadConfig(env()));

  it('lists failed and unmapped events and replays them through the same processing', async () => {
    // A server on the same data directory receives the deliveries; then it stops and the CLI takes over.
    store = await openStore({ dataDir: join(dir, 'data') });
    await migrate(store);
    const app = await startWiredApp({ store, env: { ...env(), STRIPE_WEBHOOK_SECRET: SECRET }, overrides: { webhookInbox: { maxAttempts: 1 } } });
    const checkout = stripeEvent('checkout.session.completed');
    stripe.failNext(`GET /v1/subscriptions/${checkout.data.object.subscription}`, 500, 3);
    const unmapped = stripeEvent('customer.subscription.created.unmapped');
    for (const e of [checkout, unmapped]) {
      const res = await fetch(`${app.url}/webhook`, { method: 'POST', ...signedDelivery(stripe, JSON.stringify(e), SECRET) });
      expect(res.status).toBe(200);
    }
    await app.shutdown();
    await store.close();

    const failed = await cli('webhooks', 'list', '--failed');
    expect(failed.code).toBe(0);
    expect(failed.out).toContain(checkout.id);
    expect(failed.out).toContain('failed');
    const unmappedList = await cli('webhooks', 'list', '--unmapped');
    expect(unmappedList.out).toContain(unmapped.id);
    expect(unmappedList.out).toContain('cus_UnknownZ9y8x7');

    // Stripe is back: replaying the failed event applies it.
    stripe.putSubscription({ ...stripeEvent('customer.subscription.updated').data.object });
    const replay = await cli('webhooks', 'replay', '--failed');
    expect(replay.code).toBe(0);
    expect(replay.out).toContain(`${checkout.id}  processed (applied)`);
    expect((await cli('webhooks', 'list', '--failed')).out).toBe('no failed events');

    const one = await cli('webhooks', 'replay', unmapped.id);
    expect(one.out).toContain(`${unmapped.id}  unmapped:`);
  });

  it('explains bad usage', async () => {
    expect((await cli('webhooks', 'list')).code).toBe(2);
    const both = await cli('webhooks', 'replay');
    expect(both.code).toBe(2);
    expect(both.err).toContain('give one event id, or --failed');
    expect((await cli('webhooks', 'replay', 'evt_missing')).code).toBe(1);
  });
});
