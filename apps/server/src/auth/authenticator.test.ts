import { verifyToken } from '@clerk/backend';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createAuthenticator } from './authenticator.js';
import { createTestIssuer } from '../testing/clerk.js';
import { startWiredApp } from '../testing/harness.js';
import { useTestStore } from '../testing/fixtures.js';
import { storeTargets } from '../testing/stores.js';

const issuer = createTestIssuer();

describe('Clerk session tokens on protected procedures', () => {
  const t = useTestStore(storeTargets[0]!);
  let app: Awaited<ReturnType<typeof startWiredApp>>;
  beforeAll(async () => {
    app = await startWiredApp({
      store: t.store,
      env: { CLERK_JWT_KEY: issuer.publicKeyPem, CLERK_AUTHORIZED_PARTIES: 'https://app.verifieddit.test' },
    });
  });
  afterAll(async () => {
    await app.shutdown();
  });

  const statusWith = (authorization?: string) =>
    fetch(`${app.url}/trpc/billing.subscriptionStatus`, { headers: authorization ? { authorization } : {} });

  it('accepts a valid RS256 token and identifies the user by its subject', async () => {
    const res = await statusWith(`Bearer ${await issuer.token({ sub: 'user_alice' })}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ result: { data: { status: 'none', features: [] } } });
  });

  const now = () => Math.floor(Date.now() / 1000);
  const cases: [string, () => Promise<string | undefined>, string][] = [
    ['missing', async () => undefined, 'missing'],
    ['not a bearer header', async () => `Basic ${Buffer.from('a:b').toString('base64')}`, 'malformed'],
    ['malformed token', async () => 'Bearer not.a.jwt-at-all', 'malformed'],
    ['expired', async () => `Bearer ${await issuer.token({ exp: now() - 120, iat: now() - 600, nbf: now() - 600 })}`, 'expired'],
    ['not yet valid', async () => `Bearer ${await issuer.token({ nbf: now() + 600 })}`, 'not_yet_valid'],
    ['wrong signature', async () => `Bearer ${await issuer.token({}, issuer.strangerKey)}`, 'bad_signature'],
    ['wrong azp', async () => `Bearer ${await issuer.token({ azp: 'https://evil.example' })}`, 'wrong_azp'],
    ['no azp', async () => `Bearer ${await issuer.token({ azp: undefined })}`, 'wrong_azp'],
    ['dev identity while Clerk is configured', async () => 'Bearer dev_user_alice', 'dev_identity_refused'],
  ];

  it.each(cases)('refuses a %s token with 401 UNAUTHENTICATED, naming the reason only in the log', async (_name, header, reason) => {
    const requestId = `auth-${reason}-${Math.random().toString(36).slice(2)}`;
    const authorization = await header();
    const res = await fetch(`${app.url}/trpc/billing.subscriptionStatus`, {
      headers: { 'x-request-id': requestId, ...(authorization ? { authorization } : {}) },
    });
    expect(res.status).toBe(401);
    const body = (await res.json()) as { error: { message: string; data: { code: string } } };
    expect(body.error.data.code).toBe('UNAUTHENTICATED');
    // The caller is not told which check failed.
    expect(body.error.message).toBe('Sign in to continue: the session token is missing or not valid');
    const logged = app.logs.records().find((r) => r.requestId === requestId && r.authFailure);
    expect(logged?.authFailure).toBe(reason);
  });

  it('refuses on the REST alias the same way', async () => {
    const res = await fetch(`${app.url}/subscription-status`, { headers: { authorization: 'Bearer dev_mallory' } });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('UNAUTHENTICATED');
  });
});

describe('development identities', () => {
  const t = useTestStore(storeTargets[0]!);

  it('are accepted outside production when no Clerk key is configured', async () => {
    const app = await startWiredApp({ store: t.store });
    try {
      const res = await fetch(`${app.url}/subscription-status`, { headers: { authorization: 'Bearer dev_user_local' } });
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ status: 'none' });
    } finally {
      await app.shutdown();
    }
  });

  it('are refused in production even when asked for', async () => {
    const { createAuthenticator } = await import('./authenticator.js');
    const auth = createAuthenticator({ authorizedParties: [], allowDevIdentities: true, production: true });
    const warnings: object[] = [];
    const log = { debug() {}, info() {}, error() {}, warn: (o: object) => void warnings.push(o) };
    await expect(auth.authenticate('Bearer dev_user_local', log)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(warnings).toEqual([expect.objectContaining({ authFailure: 'dev_identity_refused' })]);
  });
});

describe('the verified-token cache', () => {
  const log = { debug() {}, info() {}, warn() {}, error() {} };
  const secondsNow = () => Math.floor(Date.now() / 1000);
  /** A Clerk authenticator whose verifications are counted (the real verifyToken underneath). */
  const counted = (maxCachedTokens?: number) => {
    let verifications = 0;
    const auth = createAuthenticator({
      jwtKey: issuer.publicKeyPem,
      authorizedParties: ['https://app.verifieddit.test'],
      allowDevIdentities: false,
      production: false,
      ...(maxCachedTokens !== undefined ? { maxCachedTokens } : {}),
      verify: (async (...args: Parameters<typeof verifyToken>) => {
        verifications++;
        return verifyToken(...args);
      }) as typeof verifyToken,
    });
    return { auth, verifications: () => verifications };
  };
  const refusal = (promise: Promise<unknown>) => expect(promise).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });

  afterEach(() => vi.useRealTimers());

  it('verifies a token once and answers its repeats from the cache', async () => {
    const { auth, verifications } = counted();
    const header = `Bearer ${await issuer.token({ sub: 'user_cached' })}`;
    for (let i = 0; i < 5; i++) expect(await auth.authenticate(header, log)).toMatchObject({ id: 'user_cached', via: 'clerk', expiresAt: expect.any(Number) });
    expect(verifications()).toBe(1);
  });

  it('refuses a cached token once its exp has passed by more than the 5 s skew, and re-verifies inside the skew', async () => {
    const { auth, verifications } = counted();
    const exp = secondsNow() + 30;
    const header = `Bearer ${await issuer.token({ sub: 'user_exp', exp })}`;
    await auth.authenticate(header, log);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(exp * 1000 + 2_000); // past exp, inside the skew: the verifier decides again
    expect(await auth.authenticate(header, log)).toMatchObject({ id: 'user_exp' });
    expect(verifications()).toBe(2);
    vi.setSystemTime(exp * 1000 + 6_000); // past exp + skew: refused, cached or not
    await refusal(auth.authenticate(header, log));
  });

  it('never accepts a token before its nbf less the skew, even one it verified before (clock stepped back)', async () => {
    const { auth } = counted();
    const nbf = secondsNow() + 20;
    const header = `Bearer ${await issuer.token({ sub: 'user_nbf', nbf, iat: nbf })}`;
    await refusal(auth.authenticate(header, log));
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(nbf * 1000 - 3_000); // inside the skew
    expect(await auth.authenticate(header, log)).toMatchObject({ id: 'user_nbf' });
    vi.setSystemTime(nbf * 1000 - 60_000); // the clock steps back: the cached entry is not used
    await refusal(auth.authenticate(header, log));
  });

  it('is keyed by the whole token: a tampered signature is verified (and refused), not served from the cache', async () => {
    const { auth } = counted();
    const token = await issuer.token({ sub: 'user_tamper' });
    await auth.authenticate(`Bearer ${token}`, log);
    const last = token.at(-2) === 'A' ? 'B' : 'A';
    await refusal(auth.authenticate(`Bearer ${token.slice(0, -2)}${last}${token.at(-1)}`, log));
  });

  it('holds at most maxCachedTokens tokens', async () => {
    const { auth, verifications } = counted(3);
    const headers = await Promise.all([1, 2, 3, 4, 5].map(async (i) => `Bearer ${await issuer.token({ sub: `user_${i}` })}`));
    for (const header of headers) await auth.authenticate(header, log);
    expect(auth.cachedTokens).toBe(3);
    await auth.authenticate(headers[0]!, log); // evicted, so verified again
    expect(verifications()).toBe(6);
  });
});
