import { getTableConfig, type PgTable } from 'drizzle-orm/pg-core';
import { describe, expect, it } from 'vitest';
import { useTestStore } from '../testing/fixtures.js';
import { storeTargets } from '../testing/stores.js';
import { schema } from './schema.js';

type Tables = Record<string, string[]>;

/** `column type null|not null` per table, sorted, so a difference prints as one readable diff. */
function describeColumns(columns: { table: string; column: string; type: string; notNull: boolean }[]): Tables {
  const tables: Tables = {};
  for (const c of columns) (tables[c.table] ??= []).push(`${c.column} ${c.type} ${c.notNull ? 'not null' : 'null'}`);
  for (const list of Object.values(tables)) list.sort();
  return tables;
}

/** Every table the migrations create, as schema.ts describes it and as information_schema.columns reports it. */
describe.each(storeTargets)('schema.ts agrees with the migrated database on $name', (target) => {
  const t = useTestStore(target);

  it('has the same tables, and in each the same columns with the same SQL types and nullability', async () => {
    const rows = await t.store.query<{ table_name: string; column_name: string; sql_type: string; is_nullable: 'YES' | 'NO' }>(
      // information_schema says ARRAY for any array; its element type is udt_name without the leading underscore.
      `SELECT table_name, column_name, is_nullable,
              CASE WHEN data_type = 'ARRAY' THEN substr(udt_name, 2) || '[]' ELSE data_type END AS sql_type
         FROM information_schema.columns WHERE table_schema = 'public'`,
    );
    const migrated = describeColumns(rows.map((row) => ({ table: row.table_name, column: row.column_name, type: row.sql_type, notNull: row.is_nullable === 'NO' })));
    const described = describeColumns(
      Object.values(schema).flatMap((table) => {
        const config = getTableConfig(table as PgTable);
        return config.columns.map((column) => ({ table: config.name, column: column.name, type: column.getSQLType(), notNull: column.notNull }));
      }),
    );
    expect(Object.keys(described).length).toBeGreaterThan(10);
    expect(described).toEqual(migrated);
  });
});
