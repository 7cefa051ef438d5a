import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import express, { type Express } from 'express';
import { AppError } from '../errors.js';
import { sendError } from './errors.js';

export interface StartingOptions {
  version: string;
  role: string;
  startedAt: number;
  /** Resolves with the real app once the store is open and migrated (never before). */
  ready: Promise<Express>;
  /** How long a request that needs the store waits for it before a 503 NOT_READY (default 10 s). */
  waitMs?: number;
}

/**
 * What answers while the store opens, so a scaled-from-zero replica is reachable at once: /health is
 * 200 (the process is up), /ready is 503, and every other request waits for the real app — it never
 * runs before the migration — or gets 503 NOT_READY with Retry-After if the store takes longer than
 * `waitMs`. Once ready, `handOver` puts the real app straight on the server: no extra layer per request.
 */
export function startingApp(options: StartingOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  let real: Express | undefined;
  options.ready.then((ready) => (real = ready), () => undefined);
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
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), options.waitMs ?? 10_000)));
    void Promise.race([options.ready.catch(() => undefined), late]).then((ready) => {
      clearTimeout(timer);
      if (ready) return ready(req, res, next);
      sendError(res, requestId(req.get('x-request-id')), new AppError('NOT_READY', 'The service is starting: retry shortly', { retryAfterSeconds: 1 }));
    });
  });
  return app;
}

/** Replaces the starting app on the server with the real one. */
export function handOver(server: Server, from: Express, to: Express): void {
  server.removeListener('request', from);
  server.on('request', to);
}
