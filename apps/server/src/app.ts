import { createExpressMiddleware } from '@trpc/server/adapters/express';
import express, { type Express, type RequestHandler } from 'express';
import type { Context, Services } from './context.js';
import { errorMiddleware, notFound } from './http/errors.js';
import { openApiRoute } from './http/openapi.js';
import { requestContext } from './http/request-context.js';
import { restAliases } from './http/rest-aliases.js';
import type { Logger } from './logger.js';
import { dutiesOf, type Role } from './roles.js';
import { appRouter } from './routers/index.js';

export interface AppDeps {
  logger: Logger;
  services: Services;
  /** Largest JSON body accepted, in bytes. */
  jsonBodyLimit?: number;
  /** Extra routers, e.g. the local billing provider's Checkout and Portal pages. */
  mounts?: { path: string; handler: RequestHandler }[];
  /** This process's ROLE and the background workers it runs; default `all`. Only the API duty changes routes here. */
  role?: { name: Role; workers: readonly string[] };
}

export const DEFAULT_JSON_BODY_LIMIT = 1024 * 1024;
/** Image uploads arrive base64-encoded: 10 MB of bytes is about 13.4 MB of JSON. */
export const IMAGE_JSON_BODY_LIMIT = 14 * 1024 * 1024;

/** Builds the HTTP app. Never listens: `main.ts` does, and tests listen on port 0. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.use(requestContext(deps.logger));

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

  for (const mount of deps.mounts ?? []) app.use(mount.path, mount.handler);

  // Every role serves /health and /ready; roles without the API duty stop here, so everything below
  // (tRPC, REST aliases, OpenAPI) answers 404 on webhooks and worker instances and a misrouted request fails loudly.
  if (!dutiesOf(role).api) app.use(notFound);

  // Only the image-upload routes take large bodies; body-parser skips a body already parsed.
  const imageJson = express.json({ limit: IMAGE_JSON_BODY_LIMIT });
  app.use('/ai-detect', imageJson);
  app.use('/trpc', (req, res, next) => (req.path.includes('aiDetect.check') ? imageJson(req, res, next) : next()));
  app.use(express.json({ limit: deps.jsonBodyLimit ?? DEFAULT_JSON_BODY_LIMIT }));
  app.use(restAliases(deps.services));

  app.use(
    '/trpc',
    createExpressMiddleware({
      router: appRouter,
      createContext: ({ req }): Context => ({
        requestId: req.id,
        log: req.log,
        services: deps.services,
        authorization: req.get('authorization'),
        user: null,
      }),
      onError: ({ error, req, path }) => {
        if (error.code === 'INTERNAL_SERVER_ERROR' && !(error.cause && 'code' in error.cause && error.cause.name === 'AppError'))
          req.log.error({ err: error.cause ?? error, path }, 'procedure failed');
      },
    }),
  );

  app.get('/openapi.json', openApiRoute({ version: deps.services.version }));
  app.use(notFound);
  app.use(errorMiddleware);
  return app;
}
