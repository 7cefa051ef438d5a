import { beforeAll, describe, expect, it } from 'vitest';
import { useWiredApp } from '../testing/fixtures.js';
import { SubscriptionRepository } from './subscriptions.js';

const APP = 'https://app.verifieddit.test';

describe('billing procedures: errors and isolation', () => {
  const wired = useWiredApp();
  const t = wired.store;
  beforeAll(async () => {
    // Alice holds an active subscription; Bob has nothing.
    await new SubscriptionRepository(t.store).apply({
      eventId: 'evt_seed', accountId: 'alice', provider: 'local', providerCustomerId: 'cus_local_alice', providerSubscriptionId: 'sub_local_alice',
      planId: 'pro', status: 'active', features: ['ai-detect'], currentPeriodEnd: new Date(Date.now() + 86_400_000), cancelAtPeriodEnd: false,
      sourceCreated: Math.floor(Date.now() / 1000), sourceRank: 0,
    });
    await t.store.query("INSERT INTO customers (account_id, provider, provider_customer_id) VALUES ('alice', 'local', 'cus_local_alice')");
  });

  const trpc = async (path: string, user: string | null, input?: unknown) => {
    const res = await fetch(`${wired.app.url}/trpc/${path}`, {
      method: input === undefined ? 'GET' : 'POST',
      headers: { ...(user ? { authorization: `Bearer dev_${user}` } : {}), 'content-type': 'application/json' },
      ...(input === undefined ? {} : { body: JSON.stringify(input) }),
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  it('shows each user only their own subscription', async () => {
    expect((await trpc('billing.subscriptionStatus', 'alice')).body.result.data).toMatchObject({ status: 'active', features: ['ai-detect'] });
    expect((await trpc('billing.subscriptionStatus', 'bob')).body.result.data).toMatchObject({ status: 'none', features: [] });
  });

  it('never opens another user’s portal: Bob gets NO_CUSTOMER, not Alice’s portal', async () => {
    const bob = await trpc('billing.createPortalSession', 'bob', { returnUrl: `${APP}/account` });
    expect(bob.status).toBe(409);
    expect(bob.body.error.data.code).toBe('NO_CUSTOMER');
    const alice = await trpc('billing.createPortalSession', 'alice', { returnUrl: `${APP}/account` });
    expect(alice.status).toBe(200);
    expect(alice.body.result.data.url).toContain('/local-billing/portal/');
  });

  it('refuses redirects off the allowed origins with INVALID_REDIRECT', async () => {
    const res = await trpc('billing.createCheckoutSession', 'bob', { plan: 'pro', successUrl: 'https://evil.example/ok', cancelUrl: `${APP}/c` });
    expect(res.status).toBe(400);
    expect(res.body.error.data.code).toBe('INVALID_REDIRECT');
    expect(res.body.error.message).toContain('successUrl');
    const portal = await trpc('billing.createPortalSession', 'alice', { returnUrl: 'https://app.verifieddit.test.evil.example/x' });
    expect(portal.body.error.data.code).toBe('INVALID_REDIRECT');
  });

  it('refuses an active subscriber’s new checkout with ALREADY_SUBSCRIBED', async () => {
    const res = await trpc('billing.createCheckoutSession', 'alice', { plan: 'pro', successUrl: `${APP}/ok`, cancelUrl: `${APP}/c` });
    expect(res.status).toBe(409);
    expect(res.body.error.data.code).toBe('ALREADY_SUBSCRIBED');
  });

  it('names unknown plans and features with UNKNOWN_PLAN', async () => {
    const plan = await trpc('billing.createCheckoutSession', 'bob', { plan: 'platinum', successUrl: `${APP}/ok`, cancelUrl: `${APP}/c` });
    expect(plan.body.error.data.code).toBe('UNKNOWN_PLAN');
    const feature = await trpc('billing.createCheckoutSession', 'bob', { plan: 'pro', feature: 'teleport', successUrl: `${APP}/ok`, cancelUrl: `${APP}/c` });
    expect(feature.body.error.data.code).toBe('UNKNOWN_PLAN');
  });

  it('answers malformed input with VALIDATION_FAILED naming the field, on tRPC and REST alike', async () => {
    const rpc = await trpc('billing.createCheckoutSession', 'bob', { plan: 'pro', successUrl: 'not a url', cancelUrl: `${APP}/c` });
    expect(rpc.status).toBe(400);
    expect(rpc.body.error.data.code).toBe('VALIDATION_FAILED');
    const rest = await fetch(`${wired.app.url}/create-checkout-session`, {
      method: 'POST',
      headers: { authorization: 'Bearer dev_bob', 'content-type': 'application/json' },
      body: JSON.stringify({ plan: 'pro', cancelUrl: `${APP}/c` }),
    });
    expect(rest.status).toBe(400);
    const body = (await rest.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('VALIDATION_FAILED');
    expect(body.error.message).toContain('successUrl');
  });

  it('requires sign-in for every billing procedure but plans', async () => {
    expect((await trpc('billing.plans', null)).status).toBe(200);
    for (const [path, input] of [
      ['billing.subscriptionStatus', undefined],
      ['billing.createCheckoutSession', { plan: 'pro', successUrl: `${APP}/ok`, cancelUrl: `${APP}/c` }],
      ['billing.createPortalSession', { returnUrl: `${APP}/a` }],
    ] as const) {
      const res = await trpc(path, null, input);
      expect(res.status, path).toBe(401);
      expect(res.body.error.data.code).toBe('UNAUTHENTICATED');
    }
  });
});
