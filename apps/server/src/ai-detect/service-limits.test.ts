import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppError } from '../errors.js';
import type { Store } from '../store/ports.js';
import { SubscriptionRepository } from '../billing/subscriptions.js';
import { monthClock, useDetectionDoubles } from '../testing/ai-detection.js';
import { useTestStore } from '../testing/fixtures.js';
import { PNG_1X1, pngVariant } from '../testing/images.js';
import { openReplica, storeTargets } from '../testing/stores.js';
import { LocalDetector } from './sightengine.js';

/** Quotas, the rate limit and the global budget, in one process and across replicas. */
const s = useDetectionDoubles();
const { serviceOn, check } = s;

describe.each(storeTargets)('AI detection limits on $name', (target) => {
  const t = useTestStore(target);

  it('free quota: the 10th check passes, the 11th is QUOTA_EXCEEDED with its reset; cache hits count', async () => {
    const clock = monthClock('2031-03-31T23:00:00Z');
    const service = serviceOn(t.store, { now: clock.now, config: { rateBurst: 100 } });
    const image = pngVariant(`${target.name}:quota`);
    for (let i = 0; i < 10; i++) await check(service, 'user_quota', image);
    expect(s.double.calls).toHaveLength(1);
    await expect(check(service, 'user_quota', image)).rejects.toMatchObject({
      code: 'QUOTA_EXCEEDED',
      httpStatus: 429,
      details: { limit: 10, resetsAt: '2031-04-01T00:00:00.000Z' },
      retryAfterSeconds: 3600,
    });
    expect(await service.usage('user_quota')).toMatchObject({ used: 10, limit: 10, resetsAt: '2031-04-01T00:00:00.000Z' });
    clock.advance(3600_000); // a new month
    expect((await check(service, 'user_quota', image)).cached).toBe(true);
  });

  it('an entitled pro subscription gets the pro quota; a canceled one falls back to free', async () => {
    const clock = monthClock();
    const service = serviceOn(t.store, { now: clock.now });
    const subscriptions = new SubscriptionRepository(t.store);
    const base = {
      accountId: 'user_pro',
      provider: 'local' as const,
      providerCustomerId: 'cus_pro',
      providerSubscriptionId: 'sub_pro',
      planId: 'pro',
      features: ['ai-detect'],
      currentPeriodEnd: null,
      cancelAtPeriodEnd: false,
      sourceRank: 0,
    };
    await subscriptions.apply({ ...base, eventId: 'evt_1', status: 'active', sourceCreated: 1 });
    expect((await service.usage('user_pro')).limit).toBe(1000);
    await subscriptions.apply({ ...base, eventId: 'evt_2', status: 'canceled', sourceCreated: 2 });
    expect((await service.usage('user_pro')).limit).toBe(10);
  });

  it('rate limit: burst 5, then RATE_LIMITED with retryAfter until the next token (6 s at 10/min)', async () => {
    const clock = monthClock();
    const service = serviceOn(t.store, { now: clock.now, detector: new LocalDetector() });
    const image = pngVariant(`${target.name}:rate`);
    for (let i = 0; i < 5; i++) await check(service, 'user_rate', image);
    await expect(check(service, 'user_rate', image)).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 6 });
    expect((await service.usage('user_rate')).rateLimit).toEqual({ limit: 5, remaining: 0, retryAfterSeconds: 6 });
    clock.advance(5_900);
    await expect(check(service, 'user_rate', image)).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    clock.advance(100);
    expect((await check(service, 'user_rate', image)).provider).toBe('local');
    await expect(check(service, 'user_rate', image)).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expect((await service.usage('user_rate')).used).toBe(6); // refused attempts cost no quota
  });

  it('global budget: upstream calls stop before the budget is passed; cached answers still flow', async () => {
    const clock = monthClock();
    const service = serviceOn(t.store, { now: clock.now, config: { monthlyBudget: 3, rateBurst: 100 } });
    for (let i = 0; i < 3; i++) await check(service, `budget_${i}`, pngVariant(`${target.name}:budget:${i}`));
    expect(s.double.calls).toHaveLength(3);
    await expect(check(service, 'budget_x', pngVariant(`${target.name}:budget:new`))).rejects.toMatchObject({
      code: 'DETECTION_QUOTA_EXHAUSTED',
      retryAfterSeconds: expect.toSatisfy((s: number) => s > 0),
    });
    expect(s.double.calls).toHaveLength(3);
    expect((await service.usage('budget_x')).used).toBe(0);
    // A verdict another user's check produced: served without an upstream call (no budget), answered as fresh.
    expect((await check(service, 'budget_x', pngVariant(`${target.name}:budget:0`))).cached).toBe(false);
    expect(s.double.calls).toHaveLength(3);
    expect(await service.budget()).toMatchObject({ used: 3, budget: 3 });
  });

});

describe.runIf(storeTargets.some((target) => target.name === 'postgres'))('two replicas on one PostgreSQL', () => {
  const t = useTestStore(storeTargets.find((target) => target.name === 'postgres')!);
  let second: Store;
  beforeAll(async () => {
    second = await openReplica(t.databaseUrl, 20);
  });
  afterAll(async () => {
    await second.close();
  });

  it('100 simultaneous identical requests across two replicas cost one upstream operation', async () => {
    const clock = monthClock();
    const a = serviceOn(t.store, { now: clock.now });
    const b = serviceOn(second, { now: clock.now });
    s.double.setDelay(300);
    const image = pngVariant('replicas:stampede');
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => check(i % 2 ? a : b, `rep_${i}`, image)));
    expect(s.double.calls).toHaveLength(1);
    expect(answers.filter((x) => x.cached)).toHaveLength(0);
    const upstream = await t.store.query<{ n: number }>(`SELECT count(*)::int AS n FROM usage_ledger WHERE account_id LIKE 'rep\\_%' AND NOT cached`);
    expect(upstream[0]?.n).toBe(1);
    expect((await a.budget()).used).toBe(1);
  });

  it('the user quota holds across replicas under concurrency: exactly 10 of 16 pass', async () => {
    const clock = monthClock();
    const a = serviceOn(t.store, { now: clock.now, detector: new LocalDetector(), config: { rateBurst: 100 } });
    const b = serviceOn(second, { now: clock.now, detector: new LocalDetector(), config: { rateBurst: 100 } });
    const results = await Promise.allSettled(Array.from({ length: 16 }, (_, i) => check(i % 2 ? a : b, 'rep_quota', pngVariant(`rq:${i}`))));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
    const codes = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as AppError).code] : []));
    expect(codes).toEqual(Array(6).fill('QUOTA_EXCEEDED'));
  });

  it('the rate limit holds across replicas: exactly 5 of 12 simultaneous pass', async () => {
    const clock = monthClock();
    const a = serviceOn(t.store, { now: clock.now, detector: new LocalDetector() });
    const b = serviceOn(second, { now: clock.now, detector: new LocalDetector() });
    const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => check(i % 2 ? a : b, 'rep_rate', PNG_1X1)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
  });

  it('the global budget holds across replicas: 6 distinct images, budget 4 → 4 upstream calls', async () => {
    const clock = monthClock();
    const a = serviceOn(t.store, { now: clock.now, config: { monthlyBudget: 4 } });
    const b = serviceOn(second, { now: clock.now, config: { monthlyBudget: 4 } });
    s.double.setDelay(50);
    const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => check(i % 2 ? a : b, `rep_budget_${i}`, pngVariant(`rb:${i}`))));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(4);
    expect(s.double.calls).toHaveLength(4);
  });
});
