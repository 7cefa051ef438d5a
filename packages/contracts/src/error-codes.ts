/**
 * Error codes and error shapes without zod, as `@verifieddit/contracts/error-codes`: what the server
 * imports before it listens, where compiling zod would delay a cold start. errors.ts holds the schemas
 * of these shapes (and re-exports the codes); a test pins the schemas' types to the interfaces here.
 */

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
  REQUEST_TIMEOUT: 408,
  CONFLICT: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_CONTENT_TYPE: 415,
  UNSUPPORTED_MEDIA: 422,
  HEADERS_TOO_LARGE: 431,
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
  // local billing pages (development only: the local provider's Checkout and Portal links)
  LINK_WRONG_KIND: 400,
  LINK_ALREADY_USED: 409,
  SUBSCRIPTION_CANCELED: 409,
  TOO_MANY_STREAMS: 429,
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
  IDEMPOTENCY_KEY_REUSED: 409,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_HTTP_STATUS;

/**
 * What each code means to a caller: the README's error table (docs/errors.md) is generated from this,
 * so a new code cannot ship undocumented (the type requires an entry for every code).
 */
export const ERROR_DESCRIPTIONS: { readonly [K in ErrorCode]: string } = {
  BAD_REQUEST: 'the request cannot be read: malformed JSON or percent-escapes, a body that does not decode as its `Content-Encoding`, JSON nested deeper than 32 levels, a malformed tRPC call',
  VALIDATION_FAILED: 'the input does not match the contract; the message names each field (`Invalid request: cancelUrl: …`), the issues are in `details.issues` (REST) or `data.issues` (tRPC)',
  UNAUTHENTICATED: 'no session token, or one that is invalid or expired',
  FORBIDDEN: 'the caller may not do this',
  NOT_FOUND: 'unknown route or procedure',
  METHOD_NOT_ALLOWED: 'the route exists but not for this method (e.g. `TRACE`, `GET /webhook`); `Allow` names the methods it takes',
  REQUEST_TIMEOUT: 'the headers did not arrive within 10 s or the whole request within 60 s',
  CONFLICT: 'the request conflicts with the current state',
  PAYLOAD_TOO_LARGE: 'the body is over 1 MB (14 MB on the image-upload routes) once decompressed, or a form has too many fields',
  UNSUPPORTED_CONTENT_TYPE: 'the body is not `application/json` (UTF-8), or its `Content-Encoding` is not gzip, deflate, br or identity',
  UNSUPPORTED_MEDIA: 'the image is not a supported type, or the detection service could not read it',
  HEADERS_TOO_LARGE: 'the request headers are over the server limit (16 KB)',
  RATE_LIMITED: 'too many requests: wait `Retry-After` seconds (also `retryAfterSeconds` in the body)',
  QUOTA_EXCEEDED: 'the monthly quota of the plan is used up; `Retry-After` says when it resets',
  INTERNAL: 'anything unexpected; logged with the request id, never with details in the answer',
  NOT_READY: 'the store is not reachable (or webhooks are not configured): retry later',
  UNKNOWN_PLAN: 'no such plan, feature, price or price lookup key',
  INVALID_REDIRECT: 'a success, cancel or return URL is not on `APP_ORIGINS`',
  ALREADY_SUBSCRIBED: 'the user has a live subscription: use the portal',
  NO_CUSTOMER: 'portal requested before any checkout',
  BILLING_PROVIDER_ERROR: 'the billing provider failed after bounded retries; nothing half-done is stored (its own error text is logged, not answered; `details.providerRequestId` finds it at Stripe)',
  LINK_WRONG_KIND: 'local billing page (development): a checkout link opened as a portal link or the other way round',
  LINK_ALREADY_USED: 'local billing page (development): this checkout link was already paid; start a new checkout',
  SUBSCRIPTION_CANCELED: 'local billing page (development): the subscription is canceled and cannot be resumed or changed; start a new checkout',
  TOO_MANY_STREAMS: 'this account already has the most live status streams allowed (`details.limit`, per server): close one, e.g. another tab',
  WEBHOOK_SIGNATURE_INVALID: 'webhook: missing, bad or stale `Stripe-Signature` (`details.reason`)',
  WEBHOOK_PAYLOAD_INVALID: 'webhook: validly signed but not a Stripe event that can be stored (`details.reason`)',
  URL_NOT_ALLOWED: 'the image URL is not a public http(s) address',
  IMAGE_TOO_LARGE: 'the image is over 10 MB',
  FETCH_FAILED: 'the image URL could not be fetched',
  FETCH_TIMEOUT: 'the image URL did not answer in time',
  DETECTION_QUOTA_EXHAUSTED: 'the detection budget is used up; `Retry-After` says when to try again',
  DETECTION_UNAVAILABLE: 'the detection service failed',
  IDEMPOTENCY_KEY_REUSED:
    'this idempotency key was already used by this account, within 24 h, for another image (or URL): make a new key for each new check, and send the same key again only when retrying the same one',
};

export const ERROR_CODES = Object.keys(ERROR_HTTP_STATUS) as [ErrorCode, ...ErrorCode[]];

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERROR_HTTP_STATUS, value);
}

export function httpStatusOf(code: ErrorCode): number {
  return ERROR_HTTP_STATUS[code];
}

/** The body of every error answered outside `/trpc` (`errorBodySchema`). */
export interface ErrorBody {
  error: { code: ErrorCode; message: string; requestId: string; details?: Record<string, unknown> | undefined };
}

/** A validation issue as the server reports it (`errorIssueSchema`). */
export interface ErrorIssue {
  [key: string]: unknown;
  path: (string | number)[];
  message: string;
}

/** `error.data` of every tRPC error answer (`trpcErrorDataSchema`). */
export interface TrpcErrorData {
  code: ErrorCode;
  httpStatus: number;
  requestId: string;
  retryAfterSeconds: number | null;
  details: Record<string, unknown> | null;
  issues: ErrorIssue[] | null;
  path: string | null;
}

/** The body of every error answered under `/trpc` (`trpcErrorEnvelopeSchema`). */
export interface TrpcErrorEnvelope {
  error: { message: string; code: number; data: TrpcErrorData };
}
