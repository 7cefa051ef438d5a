import { describe, expect, expectTypeOf, it } from 'vitest';
import { useWiredApp } from '@verifieddit/testing';
import { createClient, getErrorCode, type ErrorCode } from './index.js';

const APP = 'https://app.verifieddit.test';

describe('billing through the SDK against a real server', () => {
  const fixture = useWiredApp();

  const clientFor = (user: string) => createClient({ url: fixture.app.url, getToken: () => `dev_${user}` });

  it('lists plans without signing in', async () => {
    const { plans } = await createClient({ url: fixture.app.url }).billing.plans.query();
    expect(plans.map((plan) => plan.id)).toEqual(['free', 'pro']);
    expectTypeOf<(typeof plans)[number]['prices'][number]['amount']>().toEqualTypeOf<number>();
  });

  it('subscribes through Checkout and reads the new status with inferred types', async () => {
    const client = clientFor('sdk_user');
    const before = await client.billing.subscriptionStatus.query();
    expect(before.status).toBe('none');
    expectTypeOf(before.features).toEqualTypeOf<string[]>();
    expectTypeOf(before.currentPeriodEnd).toEqualTypeOf<string | null>();

    const session = await client.billing.createCheckoutSession.mutate({ plan: 'pro', successUrl: `${APP}/ok`, cancelUrl: `${APP}/c` });
    expectTypeOf(session).toEqualTypeOf<{ id: string; url: string }>();
    const paid = await fetch(`${session.url}/pay`, { method: 'POST', redirect: 'manual' });
    expect(paid.status).toBe(303);

    const after = await client.billing.subscriptionStatus.query();
    expect(after).toMatchObject({ status: 'active', plan: 'pro', features: ['ai-detect'] });

    const error = await client.billing.createCheckoutSession
      .mutate({ plan: 'pro', successUrl: `${APP}/ok`, cancelUrl: `${APP}/c` })
      .catch((e: unknown) => e);
    const code = getErrorCode(error);
    expectTypeOf(code).toEqualTypeOf<ErrorCode | undefined>();
    expect(code).toBe('ALREADY_SUBSCRIBED');

    const portal = await client.billing.createPortalSession.mutate({ returnUrl: `${APP}/account` });
    expect(portal.url).toContain('/local-billing/portal/');
  });

  it('rejects wrong inputs at compile time and at run time', async () => {
    const client = clientFor('sdk_types');
    // @ts-expect-error — successUrl and cancelUrl are required
    const missing = await client.billing.createCheckoutSession.mutate({ plan: 'pro' }).catch((e: unknown) => e);
    expect(getErrorCode(missing)).toBe('VALIDATION_FAILED');
    // @ts-expect-error — subscriptionStatus is a query, not a mutation
    expect(() => client.billing.subscriptionStatus.mutate).toBeDefined();
    const unauthenticated = await createClient({ url: fixture.app.url }).billing.subscriptionStatus.query().catch((e: unknown) => e);
    expect(getErrorCode(unauthenticated)).toBe('UNAUTHENTICATED');
  });
});
