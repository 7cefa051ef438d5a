import type { Router } from 'express';
import { stripeWebhookEventSource } from '../billing/stripe/events.js';
import { createStripeWebhookVerifier } from '../billing/stripe/webhook-verify.js';
import type { BillingWiring } from '../billing/wiring.js';
import type { Config } from '../config.js';
import type { LogPort } from '../logger.js';
import type { Store } from '../store/store.js';
import { WebhookInbox, type InboxOptions } from './inbox.js';
import { WebhookProcessor } from './processor.js';
import { webhookRoutes } from './routes.js';

export interface WebhookWiring {
  inbox: WebhookInbox;
  processor: WebhookProcessor;
  router: Router;
}

export function wireWebhooks(
  config: Config,
  store: Store,
  billing: Pick<BillingWiring, 'catalog' | 'customers' | 'subscriptions' | 'provider'>,
  log: LogPort,
  options: InboxOptions = {},
): WebhookWiring {
  const inbox = new WebhookInbox(store, options);
  const source = stripeWebhookEventSource({
    plans: () => billing.catalog.plans(),
    findAccountByCustomer: (customerId) => billing.customers.findAccountByCustomer(customerId),
    retrieveSubscription: (id) => billing.provider.retrieveSubscription(id),
    claimCustomer: async (accountId, customerId) => {
      await billing.customers.claim(accountId, 'stripe', customerId);
    },
  });
  const processor = new WebhookProcessor({ inbox, source, subscriptions: billing.subscriptions, log });
  const router = webhookRoutes({
    verifier: createStripeWebhookVerifier(config.stripe.webhookSecrets),
    source,
    inbox,
    processor,
    expectedApiVersion: config.stripe.apiVersion,
    ...(options.inlineDeadlineMs !== undefined ? { inlineDeadlineMs: options.inlineDeadlineMs } : {}),
  });
  return { inbox, processor, router };
}
