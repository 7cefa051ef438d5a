import type { Store } from '../../store/ports.js';
import type { CatalogPort, UsageLedger, UsageRecord } from '../ports.js';

/**
 * The usage ledger in `usage_ledger`: one row per billable use, unique by key. The catalog names the
 * meter event each row is sent as (the outbox sends it later), so a renamed meter applies to new rows.
 * A cached AI detection writes its row inside the `ai_detect_admit` function (store/migrations/0010_ai_detect_admit.ts), the same way.
 */
export function createUsageLedger(store: Store, catalog: Pick<CatalogPort, 'meters'>): UsageLedger {
  async function eventNameOf(meter: string): Promise<string> {
    const meters = await catalog.meters();
    return (meters.find((m) => m.eventName === meter) ?? meters[0])?.eventName ?? meter;
  }

  return {
    eventNameOf,
    async record(entry: UsageRecord): Promise<boolean> {
      const rows = await store.query(
        `INSERT INTO usage_ledger (key, account_id, period, event_name, quantity, image_sha256, cached)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (key) DO NOTHING RETURNING key`,
        [entry.key, entry.accountId, entry.period, await eventNameOf(entry.meter), entry.quantity, entry.imageSha256 ?? null, entry.cached],
      );
      return rows.length > 0;
    },
  };
}
