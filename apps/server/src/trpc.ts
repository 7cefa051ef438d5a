import { initTRPC, TRPCError } from '@trpc/server';
import type { Context } from './context.js';
import { AppError } from './errors.js';
import { currentRequestId } from './http/request-context.js';
import { toAppError } from './http/error-mapping.js';
import { trpcErrorBody, trpcKeyOf } from './http/errors.js';

/** AppError → TRPCError, keeping the AppError as the cause so the formatter can read its code. */
export function toTRPCError(error: AppError): TRPCError {
  return new TRPCError({ code: trpcKeyOf(error), message: error.message, cause: error });
}

/** What a procedure may declare about itself for the HTTP layer. */
export interface ProcedureMeta {
  /** The body limit in bytes when it is larger than the default (image uploads); http/body.ts reads it. */
  bodyLimit?: number;
}

const t = initTRPC.context<Context>().meta<ProcedureMeta>().create({
  // SSE subscriptions (billing.onStatusChange): a ping every 10 s keeps proxies from closing an idle
  // stream, and a client that hears nothing for 30 s reconnects (with a fresh token) on its own.
  sse: { ping: { enabled: true, intervalMs: 10_000 }, client: { reconnectAfterInactivityMs: 30_000 } },
  // The same answer as the REST shape, in tRPC's envelope: our code, message and request id. Errors tRPC
  // raises before the context exists (bad content type, malformed batch) find the id in the request scope.
  errorFormatter({ shape, error, ctx }) {
    const app = toAppError(error);
    return trpcErrorBody(app, ctx?.requestId ?? currentRequestId() ?? 'unknown', shape.data.path ?? null).error;
  },
});

/** Converts thrown AppErrors into TRPCErrors so their HTTP status is right. */
const appErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && result.error.cause instanceof AppError) {
    const mapped = toTRPCError(result.error.cause);
    return { ...result, error: mapped };
  }
  return result;
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;
export const publicProcedure = t.procedure.use(appErrors);

/**
 * Narrows `ctx.user`: the bearer token is verified here before the procedure runs, once per call, so a
 * batch of n calls verifies it n times (the authenticator caches verified tokens, so repeats are cheap).
 */
export const protectedProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const user = ctx.user ?? (await ctx.services.auth.authenticate(ctx.authorization, ctx.log));
  return next({ ctx: { ...ctx, user } });
});
