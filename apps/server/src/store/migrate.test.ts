import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { storeTargets, type TestStore } from '../testing/stores.js';
import type { Store } from './ports.js';
import type { Rows } from './rows.js';
import { migrate, MIGRATION_LOCK_KEY } from './migrate.js';
import { migrations, type Migration } from './migrations.js';

const table = (id: string): Migration => ({ id, sql: `CREATE TABLE t_${id} (id int)` });

async function recordedIds(store: Store): Promise<string[]> {
  const rows = await store.query<Pick<Rows['schema_migrations'], 'id'>>('SELECT id FROM schema_migrations ORDER BY id');
  return rows.map((row) => row.id);
}

async function tablesNamed(store: Store, prefix: string): Promise<string[]> {
  const rows = await store.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' AND table_name LIKE $1 ORDER BY table_name",
    [`${prefix}%`],
  );
  return rows.map((row) => row.table_name);
}

/** What the runner before the renumbering did: each migration in list order, recorded under its old id. */
async function migrateAsBefore(store: Store, list: Migration[]): Promise<void> {
  await store.query('CREATE TABLE schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())');
  for (const migration of list) {
    await store.withSession((session) => session.exec(migration.sql));
    await store.query('INSERT INTO schema_migrations (id) VALUES ($1)', [migration.formerId ?? migration.id]);
  }
}

it('never reuses a former id as the id of another shipped migration (its rows would be renamed onto it)', () => {
  const ids = new Set(migrations.map((m) => m.id));
  expect(migrations.filter((m) => m.formerId !== undefined && ids.has(m.formerId))).toEqual([]);
  expect(migrations.filter((m) => m.formerId !== undefined)).not.toEqual([]);
});

describe.each(storeTargets)('migration order on $name', (target) => {
  let t: TestStore;
  afterEach(() => t.dispose());
  const open = async () => (t = await target.open({ migrated: false }));

  it('refuses a list that is out of order or numbers two migrations alike, before touching the database', async () => {
    const { store } = await open();
    await expect(migrate(store, [table('0001_a'), table('0003_c'), table('0002_b')])).rejects.toThrow(/0003_c is followed by 0002_b/);
    await expect(migrate(store, [table('0001_a'), table('0002_b'), table('0002_c')])).rejects.toThrow(/0002_b is followed by 0002_c/);
    await expect(migrate(store, [table('first')])).rejects.toThrow(/first is not NNNN_name/);
    expect(await tablesNamed(store, 's')).toEqual([]); // not even schema_migrations
    expect(await tablesNamed(store, 't_')).toEqual([]);
  });

  it('refuses a pending migration numbered below an applied one, and applies nothing', async () => {
    const { store } = await open();
    await migrate(store, [table('0001_a'), table('0003_c')]);
    const attempt = migrate(store, [table('0001_a'), table('0002_b'), table('0003_c'), table('0004_d')]);
    await expect(attempt).rejects.toThrow('pending migrations 0002_b are numbered below the applied 0003_c');
    expect(await tablesNamed(store, 't_')).toEqual(['t_0001_a', 't_0003_c']);
    expect(await recordedIds(store)).toEqual(['0001_a', '0003_c']);
  });

  it('refuses a database that a newer version migrated (an applied id it does not know), and applies nothing', async () => {
    const { store } = await open();
    await migrate(store, [table('0001_a'), table('0002_b')]);
    await expect(migrate(store, [table('0001_a'), table('0003_c')])).rejects.toThrow(
      'the database has applied migrations this version does not know: 0002_b',
    );
    expect(await tablesNamed(store, 't_')).toEqual(['t_0001_a', 't_0002_b']);
  });

  it('upgrades a database migrated with the old ids: renames them and applies nothing twice', async () => {
    const { store } = await open();
    await migrateAsBefore(store, migrations);
    const result = await migrate(store);
    expect(result.applied).toEqual([]);
    expect(await recordedIds(store)).toEqual(migrations.map((m) => m.id));
    expect((await migrate(store)).applied).toEqual([]);
  });

  it('continues a database half migrated with the old ids from where it stopped', async () => {
    const { store } = await open();
    await migrateAsBefore(store, migrations.slice(0, 5));
    const result = await migrate(store);
    expect(result.applied).toEqual(migrations.slice(5).map((m) => m.id));
    expect(await recordedIds(store)).toEqual(migrations.map((m) => m.id));
  });

  it('leaves a former id that is recorded beside its new id, and refuses it as unknown', async () => {
    const { store } = await open();
    const renamed: Migration = { ...table('0002_b'), formerId: '0007_b' };
    await migrate(store, [table('0001_a'), renamed]);
    await store.query("INSERT INTO schema_migrations (id) VALUES ('0007_b')");
    await expect(migrate(store, [table('0001_a'), renamed])).rejects.toThrow('does not know: 0007_b');
    expect(await recordedIds(store)).toEqual(['0001_a', '0002_b', '0007_b']);
  });
});

describe.each(storeTargets.filter((target) => target.name === 'postgres'))('an up-to-date database on $name', (target) => {
  let t: TestStore;
  afterEach(() => t.dispose());

  it('is only read: a start migrates nothing without waiting for a replica that holds the migration lock', async () => {
    t = await target.open();
    const replica = new pg.Client({ connectionString: t.databaseUrl });
    await replica.connect();
    try {
      // Another replica migrating (or stuck): the locked path would wait here until the test times out.
      await replica.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
      const result = await migrate(t.store);
      expect(result.applied).toEqual([]);
      expect([...result.alreadyApplied].sort()).toEqual(migrations.map((m) => m.id).sort());
    } finally {
      await replica.end();
    }
  });
});
