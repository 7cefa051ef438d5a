import type { Column, Table } from 'drizzle-orm';
import type { schema } from './schema.js';

/**
 * Row types for raw SQL, derived from schema.ts: `Rows['webhook_events']` is a row of that table
 * keyed by column name as SQL writes it, a column null-able unless NOT NULL. Reads name their
 * columns with `store.query<Pick<Rows['x'], 'a' | 'b'>>(...)`, so a renamed or retyped column
 * fails to compile wherever it is read (schema.test.ts holds schema.ts to the migrated database).
 */
export type Rows = { [T in SchemaTable as T['_']['name']]: RowOf<T> };

type SchemaTable = (typeof schema)[keyof typeof schema];

type RowOf<T extends Table> = {
  [K in keyof T['_']['columns'] as T['_']['columns'][K]['_']['name']]: ValueOf<T['_']['columns'][K]>;
};

type ValueOf<C extends Column> = C['_']['notNull'] extends true ? WireValue<C> : WireValue<C> | null;

/** What the drivers return, which for bigint differs: node-postgres gives a string, PGlite a number. */
type WireValue<C extends Column> = C['_']['columnType'] extends 'PgBigInt53' | 'PgBigInt64' ? number | string : C['_']['data'];
