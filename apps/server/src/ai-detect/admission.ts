import type { UsageLedger, UsageRecord } from '../billing/ports.js';
import type { Store } from '../store/ports.js';
import { oneAtATime, turnGroups, type Pending } from '../store/turn-groups.js';
import type { Rows } from '../store/rows.js';
import type { Answer } from './answers.js';
import type { CheckTerms } from './limits.js';
import { bucketAt, verdictOf, type CachedVerdict } from './repository.js';

/**
 * A check's way into the store as ONE call of the `ai_detect_admit` function (store/migrations/0012_ai_detect_quota_once.ts; 0010 before it),
 * so a cached detection costs one round trip:
 *  1. take a rate token (unless the caller took it already, before fetching a URL);
 *  2. reserve one check of the monthly quota, only if 1 passed (a keyed check's reservation is recorded
 *     under its ledger key, and a retry of that charge finds it and reserves nothing: migration 0012);
 *  3. read the cached verdict for the bytes, only if 2 passed;
 *  4. with a verdict: write the usage ledger row (metered later by the outbox) and record what this
 *     account is told (ai_detection_answers; `cached` only for its own repeat of this very verdict).
 * Each step runs only if the ones before it succeeded, so a refusal charges nothing. Every write is a
 * conditional upsert of one row, so replicas sharing PostgreSQL stay correct; a function rather than
 * one big statement because its plans are made once per connection (PGlite spent more CPU planning
 * one large CTE per check than on the three statements it replaced).
 * Without a verdict (a miss) the token and the quota stay taken and the caller goes upstream.
 * Checks arriving together share one statement, each with its own call (see `grouped`).
 */

export interface AdmissionRequest {
  accountId: string;
  sha256: string;
  terms: CheckTerms;
  /** false: the token was taken already. */
  takeRate: boolean;
  /** The ledger row written when the verdict is cached (one check, flagged cached). */
  usage: Pick<UsageRecord, 'key' | 'meter'>;
  /** When this account is told, if the verdict is news to it. */
  now: Date;
  /** A keyed check (its charge may be retried): its quota reservation is recorded so a retry takes none. */
  once: boolean;
}

export type Admission =
  | { kind: 'rate-limited'; retryAfterSeconds: number }
  | { kind: 'quota-exceeded' }
  | { kind: 'miss' }
  | { kind: 'hit'; verdict: CachedVerdict; answer: Answer };

type Detection = Rows['ai_detections'];

/** The function's one row (its OUT parameters); verdict columns are null on a miss or refusal. */
interface AdmissionRow {
  rate_taken: boolean;
  /** The bucket when the token was refused (for Retry-After); null when it had no row. */
  bucket_tokens: Rows['ai_rate_buckets']['tokens'] | null;
  bucket_updated_ms: Rows['ai_rate_buckets']['updated_ms'] | null;
  /** Null: the quota refused (or was not reached). */
  quota_used: Rows['usage_counters']['used'] | null;
  verdict_ai_generated: Detection['ai_generated'];
  verdict_generators: Detection['generators'];
  verdict_provider: Detection['provider'];
  verdict_checked_at: Detection['checked_at'];
  /** When this account first got this very verdict; null: it is news to the account. */
  answered_first_at: Rows['ai_detection_answers']['first_answered_at'] | null;
}

const ADMIT = 'SELECT * FROM ai_detect_admit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)';
/** The same call for several checks in one statement, in the order given (its parameters as arrays, one element per check). */
const ADMIT_GROUP = `SELECT a.* FROM unnest($1::text[], $2::text[], $3::text[], $4::float8[], $5::float8[], $6::float8[], $7::text[], $8::text[], $9::int[], $10::text[], $11::text[], $12::timestamptz[], $13::boolean[])
    WITH ORDINALITY AS p(account, sha256, rate_scope, burst, now_ms, per_ms, quota_scope, period, quota_limit, usage_key, event_name, told_at, once, n)
  CROSS JOIN LATERAL ai_detect_admit(p.account, p.sha256, p.rate_scope, p.burst, p.now_ms, p.per_ms, p.quota_scope, p.period, p.quota_limit, p.usage_key, p.event_name, p.told_at, p.once) a
  ORDER BY p.n`;
/** At most this many checks in one statement. */
const MAX_GROUP = 64;

type Params = (string | number | boolean | null)[];
type Call = (params: Params) => Promise<AdmissionRow>;

type Waiting = Pending<AdmissionRow> & { params: Params };
const byAccount = (a: Waiting, b: Waiting) => (a.params[0]! < b.params[0]! ? -1 : a.params[0]! > b.params[0]! ? 1 : 0);

/** The next group: the first checks in arrival order, ordered by account (stably: one account's checks keep their order). */
const firstChecks = (waiting: Waiting[]) => {
  const group = waiting.slice(0, MAX_GROUP).sort(byAccount);
  return { group, rest: waiting.slice(group.length) };
};

/**
 * Checks are collected for one turn of the event loop and go in together, as one statement and one
 * commit (store/turn-groups.ts: one group in flight, a deadline per statement): on PGlite, which runs
 * one statement at a time, blocking the event loop, and flushes its WAL at every commit, that was most
 * of a cached check's cost; on PostgreSQL it saves a round trip, a socket write and a WAL flush per
 * check. Each check still gets its own function call, so limits hold at their boundary exactly as with
 * one statement per check. A group is ordered by account, so groups of several replicas take the rows
 * they lock (all keyed by account) in one order and cannot deadlock. A group the store refused with an
 * SQL error was rolled back, so each check goes again on its own and its failure stays its own. Any
 * other failure (an unreachable store, a missed deadline, a wrong row count, a client-side error after
 * the reply) fails the group together: it may have committed, and going again would take a second rate
 * token and reservation per check. Such a commit charges those checks unanswered, as a lost reply does
 * (a retry with the check's idempotency key is charged once).
 */
function grouped(store: Store, deadlineMs: number | undefined): Call {
  const add = turnGroups<Waiting, AdmissionRow>({
    take: firstChecks,
    // One row per check (turnGroups fails a group answered otherwise). Prepared: each connection parses a text once.
    run: (group) =>
      group.length === 1
        ? store.query<AdmissionRow>(ADMIT, group[0]!.params, { prepared: true })
        : store.query<AdmissionRow>(
            ADMIT_GROUP,
            // One text whatever the group's size (its parameters are arrays).
            group[0]!.params.map((_, i) => group.map((call) => call.params[i])),
            { prepared: true },
          ),
    // After an SQL error (rolled back): each check alone, stopping at an unreachable store (each would wait out the deadline in turn).
    retry: oneAtATime,
    what: "an admission group's statement",
    ...(deadlineMs === undefined ? {} : { deadlineMs }),
  });
  return (params) => new Promise((resolve, reject) => add({ params, resolve, reject }));
}

/** The admission of checks into one store. */
export function admitter(store: Store, ledger: UsageLedger, options: { deadlineMs?: number } = {}): (request: AdmissionRequest) => Promise<Admission> {
  const call = grouped(store, options.deadlineMs);
  return async (request) => {
    const { terms, usage } = request;
    const { policy, nowMs } = terms.rate;
    const row = await call([
      request.accountId,
      request.sha256,
      request.takeRate ? terms.rate.scope : null,
      policy.burst,
      nowMs,
      policy.perMinute / 60_000,
      terms.quota.scope,
      terms.quota.period,
      terms.quota.limit,
      usage.key,
      await ledger.eventNameOf(usage.meter),
      request.now.toISOString(),
      request.once,
    ]);
    if (!row.rate_taken) {
      const before = row.bucket_tokens === null || row.bucket_updated_ms === null ? undefined : { tokens: row.bucket_tokens, updated_ms: row.bucket_updated_ms };
      return { kind: 'rate-limited', retryAfterSeconds: Math.max(1, bucketAt(before, policy, nowMs).retryAfterSeconds) };
    }
    if (row.quota_used === null) return { kind: 'quota-exceeded' };
    if (row.verdict_checked_at === null) return { kind: 'miss' };
    const verdict = verdictOf({
      sha256: request.sha256,
      ai_generated: row.verdict_ai_generated,
      generators: row.verdict_generators,
      provider: row.verdict_provider,
      checked_at: row.verdict_checked_at,
    });
    // A concurrent request of this account may have recorded the same verdict first: both read as news.
    const answer: Answer = row.answered_first_at
      ? { cached: true, checkedAt: new Date(row.answered_first_at).toISOString() }
      : { cached: false, checkedAt: request.now.toISOString() };
    return { kind: 'hit', verdict, answer };
  };
}
