import { randomUUID } from 'node:crypto';
import { IDEMPOTENCY_KEY_TTL_SECONDS, type AiDetectCheckOutput } from '@verifieddit/contracts';
import { AppError } from '../errors.js';
import { startPeriodicWorker, type PeriodicWorker } from '../jobs/periodic.js';
import type { LogPort } from '../logger.js';
import type { Store } from '../store/ports.js';
import type { Rows } from '../store/rows.js';

/**
 * Idempotency keys of checks (Stripe's `Idempotency-Key`): the same account, key and request are
 * charged once and answered the same again, on every replica (state in `ai_detect_idempotency_keys`,
 * migration 0011). Only keyed checks come here: a check without a key costs not one statement more.
 *
 * A keyed check claims its row in one statement, which also reads the row when someone holds it:
 *  - claimed: this request runs the check (charged as usual, its ledger row keyed by the row's charge
 *    id) and stores the answer; a failure releases the claim, keeping the key's request and charge id,
 *    so a retry of the same request runs again and a charge that did commit is metered once;
 *  - done, same request: the stored answer, marked `replayed`, with no charge, token or upstream call;
 *  - another request (image or URL): IDEMPOTENCY_KEY_REUSED, nothing charged;
 *  - pending: another request with this key is running (a client retry after a timeout, often on
 *    another replica): wait for its answer, as the verdict cache waits, and take over if it fails or its
 *    replica dies (the claim's lease, renewed while the check runs, runs out).
 * Keys live 24 h from their first use; an expired key is claimed as if new.
 */

export interface IdempotencySettings {
  store: Store;
  log: LogPort;
  now: () => Date;
  /** The claim's lease, renewed every third of it while the check runs: a live owner is never overtaken, a dead one's claim is taken over after it. */
  claimLeaseMs?: number;
  /** How long a request waits for the owner of its key before giving up. */
  waitTimeoutMs?: number;
}

/** Names the check's charge (its usage-ledger key ends with it), whoever runs the check. */
export type ChargeId = string;

type KeyRow = Rows['ai_detect_idempotency_keys'];
/** The claim statement's one row: the claim (owner), or the row as another request left it (other). */
type ClaimRow = { role: 'owner' | 'other' } & Pick<KeyRow, 'claim_token' | 'fingerprint' | 'answer'> & { state: KeyRow['state'] | null; charge_id: KeyRow['charge_id'] | null };

/**
 * Inserts the claim, or takes over an expired key, or a released or dead replica's claim of the same
 * request (its charge id kept, so its ledger row, if written, is this check's); otherwise reads the row.
 * Leases run on the database's clock, so replicas' clocks cannot stretch or shorten them; expiry (24 h)
 * on the service's, which tests move. The read
 * sees the statement's snapshot: a row inserted by a concurrent request just now may be missing, and
 * the caller asks again.
 */
const CLAIM = `WITH claimed AS (
    INSERT INTO ai_detect_idempotency_keys AS k (account_id, idempotency_key, fingerprint, state, claim_token, claimed_until, charge_id, expires_at)
    VALUES ($1, $2, $3, 'pending', $4, now() + make_interval(secs => $7::double precision), $5, $6::timestamptz + make_interval(secs => $8::double precision))
    ON CONFLICT (account_id, idempotency_key) DO UPDATE SET
      fingerprint = EXCLUDED.fingerprint, state = 'pending', claim_token = EXCLUDED.claim_token, claimed_until = EXCLUDED.claimed_until, answer = NULL,
      charge_id = CASE WHEN k.expires_at > $6::timestamptz THEN k.charge_id ELSE EXCLUDED.charge_id END,
      expires_at = CASE WHEN k.expires_at > $6::timestamptz THEN k.expires_at ELSE EXCLUDED.expires_at END
    WHERE k.expires_at <= $6::timestamptz OR (k.state = 'pending' AND k.claimed_until < now() AND k.fingerprint = EXCLUDED.fingerprint)
    RETURNING k.claim_token, k.charge_id
  )
  SELECT 'owner' AS role, claim_token, charge_id, NULL::text AS fingerprint, NULL::text AS state, NULL::jsonb AS answer FROM claimed
  UNION ALL
  SELECT 'other', NULL, NULL, k.fingerprint, k.state, k.answer FROM ai_detect_idempotency_keys k
  WHERE k.account_id = $1 AND k.idempotency_key = $2 AND NOT EXISTS (SELECT 1 FROM claimed)`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a stored answer was (jsonb: parsed by both drivers; text only if something stored JSON text). */
const answerOf = (stored: unknown): AiDetectCheckOutput => (typeof stored === 'string' ? JSON.parse(stored) : stored) as AiDetectCheckOutput;

export function createIdempotency(settings: IdempotencySettings) {
  const { store, now } = settings;
  const leaseSeconds = (settings.claimLeaseMs ?? 120_000) / 1000;
  const waitTimeoutMs = settings.waitTimeoutMs ?? 150_000;

  const reused = () =>
    new AppError(
      'IDEMPOTENCY_KEY_REUSED',
      'this idempotency key was already used for another image (or URL) in the last 24 hours: use a new key for a new check, and the same key only to retry the same check',
    );

  return {
    /**
     * The answer of the check `run` makes for `fingerprint` under this account's `key`: run at most
     * once with success per key, its answer replayed to every later request with the same key.
     */
    async once(accountId: string, key: string, fingerprint: string, run: (chargeId: ChargeId) => Promise<AiDetectCheckOutput>): Promise<AiDetectCheckOutput> {
      const deadline = Date.now() + waitTimeoutMs;
      let pause = 10;
      for (let waited = false; ; waited = true) {
        const token = randomUUID();
        // While waiting, a plain read first: the claim statement locks the row even when it changes nothing.
        const seen = waited ? await peek(accountId, key) : undefined;
        const [row] = seen?.takeable === false
          ? [{ role: 'other' as const, claim_token: null, charge_id: null, ...seen }]
          : await store.query<ClaimRow>(
              CLAIM,
              [accountId, key, fingerprint, token, randomUUID(), now().toISOString(), leaseSeconds, IDEMPOTENCY_KEY_TTL_SECONDS],
              { prepared: true },
            );
        if (row?.role === 'owner' && row.claim_token === token && row.charge_id) return runAsOwner(accountId, key, token, row.charge_id, run);
        if (row && row.fingerprint !== fingerprint) throw reused();
        if (row?.state === 'done') return { ...answerOf(row.answer), replayed: true };
        // Pending (or inserted by a concurrent request after this statement's snapshot): wait for it.
        if (Date.now() >= deadline) throw new AppError('DETECTION_UNAVAILABLE', 'timed out waiting for an earlier request with this idempotency key');
        await sleep(pause);
        pause = Math.min(250, pause * 2);
      }
    },
  };

  /** The key's row as a waiter sees it; `takeable` when a claim would take it (released, lease out, expired). */
  async function peek(accountId: string, key: string) {
    const [row] = await store.query<Pick<KeyRow, 'fingerprint' | 'state' | 'answer'> & { takeable: boolean }>(
      `SELECT fingerprint, state, answer, (expires_at <= $3::timestamptz OR (state = 'pending' AND claimed_until < now())) AS takeable
         FROM ai_detect_idempotency_keys WHERE account_id = $1 AND idempotency_key = $2`,
      [accountId, key, now().toISOString()],
      { prepared: true },
    );
    return row;
  }

  async function runAsOwner(accountId: string, key: string, token: string, chargeId: ChargeId, run: (chargeId: ChargeId) => Promise<AiDetectCheckOutput>) {
    let answer: AiDetectCheckOutput;
    // Renewed while the check runs: it may wait out another replica's verdict claim before its own upstream call.
    const renewal = setInterval(() => {
      store
        .query(`UPDATE ai_detect_idempotency_keys SET claimed_until = now() + make_interval(secs => $4::double precision) WHERE account_id = $1 AND idempotency_key = $2 AND claim_token = $3`, [
          accountId,
          key,
          token,
          leaseSeconds,
        ])
        .catch((error: unknown) => settings.log.warn({ err: error }, 'could not renew the claim of an idempotency key'));
    }, (leaseSeconds * 1000) / 3);
    try {
      answer = await run(chargeId);
    } catch (error) {
      // Released, not deleted: the failure may have come after the charge committed (a reply lost on its
      // way back), so the retry takes the claim over with the same charge id and the ledger counts it once.
      await store
        .query(`UPDATE ai_detect_idempotency_keys SET claim_token = NULL, claimed_until = '-infinity' WHERE account_id = $1 AND idempotency_key = $2 AND claim_token = $3 AND state = 'pending'`, [accountId, key, token])
        .catch((releaseError: unknown) => settings.log.warn({ err: releaseError }, 'could not release an idempotency key'));
      throw error;
    } finally {
      clearInterval(renewal);
    }
    // Under our claim only: a claim taken over after our lease ran out belongs to the other request.
    // The check is charged already, so its answer is given even if this write fails: a retry then waits
    // for the lease and runs again under the same charge id (the meter still counts it once).
    const stored = await store
      .query(
        `UPDATE ai_detect_idempotency_keys SET state = 'done', claim_token = NULL, claimed_until = NULL, answer = $4::jsonb
         WHERE account_id = $1 AND idempotency_key = $2 AND claim_token = $3 RETURNING 1`,
        [accountId, key, token, JSON.stringify(answer)],
      )
      .catch((error: unknown) => settings.log.error({ err: error, accountId }, 'could not store the answer of an idempotency key'));
    if (stored?.length === 0) settings.log.warn({ accountId }, 'the claim of an idempotency key was taken over before its answer was stored');
    return answer;
  }
}

/** Expired keys deleted per statement, so a purge never holds many row locks or one long transaction. */
const PURGE_BATCH = 1_000;

/**
 * Deletes the keys that expired before `before` (an expired key is only ever claimed as new, so its row
 * is dead weight), and the quota reservations of keyed checks no key can retry any more; returns how
 * many keys. Idempotent: every replica may run it.
 */
export async function purgeExpiredKeys(store: Store, before: Date): Promise<number> {
  let purged = 0;
  for (;;) {
    const rows = await store.query<Pick<KeyRow, 'account_id'>>(
      // expires_at again outside: a key claimed anew while the DELETE waited for its row is not expired any more.
      `DELETE FROM ai_detect_idempotency_keys WHERE (account_id, idempotency_key) IN (
         SELECT account_id, idempotency_key FROM ai_detect_idempotency_keys WHERE expires_at < $1 LIMIT ${PURGE_BATCH})
         AND expires_at < $1
       RETURNING account_id`,
      [before.toISOString()],
    );
    purged += rows.length;
    if (rows.length < PURGE_BATCH) break;
  }
  // A keyed check's quota reservation matters while its key can be retried (24 h after the key was made).
  for (;;) {
    const rows = await store.query(
      `DELETE FROM ai_detect_quota_charges WHERE usage_key IN (
         SELECT usage_key FROM ai_detect_quota_charges WHERE reserved_at < $1::timestamptz - interval '25 hours' LIMIT ${PURGE_BATCH})
       RETURNING 1`,
      [before.toISOString()],
    );
    if (rows.length < PURGE_BATCH) return purged;
  }
}

/** Purges expired keys every hour, starting soon after a start (replicas scaled to zero may never live an hour). */
export function startIdempotencyKeyPurge(store: Store, log: LogPort): PeriodicWorker {
  return startPeriodicWorker({
    name: 'idempotency key purge',
    intervalMs: 3600_000,
    firstPassAfterMs: 10_000,
    run: () => purgeExpiredKeys(store, new Date()),
    log,
  });
}
