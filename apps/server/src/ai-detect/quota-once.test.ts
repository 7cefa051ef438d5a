import { describe, expect, it } from 'vitest';
import type { Session } from '../store/ports.js';
import { useTestStore } from '../testing/fixtures.js';
import { postgresTargetOrUndefined } from '../testing/stores.js';

/**
 * A keyed check's quota reservation (migration 0012) between two attempts of one charge that overlap on
 * PostgreSQL: a first attempt whose admission outlived its deadline (or its lease) and has not
 * committed yet, and its retry. Only PostgreSQL has two connections to overlap (PGlite runs one
 * statement at a time).
 */

const ADMIT = 'SELECT quota_used FROM ai_detect_admit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)';
/** A URL check's admission (its rate token taken before the fetch, so no rate scope), keyed: p_once. */
const keyedUrlCheck = (usageKey: string) => [
  'user_overlap', 'b'.repeat(64), null, 5, Date.now(), 10 / 60_000, 'ai-detect:user:user_overlap', '2040-01', 10, usageKey, 'ai_detection', new Date().toISOString(), true,
];

const postgres = postgresTargetOrUndefined;
describe.skipIf(!postgres)('the quota reservation of overlapping attempts of one keyed check on PostgreSQL', () => {
  const t = useTestStore(postgres!);

  it('reserves once: the retry waits for the first attempt\'s uncommitted reservation and then takes none', async () => {
    const key = 'ai-detect:2040-01:user_overlap:charge-1';
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let firstAdmitted!: () => void;
    const admitted = new Promise<void>((resolve) => (firstAdmitted = resolve));
    // The first attempt: admitted inside a transaction that stays open (a statement past its deadline).
    const first = t.store.withSession(async (session: Session) => {
      await session.exec('BEGIN');
      const [row] = await session.query<{ quota_used: number }>(ADMIT, keyedUrlCheck(key));
      firstAdmitted();
      await held;
      await session.exec('COMMIT');
      return row!.quota_used;
    });
    await admitted;
    // The retry, on another connection, while the first is uncommitted.
    let retryDone = false;
    const retry = t.store.query<{ quota_used: number }>(ADMIT, keyedUrlCheck(key)).then((rows) => ((retryDone = true), rows[0]!.quota_used));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(retryDone).toBe(false); // it waits on the first attempt's reservation row
    release();
    expect(await first).toBe(1);
    expect(await retry).toBe(1);
    const [counter] = await t.store.query<{ used: number }>(`SELECT used FROM usage_counters WHERE scope = 'ai-detect:user:user_overlap' AND period = '2040-01'`);
    expect(counter!.used).toBe(1);
    const [charges] = await t.store.query<{ n: number }>(`SELECT count(*)::int AS n FROM ai_detect_quota_charges WHERE usage_key = $1`, [key]);
    expect(charges!.n).toBe(1);
  });
});
