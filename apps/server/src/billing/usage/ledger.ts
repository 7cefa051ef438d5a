import { statementParams } from '../../store/params.js';
import type { Store } from '../../store/ports.js';
import type { CatalogPort, UsageLedger, UsageRecord } from '../ports.js';

/**
 * The usage ledger in `usage_ledger`: one row per billable use, unique by key. The catalog names the
 * meter event each row is sent as (the outbox sends it later), so a renamed meter applies to new rows.
 */
export function createUsageLedger(store: Store, catalog: Pick<CatalogPort, 'meters'>): UsageLedger {
  async function insertSql(entry: UsageRecord, condition: string, param: (value: unknown) => string): Promise<string> {
    const meters = await catalog.meters();
    const eventName = (meters.find((m) => m.eventName === entry.meter) ?? meters[0])?.eventName ?? entry.meter;
    // Typed placeholders: in INSERT … SELECT, PostgreSQL would otherwise take them as text.
    return `INSERT INTO usage_ledger (key, account_id, period, event_name, quantity, image_sha256, cached)
      SELECT ${param(entry.key)}::text, ${param(entry.accountId)}::text, ${param(entry.period)}::text, ${param(eventName)}::text,
        ${param(entry.quantity)}::integer, ${param(entry.imageSha256 ?? null)}::text, ${param(entry.cached)}::boolean
      WHERE ${condition}
      ON CONFLICT (key) DO NOTHING RETURNING key`;
  }

  return {
    insertSql,
    async record(entry: UsageRecord): Promise<boolean> {
      const { values, param } = statementParams();
      const rows = await store.query(await insertSql(entry, 'true', param), values);
      return rows.length > 0;
    },
  };
}
