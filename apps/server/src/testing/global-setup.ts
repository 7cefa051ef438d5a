import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { dumpDataDir, migrate, openStore } from '../store/store.js';
import { adminQuery, openReplica, withDatabase } from './stores.js';

/**
 * Runs once per `vitest run`, before any test file: migrates one PGlite and (with TEST_DATABASE_URL)
 * one PostgreSQL database, and leaves them as templates the test stores are cloned from. A clone
 * costs a fraction of a fresh initdb plus every migration, which most test files pay at least once.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'vd-test-template-'));
  const adminUrl = process.env.TEST_DATABASE_URL;
  const template = adminUrl ? `vd_template_${randomBytes(6).toString('hex')}` : undefined;
  // Side by side: PGlite works in this process, PostgreSQL in its own server.
  await Promise.all([pgliteTemplates(dir), adminUrl && template ? postgresTemplate(adminUrl, template) : undefined]);
  return async () => {
    rmSync(dir, { recursive: true, force: true });
    if (adminUrl && template) await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
  };
}

async function pgliteTemplates(dir: string): Promise<void> {
  const pglite = await openStore({ dataDir: 'memory://' });
  await migrate(pglite);
  const dump = await dumpDataDir(pglite);
  await pglite.close();
  const file = join(dir, 'pglite.tar');
  writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
  process.env.VD_TEST_PGLITE_TEMPLATE = file;
  // The same database as a data folder, for tests that give the CLI or a server process a DATA_DIR.
  const folder = join(dir, 'pglite');
  const onDisk = new PGlite(folder, { loadDataDir: dump });
  await onDisk.waitReady;
  await onDisk.close();
  process.env.VD_TEST_PGLITE_FOLDER = folder;
}

async function postgresTemplate(adminUrl: string, template: string): Promise<void> {
  await adminQuery(adminUrl, `CREATE DATABASE ${template}`);
  const store = await openReplica(withDatabase(adminUrl, template), 1);
  await migrate(store);
  await store.close();
  process.env.VD_TEST_POSTGRES_TEMPLATE = template;
}
