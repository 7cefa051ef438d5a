import type { Store } from '../store/ports.js';
import type { Rows } from '../store/rows.js';
import type { DetectionVerdict } from './ports.js';

/**
 * What one account has been told about one image, so an answer never reveals another account's check.
 *
 * The verdict cache is shared (one upstream call per image, whoever asks), but the answer is per
 * account: `cached` is true only when this account already got this very verdict, and `checkedAt` is
 * when this account first got it. A verdict produced by someone else's check reads, to this account,
 * exactly like a fresh check made now.
 */
export interface Answer {
  cached: boolean;
  /** ISO 8601: when this account first got this verdict. */
  checkedAt: string;
}

type SeenRow = Pick<Rows['ai_detection_answers'], 'verdict_checked_at' | 'first_answered_at'>;

const key = (accountId: string, sha256: string) => `${accountId}\u0000${sha256}`;

export class AnswerLog {
  /** Settled facts (this account got this verdict first at …), so a repeat needs no store read. Bounded, oldest out. */
  private readonly memo = new Map<string, { verdictAt: number; firstAt: string }>();

  constructor(private readonly store: Store) {}

  /**
   * The answer for `accountId` getting `verdict` now. `upstreamForThisRequest`: this request's own
   * upstream call produced the verdict (then it is fresh, and its own time is the check time).
   */
  async answer(accountId: string, sha256: string, verdict: DetectionVerdict, upstreamForThisRequest: boolean, now: Date): Promise<Answer> {
    const verdictAt = Date.parse(verdict.checkedAt);
    const k = key(accountId, sha256);
    const known = this.memo.get(k);
    if (known && known.verdictAt === verdictAt) return { cached: !upstreamForThisRequest, checkedAt: known.firstAt };

    const [row] = await this.store.query<SeenRow>(
      'SELECT verdict_checked_at, first_answered_at FROM ai_detection_answers WHERE account_id = $1 AND image_sha256 = $2',
      [accountId, sha256],
    );
    if (row && new Date(row.verdict_checked_at).getTime() === verdictAt) {
      const firstAt = new Date(row.first_answered_at).toISOString();
      this.remember(k, verdictAt, firstAt);
      return { cached: !upstreamForThisRequest, checkedAt: firstAt };
    }
    // First time this account gets this verdict (or the verdict was renewed since it last asked).
    const firstAt = upstreamForThisRequest ? verdict.checkedAt : now.toISOString();
    const [stored] = await this.store.query<SeenRow>(
      `INSERT INTO ai_detection_answers (account_id, image_sha256, verdict_checked_at, first_answered_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (account_id, image_sha256) DO UPDATE SET verdict_checked_at = EXCLUDED.verdict_checked_at, first_answered_at = EXCLUDED.first_answered_at
         WHERE ai_detection_answers.verdict_checked_at IS DISTINCT FROM EXCLUDED.verdict_checked_at
       RETURNING verdict_checked_at, first_answered_at`,
      [accountId, sha256, new Date(verdictAt), firstAt],
    );
    // No row back: a concurrent request of this account recorded this verdict first; both answers stay fresh-looking.
    const settledAt = stored ? new Date(stored.first_answered_at).toISOString() : firstAt;
    this.remember(k, verdictAt, settledAt);
    return { cached: false, checkedAt: firstAt };
  }

  private remember(k: string, verdictAt: number, firstAt: string) {
    if (this.memo.size >= 10_000) this.memo.delete(this.memo.keys().next().value!);
    this.memo.set(k, { verdictAt, firstAt });
  }
}
