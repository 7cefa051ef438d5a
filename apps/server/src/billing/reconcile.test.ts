import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStripeDouble, type StripeDouble } from '../testing/stripe-double.js';
import { stripeEvent } from '../testing/stripe-events.js';
import { storeTargets, type TestStore } from '../testing/stores.js';
import { staticCatalog } from './catalog.js';
import { reconcileSubscriptions } from './reconcile.js';
import { stripeRecoverySource } from './stripe/recovery.js';
import { CustomerRepository } from './customers.js';
import { SubscriptionRepository } from './subscriptions.js';

describe.each(storeTargets)('reconcile against the Stripe double on $name', (target) => {
  let t: TestStore;
  let stripe: StripeDouble;
  beforeAll(async () => {
    t = await target.open();
    stripe = await startStripeDouble();
  });
  afterAll(async () => {
    await stripe.close();
    await t.dispose();
  });

  it('repairs a change made at Stripe even when the previous reconcile ran in the same second', async () => {
    const subscriptions = new SubscriptionRepository(t.store);
    const customers = new CustomerRepository(t.store);
    const catalog = staticCatalog();
    const client = stripe.stripe({ maxNetworkRetries: 0 });
    // Both runs read Stripe at the same wall-clock second: each read is still a new observation.
    const sameSecond = () => 1_790_000_000_000;
    const source = stripeRecoverySource(client, {
      plans: () => catalog.plans(),
      findAccountByCustomer: (customerId) => customers.findAccountByCustomer(customerId),
      retrieveSubscription: () => Promise.resolve(null),
      claimCustomer: (accountId, customerId) => customers.claim(accountId, 'stripe', customerId).then(() => undefined),
    }, sameSecond);
    stripe.putSubscription({ ...stripeEvent('customer.subscription.updated').data.object, id: 'sub_same_second', customer: 'cus_same_second', status: 'active', metadata: { account_id: 'user_same_second' } });

    const first = await reconcileSubscriptions({ source, subscriptions });
    expect(first.applied).toBe(1);
    stripe.updateSubscription('sub_same_second', { status: 'past_due' });
    const second = await reconcileSubscriptions({ source, subscriptions });

    expect(second.rows.find((row) => row.accountId === 'user_same_second')?.action).toBe('applied');
    expect((await subscriptions.get('user_same_second'))?.status).toBe('past_due');
    // And a third run finds nothing to do.
    const third = await reconcileSubscriptions({ source, subscriptions });
    expect(third.applied).toBe(0);
  });
});
