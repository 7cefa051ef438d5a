import type { AiDetection } from './ai-detect/service.js';
import type { Authenticator } from './auth/authenticator.js';
import type { BillingPort } from './billing/service.js';
import type { LogPort } from './logger.js';

/**
 * What a procedure may use. Only ports (interfaces) and plain values: this type ships inside the
 * SDK's declarations as part of `AppRouter`, so an SDK client or DB handle here would leak into
 * the frontend's types.
 */
export interface ReadinessPort {
  /** Resolves when the store answers; rejects otherwise. */
  ping(): Promise<void>;
}

export interface AuthenticatedUser {
  id: string;
  /** How the identity was established: a Clerk session token or a development identity. */
  via: 'clerk' | 'dev';
}

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
