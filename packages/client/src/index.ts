export { subscribeStatus, type StatusSubscription, type SubscribeStatusOptions } from './live.js';
export type { CheckRetryOptions } from './retries.js';
export { createClient, trpcUrlOf, type AppRouter, type ClientOptions, type VerifiedditClient } from './client.js';
export { getErrorCode, getRequestId, getRetryAfterSeconds, getValidationIssues, isApiError, type ApiError, type ValidationIssue } from './errors.js';
export { ERROR_CODES, isErrorCode, type ErrorCode, type HealthOutput, type SubscriptionStatusOutput } from '@verifieddit/contracts';
