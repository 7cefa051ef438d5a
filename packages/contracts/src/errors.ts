import { z } from 'zod';
import { ERROR_CODES } from './error-codes.js';

export { ERROR_CODES, ERROR_DESCRIPTIONS, ERROR_HTTP_STATUS, httpStatusOf, isErrorCode, type ErrorCode } from './error-codes.js';

export const errorCodeSchema = z.enum(ERROR_CODES);

/**
 * The body of every error answered outside `/trpc` (REST aliases, webhooks, unknown routes, and
 * requests refused before routing).
 */
export const errorBodySchema = z.object({
  error: z.object({
    code: errorCodeSchema,
    message: z.string(),
    requestId: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;

/** A validation issue as the server reports it: where, and what is wrong there. */
export const errorIssueSchema = z.object({ path: z.array(z.union([z.string(), z.number()])), message: z.string() }).loose();

/** `error.data` of every tRPC error answer: the same code and request id as the REST shape. */
export const trpcErrorDataSchema = z.object({
  code: errorCodeSchema,
  httpStatus: z.number().int(),
  requestId: z.string(),
  retryAfterSeconds: z.number().nullable(),
  details: z.record(z.string(), z.unknown()).nullable(),
  issues: z.array(errorIssueSchema).nullable(),
  path: z.string().nullable(),
});
export type TrpcErrorData = z.infer<typeof trpcErrorDataSchema>;

/**
 * The body of every error answered under `/trpc`: tRPC's envelope (JSON-RPC `code` number), with our
 * code in `data`. A batch answers an array of these, one per call, or one for the whole request.
 */
export const trpcErrorEnvelopeSchema = z.object({
  error: z.object({ message: z.string(), code: z.number().int(), data: trpcErrorDataSchema }),
});
export type TrpcErrorEnvelope = z.infer<typeof trpcErrorEnvelopeSchema>;
