import type { StatusStreams } from './changes/status-streams.js';
import type {
  CheckoutSessionOutput,
  CreateCheckoutSessionInput,
  CreatePortalSessionInput,
  Plan,
  PortalSessionOutput,
  SubscriptionStatusOutput,
} from '@verifieddit/contracts';
import { AppError } from '../errors.js';
import type { CustomerRepository } from './customers.js';
import type { SubscriptionRepository } from './subscriptions.js';
import type { BillingPort, BillingProvider, CatalogPort, StatusEvent, SubscriptionReader, WatchStatusOptions } from './ports.js';

/** A subscription in any of these states is still the account's live subscription: change it in the portal. */
const LIVE_STATUSES = new Set(['active', 'trialing', 'past_due', 'unpaid', 'paused']);

export interface BillingServiceDeps {
  /** Live status streams over the change bus. */
  streams: Pick<StatusStreams, 'watch'>;
  provider: BillingProvider;
  catalog: CatalogPort;
  customers: CustomerRepository;
  subscriptions: SubscriptionRepository;
  /** Entitlement reads (cached in production); the repository when absent. */
  statuses?: SubscriptionReader;
  appOrigins: string[];
  defaultPriceId: string | undefined;
}

export class BillingService implements BillingPort {
  /** In-process single flight; across replicas the provider's idempotency key and the unique mapping converge. */
  private readonly pendingCustomers = new Map<string, Promise<string>>();

  constructor(private readonly deps: BillingServiceDeps) {}

  plans(): Promise<Plan[]> {
    return this.deps.catalog.plans();
  }

  watchStatus(accountId: string, options: WatchStatusOptions): AsyncIterable<StatusEvent> {
    return this.deps.streams.watch(accountId, options);
  }

  async subscriptionStatus(accountId: string): Promise<SubscriptionStatusOutput> {
    return (this.deps.statuses ?? this.deps.subscriptions).statusOf(accountId);
  }

  async createCheckoutSession(accountId: string, input: CreateCheckoutSessionInput): Promise<CheckoutSessionOutput> {
    this.assertAllowedRedirect('successUrl', input.successUrl);
    this.assertAllowedRedirect('cancelUrl', input.cancelUrl);

    const current = await this.deps.subscriptions.get(accountId);
    if (current && LIVE_STATUSES.has(current.status)) {
      throw new AppError('ALREADY_SUBSCRIBED', `You already have a ${current.status} subscription; change plans in the customer portal`, {
        details: { status: current.status, plan: current.planId },
      });
    }

    const { price, plan } = await this.resolvePrice(input);
    let features = plan?.features ?? [];
    if (input.feature) {
      if (plan && !plan.features.includes(input.feature)) {
        throw new AppError('UNKNOWN_PLAN', `Plan "${plan.id}" does not include the feature "${input.feature}"`);
      }
      features = [input.feature];
    }

    const customerId = await this.ensureCustomer(accountId);
    return this.deps.provider.createCheckoutSession({
      accountId,
      customerId,
      price,
      planId: plan?.id ?? null,
      features,
      successUrl: input.successUrl,
      cancelUrl: input.cancelUrl,
    });
  }

  async createPortalSession(accountId: string, input: CreatePortalSessionInput): Promise<PortalSessionOutput> {
    this.assertAllowedRedirect('returnUrl', input.returnUrl);
    const customer = await this.deps.customers.get(accountId);
    if (!customer) throw new AppError('NO_CUSTOMER', 'There is no billing account yet: start a checkout first');
    return this.deps.provider.createPortalSession({ customerId: customer.customerId, returnUrl: input.returnUrl });
  }

  /** One provider customer per account, even under concurrent first checkouts. */
  async ensureCustomer(accountId: string): Promise<string> {
    const existing = await this.deps.customers.get(accountId);
    if (existing) return existing.customerId;
    let pending = this.pendingCustomers.get(accountId);
    if (!pending) {
      pending = (async () => {
        const { customerId } = await this.deps.provider.createCustomer({ accountId });
        return this.deps.customers.claim(accountId, this.deps.provider.name, customerId);
      })().finally(() => this.pendingCustomers.delete(accountId));
      this.pendingCustomers.set(accountId, pending);
    }
    return pending;
  }

  private async resolvePrice(input: CreateCheckoutSessionInput): Promise<{ price: { id: string } | { lookupKey: string }; plan: Plan | undefined }> {
    const plans = await this.deps.catalog.plans();
    if (input.priceId) {
      const plan = plans.find((p) => p.prices.some((price) => price.lookupKey === input.priceId));
      return { price: plan ? { lookupKey: input.priceId } : { id: input.priceId }, plan };
    }
    if (input.plan) {
      const plan = plans.find((p) => p.id === input.plan);
      if (!plan) throw new AppError('UNKNOWN_PLAN', `There is no plan "${input.plan}"; see billing.plans for what is on sale`);
      const [first] = plan.prices;
      if (!first) throw new AppError('UNKNOWN_PLAN', `Plan "${plan.id}" is free and has nothing to buy`);
      return { price: { lookupKey: first.lookupKey }, plan };
    }
    if (this.deps.defaultPriceId) return { price: { id: this.deps.defaultPriceId }, plan: undefined };
    const paid = plans.find((p) => p.prices.length > 0);
    const first = paid?.prices[0];
    if (!paid || !first) throw new AppError('UNKNOWN_PLAN', 'Name a plan or priceId: no default price is configured');
    return { price: { lookupKey: first.lookupKey }, plan: paid };
  }

  private assertAllowedRedirect(field: string, url: string): void {
    let origin: string;
    try {
      origin = new URL(url).origin;
    } catch {
      throw new AppError('INVALID_REDIRECT', `${field} is not a valid URL`);
    }
    if (!this.deps.appOrigins.includes(origin)) {
      throw new AppError('INVALID_REDIRECT', `${field} must be on one of the allowed origins (APP_ORIGINS): ${this.deps.appOrigins.join(', ')}`, {
        details: { field, origin },
      });
    }
  }
}
