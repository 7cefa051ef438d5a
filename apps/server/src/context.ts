import type { AiDetection } from './ai-detect/ports.js';
import type { AuthenticatedUser, Authenticator } from './auth/ports.js';
import type { BillingPort } from './billing/ports.js';
import type { LogPort } from './logger.js';
import type { ReadinessPort } from './store/ports.js';

/**
 * What a procedure may use. Only ports (interfaces) and plain values: this type ships inside the
 * SDK's declarations as part of `AppRouter`, so an SDK client or DB handle here would leak into
 * the frontend's types.
 */
export interface Services {
  version: string;
  startedAt: number;
  readiness: ReadinessPort;
  auth: Authenticator;
  billing: BillingPort;
  aiDetect: Pick<AiDetection, 'check' | 'usage'>;
}

export interface Context {
  requestId: string;
  log: LogPort;
  services: Services;
  /** The bearer token as sent, resolved lazily by the auth middleware. */
  authorization: string | undefined;
  user: AuthenticatedUser | null;
}
