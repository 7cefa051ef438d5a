import type { Table } from 'drizzle-orm';
import type { customers, schema, subscriptionChanges, subscriptions } from '../store/schema.js';

/**
 * Snake_case row types of the tables this helper's SQL reads, derived from schema.ts. A stand-in
 * until src/store/rows.ts (issue 10) lands; then importers switch to it and this file goes.
 */
type RowOf<T extends Table> = {
  [K in keyof T['_']['columns'] as T['_']['columns'][K]['_']['name']]: T['_']['columns'][K]['_']['notNull'] extends true
    ? T['_']['columns'][K]['_']['data']
    : T['_']['columns'][K]['_']['data'] | null;
};

export interface Rows {
  subscriptions: RowOf<typeof subscriptions>;
  subscription_changes: RowOf<typeof subscriptionChanges>;
  customers: RowOf<typeof customers>;
  webhook_events: RowOf<typeof schema.webhookEvents>;
}
