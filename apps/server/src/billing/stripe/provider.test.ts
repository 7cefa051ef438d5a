import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStripeDouble, type StripeDouble } from '../../testing/stripe-double.js';
import { startWiredApp } from '../../testing/harness.js';
import { useWiredApp } from '../../testing/fixtures.js';
import { storeTargets } from '../../testing/stores.js';
import type { Rows } from '../../store/rows.js';

const APP = 'https://app.verifieddit.test';
const KEY = 'sk_test_51VerifiedditDoubleKey';

describe.each(storeTargets)('Stripe provider against a Stripe double on $name', (target) => {
  let stripe: StripeDouble;
  let proPriceId: string;

  beforeAll(async () => {
    stripe = await startStripeDouble();
    const admin = stripe.stripe();
    const product = await admin.products.create({ name: 'Pro', metadata: { catalog_plan_id: 'pro' } });
    proPriceId = (await admin.prices.create({ product: product.id, currency: 'usd', unit_amount: 900, recurring: { interval: 'month' }, lookup_key: 'pro_monthly' })).id;
    stripe.clearRequests();
  });
  afterAll(async () => {
    await stripe.close();
  });
  const wired = useWiredApp({ target, env: () => ({ STRIPE_SECRET_KEY: KEY, STRIPE_API_BASE_URL: stripe.url, STRIPE_API_VERSION: '2026-10-28.endive' }) });
  const t = wired.store;

  const post = async (path: string, user: string, body: unknown) => {
    const res = await fetch(`${wired.app.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer dev_${user}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const checkoutBody = { plan: 'pro', successUrl: `${APP}/ok`, cancelUrl: `${APP}/cancel` };

  it('creates one customer and a subscription Checkout session with the exact Stripe requests', async () => {
    stripe.clearRequests();
    const { status, body } = await post('/create-checkout-session', 'user_alice', checkoutBody);
    expect(status).toBe(200);
    expect(body.url).toMatch(/^https:\/\/checkout\.stripe\.com\//);

    const [customerCreate] = stripe.requestsTo('/v1/customers', 'POST');
    expect(customerCreate?.body).toEqual({ metadata: { account_id: 'user_alice' } });
    expect(customerCreate?.idempotencyKey).toMatch(/^customer-create:user_alice:[0-9a-f]{32}$/);
    expect(customerCreate?.stripeVersion).toBe('2026-10-28.endive');
    expect(customerCreate?.authorization).toBe(`Bearer ${KEY}`);

    const [priceLookup] = stripe.requestsTo('/v1/prices', 'GET');
    expect(priceLookup?.query).toMatchObject({ lookup_keys: ['pro_monthly'], active: 'true' });

    const [session] = stripe.requestsTo('/v1/checkout/sessions', 'POST');
    const customerId = [...stripe.customers.keys()][0];
    const metadata = { account_id: 'user_alice', features: 'ai-detect', plan_id: 'pro' };
    expect(session?.body).toEqual({
      mode: 'subscription',
      customer: customerId,
      client_reference_id: 'user_alice',
      line_items: [{ price: proPriceId, quantity: '1' }],
      success_url: `${APP}/ok`,
      cancel_url: `${APP}/cancel`,
      metadata,
      subscription_data: { metadata },
    });
    expect(session?.idempotencyKey).toMatch(/^checkout:user_alice:[0-9a-f]{32}:\d+$/);
    expect(session?.stripeVersion).toBe('2026-10-28.endive');
  });

  it('reuses the stored customer on the next checkout instead of creating another', async () => {
    stripe.clearRequests();
    await post('/create-checkout-session', 'user_alice', { ...checkoutBody, feature: 'ai-detect' });
    expect(stripe.requestsTo('/v1/customers', 'POST')).toHaveLength(0);
  });

  it('creates exactly one customer when a new user starts many checkouts at once', async () => {
    const before = stripe.customers.size;
    const results = await Promise.all(Array.from({ length: 8 }, () => post('/create-checkout-session', 'user_rush', checkoutBody)));
    expect(results.every((r) => r.status === 200)).toBe(true);
    expect(stripe.customers.size).toBe(before + 1);
    const mapped = await t.store.query<{ n: number }>("SELECT count(*)::int AS n FROM customers WHERE account_id = 'user_rush'");
    expect(mapped[0]?.n).toBe(1);
  });

  it('opens the portal only for the caller’s own customer', async () => {
    stripe.clearRequests();
    const own = await post('/create-portal-session', 'user_alice', { returnUrl: `${APP}/account` });
    expect(own.status).toBe(200);
    const [portal] = stripe.requestsTo('/v1/billing_portal/sessions', 'POST');
    const alice = await t.store.query<Pick<Rows['customers'], 'provider_customer_id'>>("SELECT provider_customer_id FROM customers WHERE account_id = 'user_alice'");
    expect(portal?.body).toEqual({ customer: alice[0]?.provider_customer_id, return_url: `${APP}/account` });
    expect(portal?.idempotencyKey).toMatch(/^portal:cus_\w+:[0-9a-f]{32}:\d+$/);

    const stranger = await post('/create-portal-session', 'user_bob', { returnUrl: `${APP}/account` });
    expect(stranger.status).toBe(409);
    expect(stranger.body.error.code).toBe('NO_CUSTOMER');
  });

  it('answers a Stripe outage with BILLING_PROVIDER_ERROR and stores nothing half-done', async () => {
    // One attempt plus stripe-node's two bounded retries.
    stripe.failNext('POST /v1/customers', 500, 3);
    const res = await post('/create-checkout-session', 'user_outage', checkoutBody);
    expect(res.status).toBe(502);
    expect(res.body.error.code).toBe('BILLING_PROVIDER_ERROR');
    const mapped = await t.store.query<{ n: number }>("SELECT count(*)::int AS n FROM customers WHERE account_id = 'user_outage'");
    expect(mapped[0]?.n).toBe(0);
  });

  it('falls back to STRIPE_DEFAULT_PRICE_ID when the checkout names neither plan nor price', async () => {
    // A second app over the same store, with settings of its own (a replica configured differently).
    const other = await startWiredApp({
      store: t.store,
      env: { STRIPE_SECRET_KEY: KEY, STRIPE_API_BASE_URL: stripe.url, STRIPE_DEFAULT_PRICE_ID: proPriceId },
    });
    try {
      stripe.clearRequests();
      const res = await fetch(`${other.url}/create-checkout-session`, {
        method: 'POST',
        headers: { authorization: 'Bearer dev_user_default', 'content-type': 'application/json' },
        body: JSON.stringify({ successUrl: `${APP}/ok`, cancelUrl: `${APP}/cancel` }),
      });
      expect(res.status).toBe(200);
      const [session] = stripe.requestsTo('/v1/checkout/sessions', 'POST');
      expect(session?.body.line_items).toEqual([{ price: proPriceId, quantity: '1' }]);
      expect(stripe.requestsTo('/v1/prices', 'GET')).toHaveLength(0);
    } finally {
      await other.shutdown();
    }
  });

  it('gives two different checkouts by one user within 10 minutes their own idempotency keys; a retry reuses its key', async () => {
    // With STRIPE_DEFAULT_PRICE_ID = the pro price, `plan: "pro"` and "only a feature" send the same
    // price, features and URLs: only the plan metadata differs, and Stripe refuses a key reused with
    // other parameters (the double checks this like Stripe does).
    const other = await startWiredApp({
      store: t.store,
      env: { STRIPE_SECRET_KEY: KEY, STRIPE_API_BASE_URL: stripe.url, STRIPE_DEFAULT_PRICE_ID: proPriceId },
    });
    const start = (body: unknown) =>
      fetch(`${other.url}/create-checkout-session`, {
        method: 'POST',
        headers: { authorization: 'Bearer dev_user_twice', 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then(async (res) => ({ status: res.status, body: (await res.json()) as Record<string, any> }));
    try {
      stripe.clearRequests();
      const withPlan = await start(checkoutBody);
      const onlyFeature = await start({ feature: 'ai-detect', successUrl: `${APP}/ok`, cancelUrl: `${APP}/cancel` });
      expect(withPlan.status).toBe(200);
      expect(onlyFeature.status, JSON.stringify(onlyFeature.body)).toBe(200);
      expect(onlyFeature.body.id).not.toBe(withPlan.body.id);

      const [first, second] = stripe.requestsTo('/v1/checkout/sessions', 'POST');
      expect(first?.body.line_items).toEqual(second?.body.line_items);
      expect(first?.body.metadata).toEqual({ account_id: 'user_twice', features: 'ai-detect', plan_id: 'pro' });
      expect(second?.body.metadata).toEqual({ account_id: 'user_twice', features: 'ai-detect' });
      expect(first?.idempotencyKey).not.toBe(second?.idempotencyKey);

      // The same checkout again (a retry) sends the same key and gets the same session back.
      const retry = await start(checkoutBody);
      expect(retry.status).toBe(200);
      expect(retry.body.id).toBe(withPlan.body.id);
      const third = stripe.requestsTo('/v1/checkout/sessions', 'POST')[2];
      expect(third?.idempotencyKey).toBe(first?.idempotencyKey);
    } finally {
      await other.shutdown();
    }
  });

  it('keeps Stripe’s error text out of the answer (REST and tRPC) and puts it in the log', async () => {
    const secretText = 'Internal detail from Stripe: acct_1SecretAccount lacks capability card_payments';
    for (const via of ['rest', 'trpc'] as const) {
      stripe.failNext('POST /v1/customers', 500, 3, { type: 'api_error', message: secretText });
      const user = `user_hidden_${via}`;
      const res =
        via === 'rest'
          ? await fetch(`${wired.app.url}/create-checkout-session`, {
              method: 'POST',
              headers: { authorization: `Bearer dev_${user}`, 'content-type': 'application/json' },
              body: JSON.stringify(checkoutBody),
            })
          : await fetch(`${wired.app.url}/trpc/billing.createCheckoutSession`, {
              method: 'POST',
              headers: { authorization: `Bearer dev_${user}`, 'content-type': 'application/json' },
              body: JSON.stringify(checkoutBody),
            });
      expect(res.status, via).toBe(502);
      const text = await res.text();
      expect(text, via).not.toContain('acct_1SecretAccount');
      expect(text, via).not.toContain('capability');
      const body = JSON.parse(text) as any;
      const error = via === 'rest' ? body.error : { ...body.error.data, message: body.error.message };
      expect(error.code, via).toBe('BILLING_PROVIDER_ERROR');
      expect(error.message, via).toBe('The payment provider could not create the customer; try again shortly');
      expect(error.details, via).toEqual({ provider: 'stripe', providerRequestId: expect.stringMatching(/^req_/) });
      const requestId = via === 'rest' ? body.error.requestId : body.error.data.requestId;
      const logged = wired.app.logs.lines().filter((line) => line.includes(requestId) && line.includes('acct_1SecretAccount'));
      expect(logged.length, `${via}: the Stripe text is logged with the request id`).toBeGreaterThan(0);
    }
  });

  it('answers an unknown priceId with 400 UNKNOWN_PLAN, not a provider error', async () => {
    const res = await post('/create-checkout-session', 'user_alice', { priceId: 'price_doesNotExist', successUrl: `${APP}/ok`, cancelUrl: `${APP}/cancel` });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'UNKNOWN_PLAN', details: { priceId: 'price_doesNotExist' } });
    expect(JSON.stringify(res.body)).not.toContain('No such price');
  });
});
