import { randomBytes } from 'node:crypto';
import Stripe from 'stripe';
import created from './trigger-fixtures/event.customer.subscription.created.json' with { type: 'json' };
import deleted from './trigger-fixtures/event.customer.subscription.deleted.json' with { type: 'json' };
import cancelAtPeriodEnd from './trigger-fixtures/event.customer.subscription.updated.cancel-at-period-end.json' with { type: 'json' };
import updated from './trigger-fixtures/event.customer.subscription.updated.json' with { type: 'json' };
import pastDue from './trigger-fixtures/event.customer.subscription.updated.past-due.json' with { type: 'json' };
import invoicePaid from './trigger-fixtures/event.invoice.paid.ignored.json' with { type: 'json' };

/**
 * Signed Stripe test events for local development, like `stripe trigger` without a Stripe account:
 * real event payloads (the fixtures), re-keyed for one account.
 */
const FIXTURES = {
  'customer.subscription.created': created,
  'customer.subscription.updated': updated,
  'customer.subscription.updated.cancel-at-period-end': cancelAtPeriodEnd,
  'customer.subscription.updated.past-due': pastDue,
  'customer.subscription.deleted': deleted,
  'invoice.paid': invoicePaid,
} as const;

export type TriggerType = keyof typeof FIXTURES;
export const TRIGGER_TYPES = Object.keys(FIXTURES) as TriggerType[];

const DAY = 86_400;

/** The event `type` for an account: its own subscription and customer, a fresh id, dates from now. */
export function stripeTestEvent(type: TriggerType, accountId: string, now = Math.floor(Date.now() / 1000)): Record<string, unknown> {
  const event = structuredClone(FIXTURES[type]) as Record<string, any>;
  // Stable per account, so `…updated` then `…deleted` act on one subscription.
  const tag = accountId.replace(/[^A-Za-z0-9]/g, '').slice(0, 40) || 'account';
  event.id = `evt_trigger_${randomBytes(12).toString('hex')}`;
  event.created = now;
  event.livemode = false;
  event.request = { id: null, idempotency_key: null };
  const object = event.data.object as Record<string, any>;
  if (object.object === 'subscription') {
    object.id = `sub_trigger_${tag}`;
    object.customer = `cus_trigger_${tag}`;
    object.metadata = { ...object.metadata, account_id: accountId };
    object.created = now;
    object.start_date = now;
    for (const item of object.items?.data ?? []) {
      item.subscription = object.id;
      item.current_period_start = now;
      item.current_period_end = now + 30 * DAY;
    }
    if (object.ended_at) object.ended_at = now;
    if (object.canceled_at) object.canceled_at = now;
    if (object.cancel_at) object.cancel_at = now + 30 * DAY;
  } else {
    if (object.customer) object.customer = `cus_trigger_${tag}`;
    if (object.subscription) object.subscription = `sub_trigger_${tag}`;
  }
  return event;
}

/** The Stripe-Signature header Stripe would send for these exact bytes (stripe-node's own signer). */
export function stripeSignatureHeader(payload: string, secret: string, timestamp?: number): string {
  const stripe = new Stripe('sk_test_signing_only', { telemetry: false });
  return stripe.webhooks.generateTestHeaderString({ payload, secret, ...(timestamp ? { timestamp } : {}) });
}
