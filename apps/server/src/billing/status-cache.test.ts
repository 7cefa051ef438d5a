import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLogger } from '../testing/harness.js';
import { useTestStore } from '../testing/fixtures.js';
import { postgresTargetOrUndefined, storeTargets } from '../testing/stores.js';
import { openStore } from '../store/store.js';
import { InProcessSubscriptionChanges, PostgresSubscriptionChanges } from './changes/bus.js';
import type { SubscriptionReader, SubscriptionUpdate } from './ports.js';
import { CachedSubscriptionReader } from './status-cache.js';
import { SubscriptionRepository } from './subscriptions.js';

let sequence = 0;
const update = (accountId: string, overrides: Partial<SubscriptionUpdate> = {}): SubscriptionUpdate => {
  sequence++;
  return {
    eventId: `evt_cache_${sequence}`,
    accountId,
    provider: 'stripe',
    providerCustomerId: `cus_${accountId}`,
    providerSubscriptionId: `sub_${accountId}`,
    planId: 'pro',
    status: 'active',
    features: ['ai-detect'],
    currentPeriodEnd: new Date('2026-12-20T00:00:00Z'),
    cancelAtPeriodEnd: false,
    sourceCreated: 1_763_650_000 + sequence,
    sourceRank: 0,
    ...overrides,
  };
};

/** Waits until `read()` gives `status`; resolves with the milliseconds it took. */
async function until(read: () => Promise<{ status: string }>, status: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while ((await read()).status !== status) {
    if (Date.now() - started > timeoutMs) throw new Error(`still not ${status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return Date.now() - started;
}

describe.each(storeTargets)('cached entitlement reads in one process on $name', (target) => {
  const t = useTestStore(target);
  let repo: SubscriptionRepository;
  let cache: CachedSubscriptionReader;
  let reads = 0;
  beforeAll(async () => {
    const bus = new InProcessSubscriptionChanges();
    repo = new SubscriptionRepository(t.store, bus);
    const counting: SubscriptionReader = { statusOf: (id) => (reads++, repo.statusOf(id)) };
    // A long max age: anything fresh seen below comes from invalidation, not expiry.
    cache = new CachedSubscriptionReader(counting, bus, { maxAgeMs: 60_000 });
  });

  it('answers repeated reads from memory and shows an applied change to the very next read', async () => {
    const account = `user_local_${target.name}`;
    reads = 0;
    expect((await cache.statusOf(account)).status).toBe('none');
    expect((await cache.statusOf(account)).status).toBe('none');
    expect(reads).toBe(1);
    expect(await repo.apply(update(account))).toBe('applied');
    expect((await cache.statusOf(account)).status).toBe('active');
    expect(await repo.apply(update(account, { status: 'canceled' }))).toBe('applied');
    expect(await cache.statusOf(account)).toMatchObject({ status: 'canceled', features: [] });
  });

  it('shares one store read between concurrent misses of one account', async () => {
    const account = `user_concurrent_${target.name}`;
    reads = 0;
    const answers = await Promise.all(Array.from({ length: 20 }, () => cache.statusOf(account)));
    expect(answers.every((a) => a.status === 'none')).toBe(true);
    expect(reads).toBe(1);
  });

  it('never caches, nor lets later readers join, a read that was in flight when the account changed', async () => {
    const account = `user_race_${target.name}`;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const bus = new InProcessSubscriptionChanges();
    const writer = new SubscriptionRepository(t.store, bus);
    // The first read sees the old row, then is held until after the change is applied.
    let first = true;
    const slow: SubscriptionReader = {
      async statusOf(id) {
        const status = await repo.statusOf(id);
        if (first) {
          first = false;
          await gate;
        }
        return status;
      },
    };
    const racing = new CachedSubscriptionReader(slow, bus, { maxAgeMs: 60_000 });
    const before = racing.statusOf(account);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await writer.apply(update(account))).toBe('applied');
    const after = await racing.statusOf(account);
    expect(after.status).toBe('active');
    release();
    expect((await before).status).toBe('none');
    expect((await racing.statusOf(account)).status).toBe('active');
  });
});

const postgres = postgresTargetOrUndefined;
describe.skipIf(!postgres)('cached entitlement reads across two replicas on PostgreSQL', () => {
  const t = useTestStore(postgres!);
  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
  });

  /** One replica: its own pool, its own LISTEN connection (or a bus that hears nothing), its own cache. */
  async function replica(options: { deaf?: boolean } = {}) {
    const store = await openStore({ databaseUrl: t.databaseUrl!, poolSize: 4 });
    const { logger } = captureLogger();
    const bus = options.deaf ? new InProcessSubscriptionChanges() : new PostgresSubscriptionChanges({ databaseUrl: t.databaseUrl!, store, log: logger });
    if (bus instanceof PostgresSubscriptionChanges) await bus.start();
    const repo = new SubscriptionRepository(store, bus);
    closers.push(async () => {
      await bus.close();
      await store.close();
    });
    return { repo, bus, store };
  }

  it('shows a change applied on one replica to reads on another within 0.5 s', async () => {
    const a = await replica();
    const b = await replica();
    const cacheB = new CachedSubscriptionReader(b.repo, b.bus, { maxAgeMs: 60_000 });
    const account = 'user_two_replicas';
    expect((await cacheB.statusOf(account)).status).toBe('none');
    expect(await a.repo.apply(update(account))).toBe('applied');
    expect(await until(() => cacheB.statusOf(account), 'active', 500)).toBeLessThanOrEqual(500);
    expect(await a.repo.apply(update(account, { status: 'past_due' }))).toBe('applied');
    expect(await until(() => cacheB.statusOf(account), 'past_due', 500)).toBeLessThanOrEqual(500);
  });

  it('is stale for at most the default max age (2 s) when the notification never arrives', async () => {
    const a = await replica();
    const deaf = await replica({ deaf: true });
    const cache = new CachedSubscriptionReader(deaf.repo, deaf.bus);
    const account = 'user_lost_notification';
    expect((await cache.statusOf(account)).status).toBe('none');
    expect(await a.repo.apply(update(account))).toBe('applied');
    expect(await until(() => cache.statusOf(account), 'active', 3_000)).toBeLessThanOrEqual(2_100);
  });
});
