import type { verifyToken } from '@clerk/backend';
import type { AuthenticatedUser, Authenticator } from './ports.js';
import { AppError } from '../errors.js';
import type { LogPort } from '../logger.js';

type AuthFailureReason =
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
  /** Milliseconds of clock skew tolerated on exp/nbf (Clerk's default, 5 s). */
  clockSkewInMs?: number;
  /** Verified tokens kept (whole token as the key); 0 turns the cache off. */
  maxCachedTokens?: number;
  /** Clerk's `verifyToken`; tests wrap it to count verifications. */
  verify?: typeof verifyToken;
}

/**
 * Verified session tokens, so a client that sends the same token on every request pays for one RS256
 * verification, not one per request. Keyed by the whole token (a token differing in any byte is
 * verified afresh), bounded (oldest out), and an entry is used only inside the token's own
 * [nbf − skew, exp) window: it never outlives the token, and past `exp` the token goes back to the
 * verifier, which refuses it once the skew is spent too.
 */
class VerifiedTokenCache {
  private readonly entries = new Map<string, { userId: string; notBeforeMs: number; expiresMs: number }>();
  constructor(
    private readonly max: number,
    private readonly skewMs: number,
  ) {}

  get(token: string): { userId: string; expiresMs: number } | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    const now = Date.now();
    if (now >= entry.expiresMs) {
      this.entries.delete(token);
      return undefined;
    }
    return now >= entry.notBeforeMs - this.skewMs ? entry : undefined;
  }

  set(token: string, userId: string, payload: { exp?: unknown; nbf?: unknown }): void {
    if (this.max <= 0 || typeof payload.exp !== 'number') return;
    if (this.entries.size >= this.max) {
      // Drop expired entries first; if none, the oldest.
      const now = Date.now();
      for (const [key, entry] of this.entries) if (now >= entry.expiresMs) this.entries.delete(key);
      if (this.entries.size >= this.max) this.entries.delete(this.entries.keys().next().value!);
    }
    this.entries.set(token, { userId, expiresMs: payload.exp * 1000, notBeforeMs: typeof payload.nbf === 'number' ? payload.nbf * 1000 : 0 });
  }

  get size(): number {
    return this.entries.size;
  }
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

/**
 * Clerk's SDK is loaded at the first token to verify, not at startup: /health, webhooks and dev
 * identities never need it, and compiling it (it also pulls in Node's fetch) is a tenth of a cold start.
 */
let clerk: Promise<typeof verifyToken> | undefined;
const clerkVerifyToken: typeof verifyToken = async (token, options) => (await (clerk ??= import('@clerk/backend').then((m) => m.verifyToken)))(token, options);

export function createAuthenticator(options: ClerkAuthOptions): Authenticator & { readonly cachedTokens: number } {
  const devAllowed = options.allowDevIdentities && !options.production;
  const clerkConfigured = Boolean(options.jwtKey || options.secretKey);
  const skewMs = options.clockSkewInMs ?? 5_000;
  const verify = options.verify ?? clerkVerifyToken;
  const cache = new VerifiedTokenCache(options.maxCachedTokens ?? 10_000, skewMs);
  return {
    get cachedTokens() {
      return cache.size;
    },
    async authenticate(authorization, log) {
      const token = bearerOf(authorization, log);
      const dev = DEV_TOKEN.exec(token);
      if (dev?.[1]) {
        if (!devAllowed) refuse(log, 'dev_identity_refused');
        return { id: dev[1], via: 'dev' };
      }
      if (!clerkConfigured) refuse(log, 'unverifiable', 'no Clerk key configured; use a dev_<userId> identity in development');
      if (token.split('.').length !== 3) refuse(log, 'malformed', 'not a JWT');
      const cached = cache.get(token);
      if (cached) return { id: cached.userId, via: 'clerk', expiresAt: cached.expiresMs };
      // The package's exported verifyToken returns the payload and throws TokenVerificationError
      // (its typings describe the lower-level { data, errors } form); accept both shapes.
      let payload: { sub?: unknown; exp?: unknown; nbf?: unknown };
      try {
        const result = (await verify(token, {
          ...(options.jwtKey ? { jwtKey: options.jwtKey } : { secretKey: options.secretKey }),
          ...(options.authorizedParties.length ? { authorizedParties: options.authorizedParties } : {}),
          clockSkewInMs: skewMs,
        })) as unknown as { data?: typeof payload; errors?: unknown[]; sub?: unknown };
        if (Array.isArray(result.errors)) throw result.errors[0];
        payload = result.data ?? result;
      } catch (error) {
        const reason = (error as { reason?: string }).reason;
        refuse(log, (reason && REASON_OF[reason]) || 'unverifiable', `${reason ?? 'error'}: ${error instanceof Error ? error.message : String(error)}`);
      }
      const sub = payload.sub;
      if (typeof sub !== 'string' || !sub) refuse(log, 'malformed', 'token has no subject');
      cache.set(token, sub, payload);
      return { id: sub, via: 'clerk', ...(typeof payload.exp === 'number' ? { expiresAt: payload.exp * 1000 } : {}) };
    },
  };
}
