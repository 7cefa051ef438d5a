import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import type { Store } from '../store/ports.js';
import { migrate, openStore, seedFromTemplate } from '../store/store.js';

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

const testDatabaseUrl = process.env.TEST_DATABASE_URL || undefined;

/** Migrated templates made once per run by global-setup.ts; absent when a file runs outside vitest's setup. */
const pgliteTemplateFile = process.env.VD_TEST_PGLITE_TEMPLATE;
const pgliteTemplateFolder = process.env.VD_TEST_PGLITE_FOLDER;
const postgresTemplate = process.env.VD_TEST_POSTGRES_TEMPLATE;

/**
 * Gives an empty DATA_DIR the migrated PGlite folder global-setup.ts made, as a first start from the
 * shipped template does (a copy instead of initdb and every migration). Without vitest's setup it does
 * nothing, and the first open initialises the folder.
 */
export function seedDataDir(dataDir: string): void {
  if (pgliteTemplateFolder) seedFromTemplate(join(dataDir, 'pglite'), pgliteTemplateFolder);
}

/**
 * A connection may take seconds to open on a CI machine that runs every package's tests, Chromium and
 * PostgreSQL on two cores; the production default (5 s) refused one there once.
 */
const testConnectTimeoutMs = 30_000;

/** Another store on the same PostgreSQL database, as a second server replica would open it. */
export function openReplica(databaseUrl: string | undefined, poolSize?: number): Promise<Store> {
  if (!databaseUrl) throw new Error('a second replica needs a PostgreSQL test store (TEST_DATABASE_URL)');
  return openStore({ databaseUrl, poolSize, connectTimeoutMs: testConnectTimeoutMs });
}

/** Runs one statement on the server of `adminUrl` (CREATE/DROP DATABASE cannot run in a pool's transaction). */
export async function adminQuery(adminUrl: string, sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: testConnectTimeoutMs });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

/** The same server URL, naming another database. */
export function withDatabase(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

const pgliteTarget: StoreTarget = {
  name: 'pglite',
  async open({ migrated = true } = {}) {
    const template = migrated && pgliteTemplateFile ? new Blob([await readFile(pgliteTemplateFile)]) : undefined;
    const store = await openStore({ dataDir: 'memory://', ...(template ? { loadDataDir: template } : {}) });
    // On a clone of the template this finds every migration applied and changes nothing.
    if (migrated) await migrate(store);
    return { store, databaseUrl: undefined, dispose: () => store.close() };
  },
};

const postgresTarget = (adminUrl: string): StoreTarget => ({
  name: 'postgres',
  async open({ migrated = true } = {}) {
    const name = `vd_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
    const cloned = migrated && postgresTemplate;
    await adminQuery(adminUrl, cloned ? `CREATE DATABASE ${name} TEMPLATE ${postgresTemplate}` : `CREATE DATABASE ${name}`);
    const databaseUrl = withDatabase(adminUrl, name);
    const store = await openReplica(databaseUrl, 20);
    if (migrated) await migrate(store);
    return {
      store,
      databaseUrl,
      async dispose() {
        await store.close();
        await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      },
    };
  },
});

export const storeTargets: StoreTarget[] = testDatabaseUrl ? [pgliteTarget, postgresTarget(testDatabaseUrl)] : [pgliteTarget];
export const postgresTargetOrUndefined: StoreTarget | undefined = testDatabaseUrl ? postgresTarget(testDatabaseUrl) : undefined;
