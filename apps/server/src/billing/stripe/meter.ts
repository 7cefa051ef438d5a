import Stripe from 'stripe';
import type { MeterEvent, UsageMeter } from '../ports.js';
import { paramsDigest } from './idempotency.js';

/**
 * Usage → Stripe meter events. The ledger key is both the meter event `identifier` (Stripe refuses a
 * repeat within 24 h) and the idempotency key (with a hash of the parameters, which a ledger row never
 * changes), so a retry after an unknown outcome never double-counts:
 * a "duplicate identifier" answer means the earlier attempt landed, and counts as sent.
 */
export class StripeUsageMeter implements UsageMeter {
  readonly name = 'stripe';
  constructor(private readonly stripe: Stripe) {}

  async send(event: MeterEvent): Promise<void> {
    try {
      const params: Stripe.Billing.MeterEventCreateParams = {
        event_name: event.eventName,
        identifier: event.identifier,
        timestamp: Math.floor(event.timestamp.getTime() / 1000),
        payload: { stripe_customer_id: event.customerId, value: String(event.value) },
      };
      await this.stripe.billing.meterEvents.create(params, { idempotencyKey: `meter-event:${event.identifier}:${paramsDigest(params)}` });
    } catch (error) {
      if (isDuplicateIdentifier(error)) return;
      throw error;
    }
  }
}

function isDuplicateIdentifier(error: unknown): boolean {
  return (
    error instanceof Stripe.errors.StripeInvalidRequestError &&
    error.param === 'identifier' &&
    /already exists/i.test(error.message)
  );
}
