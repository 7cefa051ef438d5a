import { getTableConfig, type PgTable } from 'drizzle-orm/pg-core';
import { describe, expect, it } from 'vitest';
import { useTestStore } from '../testing/fixtures.js';
import { storeTargets } from '../testing/stores.js';
import { schema } from './schema.js';

/** Every table schema.ts describes, as the migrations actually create it: columns, types' nullability. */
describe.each(storeTargets)('schema.ts agrees with the migrations on $name', (target) => {
  const t = useTestStore(target);

  it('has the same columns, each with the same nullability, in every table it names', async () => {
    const rows = await t.store.query<{ table_name: string; column_name: string; is_nullable: 'YES' | 'NO' }>(
      `SELECT table_name, column_name, is_nullable FROM information_schema.columns WHERE table_schema = 'public'`,
    );
    const tables = Object.values(schema).map((table) => getTableConfig(table as PgTable));
    expect(tables.length).toBeGreaterThan(0);
    for (const table of tables) {
      const actual = rows
        .filter((row) => row.table_name === table.name)
        .map((row) => `${row.column_name} ${row.is_nullable === 'NO' ? 'not null' : 'null'}`)
        .sort();
      const described = table.columns.map((column) => `${column.name} ${column.notNull ? 'not null' : 'null'}`).sort();
      expect({ table: table.name, columns: described }).toEqual({ table: table.name, columns: actual });
    }
  });
});
