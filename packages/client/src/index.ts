export { createClient, trpcUrlOf, type AppRouter, type ClientOptions, type VerifiedditClient } from './client.js';
export { getErrorCode, getRequestId, getRetryAfterSeconds, isApiError, type ApiError } from './errors.js';
export { ERROR_CODES, isErrorCode, type ErrorCode, type HealthOutput } from '@verifieddit/contracts';
