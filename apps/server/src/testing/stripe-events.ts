import { readFixture } from './fixture-files.js';
import type { StripeDouble } from './stripe-double.js';

export type EventFixture =
  | 'checkout.session.completed'
  | 'customer.subscription.created'
  | 'customer.subscription.created.unmapped'
  | 'customer.subscription.updated'
  | 'customer.subscription.updated.cancel-at-period-end'
  | 'customer.subscription.updated.past-due'
  | 'customer.subscription.deleted'
  | 'invoice.paid.ignored';

export function stripeEvent(name: EventFixture): Record<string, any> {
  // The Stripe event fixtures, in the repository (fixtures/stripe/).
  return readFixture<Record<string, any>>(`stripe/event.${name}.json`);
}

/** Signs a payload exactly as Stripe does (stripe-node's own test helper). */
export function signedDelivery(double: StripeDouble, payload: string, secret: string, timestamp?: number) {
  const header = double.stripe().webhooks.generateTestHeaderString({ payload, secret, ...(timestamp ? { timestamp } : {}) });
  return { body: payload, headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': header } };
}

/**
 * The fixtures' one customer life, re-keyed for one scenario (event ids, account, subscription and
 * customer get the tag), so scenarios sharing a store never touch each other's rows.
 */
export function stripeScenario(tag: string, double: StripeDouble) {
  const account = `user_2pQf8kXz7WmN3aLb_${tag}`;
  const sub = `sub_1QpR7sB7WZ01zgkWa9Xc3TzQ_${tag}`;
  const customer = `cus_${tag}`;
  const event = (name: EventFixture) => {
    const e = stripeEvent(name);
    e.id = `${e.id}_${tag}`;
    const o = e.data.object;
    if (o.metadata?.account_id) o.metadata.account_id = account;
    if (o.client_reference_id) o.client_reference_id = account;
    if (o.object === 'subscription') o.id = sub;
    if (o.subscription) o.subscription = sub;
    if (o.customer === 'cus_RkT2b9Qx1LmZ7d') o.customer = customer;
    return e;
  };
  /** Puts the subscription's current truth (as of that event) in the Stripe double, for re-reads. */
  const truth = (name: EventFixture) => double.putSubscription({ ...event(name).data.object });
  return { account, sub, customer, event, truth };
}
