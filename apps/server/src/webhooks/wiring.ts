import type { Router } from 'express';
import type { SubscriptionWriter, WebhookEventSource, WebhookVerifier } from '../billing/ports.js';
import type { Config } from '../config.js';
import type { LogPort } from '../logger.js';
import type { Store } from '../store/ports.js';
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
  billing: { subscriptions: SubscriptionWriter; webhookVerifier: WebhookVerifier; webhookSource: WebhookEventSource },
  log: LogPort,
  options: InboxOptions = {},
): WebhookWiring {
  const inbox = new WebhookInbox(store, options);
  const source = billing.webhookSource;
  const processor = new WebhookProcessor({ inbox, source, subscriptions: billing.subscriptions, log });
  const router = webhookRoutes({
    verifier: billing.webhookVerifier,
    source,
    inbox,
    processor,
    expectedApiVersion: config.stripe.apiVersion,
    ...(options.inlineDeadlineMs !== undefined ? { inlineDeadlineMs: options.inlineDeadlineMs } : {}),
  });
  return { inbox, processor, router };
}
