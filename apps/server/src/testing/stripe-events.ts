import { readFileSync } from 'node:fs';
import type { StripeDouble } from './stripe-double.js';

/** The shared Stripe event fixtures (../shared/fixtures/stripe beside the checkout). */
const FIXTURES = new URL('../../../../../shared/fixtures/stripe/', import.meta.url);

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
  return JSON.parse(readFileSync(new URL(`event.${name}.json`, FIXTURES), 'utf8')) as Record<string, any>;
}

/** Signs a payload exactly as Stripe does (stripe-node's own test helper). */
export function signedDelivery(double: StripeDouble, payload: string, secret: string, timestamp?: number) {
  const header = double.stripe().webhooks.generateTestHeaderString({ payload, secret, ...(timestamp ? { timestamp } : {}) });
  return { body: payload, headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': header } };
}
