import { isErrorCode, type ErrorCode } from '@verifieddit/contracts';
import { initTRPC, TRPCError } from '@trpc/server';
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server/rpc';
import type { Context } from './context.js';
import { AppError } from './errors.js';

const TRPC_CODE_OF_STATUS: Record<number, TRPC_ERROR_CODE_KEY> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_SUPPORTED',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  422: 'UNPROCESSABLE_CONTENT',
  429: 'TOO_MANY_REQUESTS',
  500: 'INTERNAL_SERVER_ERROR',
  502: 'BAD_GATEWAY',
  503: 'SERVICE_UNAVAILABLE',
  504: 'GATEWAY_TIMEOUT',
};

const APP_CODE_OF_TRPC: Partial<Record<TRPC_ERROR_CODE_KEY, ErrorCode>> = {
  BAD_REQUEST: 'BAD_REQUEST',
  PARSE_ERROR: 'BAD_REQUEST',
  UNAUTHORIZED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  METHOD_NOT_SUPPORTED: 'METHOD_NOT_ALLOWED',
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  TOO_MANY_REQUESTS: 'RATE_LIMITED',
};

/** AppError → TRPCError, keeping the AppError as the cause so the formatter can read its code. */
export function toTRPCError(error: AppError): TRPCError {
  return new TRPCError({ code: TRPC_CODE_OF_STATUS[error.httpStatus] ?? 'INTERNAL_SERVER_ERROR', message: error.message, cause: error });
}

const t = initTRPC.context<Context>().create({
  errorFormatter({ shape, error, ctx }) {
    const app = error.cause instanceof AppError ? error.cause : undefined;
    const isInputError = error.code === 'BAD_REQUEST' && error.cause && 'issues' in error.cause;
    let code: ErrorCode = app?.code ?? (isInputError ? 'VALIDATION_FAILED' : (APP_CODE_OF_TRPC[error.code] ?? 'INTERNAL'));
    if (!isErrorCode(code)) code = 'INTERNAL';
    const internal = code === 'INTERNAL';
    return {
      // Unknown failures never leak their message; the request id lets an operator find the log line.
      message: internal ? 'Internal error' : shape.message,
      code: shape.code,
      data: {
        code,
        httpStatus: app?.httpStatus ?? shape.data.httpStatus,
        requestId: ctx?.requestId ?? null,
        retryAfterSeconds: app?.retryAfterSeconds ?? null,
        details: app?.details ?? null,
        issues: isInputError ? (error.cause as unknown as { issues: unknown[] }).issues : null,
        path: shape.data.path ?? null,
      },
    };
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

/** Narrows `ctx.user`: the bearer token is verified here, once per request, before any procedure runs. */
export const protectedProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const user = ctx.user ?? (await ctx.services.auth.authenticate(ctx.authorization, ctx.log));
  return next({ ctx: { ...ctx, user } });
});
