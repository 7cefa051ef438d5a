import { createExpressMiddleware } from '@trpc/server/adapters/express';
import express, { type Express, type Request, type RequestHandler } from 'express';
import { createContext, type Services } from './context.js';
import { AppError } from './errors.js';
import { bodyLimitOf } from './http/aliases.js';
import { bodyGate, jsonBody } from './http/body.js';
import { errorMiddleware, isUnexpected, toAppError } from './http/error-mapping.js';
import { notFound, retryAfterHeader } from './http/errors.js';
import { checkHotPath, hotPaths } from './http/hot-paths.js';
import { DEFAULT_BODY_LIMIT } from './http/limits.js';
import { methodGuard } from './http/methods.js';
import { openApiRoute } from './http/openapi.js';
import { requestContext, withRequestId } from './http/request-context.js';
import { restAliases } from './http/rest-aliases.js';
import type { Logger } from './logger.js';
import { metricsRoute, type Metrics } from './metrics/metrics.js';
import { dutiesOf, type Role } from './roles.js';
import { appRouter } from './routers/index.js';

export interface AppDeps {
  logger: Logger;
  services: Services;
  /** Largest body accepted, in bytes after decompression, unless a procedure's meta declares a larger `bodyLimit` (image uploads). */
  jsonBodyLimit?: number;
  /** Extra routers, e.g. the local billing provider's Checkout and Portal pages. */
  mounts?: { path: string; handler: RequestHandler }[];
  /** This process's ROLE and the background workers it runs; default `all`. Only the API duty changes routes here. */
  role?: { name: Role; workers: readonly string[] };
  /** Request timing and GET /metrics; the route exists only with a token (404 otherwise). */
  metrics?: { metrics: Metrics; token: string | undefined };
}

/** Builds the HTTP app. Never listens: `main.ts` does, and tests listen on port 0. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(requestContext(deps.logger));
  if (deps.metrics) app.use(deps.metrics.metrics.requestTimer(Object.keys(appRouter._def.procedures)));
  app.use(methodGuard());
  const defaultLimit = deps.jsonBodyLimit ?? DEFAULT_BODY_LIMIT;
  // The gate and the JSON reader both ask for a request's limit: it is worked out once per request.
  const limits = new WeakMap<Request, number>();
  const limitOf = (req: Request) => {
    let limit = limits.get(req);
    if (limit === undefined) limits.set(req, (limit = bodyLimitOf(req, defaultLimit)));
    return limit;
  };
  // Before any route reads a body (the webhook and local pages read their own): bad encodings and
  // declared lengths over the limit are refused without reading.
  app.use(bodyGate(limitOf));

  const role = deps.role?.name ?? 'all';
  app.get('/health', (_req, res) => {
    res.json({
      status: 'ok',
      version: deps.services.version,
      uptimeSeconds: Math.round((Date.now() - deps.services.startedAt) / 1000),
      role,
      ...(deps.role ? { workers: deps.role.workers } : {}),
    });
  });
  app.get('/ready', async (req, res) => {
    try {
      await deps.services.readiness.ping();
      res.json({ status: 'ready', store: 'up' });
    } catch (error) {
      req.log.warn({ err: error }, 'readiness check failed');
      res.status(503).json({ status: 'not_ready', store: 'down' });
    }
  });

  if (deps.metrics?.token) app.get('/metrics', metricsRoute(deps.metrics.metrics, deps.metrics.token));

  for (const mount of deps.mounts ?? []) app.use(mount.path, mount.handler);

  // Every role serves /health and /ready; roles without the API duty stop here, so everything below
  // (tRPC, REST aliases, OpenAPI) answers 404 on webhooks and worker instances and a misrouted request fails loudly.
  if (!dutiesOf(role).api) app.use(notFound);

  // The entitlement read every page load makes, without tRPC's adapter (GET: no body to parse).
  app.use('/trpc', hotPaths(deps.services));
  // JSON only, limited while read: the default, or the larger limit a procedure declares in its meta.
  app.use(jsonBody(limitOf));
  // The cached detection's path, once its body is read: also without tRPC's adapter.
  app.use('/trpc', checkHotPath(deps.services));
  app.use(restAliases(deps.services));

  const trpc = createExpressMiddleware({
    router: appRouter,
    createContext: ({ req, info }) => createContext(deps.services, req, info.connectionParams),
    onError: ({ error, req, path }) => {
      // Like the Express error middleware: unknown failures and our own 5xx (e.g. a payment provider's
      // error, whose text is kept out of the answer) are logged with their cause.
      const known = toAppError(error);
      if (isUnexpected(known)) req.log.error({ err: error.cause ?? error, path }, 'procedure failed');
      else if (known.httpStatus >= 500) req.log.error({ err: error.cause ?? error, code: known.code, path }, 'procedure failed');
    },
    // The README promises Retry-After on every 429, tRPC included.
    responseMeta: ({ errors }) => {
      const seconds = errors.map((e) => (e.cause instanceof AppError ? e.cause.retryAfterSeconds : undefined)).find((s) => s !== undefined);
      return seconds === undefined ? {} : { headers: { 'retry-after': retryAfterHeader(seconds) } };
    },
  });
  // The request id is in scope for tRPC errors raised before its context exists.
  app.use('/trpc', (req, res, next) => withRequestId(req.id, () => trpc(req, res, next)));

  app.get('/openapi.json', openApiRoute({ version: deps.services.version, defaultBodyLimit: defaultLimit }));
  app.use(notFound);
  app.use(errorMiddleware);
  return app;
}
