import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import express, { type Express, type RequestHandler } from 'express';
import { AppError } from '../errors.js';
import { sendError } from './errors.js';

export interface StartingOptions {
  version: string;
  role: string;
  startedAt: number;
  /** Resolves with the real app once the store is open and migrated (never before). */
  ready: Promise<Express>;
  /**
   * Resolves with what may be served before the real app (the webhook routes, webhooks-first.ts),
   * never before the store is open and migrated; it passes anything else on with `next()`.
   */
  early?: Promise<RequestHandler | undefined>;
  /** How long a request that needs the store waits for it before a 503 NOT_READY (default 10 s). */
  waitMs?: number;
}

/**
 * What answers while the store opens, so a scaled-from-zero replica is reachable at once: /health is
 * 200 (the process is up), /ready is 503, and every other request waits for the real app — it never
 * runs before the migration — or gets 503 NOT_READY with Retry-After if the store takes longer than
 * `waitMs`. The `early` routes (the webhooks) answer as soon as they resolve, before the real app.
 * Once ready, `handOver` puts the real app straight on the server: no extra layer per request.
 */
export function startingApp(options: StartingOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  let real: Express | undefined;
  let failed = false;
  let early: RequestHandler | undefined;
  let earlySettled = !options.early;
  // Each wait below ends when one of these settles, having changed the state it waits on.
  const readySettled = options.ready.then((ready) => void (real = ready), () => void (failed = true));
  const earlySettles = options.early?.then((handler) => void (early = handler), () => undefined).finally(() => (earlySettled = true));
  const requestId = (header: string | undefined) => (header && /^[A-Za-z0-9._:-]{1,128}$/.test(header) ? header : `req_${randomUUID()}`);

  app.get('/health', (req, res, next) => {
    if (real) return real(req, res, next);
    res.json({ status: 'ok', version: options.version, uptimeSeconds: Math.round((Date.now() - options.startedAt) / 1000), role: options.role, starting: true });
  });
  app.get('/ready', (req, res, next) => {
    if (real) return real(req, res, next);
    res.setHeader('retry-after', '1');
    res.status(503).json({ status: 'not_ready', store: 'starting' });
  });
  app.use((req, res, next) => {
    if (real) return real(req, res, next);
    const arrived = Date.now();
    let timer: NodeJS.Timeout | undefined;
    let late: Promise<'late'> | undefined;
    let triedEarly = false;
    const notReady = () => sendError(res, requestId(req.get('x-request-id')), new AppError('NOT_READY', 'The service is starting: retry shortly', { retryAfterSeconds: 1 }));
    const serve = (): void => {
      if (real) {
        clearTimeout(timer);
        return void real(req, res, next);
      }
      if (early && !triedEarly) {
        triedEarly = true;
        return void early(req, res, (error?: unknown) => (error ? next(error) : serve()));
      }
      if (failed) {
        clearTimeout(timer);
        return notReady();
      }
      // The wait runs from the request's arrival, however long the early routes took to pass it on.
      if (!late) {
        const left = Math.max(0, (options.waitMs ?? 10_000) - (Date.now() - arrived));
        late = new Promise((resolve) => (timer = setTimeout(() => resolve('late'), left)));
        res.once('close', () => clearTimeout(timer));
      }
      // Until the early routes are known this request may be theirs; after, only the real app takes it.
      void Promise.race([earlySettled ? readySettled : Promise.race([readySettled, earlySettles]), late]).then((outcome) => (outcome === 'late' ? notReady() : serve()));
    };
    serve();
  });
  return app;
}

/** Replaces the starting app on the server with the real one. */
export function handOver(server: Server, from: Express, to: Express): void {
  server.removeListener('request', from);
  server.on('request', to);
}
