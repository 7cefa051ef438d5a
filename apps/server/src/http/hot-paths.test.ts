import { beforeAll, describe, expect, it } from 'vitest';
import { createTestIssuer } from '../testing/clerk.js';
import { useWiredApp } from '../testing/fixtures.js';

const issuer = createTestIssuer();

describe('billing.subscriptionStatus without the tRPC adapter', () => {
  const wired = useWiredApp({ env: { CLERK_JWT_KEY: issuer.publicKeyPem, CLERK_AUTHORIZED_PARTIES: 'https://app.verifieddit.test' } });
  const t = wired.store;
  let bearer: string;
  beforeAll(async () => {
    bearer = `Bearer ${await issuer.token({ sub: 'user_hot' })}`;
  });
  const get = (path: string, headers: Record<string, string> = {}) => fetch(`${wired.app.url}/trpc/${path}`, { headers: { authorization: bearer, ...headers } });
  const apply = (status: 'active' | 'canceled', n: number) =>
    wired.app.wiring.billing.subscriptions.apply({
      eventId: `evt_hot_${n}`, accountId: 'user_hot', provider: 'stripe', providerCustomerId: 'cus_hot', providerSubscriptionId: 'sub_hot',
      planId: 'pro', status, features: ['ai-detect'], currentPeriodEnd: new Date('2026-12-20T00:00:00Z'), cancelAtPeriodEnd: false, sourceCreated: 1_763_650_000 + n, sourceRank: 0,
    });

  it('answers a plain GET and a one-call batch with the bytes and headers tRPC itself sends', async () => {
    await apply('active', 1);
    // Two calls in one batch are not taken by the fast path: that is tRPC's own answer.
    const viaTrpc = await get('billing.subscriptionStatus,billing.subscriptionStatus?batch=1&input=%7B%7D');
    const trpcItems = (await viaTrpc.json()) as unknown[];
    expect(trpcItems[0]).toMatchObject({ result: { data: { status: 'active', plan: 'pro', features: ['ai-detect'] } } });

    const plain = await get('billing.subscriptionStatus');
    expect(plain.status).toBe(200);
    expect(await plain.text()).toBe(JSON.stringify(trpcItems[0]));
    for (const input of ['', '&input=%7B%7D', '&input=%7B%220%22%3A%7B%7D%7D']) {
      const batch = await get(`billing.subscriptionStatus?batch=1${input}`);
      expect(batch.status).toBe(200);
      expect(await batch.text()).toBe(JSON.stringify([trpcItems[0]]));
      expect(batch.headers.get('content-type')).toBe(viaTrpc.headers.get('content-type'));
      expect(batch.headers.get('vary')).toBe(viaTrpc.headers.get('vary'));
    }
  });

  it('shows an applied change to the next read', async () => {
    expect(((await (await get('billing.subscriptionStatus')).json()) as { result: { data: { status: string } } }).result.data.status).toBe('active');
    expect(await apply('canceled', 2)).toBe('applied');
    expect(await (await get('billing.subscriptionStatus')).json()).toMatchObject({ result: { data: { status: 'canceled', features: [] } } });
  });

  it('leaves a refused token to tRPC: 401 in the tRPC envelope, the refusal logged once', async () => {
    const requestId = `hot-refused-${Date.now()}`;
    const res = await get('billing.subscriptionStatus', { authorization: `Bearer ${await issuer.token({}, issuer.strangerKey)}`, 'x-request-id': requestId });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { data: { code: 'UNAUTHENTICATED', requestId } } });
    expect(wired.app.logs.records().filter((r) => r.requestId === requestId && r.authFailure)).toHaveLength(1);
  });
});
