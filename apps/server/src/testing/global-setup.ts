import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dumpDataDir, migrate, openStore } from '../store/store.js';
import { adminQuery, withDatabase } from './stores.js';

/**
 * Runs once per `vitest run`, before any test file: migrates one PGlite and (with TEST_DATABASE_URL)
 * one PostgreSQL database, and leaves them as templates the test stores are cloned from. A clone
 * costs a fraction of a fresh initdb plus every migration, which most test files pay at least once.
 */
export default async function setup(): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'vd-test-template-'));
  const pglite = await openStore({ dataDir: 'memory://' });
  await migrate(pglite);
  const file = join(dir, 'pglite.tar');
  writeFileSync(file, Buffer.from(await (await dumpDataDir(pglite)).arrayBuffer()));
  await pglite.close();
  process.env.VD_TEST_PGLITE_TEMPLATE = file;

  const adminUrl = process.env.TEST_DATABASE_URL;
  let template: string | undefined;
  if (adminUrl) {
    template = `vd_template_${randomBytes(6).toString('hex')}`;
    await adminQuery(adminUrl, `CREATE DATABASE ${template}`);
    const store = await openStore({ databaseUrl: withDatabase(adminUrl, template), poolSize: 1 });
    await migrate(store);
    await store.close();
    process.env.VD_TEST_POSTGRES_TEMPLATE = template;
  }
  return async () => {
    rmSync(dir, { recursive: true, force: true });
    if (adminUrl && template) await adminQuery(adminUrl, `DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
  };
}
