import { callTRPCProcedure } from '@trpc/server';
import express, { type Request, type Router } from 'express';
import { createContext, type Services } from '../context.js';
import { appRouter } from '../routers/index.js';
import { REST_ALIASES } from './aliases.js';

/**
 * No body at all is an empty input (the validation names the missing fields); `null` stays `null`.
 * A GET alias has no input.
 */
const inputOf = (req: Request): unknown => (req.method === 'GET' ? undefined : req.body === undefined ? {} : req.body);

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
        const input = inputOf(req);
        const ctx = createContext(services, req);
        res.json(await callTRPCProcedure({ router: appRouter, path: alias.procedure, type, ctx, getRawInput: async () => input, signal: undefined, batchIndex: 0 }));
      } catch (error) {
        // The error middleware maps tRPC's validation errors to VALIDATION_FAILED, worded as on tRPC.
        next(error);
      }
    });
  }
  return router;
}
