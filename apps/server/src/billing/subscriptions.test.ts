import { SUBSCRIPTION_STATUSES } from '@verifieddit/contracts';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestStore } from '../testing/fixtures.js';
import { storeTargets } from '../testing/stores.js';
import { SubscriptionRepository } from './subscriptions.js';
import type { SubscriptionUpdate } from './ports.js';

const update = (overrides: Partial<SubscriptionUpdate> = {}): SubscriptionUpdate => ({
  eventId: 'evt_1',
  accountId: 'user_a',
  provider: 'stripe',
  providerCustomerId: 'cus_1',
  providerSubscriptionId: 'sub_1',
  planId: 'pro',
  status: 'active',
  features: ['ai-detect'],
  currentPeriodEnd: new Date('2026-12-20T00:00:00Z'),
  cancelAtPeriodEnd: false,
  sourceCreated: 1_763_650_000,
  sourceRank: 0,
  ...overrides,
});

describe.each(storeTargets)('subscription updates on $name', (target) => {
  const t = useTestStore(target);
  let repo: SubscriptionRepository;
  beforeAll(async () => {
    repo = new SubscriptionRepository(t.store);
  });

  it('applies a newer update and refuses an older one delivered later', async () => {
    const account = 'user_order';
    expect(await repo.apply(update({ accountId: account, eventId: 'evt_new', status: 'past_due', sourceCreated: 200 }))).toBe('applied');
    expect(await repo.apply(update({ accountId: account, eventId: 'evt_old', status: 'active', sourceCreated: 100 }))).toBe('stale');
    expect((await repo.statusOf(account)).status).toBe('past_due');
  });

  it('reports a redelivered event as a duplicate and changes nothing', async () => {
    const account = 'user_dup';
    const first = update({ accountId: account, eventId: 'evt_same', sourceCreated: 300 });
    expect(await repo.apply(first)).toBe('applied');
    expect(await repo.apply({ ...first, status: 'canceled' })).toBe('duplicate');
    expect((await repo.statusOf(account)).status).toBe('active');
  });

  it('reports a same-second, same-rank event as a tie and lets a higher rank through', async () => {
    const account = 'user_tie';
    await repo.apply(update({ accountId: account, eventId: 'evt_a', sourceCreated: 400 }));
    expect(await repo.apply(update({ accountId: account, eventId: 'evt_b', status: 'past_due', sourceCreated: 400 }))).toBe('tie');
    expect(await repo.apply(update({ accountId: account, eventId: 'evt_b', status: 'past_due', sourceCreated: 400, sourceRank: 1 }))).toBe('applied');
    expect((await repo.statusOf(account)).status).toBe('past_due');
    // A fresh provider read of the same second also wins over an equal key.
    expect(await repo.apply(update({ accountId: account, eventId: 'read_1', status: 'active', sourceCreated: 400, sourceRank: 1, authoritative: true }))).toBe('applied');
    expect((await repo.statusOf(account)).status).toBe('active');
  });

  it('lets the end of a subscription win even when stamped earlier, and never revives it', async () => {
    const account = 'user_end';
    await repo.apply(update({ accountId: account, eventId: 'evt_past_due', status: 'past_due', sourceCreated: 2_000 }));
    expect(await repo.apply(update({ accountId: account, eventId: 'evt_deleted', status: 'canceled', sourceCreated: 1_900 }))).toBe('applied');
    expect(await repo.apply(update({ accountId: account, eventId: 'evt_late_active', status: 'active', sourceCreated: 3_000 }))).toBe('stale');
    expect((await repo.statusOf(account)).status).toBe('canceled');
    // A new subscription of the same account does replace the ended one.
    expect(await repo.apply(update({ accountId: account, eventId: 'evt_new_sub', providerSubscriptionId: 'sub_2', status: 'active', sourceCreated: 3_100 }))).toBe('applied');
    expect((await repo.statusOf(account)).status).toBe('active');
  });

  it('converges when many updates race for one account: the newest wins', async () => {
    const account = 'user_race';
    const updates = Array.from({ length: 30 }, (_, i) =>
      update({ accountId: account, eventId: `evt_${i}`, sourceCreated: 1000 + i, status: i === 29 ? 'canceled' : 'active' }),
    ).sort(() => Math.random() - 0.5);
    const outcomes = await Promise.all(updates.map((u) => repo.apply(u)));
    expect(outcomes).toContain('applied');
    const row = await repo.get(account);
    expect(row).toMatchObject({ lastEventId: 'evt_29', status: 'canceled', sourceCreated: 1029 });
  });

  it.each(SUBSCRIPTION_STATUSES.filter((s) => s !== 'none'))('grants features only while active or trialing: %s', async (status) => {
    const account = `user_status_${status}`;
    await repo.apply(update({ accountId: account, eventId: `evt_${status}`, status }));
    const result = await repo.statusOf(account);
    expect(result.status).toBe(status);
    expect(result.features).toEqual(status === 'active' || status === 'trialing' ? ['ai-detect'] : []);
    expect(result.currentPeriodEnd).toBe('2026-12-20T00:00:00.000Z');
  });

  it('answers status none for an account that never subscribed', async () => {
    expect(await repo.statusOf('user_never')).toEqual({ status: 'none', plan: null, features: [], currentPeriodEnd: null, cancelAtPeriodEnd: false, provider: null });
  });
});
