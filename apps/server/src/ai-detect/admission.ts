import type { UsageLedger, UsageRecord } from '../billing/ports.js';
import { statementParams } from '../store/params.js';
import type { Store } from '../store/ports.js';
import type { Answer } from './answers.js';
import type { CheckTerms } from './limits.js';
import { bucketAt, reserveSql, takeTokenSql, verdictOf, type CachedVerdict, type DetectionRow } from './repository.js';

/**
 * A check's way into the store as ONE statement, so a cached detection costs one round trip:
 *  1. take a rate token (unless the caller took it already, before fetching a URL);
 *  2. reserve one check of the monthly quota, only if 1 passed;
 *  3. read the cached verdict for the bytes, only if 2 passed;
 *  4. with a verdict: write the usage ledger row (metered later by the outbox) and record what this
 *     account is told (ai_detection_answers; `cached` only for its own repeat of this very verdict).
 * Each step runs only if the ones before it succeeded, so a refusal charges nothing. Every write is a
 * conditional upsert on one row, atomic on PGlite and on PostgreSQL shared by replicas alike.
 * Without a verdict (a miss) the token and the quota stay taken and the caller goes upstream.
 */

export interface AdmissionRequest {
  accountId: string;
  sha256: string;
  terms: CheckTerms;
  /** false: the token was taken already. */
  takeRate: boolean;
  /** The ledger row written when the verdict is cached. */
  usage: UsageRecord;
  /** When this account is told, if the verdict is news to it. */
  now: Date;
}

export type Admission =
  | { kind: 'rate-limited'; retryAfterSeconds: number }
  | { kind: 'quota-exceeded' }
  | { kind: 'miss' }
  | { kind: 'hit'; verdict: CachedVerdict; answer: Answer };

type Nullable<T> = { [K in keyof T]: T[K] | null };

/** The one row back: the steps' outcomes, and the verdict's columns (all null on a miss). */
interface AdmissionRow extends Nullable<DetectionRow> {
  rate_taken: boolean;
  /** The bucket before this statement (for Retry-After when refused); null when it had no row. */
  bucket_tokens: number | null;
  bucket_updated_ms: number | null;
  quota_used: number | null;
  /** When this account first got this very verdict; null: it is news to the account. */
  answered_first_at: Date | string | null;
}

export async function admit(store: Store, ledger: UsageLedger, request: AdmissionRequest): Promise<Admission> {
  const { terms } = request;
  const { values, param } = statementParams();
  const account = param(request.accountId);
  const sha = param(request.sha256);
  const rate = request.takeRate
    ? `rate AS (${takeTokenSql(terms.rate.scope, terms.rate.policy, terms.rate.nowMs, param)}),
       bucket AS (SELECT tokens, updated_ms FROM ai_rate_buckets WHERE scope = ${param(terms.rate.scope)}::text)`
    : `rate AS (SELECT 1), bucket AS (SELECT NULL::double precision AS tokens, NULL::double precision AS updated_ms WHERE false)`;
  const quota = reserveSql(terms.quota.scope, terms.quota.period, 1, terms.quota.limit, 'EXISTS (SELECT 1 FROM rate)', param);
  const record = await ledger.insertSql(request.usage, 'EXISTS (SELECT 1 FROM verdict)', param);
  const [row] = await store.query<AdmissionRow>(
    `WITH ${rate},
     quota AS (${quota}),
     verdict AS (
       SELECT * FROM ai_detections
       WHERE sha256 = ${sha}::text AND state = 'done' AND (expires_at IS NULL OR expires_at > now()) AND EXISTS (SELECT 1 FROM quota)),
     recorded AS (${record}),
     seen AS (SELECT verdict_checked_at, first_answered_at FROM ai_detection_answers WHERE account_id = ${account}::text AND image_sha256 = ${sha}::text),
     told AS (
       INSERT INTO ai_detection_answers (account_id, image_sha256, verdict_checked_at, first_answered_at)
       SELECT ${account}::text, ${sha}::text, v.checked_at, ${param(request.now.toISOString())}::timestamptz FROM verdict v
       WHERE NOT EXISTS (SELECT 1 FROM seen WHERE seen.verdict_checked_at = v.checked_at)
       ON CONFLICT (account_id, image_sha256) DO UPDATE SET verdict_checked_at = EXCLUDED.verdict_checked_at, first_answered_at = EXCLUDED.first_answered_at
         WHERE ai_detection_answers.verdict_checked_at IS DISTINCT FROM EXCLUDED.verdict_checked_at
       RETURNING 1)
     SELECT EXISTS (SELECT 1 FROM rate) AS rate_taken, b.tokens AS bucket_tokens, b.updated_ms AS bucket_updated_ms,
       (SELECT used FROM quota) AS quota_used, v.*, s.first_answered_at AS answered_first_at
     FROM (SELECT 1) AS one
       LEFT JOIN bucket b ON true
       LEFT JOIN verdict v ON true
       LEFT JOIN seen s ON s.verdict_checked_at = v.checked_at`,
    values,
  );
  if (!row) throw new Error('the admission statement returned no row');
  if (!row.rate_taken) {
    const before = row.bucket_tokens === null || row.bucket_updated_ms === null ? undefined : { tokens: row.bucket_tokens, updated_ms: row.bucket_updated_ms };
    return { kind: 'rate-limited', retryAfterSeconds: Math.max(1, bucketAt(before, terms.rate.policy, terms.rate.nowMs).retryAfterSeconds) };
  }
  if (row.quota_used === null) return { kind: 'quota-exceeded' };
  if (row.sha256 === null) return { kind: 'miss' };
  // A concurrent request of this account may have recorded the same verdict first: both read as news.
  const answer: Answer = row.answered_first_at
    ? { cached: true, checkedAt: new Date(row.answered_first_at).toISOString() }
    : { cached: false, checkedAt: request.now.toISOString() };
  return { kind: 'hit', verdict: verdictOf({ ...row, sha256: row.sha256 }), answer };
}
