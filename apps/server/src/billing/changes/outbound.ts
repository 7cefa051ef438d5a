import { createHmac, randomUUID } from 'node:crypto';
import type { LogPort } from '../../logger.js';
import { startPeriodicWorker, type PeriodicWorker } from '../../jobs/periodic.js';
import type { Store } from '../../store/ports.js';
import type { Rows } from '../../store/rows.js';
import type { SubscriptionUpdate } from '../ports.js';

const JOB = 'subscription-events';
/** The header receivers verify, shaped like Stripe-Signature: `t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
const SIGNATURE_HEADER = 'Verifieddit-Signature';

interface SubscriptionEventsOptions {
  store: Store;
  url: string;
  secret: string;
  log: LogPort;
  /** How often the outbox is polled (default 2 s). */
  intervalMs?: number;
  /** First retry delay after a failed post; doubles per attempt up to one hour (default 5 s). */
  retryBaseMs?: number;
  /** Per-request timeout (default 10 s). */
  timeoutMs?: number;
  holder?: string;
  fetch?: typeof fetch;
}

/** A decision, per field of `SubscriptionUpdate`, whether receivers see it (a field left out does not compile). */
export type PublicationTable = Record<keyof SubscriptionUpdate, boolean>;

/**
 * What SUBSCRIPTION_EVENTS_URL receivers get of an applied update: a public contract (docs/operations.md),
 * so a new field of `SubscriptionUpdate` reaches them only when it is marked `true` here.
 */
const PUBLISHED = {
  eventId: true,
  accountId: true,
  provider: true,
  providerCustomerId: true,
  providerSubscriptionId: true,
  planId: true,
  status: true,
  features: true,
  currentPeriodEnd: true,
  cancelAtPeriodEnd: true,
  sourceCreated: true,
  sourceRank: true,
  /** How our upsert breaks an ordering tie, not a fact about the subscription. */
  authoritative: false,
} as const satisfies PublicationTable;

type PublishedField = { [K in keyof typeof PUBLISHED]: (typeof PUBLISHED)[K] extends true ? K : never }[keyof typeof PUBLISHED];
const PUBLISHED_FIELDS = (Object.keys(PUBLISHED) as (keyof typeof PUBLISHED)[]).filter((field): field is PublishedField => PUBLISHED[field]);

/** The `data` of a posted event: the published fields, dates as ISO strings. */
type OutboundUpdate = Omit<Pick<SubscriptionUpdate, PublishedField>, 'currentPeriodEnd'> & { currentPeriodEnd: string | null };

export function outboundUpdate(update: SubscriptionUpdate): OutboundUpdate {
  const published = Object.fromEntries(PUBLISHED_FIELDS.map((field) => [field, update[field]])) as Pick<SubscriptionUpdate, PublishedField>;
  return { ...published, currentPeriodEnd: update.currentPeriodEnd?.toISOString() ?? null };
}

function signSubscriptionEvent(secret: string, body: string, timestamp: number): string {
  const v1 = createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
  return `t=${timestamp},v1=${v1}`;
}

type OutboxRow = Pick<Rows['subscription_event_outbox'], 'change_id' | 'payload' | 'attempts' | 'created_at'>;

/**
 * One pass: under the `subscription-events` lease (one replica posts at a time), posts every due
 * undelivered outbox row and marks it delivered only after a 2xx; a failure schedules a retry with
 * backoff. Each body carries `id` (`subchg_<change id>`), so a receiver dedupes a repeat after a
 * lost 2xx. Returns how many rows were delivered, or 'skipped' when another replica holds the lease.
 */
async function postSubscriptionEventsOnce(options: SubscriptionEventsOptions & { holder: string }): Promise<number | 'skipped'> {
  const leaseSeconds = Math.max(30, ((options.timeoutMs ?? 10_000) / 1000) * 3);
  const [lease] = await options.store.query<Pick<Rows['job_leases'], 'name'>>(
    `INSERT INTO job_leases (name, holder, locked_until, last_run_at) VALUES ($1, $2, now() + make_interval(secs => $3), now())
     ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, locked_until = EXCLUDED.locked_until, last_run_at = now()
     WHERE job_leases.locked_until < now() OR job_leases.holder = EXCLUDED.holder
     RETURNING name`,
    [JOB, options.holder, leaseSeconds],
  );
  if (!lease) return 'skipped';
  const rows = await options.store.query<OutboxRow>(
    `SELECT change_id, payload, attempts, created_at FROM subscription_event_outbox
     WHERE delivered_at IS NULL AND next_attempt_at <= now() ORDER BY change_id LIMIT 100`,
  );
  const doFetch = options.fetch ?? fetch;
  let delivered = 0;
  // Stop well inside the lease, so no other replica can take it over while this one still posts.
  const passEnds = Date.now() + (leaseSeconds * 1000) / 2;
  for (const row of rows) {
    if (Date.now() > passEnds) break;
    const changeId = Number(row.change_id);
    const body = JSON.stringify({
      id: `subchg_${changeId}`,
      type: 'subscription.update',
      created: Math.floor(new Date(row.created_at).getTime() / 1000),
      data: row.payload,
    });
    const timestamp = Math.floor(Date.now() / 1000);
    let failure: string | undefined;
    try {
      const response = await doFetch(options.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signSubscriptionEvent(options.secret, body, timestamp) },
        body,
        signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
      });
      await response.arrayBuffer().catch(() => undefined);
      if (response.status < 200 || response.status >= 300) failure = `HTTP ${response.status}`;
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error);
    }
    if (failure === undefined) {
      await options.store.query(`UPDATE subscription_event_outbox SET delivered_at = now(), attempts = attempts + 1, last_error = NULL WHERE change_id = $1`, [changeId]);
      delivered += 1;
    } else {
      const delayMs = Math.min(3_600_000, (options.retryBaseMs ?? 5_000) * 2 ** Math.min(row.attempts, 20));
      await options.store.query(
        `UPDATE subscription_event_outbox SET attempts = attempts + 1, last_error = $2, next_attempt_at = now() + make_interval(secs => $3) WHERE change_id = $1`,
        [changeId, failure.slice(0, 500), delayMs / 1000],
      );
      options.log.warn({ changeId, attempts: row.attempts + 1, error: failure }, 'subscription event post failed; will retry');
    }
  }
  return delivered;
}

/** The background loop (registered in bootstrap only when SUBSCRIPTION_EVENTS_URL is set). */
export function startSubscriptionEvents(options: SubscriptionEventsOptions): PeriodicWorker {
  const holder = options.holder ?? `subscription-events_${randomUUID()}`;
  return startPeriodicWorker({
    name: 'subscription events',
    intervalMs: options.intervalMs ?? 2_000,
    run: () => postSubscriptionEventsOnce({ ...options, holder }),
    log: options.log,
    firstPassAfterMs: 2_000,
    afterStop: async () => {
      await options.store.query(`UPDATE job_leases SET locked_until = now() WHERE name = $1 AND holder = $2`, [JOB, holder]).catch(() => {});
    },
  });
}
