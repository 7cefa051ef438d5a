import { QueryClient } from '@tanstack/react-query';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { useWiredApp } from '@verifieddit/testing';
import { getErrorCode } from './index.js';
import { createVerifiedditQueryOptions } from './react.js';

const APP = 'https://app.verifieddit.test';

describe('TanStack Query options through tRPC against a real server', () => {
  const fixture = useWiredApp();

  it('fetches and caches a query, and runs a mutation, with inferred types', async () => {
    const queryClient = new QueryClient({ defaultOptions: { queries: { retry: false } } });
    const api = createVerifiedditQueryOptions({ url: fixture.app.url, getToken: () => 'dev_react_user', queryClient });

    const status = await queryClient.fetchQuery(api.billing.subscriptionStatus.queryOptions());
    expectTypeOf(status.features).toEqualTypeOf<string[]>();
    expect(status.status).toBe('none');
    // Cached under tRPC's key: the same options read it back without a request.
    expect(queryClient.getQueryData(api.billing.subscriptionStatus.queryKey())).toEqual(status);

    const mutation = api.billing.createCheckoutSession.mutationOptions();
    const session = await mutation.mutationFn!({ plan: 'pro', successUrl: `${APP}/ok`, cancelUrl: `${APP}/c` }, undefined as never);
    expectTypeOf(session.url).toEqualTypeOf<string>();
    expect(session.url).toContain('/local-billing/checkout/');

    const failure = await queryClient
      .fetchQuery(createVerifiedditQueryOptions({ url: fixture.app.url, queryClient }).billing.subscriptionStatus.queryOptions())
      .catch((e: unknown) => e);
    expect(getErrorCode(failure)).toBe('UNAUTHENTICATED');

    // @ts-expect-error — no such procedure
    expect(api.billing.cancelEverything).toBeDefined();
  });
});
