import type { Store } from '../../store/ports.js';

export interface LedgerEntry {
  key: string;
  accountId: string;
  period: string;
  eventName: string;
  quantity: number;
  imageSha256: string | undefined;
  cached: boolean;
}

/** Records a billable detection; a repeated key is a no-op (returns false). */
export async function recordUsage(store: Store, entry: LedgerEntry): Promise<boolean> {
  const rows = await store.query(
    `INSERT INTO usage_ledger (key, account_id, period, event_name, quantity, image_sha256, cached)
     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (key) DO NOTHING RETURNING key`,
    [entry.key, entry.accountId, entry.period, entry.eventName, entry.quantity, entry.imageSha256 ?? null, entry.cached],
  );
  return rows.length > 0;
}
