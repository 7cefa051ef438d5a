import type { Store } from './ports.js';
import type { Rows } from './rows.js';

/**
 * The value of a server setting (shared by every replica), stored on first use. Two statements on
 * purpose: the SELECT takes a fresh snapshot, so it sees a concurrent first writer's row that the
 * INSERT … ON CONFLICT DO NOTHING yielded to; the first writer wins and everyone reads the winner.
 */
export async function settingOnce(store: Store, key: string, create: () => string): Promise<string> {
  await store.query('INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING', [key, create()]);
  const [row] = await store.query<Pick<Rows['settings'], 'value'>>('SELECT value FROM settings WHERE key = $1', [key]);
  if (!row) throw new Error(`setting ${key} missing after insert`);
  return row.value;
}
