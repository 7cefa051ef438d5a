import { EventSource } from 'eventsource';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { useWiredApp } from '@verifieddit/testing';
import { createClient, type SubscriptionStatusOutput } from './index.js';

const until = async (predicate: () => boolean, what: string) => {
  const deadline = Date.now() + 15_000;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe('subscribeStatus against a real server', () => {
  const fixture = useWiredApp({ env: { LIVE_STREAMS_PER_ACCOUNT: '1' } });

  const apply = (account: string, n: number, status: 'active' | 'past_due' | 'canceled') =>
    fixture.app.wiring.billing.subscriptions.apply({
      eventId: `evt_sdk_${n}`,
      accountId: account,
      provider: 'stripe',
      providerCustomerId: 'cus_sdk',
      providerSubscriptionId: 'sub_sdk',
      planId: 'pro',
      status,
      features: ['ai-detect'],
      currentPeriodEnd: null,
      cancelAtPeriodEnd: false,
      sourceCreated: 1_763_000_000 + n,
      sourceRank: 0,
    });

  it('calls onChange with the current status, then with every change, typed', async () => {
    const client = createClient({ url: fixture.app.url, getToken: () => 'dev_sdk_live', EventSource });
    const seen: SubscriptionStatusOutput[] = [];
    const live = client.subscribeStatus((status) => {
      expectTypeOf(status.features).toEqualTypeOf<string[]>();
      seen.push(status);
    });
    try {
      await until(() => seen.length === 1, 'the current status');
      expect(seen[0]).toMatchObject({ status: 'none', features: [] });
      await apply('sdk_live', 1, 'active');
      await apply('sdk_live', 2, 'past_due');
      await until(() => seen.length === 3, 'two changes');
      expect(seen.map((s) => s.status)).toEqual(['none', 'active', 'past_due']);
      expect(seen[1]!.features).toEqual(['ai-detect']);
    } finally {
      live.unsubscribe();
    }
  });

  it('reports an error retrying cannot fix (signed out, too many streams) and stops', async () => {
    const anonymous = createClient({ url: fixture.app.url, EventSource });
    const errors: unknown[] = [];
    const sub = anonymous.subscribeStatus(() => {}, { onError: (e) => errors.push(e) });
    await until(() => errors.length === 1, 'the refusal');
    sub.unsubscribe();

    const client = createClient({ url: fixture.app.url, getToken: () => 'dev_sdk_cap', EventSource });
    const first: SubscriptionStatusOutput[] = [];
    const a = client.subscribeStatus((s) => first.push(s));
    await until(() => first.length === 1, 'the first stream');
    const capped: unknown[] = [];
    const b = client.subscribeStatus(() => {}, { onError: (e) => capped.push(e) });
    await until(() => capped.length === 1, 'the cap');
    expect((capped[0] as { data: { code: string } }).data.code).toBe('TOO_MANY_STREAMS');
    a.unsubscribe();
    b.unsubscribe();
  });
});
