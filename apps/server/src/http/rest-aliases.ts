import { callTRPCProcedure } from '@trpc/server';
import express, { type Request, type Router } from 'express';
import { createContext, type Services } from '../context.js';
import { appRouter } from '../routers/index.js';
import { AppError } from '../errors.js';
import { REST_ALIASES } from './aliases.js';

/**
 * No body at all is an empty input (the validation names the missing fields); `null` stays `null`.
 * A GET alias has no input.
 */
const inputOf = (req: Request): unknown => (req.method === 'GET' ? undefined : req.body === undefined ? {} : req.body);

/**
 * The input with the `Idempotency-Key` header as its `idempotencyKey` (Stripe's header, for callers
 * used to it): the header and the body field are one key, so both given and different is refused.
 */
function withIdempotencyKey(req: Request, input: unknown): unknown {
  const header = req.get('idempotency-key');
  if (header === undefined || typeof input !== 'object' || input === null || Array.isArray(input)) return input;
  const inBody = (input as Record<string, unknown>).idempotencyKey;
  if (inBody !== undefined && inBody !== header) throw new AppError('VALIDATION_FAILED', 'the Idempotency-Key header and the body’s idempotencyKey differ: send one of them');
  return { ...input, idempotencyKey: header };
}

const isReplay = (output: unknown) => typeof output === 'object' && output !== null && (output as { replayed?: unknown }).replayed === true;

/**
 * The routes of REST_ALIASES. Each calls its tRPC procedure (same auth middleware, same contract
 * schemas) with the context every entry point builds.
 */
export function restAliases(services: Services): Router {
  const router = express.Router();
  for (const alias of REST_ALIASES) {
    const type = alias.method === 'get' ? 'query' : 'mutation';
    router[alias.method](alias.path, async (req, res, next) => {
      try {
        const input = alias.idempotencyKeyHeader ? withIdempotencyKey(req, inputOf(req)) : inputOf(req);
        const ctx = createContext(services, req);
        const output = await callTRPCProcedure({ router: appRouter, path: alias.procedure, type, ctx, getRawInput: async () => input, signal: undefined, batchIndex: 0 });
        if (alias.idempotencyKeyHeader && isReplay(output)) res.setHeader('idempotent-replayed', 'true');
        res.json(output);
      } catch (error) {
        // The error middleware maps tRPC's validation errors to VALIDATION_FAILED, worded as on tRPC.
        next(error);
      }
    });
  }
  return router;
}
