import type { LogPort } from '../../logger.js';
import { startPeriodicWorker, type PeriodicWorker } from '../../jobs/periodic.js';
import type { Store } from '../../store/ports.js';
import type { Rows } from '../../store/rows.js';
import type { FlushResult, UsageMeter, UsageOutbox } from '../ports.js';

/** The local provider records the ledger only: its "send" marks events delivered without going anywhere. */
export const ledgerOnlyMeter: UsageMeter = { name: 'ledger-only', send: async () => {} };

/**
 * An account has a provider customer when checkout mapped one (`customers`) or when its
 * subscription carries one (subscriptions that reached us only through `customer.subscription.*`
 * events: made in the Dashboard, migrated, or whose checkout completion is late or lost).
 */
const ACCOUNT_HAS_CUSTOMER = (account: string) => `(
  EXISTS (SELECT 1 FROM customers c WHERE c.account_id = ${account})
  OR EXISTS (SELECT 1 FROM subscriptions s WHERE s.account_id = ${account} AND s.provider_customer_id IS NOT NULL))`;

/**
 * Puts usage parked as `no_customer` back in the outbox once its account has a customer; the rows
 * keep their keys (the meter identifier) and timestamps, so they are sent exactly as they would
 * have been. `recentSeconds` limits the look to customers and subscriptions written that recently
 * (the periodic pass); without it every parked row is examined (once per process start).
 */
export async function releaseParkedUsage(store: Store, options: { recentSeconds?: number } = {}): Promise<number> {
  const recent = options.recentSeconds;
  const rows = await store.query<Pick<Rows['usage_ledger'], 'key'>>(
    recent === undefined
      ? `UPDATE usage_ledger u SET status = 'pending', next_attempt_at = now()
         WHERE u.status = 'no_customer' AND ${ACCOUNT_HAS_CUSTOMER('u.account_id')} RETURNING key`
      : `UPDATE usage_ledger SET status = 'pending', next_attempt_at = now()
         WHERE status = 'no_customer' AND account_id IN (
           SELECT account_id FROM customers WHERE created_at > now() - make_interval(secs => $1)
           UNION SELECT account_id FROM subscriptions WHERE provider_customer_id IS NOT NULL AND updated_at > now() - make_interval(secs => $1))
         RETURNING key`,
    recent === undefined ? [] : [recent],
  );
  return rows.length;
}

export interface OutboxOptions {
  store: Store;
  meter: UsageMeter;
  /** The provider customer of an account (undefined: the account never became a customer). */
  customerOf(accountId: string): Promise<string | undefined>;
  log: LogPort;
  batchSize?: number;
  /** How long a claimed row stays invisible to other workers. */
  leaseSeconds?: number;
  /** After this many failed attempts a row is parked as `failed` for an operator. */
  maxAttempts?: number;
  /** Delay before attempt n+1, in seconds. */
  backoffSeconds?: (attempts: number) => number;
  /** Re-examine parked rows of accounts whose customer appeared this recently; undefined: all of them. */
  releaseRecentSeconds?: number;
}

type LedgerRow = Pick<Rows['usage_ledger'], 'key' | 'account_id' | 'event_name' | 'quantity' | 'occurred_at' | 'attempts'>;

/**
 * Sends due ledger rows to the meter. Rows are claimed with a lease (FOR UPDATE SKIP LOCKED), so
 * replicas flushing together never send one row twice at once; a crash mid-send only delays the row.
 * The identifier is the ledger key, so a retry after an unknown outcome cannot double-count.
 */
async function flushUsageOutbox(options: OutboxOptions): Promise<FlushResult> {
  const { store, meter, log } = options;
  const lease = options.leaseSeconds ?? 60;
  const maxAttempts = options.maxAttempts ?? 20;
  const backoff = options.backoffSeconds ?? ((attempts: number) => Math.min(3600, 5 * 2 ** (attempts - 1)));
  const released = await releaseParkedUsage(store, options.releaseRecentSeconds === undefined ? {} : { recentSeconds: options.releaseRecentSeconds });
  const rows = await store.query<LedgerRow>(
    `UPDATE usage_ledger SET attempts = attempts + 1, next_attempt_at = now() + make_interval(secs => $2)
     WHERE key IN (
       SELECT key FROM usage_ledger WHERE status = 'pending' AND next_attempt_at <= now()
       ORDER BY occurred_at LIMIT $1 FOR UPDATE SKIP LOCKED)
     RETURNING key, account_id, event_name, quantity, occurred_at, attempts`,
    [options.batchSize ?? 100, lease],
  );
  const result: FlushResult = { released, sent: 0, failed: 0, noCustomer: 0 };
  for (const row of rows) {
    const customerId = await options.customerOf(row.account_id);
    if (!customerId) {
      // Free users without a provider customer: the ledger is the record; nothing to bill yet. The
      // check is repeated in the statement, so a customer that appeared since the lookup (whose
      // release may already have run) leaves the row due again instead of parked.
      const [parked] = await store.query<Pick<Rows['usage_ledger'], 'status'>>(
        `UPDATE usage_ledger SET status = CASE WHEN ${ACCOUNT_HAS_CUSTOMER('$2')} THEN 'pending' ELSE 'no_customer' END, next_attempt_at = now()
         WHERE key = $1 RETURNING status`,
        [row.key, row.account_id],
      );
      if (parked?.status === 'no_customer') result.noCustomer++;
      continue;
    }
    try {
      await meter.send({ identifier: row.key, eventName: row.event_name, customerId, value: row.quantity, timestamp: new Date(row.occurred_at) });
      await store.query(`UPDATE usage_ledger SET status = 'sent', sent_at = now(), last_error = NULL WHERE key = $1`, [row.key]);
      result.sent++;
    } catch (error) {
      const attempts = Number(row.attempts);
      const final = attempts >= maxAttempts;
      await store.query(
        `UPDATE usage_ledger SET status = $2, last_error = $3, next_attempt_at = now() + make_interval(secs => $4) WHERE key = $1`,
        [row.key, final ? 'failed' : 'pending', String((error as Error).message).slice(0, 500), backoff(attempts)],
      );
      (final ? log.error : log.warn)({ key: row.key, attempts, err: error }, final ? 'meter event given up' : 'meter event failed, will retry');
      result.failed++;
    }
  }
  return result;
}

/** Runs the outbox every `intervalMs` until stopped. */
function startUsageOutbox(options: OutboxOptions & { intervalMs?: number }): PeriodicWorker {
  const intervalMs = options.intervalMs ?? 10_000;
  // The first pass examines every parked row; later ones only accounts whose customer appeared
  // lately (a window well above the interval, so a slow or skipped pass loses nothing).
  let firstPass = true;
  return startPeriodicWorker({
    name: 'usage outbox',
    intervalMs,
    run: async () => {
      const releaseRecentSeconds = firstPass ? undefined : Math.max(600, (20 * intervalMs) / 1000);
      await flushUsageOutbox({ ...options, ...(releaseRecentSeconds === undefined ? {} : { releaseRecentSeconds }) });
      firstPass = false;
    },
    log: options.log,
  });
}

/** The outbox as the rest of the server sees it: a pass on demand, or the background loop. */
export function createUsageOutbox(options: OutboxOptions): UsageOutbox {
  return {
    flush: () => flushUsageOutbox(options),
    start: (intervalMs) => startUsageOutbox({ ...options, ...(intervalMs === undefined ? {} : { intervalMs }) }),
  };
}
