import type { RequestHandler } from 'express';
import { wireAiDetection } from './ai-detect/wiring.js';
import type { AiDetection } from './ai-detect/ports.js';
import type { AiDetectionDeps } from './ai-detect/service.js';
import { createAuthenticator } from './auth/authenticator.js';
import type { Authenticator } from './auth/ports.js';
import type { BillingWiring } from './billing/wiring.js';
import type { Config } from './config.js';
import { APP_VERSION } from './version.js';
import type { Services } from './context.js';
import type { Logger } from './logger.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';
import { dutiesOf, startBackgroundWorkers, type BackgroundWorker, type RunningWorkers } from './roles.js';
import type { Store } from './store/ports.js';
import type { WebhookWiring } from './webhooks/wiring.js';
import { startRecoveryJob } from './webhooks/recovery-job.js';
import { startChangeHistoryPruning } from './billing/changes/status-streams.js';
import { startIdempotencyKeyPurge } from './ai-detect/idempotency.js';
import { startSubscriptionEvents } from './billing/changes/outbound.js';
import { wireWebhooksFirst, type WebhooksFirst, type WebhooksFirstOverrides, type WebhooksFirstWiring } from './webhooks-first.js';

export interface Wiring {
  services: Services;
  billing: BillingWiring;
  aiDetect: AiDetection;
  webhooks: WebhookWiring;
  metrics: Metrics;
  mounts: { path: string; handler: RequestHandler }[];
}

export interface Runtime extends Wiring {
  store: Store;
  /** The background workers this process runs (none for ROLE=api). */
  workers: RunningWorkers;
  close(): Promise<void>;
}

/** Seams tests use to swap an outside system for a double; production passes none. */
export interface WiringOverrides extends WebhooksFirstOverrides {
  authenticator?: Authenticator;
  aiDetect?: Partial<Pick<AiDetectionDeps, 'detector' | 'fetch' | 'now' | 'keyLeaseMs' | 'admissionDeadlineMs'>>;
}

/** Wires every domain over an open store; each domain's wiring.ts picks its implementations. */
export function wire(config: Config, store: Store, logger: Logger, overrides: WiringOverrides = {}): Wiring {
  return wireRest(config, store, logger, wireWebhooksFirst(config, store, logger, overrides), overrides);
}

/** Everything a webhook delivery does not need, over the billing and webhooks webhooks-first.ts wired. */
function wireRest(config: Config, store: Store, logger: Logger, { billing, webhooks }: WebhooksFirstWiring, overrides: WiringOverrides): Wiring {
  // Quotas read entitlements through the same cache as billing.subscriptionStatus.
  const aiDetect = wireAiDetection(config, store, { ...billing, subscriptions: billing.statuses }, logger, overrides.aiDetect);
  const metrics = createMetrics({ store, budget: () => aiDetect.budget(), log: logger });
  const services: Services = {
    version: APP_VERSION,
    startedAt: Date.now(),
    readiness: { ping: () => store.ping() },
    auth: overrides.authenticator ?? authenticatorFor(config),
    billing: billing.service,
    aiDetect,
  };
  // The webhook route reads raw bytes, so it is mounted before the JSON parsers.
  return { services, billing, aiDetect, webhooks, metrics, mounts: [{ path: '/', handler: webhooks.router }, ...billing.mounts] };
}

/**
 * Wires the rest of the server over what webhooks-first.ts wired (the same billing and webhook
 * instances: one inbox and processor per process) and starts the role's workers.
 */
export function buildRuntime(first: WebhooksFirst, logger: Logger): Runtime {
  const { config, opened: { store, changes } } = first;
  const wiring = wireRest(config, store, logger, first, {});
  const interval = config.workerIntervalMs;
  // Every periodic job is listed here and started (or not) by the role, in one place.
  const background: BackgroundWorker[] = [
    // Usage reaches Stripe from the outbox in the background; a Stripe outage only delays it.
    { name: 'meter-outbox', start: () => wiring.billing.outbox.start(interval) },
    // Webhook events whose processing failed are retried from the inbox, not only by Stripe.
    { name: 'webhook-retry', start: () => wiring.webhooks.processor.start(interval) },
    // Live streams resume from a short change history; older changes are dropped hourly.
    { name: 'change-history', start: () => startChangeHistoryPruning(wiring.billing.subscriptions, config.live.changesKeepHours, logger) },
    // Idempotency keys of AI-detection checks live 24 h; their rows are dropped hourly after that.
    { name: 'idempotency-keys', start: () => startIdempotencyKeyPurge(store, logger) },
  ];
  // Deliveries Stripe gave up on and drift are repaired from Stripe itself, on one replica at a time.
  const recovery = wiring.billing.recovery;
  if (recovery && config.stripeRecoveryIntervalSeconds > 0) {
    background.push({
      name: 'stripe-recovery',
      start: () =>
        startRecoveryJob({
          store,
          source: recovery,
          subscriptions: wiring.billing.subscriptions,
          inbox: wiring.webhooks.inbox,
          processor: wiring.webhooks.processor,
          log: logger,
          intervalMs: config.stripeRecoveryIntervalSeconds * 1000,
        }),
    });
  }
  // Applied subscription updates leave the process (SUBSCRIPTION_EVENTS_URL), from the outbox, on one replica at a time.
  const events = config.subscriptionEvents;
  if (events) {
    background.push({
      name: 'subscription-events',
      start: () => startSubscriptionEvents({ store, url: events.url, secret: events.secret, log: logger, ...(interval ? { intervalMs: interval } : {}) }),
    });
  }
  const workers = startBackgroundWorkers(config.role, background, logger);
  const duties = dutiesOf(config.role);
  // The webhook router reads raw bytes, so it stays first; the local billing pages are API surface.
  const mounts = [
    ...(duties.webhooks ? [{ path: '/', handler: wiring.webhooks.router }] : []),
    ...(duties.api ? wiring.billing.mounts : []),
  ];
  return {
    store,
    ...wiring,
    mounts,
    workers,
    async close() {
      await wiring.billing.streams.close();
      await workers.stop();
      await changes.close();
      await store.close();
    },
  };
}

function authenticatorFor(config: Config): Authenticator {
  const clerkConfigured = Boolean(config.clerk.jwtKey || config.clerk.secretKey);
  return createAuthenticator({
    jwtKey: config.clerk.jwtKey,
    secretKey: config.clerk.secretKey,
    authorizedParties: config.clerk.authorizedParties,
    // Development identities only when no Clerk key is configured, and never in production.
    allowDevIdentities: !clerkConfigured && !config.isProduction,
    production: config.isProduction,
  });
}
