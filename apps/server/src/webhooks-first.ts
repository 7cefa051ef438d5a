import express, { type RequestHandler } from 'express';
import type { SubscriptionChanges } from './billing/changes/ports.js';
import type { BillingProvider, CatalogPort, UsageMeter } from './billing/ports.js';
import { wireBilling, type BillingWiring } from './billing/wiring.js';
import type { Config } from './config.js';
import { bodyGate } from './http/body.js';
import { errorMiddleware } from './http/error-mapping.js';
import { DEFAULT_BODY_LIMIT } from './http/limits.js';
import { requestContext } from './http/request-context.js';
import type { Logger } from './logger.js';
import { dutiesOf } from './roles.js';
import type { ServerStore } from './store/server-store.js';
import type { Store } from './store/ports.js';
import type { InboxOptions } from './webhooks/inbox.js';
import { localWebhookSecret, usesLocalWebhookSecret } from './webhooks/local-secret.js';
import { WEBHOOK_PATHS } from './webhooks/routes.js';
import { wireWebhooks, type WebhookWiring } from './webhooks/wiring.js';

/*
 * What a Stripe delivery needs, wired before the rest of the server: startup.ts loads this module (and
 * its chunk: billing, the webhook inbox and routes, Stripe) while the store opens, and serves the
 * webhook routes from it as soon as the store is migrated; AI detection, metrics, tRPC and OpenAPI
 * are loaded after (bootstrap.ts, app.ts), so a delivery to a replica scaled from zero waits for none of them.
 */

/** The seams of this part that tests swap for doubles (bootstrap.ts WiringOverrides adds the rest's). */
export interface WebhooksFirstOverrides {
  billingProvider?: BillingProvider;
  catalog?: CatalogPort;
  /** Where usage is metered (default: Stripe meter events with a key, else the ledger alone). */
  meter?: UsageMeter;
  webhookInbox?: InboxOptions;
  /** The change bus (openServerStore opens the PostgreSQL one); in-process when absent. */
  changes?: SubscriptionChanges;
}

export interface WebhooksFirstWiring {
  billing: BillingWiring;
  /** The one inbox, processor and router of this process: the full app mounts this router too. */
  webhooks: WebhookWiring;
}

/** Billing and the webhook pieces over an open store. */
export function wireWebhooksFirst(config: Config, store: Store, logger: Logger, overrides: WebhooksFirstOverrides = {}): WebhooksFirstWiring {
  const billing = wireBilling(config, store, logger, {
    ...(overrides.meter ? { meter: overrides.meter } : {}),
    ...(overrides.billingProvider ? { provider: overrides.billingProvider } : {}),
    ...(overrides.catalog ? { catalog: overrides.catalog } : {}),
    ...(overrides.changes ? { changes: overrides.changes } : {}),
  });
  logger.info({ provider: billing.provider.name }, 'billing provider selected');
  const webhooks = wireWebhooks(config, store, billing, logger, overrides.webhookInbox);
  return { billing, webhooks };
}

export interface WebhooksFirst extends WebhooksFirstWiring {
  /** The config to wire the rest with: in development without STRIPE_WEBHOOK_SECRET, it holds the local secret. */
  config: Config;
  /** The open, migrated store and its change bus. */
  opened: ServerStore;
  /** The webhook routes for the starting app; undefined for a role that takes no webhooks. */
  early: EarlyWebhookRoutes | undefined;
}

/** Waits for the store (open and migrated), then wires billing and the webhooks over it. */
export async function startWebhooksFirst(config: Config, logger: Logger, opening: Promise<ServerStore>): Promise<WebhooksFirst> {
  const opened = await opening;
  if (usesLocalWebhookSecret(config)) {
    // Development without STRIPE_WEBHOOK_SECRET: /webhook verifies with the local secret the
    // `webhooks trigger` command signs with (kept in the store, never logged).
    const secret = await localWebhookSecret(opened.store);
    config = { ...config, stripe: { ...config.stripe, webhookSecrets: [secret] }, secrets: [...config.secrets, secret] };
  }
  const wiring = wireWebhooksFirst(config, opened.store, logger, { changes: opened.changes });
  const early = dutiesOf(config.role).webhooks ? earlyWebhookRoutes(logger, wiring.webhooks.router) : undefined;
  return { ...wiring, config, opened, early };
}

export interface EarlyWebhookRoutes {
  routes: RequestHandler;
  /**
   * Resolves once no delivery is in these routes (after `maxMs` at the latest). The rest of the server
   * is loaded after it: compiling blocks the event loop, and with it these deliveries' store round trips.
   */
  answered(maxMs: number): Promise<void>;
}

/**
 * POST to the webhook paths as the full app serves it (app.ts): the request id and request log line,
 * the body gate (a webhook path's limit is the default: bodyLimitOf raises it only for tRPC and REST
 * aliases), the same router, the same error middleware (POST passes the method guard). Not the request
 * timer: metrics are wired with the rest. Any other method or path is passed on (`next`) untouched to
 * wait for the full app (which answers another method on these paths 405), and is not tracked: it holds
 * no delivery's store round trips, so the rest's load need not wait for it.
 */
export function earlyWebhookRoutes(logger: Logger, router: RequestHandler): EarlyWebhookRoutes {
  let inFlight = 0;
  const idle = new Set<() => void>();
  const track: RequestHandler = (_req, res, next) => {
    inFlight++;
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      if (--inFlight === 0) for (const resolve of idle) resolve();
    };
    res.once('finish', end);
    res.once('close', end);
    next();
  };
  const deliveries = express.Router();
  deliveries.post(WEBHOOK_PATHS, track, requestContext(logger), bodyGate(() => DEFAULT_BODY_LIMIT), router, errorMiddleware);
  return {
    // Only POST enters the router: it would answer an OPTIONS to its paths itself (Allow: POST).
    routes: (req, res, next) => (req.method === 'POST' ? deliveries(req, res, next) : next()),
    async answered(maxMs) {
      // Deliveries that were waiting for these routes enter them once pending callbacks have run.
      await new Promise((resolve) => setImmediate(resolve));
      if (inFlight === 0) return;
      let timer: NodeJS.Timeout | undefined;
      let resolve!: () => void;
      await new Promise<void>((r) => {
        resolve = r;
        idle.add(r);
        timer = setTimeout(r, maxMs);
      });
      clearTimeout(timer);
      idle.delete(resolve);
    },
  };
}
