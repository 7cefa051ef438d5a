import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestIssuer } from '../testing/clerk.js';
import { startWiredApp } from '../testing/harness.js';
import { storeTargets, type TestStore } from '../testing/stores.js';

const issuer = createTestIssuer();

describe('Clerk session tokens on protected procedures', () => {
  let t: TestStore;
  let app: Awaited<ReturnType<typeof startWiredApp>>;
  beforeAll(async () => {
    t = await storeTargets[0]!.open();
    app = await startWiredApp({
      store: t.store,
      env: { CLERK_JWT_KEY: issuer.publicKeyPem, CLERK_AUTHORIZED_PARTIES: 'https://app.verifieddit.test' },
    });
  });
  afterAll(async () => {
    await app.shutdown();
    await t.dispose();
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
  let t: TestStore;
  beforeAll(async () => {
    t = await storeTargets[0]!.open();
  });
  afterAll(() => t.dispose());

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
