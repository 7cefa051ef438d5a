import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseStripeForm, startStripeDouble, type StripeDouble } from './stripe-double.js';

describe('parseStripeForm', () => {
  it('turns bracketed keys into nested objects and indexed keys into arrays', () => {
    expect(
      parseStripeForm('mode=subscription&metadata[account_id]=acc_1&line_items[0][price]=price_a&line_items[0][quantity]=1&line_items[1][price]=price_b&lookup_keys[]=x&lookup_keys[]=y'),
    ).toEqual({
      mode: 'subscription',
      metadata: { account_id: 'acc_1' },
      line_items: [{ price: 'price_a', quantity: '1' }, { price: 'price_b' }],
      lookup_keys: ['x', 'y'],
    });
  });

  it('decodes percent-escapes and plus signs like a form', () => {
    expect(parseStripeForm('name=Pro+plan&url=https%3A%2F%2Fa.example%2Fx%3Fy%3D1')).toEqual({ name: 'Pro plan', url: 'https://a.example/x?y=1' });
  });
});

describe('Stripe double', () => {
  let double: StripeDouble;
  beforeAll(async () => {
    double = await startStripeDouble();
  });
  afterAll(() => double.close());
  beforeEach(() => double.clearRequests());

  it('records the exact request stripe-node sends, with its headers', async () => {
    const stripe = double.stripe();
    const customer = await stripe.customers.create({ email: 'a@example.com', metadata: { account_id: 'user_1' } }, { idempotencyKey: 'cust-user_1' });
    expect(customer.id).toMatch(/^cus_/);
    expect(customer.object).toBe('customer');
    expect(customer.metadata).toEqual({ account_id: 'user_1' });
    // fields from Stripe's fixture survive
    expect(customer.invoice_settings).toBeDefined();

    const [request] = double.requestsTo('/v1/customers', 'POST');
    expect(request?.body).toEqual({ email: 'a@example.com', metadata: { account_id: 'user_1' } });
    expect(request?.idempotencyKey).toBe('cust-user_1');
    expect(request?.stripeVersion).toBe('2026-10-28.endive');
    expect(request?.authorization).toBe('Bearer sk_test_double_0000000000000000');

    const again = await stripe.customers.retrieve(customer.id);
    expect(again).toMatchObject({ id: customer.id, email: 'a@example.com' });
  });

  it('answers a missing object with Stripe\'s 404 error shape, which stripe-node turns into a typed error', async () => {
    const stripe = double.stripe();
    const error = await stripe.customers.retrieve('cus_nope').catch((e: unknown) => e);
    expect(error).toMatchObject({ type: 'StripeInvalidRequestError', statusCode: 404, code: 'resource_missing', param: 'id', message: "No such customer: 'cus_nope'" });
  });

  it('answers unknown routes with 404 in Stripe\'s shape', async () => {
    const response = await fetch(`${double.url}/v1/nothing_here`, { headers: { authorization: 'Bearer sk_test_x' } });
    expect(response.status).toBe(404);
    const body = (await response.json()) as { error: { type: string; message: string } };
    expect(body.error.type).toBe('invalid_request_error');
    expect(body.error.message).toContain('Unrecognized request URL (GET: /v1/nothing_here)');
  });

  it('refuses requests without a usable API key with 401', async () => {
    const none = await fetch(`${double.url}/v1/customers/cus_1`);
    expect(none.status).toBe(401);
    const error = await double.stripe({ secretKey: 'pk_test_abc' }).customers.retrieve('cus_1').catch((e: unknown) => e);
    expect(error).toMatchObject({ type: 'StripeAuthenticationError', statusCode: 401 });
  });

  it('creates checkout and portal sessions for a known customer', async () => {
    const stripe = double.stripe();
    const customer = await stripe.customers.create({});
    const session = await stripe.checkout.sessions.create({
      mode: 'subscription',
      customer: customer.id,
      line_items: [{ price: 'price_x', quantity: 1 }],
      success_url: 'https://app.example/ok',
      cancel_url: 'https://app.example/no',
      metadata: { account_id: 'user_1' },
      subscription_data: { metadata: { account_id: 'user_1' } },
    });
    expect(session.url).toBe(`https://checkout.stripe.com/c/pay/${session.id}`);
    expect(session.id).toMatch(/^cs_test_/);
    expect(double.requestsTo('/v1/checkout/sessions')[0]?.body).toEqual({
      mode: 'subscription',
      customer: customer.id,
      line_items: [{ price: 'price_x', quantity: '1' }],
      success_url: 'https://app.example/ok',
      cancel_url: 'https://app.example/no',
      metadata: { account_id: 'user_1' },
      subscription_data: { metadata: { account_id: 'user_1' } },
    });

    const portal = await stripe.billingPortal.sessions.create({ customer: customer.id, return_url: 'https://app.example/account' });
    expect(portal.url).toMatch(/^https:\/\/billing\.stripe\.com\/p\/session\/test_/);
    await expect(stripe.billingPortal.sessions.create({ customer: 'cus_missing', return_url: 'https://app.example' })).rejects.toMatchObject({
      statusCode: 404,
      param: 'customer',
    });
  });

  it('serves subscriptions put by the test, with the fixture\'s shape', async () => {
    const put = double.putSubscription({ id: 'sub_test_1', status: 'active', metadata: { account_id: 'user_1' } });
    const stripe = double.stripe();
    const read = await stripe.subscriptions.retrieve('sub_test_1');
    expect(read).toMatchObject({ id: 'sub_test_1', status: 'active', metadata: { account_id: 'user_1' } });
    expect(read.items.data[0]?.current_period_end).toBe((put.items as { data: Array<{ current_period_end: number }> }).data[0]?.current_period_end);
    double.updateSubscription('sub_test_1', { status: 'past_due' });
    expect((await stripe.subscriptions.retrieve('sub_test_1')).status).toBe('past_due');
  });

  it('replays a repeated POST with the same idempotency key and body, and refuses a different body', async () => {
    const stripe = double.stripe();
    const first = await stripe.customers.create({ email: 'idem@example.com' }, { idempotencyKey: 'idem-1' });
    const second = await stripe.customers.create({ email: 'idem@example.com' }, { idempotencyKey: 'idem-1' });
    expect(second.id).toBe(first.id);
    expect(second.lastResponse.headers['idempotent-replayed']).toBe('true');
    expect([...double.customers.values()].filter((c) => c.email === 'idem@example.com')).toHaveLength(1);

    const error = await stripe.customers.create({ email: 'other@example.com' }, { idempotencyKey: 'idem-1' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ type: 'StripeIdempotencyError', statusCode: 400 });
  });

  it('rejects a meter event whose identifier was already used, as Stripe does', async () => {
    const stripe = double.stripe();
    const meter = await stripe.billing.meters.create({ display_name: 'AI detections', event_name: 'ai_detection', default_aggregation: { formula: 'sum' } });
    expect(meter).toMatchObject({ object: 'billing.meter', status: 'active', event_name: 'ai_detection' });
    const event = { event_name: 'ai_detection', payload: { stripe_customer_id: 'cus_1', value: '1' }, identifier: 'usage-1' };
    await expect(stripe.billing.meterEvents.create(event)).resolves.toMatchObject({ identifier: 'usage-1' });
    const duplicate = await stripe.billing.meterEvents.create(event).catch((e: unknown) => e);
    expect(duplicate).toMatchObject({ statusCode: 400, type: 'StripeInvalidRequestError', message: 'An event already exists with identifier usage-1.' });
    expect(double.meterEvents).toHaveLength(1);

    const deactivated = await stripe.billing.meters.deactivate(meter.id);
    expect(deactivated.status).toBe('inactive');
    expect((await stripe.billing.meters.list({ status: 'active' })).data.map((m) => m.id)).not.toContain(meter.id);
  });

  it('keeps price lookup keys unique, moves them with transfer_lookup_key, and filters by them', async () => {
    const stripe = double.stripe();
    const product = await stripe.products.create({ name: 'Pro', metadata: { catalog_plan_id: 'pro' } });
    const old = await stripe.prices.create({ product: product.id, currency: 'usd', unit_amount: 900, recurring: { interval: 'month' }, lookup_key: 'pro_monthly' });
    const clash = await stripe.prices
      .create({ product: product.id, currency: 'usd', unit_amount: 1200, recurring: { interval: 'month' }, lookup_key: 'pro_monthly' })
      .catch((e: unknown) => e);
    expect(clash).toMatchObject({ statusCode: 400, param: 'lookup_key' });

    const next = await stripe.prices.create({
      product: product.id,
      currency: 'usd',
      unit_amount: 1200,
      recurring: { interval: 'month' },
      lookup_key: 'pro_monthly',
      transfer_lookup_key: true,
    });
    await stripe.prices.update(old.id, { active: false });
    const byKey = await stripe.prices.list({ lookup_keys: ['pro_monthly'] });
    expect(byKey.object).toBe('list');
    expect(byKey.data.map((p) => [p.id, p.unit_amount])).toEqual([[next.id, 1200]]);
    expect(double.prices.get(old.id)).toMatchObject({ active: false, lookup_key: null });
    expect(double.requestsTo('/v1/prices', 'GET')[0]?.query).toEqual({ lookup_keys: ['pro_monthly'] });

    const found = await stripe.products.search({ query: "metadata['catalog_plan_id']:'pro'" });
    expect(found.data.map((p) => p.id)).toEqual([product.id]);
  });

  it('injects failures for the next N matching requests, then recovers', async () => {
    const stripe = double.stripe();
    double.failNext('POST /v1/customers', 503, 2);
    await expect(stripe.customers.create({})).rejects.toMatchObject({ type: 'StripeAPIError', statusCode: 503 });
    await expect(stripe.customers.create({})).rejects.toMatchObject({ statusCode: 503 });
    await expect(stripe.customers.create({})).resolves.toMatchObject({ object: 'customer' });

    // with retries on, stripe-node retries a 5xx and the double records every attempt
    double.failNext('/v1/customers', 500, 1);
    double.clearRequests();
    const retrying = double.stripe({ maxNetworkRetries: 1 });
    await expect(retrying.customers.create({})).resolves.toMatchObject({ object: 'customer' });
    const attempts = double.requestsTo('/v1/customers', 'POST');
    expect(attempts.map((r) => r.status)).toEqual([500, 200]);
    expect(attempts[0]?.idempotencyKey).toBe(attempts[1]?.idempotencyKey);
  });
});
