import type { LogPort } from '../logger.js';

/** The auth domain's ports: who is calling. */

export interface AuthenticatedUser {
  id: string;
  /** How the identity was established: a Clerk session token or a development identity. */
  via: 'clerk' | 'dev';
  /** When the session token expires (epoch ms); live streams end then. Undefined for dev identities. */
  expiresAt?: number;
}

/** Turns an Authorization header into a user, or throws UNAUTHENTICATED. Why it failed goes only to the log. */
export interface Authenticator {
  authenticate(authorization: string | undefined, log: LogPort): Promise<AuthenticatedUser>;
}
