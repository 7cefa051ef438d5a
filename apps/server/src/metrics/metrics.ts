import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { AppError } from '../errors.js';
import { sendError } from '../http/errors.js';
import type { LogPort } from '../logger.js';
import type { Store } from '../store/ports.js';
import type { Rows } from '../store/rows.js';

/** What a scrape reads besides in-process counters; each is read once per scrape. */
export interface MetricSources {
  store: Pick<Store, 'query' | 'poolStats'>;
  /** This month (its ledger period), the Sightengine operations used in it and the budget (all replicas together). */
  budget(): Promise<{ period: string; used: number; budget: number }>;
  log: LogPort;
}

export interface Metrics {
  readonly registry: Registry;
  /** Times every request by method, route template and status. Mount before the routes. */
  requestTimer(procedures: Iterable<string>): RequestHandler;
  /** The Prometheus text exposition, with the store-backed gauges read now. */
  scrape(): Promise<string>;
}

/** The webhook inbox states, listed so a state with no event still shows 0 rather than vanishing. */
const INBOX_STATES = ['received', 'processing', 'retrying', 'processed', 'ignored', 'unmapped', 'invalid', 'failed'];
const UNPROCESSED = ['received', 'processing', 'retrying'];
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * The route template of a request, never its raw path, so label cardinality stays bounded: the
 * matched Express route, one label per tRPC procedure (`/trpc/batch` for batches), `unmatched` else.
 */
function routeLabel(req: Request, procedures: ReadonlySet<string>): string {
  if (req.route) {
    const path: unknown = req.route.path;
    return `${req.baseUrl}${typeof path === 'string' ? path : req.path}`;
  }
  const pathname = req.originalUrl.split('?')[0] ?? '';
  if (pathname.startsWith('/trpc/')) {
    let names: string[];
    try {
      names = decodeURIComponent(pathname.slice('/trpc/'.length)).split(',');
    } catch {
      // A malformed escape (answered 400): this runs on 'finish', where a throw would crash the process.
      return '/trpc/unknown';
    }
    if (names.length > 1) return names.every((n) => procedures.has(n)) ? '/trpc/batch' : '/trpc/unknown';
    return procedures.has(names[0] ?? '') ? `/trpc/${names[0]}` : '/trpc/unknown';
  }
  return 'unmatched';
}

export function createMetrics(sources: MetricSources): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];

  const requestDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by method, route template and status code',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers,
  });

  // From the usage ledger, whose `cached` says whether a check cost an upstream call (the answer's own
  // `cached` is per account and says less): the whole deployment's month, whichever replica answered.
  const detections = new Gauge({
    name: 'verifieddit_ai_detections_month',
    help: 'Counted AI detections this calendar month (UTC), all replicas, by whether the verdict came from the cache (hit) or cost an upstream call (miss)',
    labelNames: ['cache'] as const,
    registers,
  });
  const hitRatio = new Gauge({
    name: 'verifieddit_ai_detection_cache_hit_ratio',
    help: 'Share of this month\'s counted AI detections served from the verdict cache, all replicas (0 before any)',
    registers,
  });

  const inbox = new Gauge({ name: 'verifieddit_webhook_events', help: 'Webhook inbox events by state', labelNames: ['state'] as const, registers });
  const inboxOldest = new Gauge({
    name: 'verifieddit_webhook_oldest_unprocessed_age_seconds',
    help: 'Age of the oldest webhook event not yet processed (received, processing or retrying); 0 when none',
    registers,
  });
  const inboxFailed = new Gauge({ name: 'verifieddit_webhook_events_failed', help: 'Webhook events parked as failed (replay them with the CLI)', registers });
  const outboxBacklog = new Gauge({ name: 'verifieddit_meter_outbox_backlog', help: 'Usage records waiting to be sent to the billing meter', registers });
  const outboxOldest = new Gauge({
    name: 'verifieddit_meter_outbox_oldest_pending_age_seconds',
    help: 'Age of the oldest usage record not yet sent to the billing meter; 0 when none',
    registers,
  });
  const outboxFailed = new Gauge({ name: 'verifieddit_meter_outbox_failed', help: 'Usage records the meter outbox gave up on', registers });
  const outboxRetrying = new Gauge({
    name: 'verifieddit_meter_outbox_retrying',
    help: 'Usage records waiting after at least one failed send',
    registers,
  });
  const budgetUsed = new Gauge({ name: 'verifieddit_sightengine_budget_used', help: 'Sightengine operations used this calendar month (UTC), all replicas', registers });
  const budgetLeft = new Gauge({ name: 'verifieddit_sightengine_budget_remaining', help: 'Sightengine operations left in this month\'s budget, all replicas', registers });
  const storeUp = new Gauge({ name: 'verifieddit_store_up', help: '1 when the store answered the metrics queries of this scrape, else 0', registers });
  const pool = sources.store.poolStats
    ? {
        inUse: new Gauge({ name: 'verifieddit_store_pool_in_use', help: 'Store pool connections checked out', registers }),
        total: new Gauge({ name: 'verifieddit_store_pool_open', help: 'Store pool connections open', registers }),
        max: new Gauge({ name: 'verifieddit_store_pool_max', help: 'Store pool size limit', registers }),
        waiting: new Gauge({ name: 'verifieddit_store_pool_waiting', help: 'Callers waiting for a store pool connection', registers }),
      }
    : undefined;

  async function readStore(): Promise<void> {
    const { store } = sources;
    const [states, oldest, ledger, budget] = await Promise.all([
      store.query<Pick<Rows['webhook_events'], 'status'> & { n: string | number }>('SELECT status, count(*) AS n FROM webhook_events GROUP BY status'),
      store.query<{ age: string | number | null }>(
        'SELECT extract(epoch FROM now() - min(received_at)) AS age FROM webhook_events WHERE status = ANY($1::text[])',
        [UNPROCESSED],
      ),
      store.query<{ backlog: string | number; retrying: string | number; failed: string | number; age: string | number | null }>(
        `SELECT count(*) FILTER (WHERE status = 'pending') AS backlog,
                count(*) FILTER (WHERE status = 'pending' AND attempts > 0 AND last_error IS NOT NULL) AS retrying,
                count(*) FILTER (WHERE status = 'failed') AS failed,
                extract(epoch FROM now() - min(occurred_at) FILTER (WHERE status = 'pending')) AS age
           FROM usage_ledger WHERE status IN ('pending', 'failed')`,
      ),
      sources.budget().then(async (budget) => {
        const [month] = await store.query<{ hits: string | number; total: string | number }>(
          'SELECT count(*) FILTER (WHERE cached) AS hits, count(*) AS total FROM usage_ledger WHERE period = $1',
          [budget.period],
        );
        return { ...budget, hits: Number(month?.hits ?? 0), total: Number(month?.total ?? 0) };
      }),
    ]);
    inbox.reset();
    for (const state of INBOX_STATES) inbox.set({ state }, 0);
    for (const row of states) inbox.set({ state: row.status }, Number(row.n));
    inboxFailed.set(Number(states.find((row) => row.status === 'failed')?.n ?? 0));
    inboxOldest.set(Math.max(0, Number(oldest[0]?.age ?? 0)));
    outboxBacklog.set(Number(ledger[0]?.backlog ?? 0));
    outboxRetrying.set(Number(ledger[0]?.retrying ?? 0));
    outboxFailed.set(Number(ledger[0]?.failed ?? 0));
    outboxOldest.set(Math.max(0, Number(ledger[0]?.age ?? 0)));
    budgetUsed.set(budget.used);
    detections.set({ cache: 'hit' }, budget.hits);
    detections.set({ cache: 'miss' }, budget.total - budget.hits);
    hitRatio.set(budget.total === 0 ? 0 : budget.hits / budget.total);
    budgetLeft.set(Math.max(0, budget.budget - budget.used));
  }

  return {
    registry,
    requestTimer(procedureNames) {
      const procedures = new Set(procedureNames);
      return (req: Request, res: Response, next: NextFunction) => {
        const end = requestDuration.startTimer();
        res.once('finish', () => {
          end({ method: METHODS.has(req.method) ? req.method : 'other', route: routeLabel(req, procedures), status: String(res.statusCode) });
        });
        next();
      };
    },
    async scrape() {
      try {
        await readStore();
        storeUp.set(1);
      } catch (error) {
        // The process metrics still matter most when the store is down: answer with what we have.
        storeUp.set(0);
        sources.log.warn({ err: error }, 'metrics: store-backed gauges could not be read');
      }
      if (pool && sources.store.poolStats) {
        const stats = sources.store.poolStats();
        pool.inUse.set(stats.inUse);
        pool.total.set(stats.total);
        pool.max.set(stats.max);
        pool.waiting.set(stats.waiting);
      }
      return registry.metrics();
    },
  };
}

/**
 * GET /metrics, guarded by `Authorization: Bearer <token>`. Tokens are compared as SHA-256 digests in
 * constant time, so neither their content nor their length leaks through timing.
 */
export function metricsRoute(metrics: Metrics, token: string): RequestHandler {
  const expected = createHash('sha256').update(token).digest();
  return async (req, res, next) => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
    const given = createHash('sha256').update(match?.[1] ?? '').digest();
    if (!match || !timingSafeEqual(given, expected)) {
      res.setHeader('www-authenticate', 'Bearer realm="metrics"');
      return sendError(res, req.id, new AppError('UNAUTHENTICATED', 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>'));
    }
    try {
      const body = await metrics.scrape();
      res.setHeader('content-type', metrics.registry.contentType);
      res.setHeader('cache-control', 'no-store');
      res.send(body);
    } catch (error) {
      next(error);
    }
  };
}
