import type Stripe from 'stripe';
import { AppError } from '../../errors.js';
import { normalizeStatus, type BillingProvider, type ProviderSubscription } from '../ports.js';
import { paramsDigest } from './idempotency.js';

/**
 * Idempotency keys say what a write means, so a retry of the same intent (by stripe-node, by our
 * caller, or by a second replica) lands on the same Stripe object. Each key hashes every parameter
 * sent: Stripe refuses a key reused with other parameters, so two different requests must never
 * share one. Checkout/portal keys include a 10-minute bucket: a retry within it replays, a
 * deliberate new attempt later gets a fresh session.
 */
const bucket = (now: number) => Math.floor(now / 600_000);


export function stripeSubscriptionToProvider(sub: Stripe.Subscription): ProviderSubscription {
  const items = sub.items?.data ?? [];
  // Since API 2025-03-31 the period lives on items; the subscription ends when its last item does.
  const ends = items.map((item) => (item as { current_period_end?: number }).current_period_end).filter((v): v is number => typeof v === 'number');
  return {
    id: sub.id,
    customerId: typeof sub.customer === 'string' ? sub.customer : (sub.customer?.id ?? null),
    status: normalizeStatus(sub.status),
    metadata: (sub.metadata ?? {}) as Record<string, string>,
    priceIds: items.map((item) => item.price?.id).filter((v): v is string => Boolean(v)),
    priceLookupKeys: items.map((item) => item.price?.lookup_key).filter((v): v is string => Boolean(v)),
    currentPeriodEnd: ends.length ? new Date(Math.max(...ends) * 1000) : null,
    cancelAtPeriodEnd: Boolean(sub.cancel_at_period_end),
  };
}

/**
 * A Stripe failure as our error: a stable code and a message of ours. Stripe's own text stays in the
 * cause, which the request log records (it can name ids, parameters or account details, and its
 * wording is not a contract).
 */
function providerError(error: unknown, what: string): AppError {
  const requestId = (error as { requestId?: unknown }).requestId;
  return new AppError('BILLING_PROVIDER_ERROR', `The payment provider could not ${what}; try again shortly`, {
    cause: error,
    details: { provider: 'stripe', ...(typeof requestId === 'string' ? { providerRequestId: requestId } : {}) },
  });
}

/** Stripe answers an unknown price with `resource_missing` on the line item: the caller's mistake, not an outage. */
function isMissingPrice(error: unknown): boolean {
  const e = error as { code?: unknown; param?: unknown };
  return e.code === 'resource_missing' && typeof e.param === 'string' && /^line_items\[\d+\]\[price\]$/.test(e.param);
}

export class StripeBillingProvider implements BillingProvider {
  readonly name = 'stripe' as const;
  private readonly lookupKeyCache = new Map<string, { id: string; at: number }>();

  constructor(
    private readonly stripe: Stripe,
    private readonly now: () => number = Date.now,
  ) {}

  async createCustomer({ accountId, email }: { accountId: string; email?: string | undefined }) {
    const params: Stripe.CustomerCreateParams = { metadata: { account_id: accountId }, ...(email ? { email } : {}) };
    try {
      const customer = await this.stripe.customers.create(params, { idempotencyKey: `customer-create:${accountId}:${paramsDigest(params)}` });
      return { customerId: customer.id };
    } catch (error) {
      throw providerError(error, 'create the customer');
    }
  }

  async createCheckoutSession(input: Parameters<BillingProvider['createCheckoutSession']>[0]) {
    const priceId = 'id' in input.price ? input.price.id : await this.priceIdOf(input.price.lookupKey);
    const metadata: Record<string, string> = { account_id: input.accountId, features: input.features.join(',') };
    if (input.planId) metadata.plan_id = input.planId;
    const params: Stripe.Checkout.SessionCreateParams = {
      mode: 'subscription',
      customer: input.customerId,
      client_reference_id: input.accountId,
      line_items: [{ price: priceId, quantity: 1 }],
      success_url: input.successUrl,
      cancel_url: input.cancelUrl,
      metadata,
      subscription_data: { metadata },
    };
    try {
      const session = await this.stripe.checkout.sessions.create(params, {
        idempotencyKey: `checkout:${input.accountId}:${paramsDigest(params)}:${bucket(this.now())}`,
      });
      if (!session.url) throw new Error('Stripe returned a Checkout session without a URL');
      return { id: session.id, url: session.url };
    } catch (error) {
      if (isMissingPrice(error)) {
        throw new AppError('UNKNOWN_PLAN', `There is no price "${priceId}": use a plan from billing.plans, or one of its prices' lookup keys`, {
          cause: error,
          details: { priceId },
        });
      }
      throw providerError(error, 'start Checkout');
    }
  }

  async createPortalSession({ customerId, returnUrl }: { customerId: string; returnUrl: string }) {
    const params: Stripe.BillingPortal.SessionCreateParams = { customer: customerId, return_url: returnUrl };
    try {
      const session = await this.stripe.billingPortal.sessions.create(params, {
        idempotencyKey: `portal:${customerId}:${paramsDigest(params)}:${bucket(this.now())}`,
      });
      return { url: session.url };
    } catch (error) {
      throw providerError(error, 'open the customer portal');
    }
  }

  async retrieveSubscription(subscriptionId: string): Promise<ProviderSubscription | null> {
    try {
      return stripeSubscriptionToProvider(await this.stripe.subscriptions.retrieve(subscriptionId));
    } catch (error) {
      if ((error as { statusCode?: number }).statusCode === 404) return null;
      throw providerError(error, 'read the subscription');
    }
  }

  /** Catalog prices are addressed by lookup key; their ids change when an amount does. */
  private async priceIdOf(lookupKey: string): Promise<string> {
    const cached = this.lookupKeyCache.get(lookupKey);
    if (cached && this.now() - cached.at < 5 * 60_000) return cached.id;
    let prices: Stripe.ApiList<Stripe.Price>;
    try {
      prices = await this.stripe.prices.list({ lookup_keys: [lookupKey], active: true, limit: 1 });
    } catch (error) {
      throw providerError(error, 'look up the price');
    }
    const price = prices.data[0];
    if (!price) throw new AppError('UNKNOWN_PLAN', `No active Stripe price has the lookup key "${lookupKey}": run \`pnpm billing stripe catalog sync\``);
    this.lookupKeyCache.set(lookupKey, { id: price.id, at: this.now() });
    return price.id;
  }
}
