import type { Plan } from '@verifieddit/contracts';
import type Stripe from 'stripe';
import type { MappedEvent, ProviderSubscription, WebhookEventSource } from '../ports.js';
import { stripeSubscriptionToProvider } from './provider.js';

/** The event types that change what a user is entitled to. Everything else is acknowledged and ignored. */
export const HANDLED_EVENT_TYPES = [
  'checkout.session.completed',
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
] as const;

export interface EventMappingDeps {
  plans(): Promise<Plan[]>;
  findAccountByCustomer(customerId: string): Promise<string | undefined>;
  /** One provider read, used for checkout completions (the session carries only the subscription id). */
  retrieveSubscription(id: string): Promise<ProviderSubscription | null>;
  /** Remembers customer → account when an event tells us (checkout completion). */
  claimCustomer(accountId: string, customerId: string): Promise<void>;
}

const splitList = (value: string | undefined) =>
  (value ?? '')
    .split(',')
    .map((part) => part.trim())
    .filter(Boolean);

/** Our metadata names, and the `bus_*` names an earlier billing service used. */
function accountFromMetadata(metadata: Record<string, string> | null | undefined): string | undefined {
  return metadata?.account_id || metadata?.bus_account_id || undefined;
}

function featuresFromMetadata(metadata: Record<string, string> | null | undefined): string[] | undefined {
  if (!metadata) return undefined;
  if (metadata.features !== undefined && metadata.features !== '') return splitList(metadata.features);
  if (metadata.bus_features) return splitList(metadata.bus_features);
  if (metadata.bus_feature) return [metadata.bus_feature.trim()];
  return undefined;
}

function planOf(plans: Plan[], sub: ProviderSubscription): Plan | undefined {
  const byId = sub.metadata.plan_id ? plans.find((plan) => plan.id === sub.metadata.plan_id) : undefined;
  return byId ?? plans.find((plan) => plan.prices.some((price) => sub.priceLookupKeys.includes(price.lookupKey)));
}

export async function updateFrom(
  sub: ProviderSubscription,
  accountHint: string | undefined,
  event: { id: string; created: number },
  deps: EventMappingDeps,
  fresh: boolean,
): Promise<MappedEvent> {
  const accountId =
    accountFromMetadata(sub.metadata) ?? accountHint ?? (sub.customerId ? await deps.findAccountByCustomer(sub.customerId) : undefined);
  if (!accountId) {
    return { kind: 'unmapped', reason: `no account_id metadata and customer ${sub.customerId ?? '(none)'} is not one of ours` };
  }
  const plan = planOf(await deps.plans(), sub);
  return {
    kind: 'update',
    update: {
      eventId: event.id,
      accountId,
      provider: 'stripe',
      providerCustomerId: sub.customerId,
      providerSubscriptionId: sub.id,
      planId: plan?.id ?? sub.metadata.plan_id ?? null,
      status: sub.status,
      features: featuresFromMetadata(sub.metadata) ?? plan?.features ?? [],
      currentPeriodEnd: sub.currentPeriodEnd,
      cancelAtPeriodEnd: sub.cancelAtPeriodEnd,
      sourceCreated: event.created,
      // A read of the current state outranks the snapshots of events from the same second.
      sourceRank: fresh ? 1 : 0,
      authoritative: fresh,
    },
  };
}

/** Stripe event → one provider-neutral subscription update (or why there is none). */
async function mapStripeEvent(event: Stripe.Event, deps: EventMappingDeps): Promise<MappedEvent> {
  switch (event.type) {
    case 'customer.subscription.created':
    case 'customer.subscription.updated':
    case 'customer.subscription.deleted': {
      const raw = event.data.object;
      const sub = stripeSubscriptionToProvider(raw);
      // A deletion ends the subscription whatever status the snapshot shows.
      if (event.type === 'customer.subscription.deleted' && sub.status !== 'incomplete_expired') sub.status = 'canceled';
      return updateFrom(sub, undefined, event, deps, false);
    }
    case 'checkout.session.completed': {
      const session = event.data.object;
      if (session.mode !== 'subscription') return { kind: 'ignored', reason: `checkout in ${session.mode} mode` };
      const customerId = typeof session.customer === 'string' ? session.customer : (session.customer?.id ?? null);
      const accountId = accountFromMetadata(session.metadata) ?? session.client_reference_id ?? undefined;
      if (accountId && customerId) await deps.claimCustomer(accountId, customerId);
      const subscriptionId = typeof session.subscription === 'string' ? session.subscription : session.subscription?.id;
      if (!subscriptionId) return { kind: 'ignored', reason: 'checkout completed without a subscription' };
      // The session only names the subscription: read its current state once.
      const sub = await deps.retrieveSubscription(subscriptionId);
      if (!sub) return { kind: 'unmapped', reason: `subscription ${subscriptionId} not found at the provider` };
      if (!Object.keys(sub.metadata).length && session.metadata) sub.metadata = { ...session.metadata } as Record<string, string>;
      return updateFrom(sub, accountId, event, deps, true);
    }
    default:
      return { kind: 'ignored', reason: `event type ${event.type} is not handled` };
  }
}

export function stripeWebhookEventSource(deps: EventMappingDeps): WebhookEventSource {
  return {
    handles: (type) => (HANDLED_EVENT_TYPES as readonly string[]).includes(type),
    map: (payload) => mapStripeEvent(payload as Stripe.Event, deps),
    // A subscription event carries the whole state (at most a customer → account lookup in the store);
    // a checkout completion reads the subscription from Stripe and records the customer.
    mapLocally: async (payload) => ((payload as Stripe.Event).type.startsWith('customer.subscription.') ? mapStripeEvent(payload as Stripe.Event, deps) : undefined),
    async reread(update) {
      const sub = await deps.retrieveSubscription(update.providerSubscriptionId);
      if (!sub) return null;
      const mapped = await updateFrom(sub, update.accountId, { id: update.eventId, created: update.sourceCreated }, deps, true);
      return mapped.kind === 'update' ? mapped.update : null;
    },
  };
}
