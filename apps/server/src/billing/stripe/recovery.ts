import { randomBytes } from 'node:crypto';
import type Stripe from 'stripe';
import type { MappedEvent, RecoverySource, VerifiedEvent } from '../ports.js';
import { HANDLED_EVENT_TYPES, updateFrom, type EventMappingDeps } from './events.js';
import { stripeSubscriptionToProvider } from './provider.js';

/** One list page holds at most 100 objects: the largest page Stripe serves. */
const PAGE = 100;

/**
 * Stripe's side of recovery: `subscriptions.list` (status=all, auto-paginated, 100 per page) mapped
 * exactly as webhook events are, but as fresh reads; and `events.list` of the handled types.
 */
export function stripeRecoverySource(stripe: Stripe, mapping: EventMappingDeps, now: () => number = Date.now): RecoverySource {
  return {
    async *subscriptions(options = {}) {
      const readAt = Math.floor(now() / 1000);
      // Each listing is a new observation: the ordered upsert drops an update whose id it already holds,
      // so an id made of the second alone would make a second reconcile in that second repair nothing.
      const run = randomBytes(4).toString('hex');
      const list = stripe.subscriptions.list({ status: 'all', limit: PAGE, ...(options.customerId ? { customer: options.customerId } : {}) });
      for await (const raw of list) {
        const sub = stripeSubscriptionToProvider(raw);
        const mapped: MappedEvent = await updateFrom(sub, undefined, { id: `reconcile_${sub.id}_${readAt}_${run}`, created: readAt }, mapping, true);
        yield { ...mapped, subscriptionId: sub.id };
      }
    },
    async events(since) {
      const found: VerifiedEvent[] = [];
      const list = stripe.events.list({ types: [...HANDLED_EVENT_TYPES], created: { gte: since }, limit: PAGE });
      for await (const event of list) {
        found.push({ id: event.id, type: event.type, created: event.created, apiVersion: event.api_version ?? null, livemode: event.livemode, payload: event });
      }
      // Stripe lists newest first; apply in the order things happened.
      return found.sort((a, b) => a.created - b.created);
    },
  };
}
