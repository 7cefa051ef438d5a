import { migrations as defaultMigrations, type Migration } from './migrations.js';
import type { Session, Store } from './ports.js';
import type { Rows } from './rows.js';

/** Arbitrary but fixed: every replica must use the same key so only one migrates at a time. */
export const MIGRATION_LOCK_KEY = 724_115_001;

export interface MigrationResult {
  applied: string[];
  alreadyApplied: string[];
}

/**
 * Applies pending migrations in list order, each in its own transaction, under a session advisory
 * lock so that replicas starting together on one PostgreSQL wait for each other instead of migrating
 * twice. Before applying anything it renames rows recorded under a migration's former id and refuses
 * a history it cannot continue in order (see `planOf`); then it changes nothing.
 */
export async function migrate(store: Store, list: Migration[] = defaultMigrations): Promise<MigrationResult> {
  assertStrictlyIncreasing(list);
  const current = await upToDate(store, list);
  if (current) return { applied: [], alreadyApplied: current };
  return store.withSession(async (session) => {
    await session.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    try {
      await session.exec(
        'CREATE TABLE IF NOT EXISTS schema_migrations (id text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
      );
      const { pending, done } = await inTransaction(session, async () => {
        await renameFormerIds(session, list);
        const rows = await session.query<Pick<Rows['schema_migrations'], 'id'>>('SELECT id FROM schema_migrations');
        return planOf(list, rows.map((row) => row.id));
      });
      const applied: string[] = [];
      for (const migration of pending) {
        try {
          await inTransaction(session, async () => {
            await session.exec(migration.sql);
            await session.query('INSERT INTO schema_migrations (id) VALUES ($1)', [migration.id]);
          });
        } catch (error) {
          throw new Error(`migration ${migration.id} failed: ${(error as Error).message}`, { cause: error });
        }
        applied.push(migration.id);
      }
      return { applied, alreadyApplied: done };
    } finally {
      await session.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
    }
  });
}

/**
 * Every start after the first finds each migration applied and nothing else recorded: one read says so,
 * without the lock and the statements around it (a cold start's round trips). Anything else (no table
 * yet, a pending, former or unknown id) takes the locked path above, which decides under the lock.
 */
async function upToDate(store: Store, list: Migration[]): Promise<string[] | undefined> {
  let recorded: string[];
  try {
    recorded = (await store.query<Pick<Rows['schema_migrations'], 'id'>>('SELECT id FROM schema_migrations')).map((row) => row.id);
  } catch {
    return undefined;
  }
  const ids = new Set(recorded);
  return recorded.length === list.length && list.every((migration) => ids.has(migration.id)) ? recorded : undefined;
}

async function inTransaction<T>(session: Session, fn: () => Promise<T>): Promise<T> {
  await session.exec('BEGIN');
  try {
    const result = await fn();
    await session.exec('COMMIT');
    return result;
  } catch (error) {
    await session.exec('ROLLBACK');
    throw error;
  }
}

function numberOf(id: string): number {
  const match = /^(\d+)_\w+$/.exec(id);
  if (!match) throw new Error(`migration id ${id} is not NNNN_name`);
  return Number(match[1]);
}

/** The list must be ordered by number with no number twice, so list order and id order are one. */
function assertStrictlyIncreasing(list: Migration[]): void {
  list.forEach((migration, index) => {
    const previous = list[index - 1];
    if (numberOf(migration.id) <= (previous ? numberOf(previous.id) : 0)) {
      throw new Error(`migrations must be in strictly increasing id order: ${previous?.id ?? 'the start'} is followed by ${migration.id}`);
    }
  });
}

/**
 * A database migrated before the renumbering records the former ids. Renamed in one statement, and
 * only where the new id is not recorded too (such a row stays and is then refused as unknown).
 */
async function renameFormerIds(session: Session, list: Migration[]): Promise<void> {
  const renames = list.flatMap((migration) => (migration.formerId ? [migration.formerId, migration.id] : []));
  if (!renames.length) return;
  const pairs = Array.from({ length: renames.length / 2 }, (_, i) => `($${2 * i + 1}::text, $${2 * i + 2}::text)`).join(', ');
  await session.query(
    `UPDATE schema_migrations SET id = renamed.new_id FROM (VALUES ${pairs}) AS renamed (former_id, new_id)
     WHERE schema_migrations.id = renamed.former_id
       AND NOT EXISTS (SELECT 1 FROM schema_migrations recorded WHERE recorded.id = renamed.new_id)`,
    renames,
  );
}

/**
 * What to apply, given the ids recorded. Refuses an applied id this code does not know (a newer
 * version migrated the database) and a pending migration numbered below an applied one (it was
 * inserted under history that databases already have, so they would apply it out of order).
 */
function planOf(list: Migration[], recorded: string[]): { pending: Migration[]; done: string[] } {
  const known = new Set(list.map((migration) => migration.id));
  const unknown = recorded.filter((id) => !known.has(id)).sort();
  if (unknown.length) {
    throw new Error(`the database has applied migrations this version does not know: ${unknown.join(', ')} (was it migrated by a newer version?)`);
  }
  const done = new Set(recorded);
  const pending = list.filter((migration) => !done.has(migration.id));
  const latest = list.filter((migration) => done.has(migration.id)).at(-1);
  const below = latest ? pending.filter((migration) => numberOf(migration.id) < numberOf(latest.id)) : [];
  if (latest && below.length) {
    throw new Error(
      `pending migrations ${below.map((migration) => migration.id).join(', ')} are numbered below the applied ${latest.id}; give them numbers after it`,
    );
  }
  return { pending, done: recorded };
}
