import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { Store } from '../store/ports.js';
import { migrate, openStore } from '../store/store.js';

/**
 * The stores every storage test runs against: embedded PGlite always, and the real PostgreSQL at
 * TEST_DATABASE_URL when it is set (CI sets it and checks these tests ran).
 */
export interface StoreTarget {
  name: 'pglite' | 'postgres';
  /** Opens a fresh, empty store (a new database on PostgreSQL). */
  open(options?: { migrated?: boolean }): Promise<TestStore>;
}

export interface TestStore {
  store: Store;
  /** For PostgreSQL: the URL of this test's own database, so a second "replica" can connect. */
  databaseUrl: string | undefined;
  dispose(): Promise<void>;
}

export const testDatabaseUrl = process.env.TEST_DATABASE_URL || undefined;

const pgliteTarget: StoreTarget = {
  name: 'pglite',
  async open({ migrated = true } = {}) {
    const store = await openStore({ dataDir: 'memory://' });
    if (migrated) await migrate(store);
    return { store, databaseUrl: undefined, dispose: () => store.close() };
  },
};

const postgresTarget = (adminUrl: string): StoreTarget => ({
  name: 'postgres',
  async open({ migrated = true } = {}) {
    const name = `vd_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: adminUrl });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    const databaseUrl = url.toString();
    const store = await openStore({ databaseUrl, poolSize: 20 });
    if (migrated) await migrate(store);
    return {
      store,
      databaseUrl,
      async dispose() {
        await store.close();
        const cleanup = new pg.Client({ connectionString: adminUrl });
        await cleanup.connect();
        await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await cleanup.end();
      },
    };
  },
});

export const storeTargets: StoreTarget[] = testDatabaseUrl ? [pgliteTarget, postgresTarget(testDatabaseUrl)] : [pgliteTarget];
export const postgresTargetOrUndefined: StoreTarget | undefined = testDatabaseUrl ? postgresTarget(testDatabaseUrl) : undefined;
