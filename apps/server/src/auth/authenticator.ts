import { verifyToken } from '@clerk/backend';
import type { AuthenticatedUser, Authenticator } from './ports.js';
import { AppError } from '../errors.js';
import type { LogPort } from '../logger.js';

export type AuthFailureReason =
  | 'missing'
  | 'malformed'
  | 'expired'
  | 'not_yet_valid'
  | 'bad_signature'
  | 'wrong_azp'
  | 'wrong_issuer'
  | 'dev_identity_refused'
  | 'unverifiable';

const CALLER_MESSAGE = 'Sign in to continue: the session token is missing or not valid';

function refuse(log: LogPort, reason: AuthFailureReason, detail?: string): never {
  log.warn({ authFailure: reason, ...(detail ? { detail } : {}) }, 'authentication refused');
  throw new AppError('UNAUTHENTICATED', CALLER_MESSAGE);
}

function bearerOf(authorization: string | undefined, log: LogPort): string {
  if (!authorization) refuse(log, 'missing');
  const match = /^Bearer\s+(\S+)$/i.exec(authorization.trim());
  if (!match?.[1]) refuse(log, 'malformed', 'not a Bearer header');
  return match[1];
}

/** `dev_<userId>` identities, for development without Clerk keys. Never constructed in production. */
const DEV_TOKEN = /^dev_([A-Za-z0-9_-]{1,64})$/;

export interface ClerkAuthOptions {
  jwtKey?: string | undefined;
  secretKey?: string | undefined;
  authorizedParties: string[];
  /** Accept `Bearer dev_<id>`; refused whenever `production` is true. */
  allowDevIdentities: boolean;
  production: boolean;
  /** Seconds of clock skew tolerated on exp/nbf. */
  clockSkewInMs?: number;
}

const REASON_OF: Record<string, AuthFailureReason> = {
  'token-expired': 'expired',
  'token-not-active-yet': 'not_yet_valid',
  'token-iat-in-the-future': 'not_yet_valid',
  'token-invalid-signature': 'bad_signature',
  'token-invalid-authorized-parties': 'wrong_azp',
  'token-invalid-issuer': 'wrong_issuer',
  'token-invalid': 'malformed',
  'token-invalid-algorithm': 'malformed',
};

export function createAuthenticator(options: ClerkAuthOptions): Authenticator {
  const devAllowed = options.allowDevIdentities && !options.production;
  const clerkConfigured = Boolean(options.jwtKey || options.secretKey);
  return {
    async authenticate(authorization, log) {
      const token = bearerOf(authorization, log);
      const dev = DEV_TOKEN.exec(token);
      if (dev?.[1]) {
        if (!devAllowed) refuse(log, 'dev_identity_refused');
        return { id: dev[1], via: 'dev' };
      }
      if (!clerkConfigured) refuse(log, 'unverifiable', 'no Clerk key configured; use a dev_<userId> identity in development');
      if (token.split('.').length !== 3) refuse(log, 'malformed', 'not a JWT');
      // The package's exported verifyToken returns the payload and throws TokenVerificationError
      // (its typings describe the lower-level { data, errors } form); accept both shapes.
      let payload: { sub?: unknown };
      try {
        const result = (await verifyToken(token, {
          ...(options.jwtKey ? { jwtKey: options.jwtKey } : { secretKey: options.secretKey }),
          ...(options.authorizedParties.length ? { authorizedParties: options.authorizedParties } : {}),
          clockSkewInMs: options.clockSkewInMs ?? 5_000,
        })) as unknown as { data?: { sub?: unknown }; errors?: unknown[]; sub?: unknown };
        if (Array.isArray(result.errors)) throw result.errors[0];
        payload = result.data ?? result;
      } catch (error) {
        const reason = (error as { reason?: string }).reason;
        refuse(log, (reason && REASON_OF[reason]) || 'unverifiable', `${reason ?? 'error'}: ${error instanceof Error ? error.message : String(error)}`);
      }
      const sub = payload.sub;
      if (typeof sub !== 'string' || !sub) refuse(log, 'malformed', 'token has no subject');
      return { id: sub, via: 'clerk' };
    },
  };
}
