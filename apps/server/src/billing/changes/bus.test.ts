import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { captureLogger } from '../../testing/harness.js';
import { useTestStore } from '../../testing/fixtures.js';
import { openReplica, postgresTargetOrUndefined, storeTargets } from '../../testing/stores.js';
import type { Store } from '../../store/ports.js';
import { SubscriptionRepository } from '../subscriptions.js';
import type { SubscriptionUpdate } from '../ports.js';
import { InProcessSubscriptionChanges, PostgresSubscriptionChanges } from './bus.js';
import type { SubscriptionChange, SubscriptionChanges } from './ports.js';

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

async function until(predicate: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe.each(storeTargets)('subscription changes on $name', (target) => {
  const t = useTestStore(target);
  let repo: SubscriptionRepository;
  const bus = new InProcessSubscriptionChanges();
  const seen: SubscriptionChange[] = [];
  beforeAll(async () => {
    repo = new SubscriptionRepository(t.store, bus);
    bus.subscribe((change) => seen.push(change));
  });

  it('publishes one change, with an increasing id, per update that changed the state, and none for stale or duplicate ones', async () => {
    seen.length = 0;
    const account = 'user_changes';
    expect(await repo.apply(update({ accountId: account, eventId: 'evt_2', status: 'past_due', sourceCreated: 200 }))).toBe('applied');
    expect(await repo.apply(update({ accountId: account, eventId: 'evt_1', sourceCreated: 100 }))).toBe('stale');
    expect(await repo.apply(update({ accountId: account, eventId: 'evt_2', status: 'past_due', sourceCreated: 200 }))).toBe('duplicate');
    expect(await repo.apply(update({ accountId: account, eventId: 'evt_3', status: 'canceled', sourceCreated: 300 }))).toBe('applied');
    expect(seen.map((c) => c.accountId)).toEqual([account, account]);
    expect(seen[1]!.id).toBeGreaterThan(seen[0]!.id);
  });

  it('keeps each change with the status it left, for replay after any id', async () => {
    const account = 'user_history';
    await repo.apply(update({ accountId: account, eventId: 'evt_h1', status: 'trialing', sourceCreated: 10 }));
    await repo.apply(update({ accountId: account, eventId: 'evt_h2', status: 'active', sourceCreated: 20 }));
    await repo.apply(update({ accountId: account, eventId: 'evt_h3', status: 'past_due', sourceCreated: 30 }));
    const all = await repo.changesSince(account, 0);
    expect(all.map((c) => c.status.status)).toEqual(['trialing', 'active', 'past_due']);
    expect(all[2]!.status.features).toEqual([]);
    expect((await repo.changesSince(account, all[0]!.id)).map((c) => c.status.status)).toEqual(['active', 'past_due']);
    expect(await repo.statusWithChangeId(account)).toEqual({ id: all[2]!.id, status: await repo.statusOf(account) });
  });

  it('prunes history older than a cut-off', async () => {
    await repo.apply(update({ accountId: 'user_prune', eventId: 'evt_p', sourceCreated: 10 }));
    expect(await repo.pruneChanges(new Date(Date.now() + 60_000))).toBeGreaterThan(0);
    expect(await repo.changesSince('user_prune', 0)).toEqual([]);
  });
});

describe.runIf(postgresTargetOrUndefined)('subscription changes across replicas on PostgreSQL', () => {
  const t = useTestStore(postgresTargetOrUndefined!);
  let storeB: Store;
  let busA: PostgresSubscriptionChanges;
  let busB: PostgresSubscriptionChanges;
  const seenA: SubscriptionChange[] = [];
  const seenB: SubscriptionChange[] = [];
  beforeAll(async () => {
    storeB = await openReplica(t.databaseUrl);
    const log = captureLogger().logger;
    busA = new PostgresSubscriptionChanges({ databaseUrl: t.databaseUrl!, store: t.store, log, catchUpMs: 200 });
    busB = new PostgresSubscriptionChanges({ databaseUrl: t.databaseUrl!, store: storeB, log, reconnectMs: 50, catchUpMs: 200 });
    await Promise.all([busA.start(), busB.start()]);
    busA.subscribe((c) => seenA.push(c));
    busB.subscribe((c) => seenB.push(c));
  });
  afterAll(async () => {
    await busA.close();
    await busB.close();
    await storeB.close();
  });

  it('delivers a change applied on one replica to the other, and once to itself', async () => {
    const repoA = new SubscriptionRepository(t.store, busA);
    await repoA.apply(update({ accountId: 'user_x', eventId: 'evt_x1', sourceCreated: 100 }));
    await until(() => seenB.some((c) => c.accountId === 'user_x'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seenA.filter((c) => c.accountId === 'user_x')).toHaveLength(1);
    expect(seenB.filter((c) => c.accountId === 'user_x')).toHaveLength(1);
  });

  it('catches up on a change whose notification never came (its replica died between commit and NOTIFY), once', async () => {
    // Committed the way the upsert commits a change, but nobody is told.
    const [row] = await t.store.query<{ id: number | string }>(`INSERT INTO subscription_changes (account_id, status) VALUES ('user_lost', '{}'::jsonb) RETURNING id`);
    await until(() => seenB.some((c) => c.accountId === 'user_lost') && seenA.some((c) => c.accountId === 'user_lost'));
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(seenB.filter((c) => c.accountId === 'user_lost')).toEqual([{ id: Number(row!.id), accountId: 'user_lost' }]);
    expect(seenA.filter((c) => c.accountId === 'user_lost')).toHaveLength(1);
  });

  it('reconnects after losing its LISTEN connection and replays what was committed meanwhile', async () => {
    const repoA = new SubscriptionRepository(t.store, busA);
    const admin = new pg.Client({ connectionString: t.databaseUrl });
    await admin.connect();
    // Kill B's listener while A keeps applying: B must still hear every change, once.
    await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'LISTEN subscription_changes' AND pid <> pg_backend_pid()`);
    await admin.end();
    await repoA.apply(update({ accountId: 'user_y', eventId: 'evt_y1', sourceCreated: 100 }));
    await repoA.apply(update({ accountId: 'user_y', eventId: 'evt_y2', status: 'past_due', sourceCreated: 200 }));
    await until(() => seenB.filter((c) => c.accountId === 'user_y').length >= 2);
    await until(() => busB.listening);
    await repoA.apply(update({ accountId: 'user_y', eventId: 'evt_y3', status: 'active', sourceCreated: 300 }));
    await until(() => seenB.filter((c) => c.accountId === 'user_y').length >= 3);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const ids = seenB.filter((c) => c.accountId === 'user_y').map((c) => c.id);
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(3);
  });

  it('opens its LISTEN connection while the store migrates, and is started only once the migration is done', async () => {
    let migrated!: () => void;
    const migration = new Promise<void>((resolve) => (migrated = resolve));
    const busD = new PostgresSubscriptionChanges({ databaseUrl: t.databaseUrl!, store: storeB, log: captureLogger().logger, catchUpMs: 600_000 });
    let started = false;
    const starting = busD.start(migration).then(() => (started = true));
    const seenD: SubscriptionChange[] = [];
    busD.subscribe((c) => seenD.push(c));
    try {
      await until(() => busD.listening);
      expect(started).toBe(false);
      migrated();
      await starting;
      await new SubscriptionRepository(t.store, busA).apply(update({ accountId: 'user_d', eventId: 'evt_d1', sourceCreated: 100 }));
      await until(() => seenD.some((c) => c.accountId === 'user_d'));
    } finally {
      await busD.close();
    }
  });

  it('closes its LISTEN connection when the migration fails', async () => {
    const busE = new PostgresSubscriptionChanges({ databaseUrl: t.databaseUrl!, store: storeB, log: captureLogger().logger });
    await expect(busE.start(Promise.reject(new Error('migration failed')))).rejects.toThrow('migration failed');
    // A connection that completed after the failure would have made it listen by now.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(busE.listening).toBe(false);
  });

  it('notifies every change of a burst committed while a NOTIFY is on its way, each once and in the order published', async () => {
    // The order A publishes in (A's own subscribers may hear a change first from its catch-up pass).
    const published: SubscriptionChange[] = [];
    const tap: SubscriptionChanges = Object.assign(Object.create(busA) as PostgresSubscriptionChanges, {
      publish: (change: SubscriptionChange) => {
        published.push(change);
        busA.publish(change);
      },
    });
    const repoA = new SubscriptionRepository(t.store, tap);
    // No catch-up pass within this test: what C hears, it heard by NOTIFY.
    const busC = new PostgresSubscriptionChanges({ databaseUrl: t.databaseUrl!, store: storeB, log: captureLogger().logger, catchUpMs: 600_000 });
    await busC.start();
    const seenC: SubscriptionChange[] = [];
    busC.subscribe((c) => seenC.push(c));
    try {
      const burst = Array.from({ length: 40 }, (_, i) => `user_burst_${i}`);
      await Promise.all(burst.map((accountId, i) => repoA.apply(update({ accountId, eventId: `evt_burst_${i}`, sourceCreated: 100 }))));
      expect(published).toHaveLength(40);
      await until(() => seenC.length >= 40);
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect(seenC).toEqual(published);
    } finally {
      await busC.close();
    }
  });
});
