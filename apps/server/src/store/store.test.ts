import { describe, expect, it } from 'vitest';
import { migrations } from './migrations.js';
import { migrate } from './store.js';
import { useTestStore } from '../testing/fixtures.js';
import { openReplica, postgresTargetOrUndefined, storeTargets } from '../testing/stores.js';

describe.each(storeTargets)('store on $name', (target) => {
  const t = useTestStore(target, { migrated: false });

  it('applies every migration once, and a second run is a no-op', async () => {
    const first = await migrate(t.store);
    expect(first.applied).toEqual(migrations.map((m) => m.id));
    const second = await migrate(t.store);
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied.sort()).toEqual(migrations.map((m) => m.id).sort());
    const rows = await t.store.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
    expect(rows[0]?.n).toBe(migrations.length);
  });

  it('creates the tables the schema describes', async () => {
    const rows = await t.store.query<{ table_name: string }>(
      "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY table_name",
    );
    expect(rows.map((r) => r.table_name)).toEqual(
      expect.arrayContaining(['customers', 'schema_migrations', 'subscriptions', 'usage_counters', 'webhook_events']),
    );
  });

  it('answers ping while open and refuses after close', async () => {
    const other = await target.open({ migrated: false });
    await expect(other.store.ping()).resolves.toBeUndefined();
    await other.store.close();
    await expect(other.store.ping()).rejects.toThrow();
    await other.dispose().catch(() => {});
  });
});

describe.runIf(postgresTargetOrUndefined)('migrations on a shared PostgreSQL', () => {
  it('lets only one of several replicas starting at once apply each migration', async () => {
    const target = postgresTargetOrUndefined!;
    const t = await target.open({ migrated: false });
    try {
      const replicas = await Promise.all(Array.from({ length: 4 }, () => openReplica(t.databaseUrl)));
      const results = await Promise.all(replicas.map((store) => migrate(store)));
      const appliedCounts = results.map((r) => r.applied.length).sort();
      expect(appliedCounts).toEqual([0, 0, 0, migrations.length]);
      const rows = await t.store.query<{ n: number }>('SELECT count(*)::int AS n FROM schema_migrations');
      expect(rows[0]?.n).toBe(migrations.length);
      await Promise.all(replicas.map((store) => store.close()));
    } finally {
      await t.dispose();
    }
  });
});
