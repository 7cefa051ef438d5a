import { z } from 'zod';

/**
 * Every error the API can answer with. The frontend switches on these codes, never on messages,
 * so a code, once published, keeps its meaning.
 */
export const ERROR_HTTP_STATUS = {
  BAD_REQUEST: 400,
  VALIDATION_FAILED: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA: 422,
  RATE_LIMITED: 429,
  QUOTA_EXCEEDED: 429,
  INTERNAL: 500,
  NOT_READY: 503,
  // billing
  UNKNOWN_PLAN: 400,
  INVALID_REDIRECT: 400,
  ALREADY_SUBSCRIBED: 409,
  NO_CUSTOMER: 409,
  BILLING_PROVIDER_ERROR: 502,
  // webhooks
  WEBHOOK_SIGNATURE_INVALID: 400,
  WEBHOOK_PAYLOAD_INVALID: 400,
  // AI detection
  URL_NOT_ALLOWED: 400,
  IMAGE_TOO_LARGE: 413,
  FETCH_FAILED: 502,
  FETCH_TIMEOUT: 504,
  DETECTION_QUOTA_EXHAUSTED: 429,
  DETECTION_UNAVAILABLE: 502,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_HTTP_STATUS;

export const ERROR_CODES = Object.keys(ERROR_HTTP_STATUS) as [ErrorCode, ...ErrorCode[]];

export const errorCodeSchema = z.enum(ERROR_CODES);

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_HTTP_STATUS, value);
}

export function httpStatusOf(code: ErrorCode): number {
  return ERROR_HTTP_STATUS[code];
}

/** The body of every non-tRPC error response. */
export const errorBodySchema = z.object({
  error: z.object({
    code: errorCodeSchema,
    message: z.string(),
    requestId: z.string(),
    details: z.record(z.string(), z.unknown()).optional(),
  }),
});
export type ErrorBody = z.infer<typeof errorBodySchema>;
