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

/**
 * What `createContext` reads from a request. Express's Request fits (`id` and `log` are set by
 * http/request-context.ts); written out so this module, which ships in the SDK's types, names no Express type.
 */
export interface ContextRequest {
  id: string;
  log: LogPort;
  headers: { authorization?: string | undefined };
}

/**
 * The one way a request becomes a procedure's context: the tRPC adapter, the REST aliases, the hot
 * path and the tests all call this. A browser's EventSource cannot send headers, so SSE subscriptions
 * (httpSubscriptionLink) carry the session token in tRPC's `connectionParams` (`{ token }`) instead.
 */
export function createContext(services: Services, req: ContextRequest, connectionParams?: Record<string, string | undefined> | null): Context {
  return { requestId: req.id, log: req.log, services, authorization: req.headers.authorization ?? bearerFrom(connectionParams), user: null };
}

function bearerFrom(params: Record<string, string | undefined> | null | undefined): string | undefined {
  const token = params?.token;
  return typeof token === 'string' && token ? `Bearer ${token}` : undefined;
}
