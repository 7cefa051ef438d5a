import { randomUUID } from 'node:crypto';
import type { SubscriptionUpdate, SubscriptionWriter, VerifiedEvent } from '../billing/ports.js';
import type { Rows } from '../store/rows.js';
import type { Store } from '../store/ports.js';
import { payloadJson, type RecordedAndApplied } from './record-applied.js';
import { groupedRecorder } from './record-group.js';

export type InboxStatus = 'received' | 'processing' | 'retrying' | 'processed' | 'ignored' | 'unmapped' | 'failed' | 'invalid';

export interface InboxRow {
  id: string;
  type: string;
  created: number;
  status: InboxStatus;
  attempts: number;
  payload: unknown;
  outcome: string | null;
  reason: string | null;
  lastError: string | null;
  receivedAt: Date;
}

export interface InboxOptions {
  /** Attempts before an event is parked as failed (replay it with `pnpm billing webhooks replay`). */
  maxAttempts?: number;
  /** First retry delay; doubles per attempt, capped at one hour. */
  baseDelayMs?: number;
  /** How long a claim is held; a crashed replica's claim is taken over after it. */
  leaseMs?: number;
  /** Who holds claims (one id per process). */
  workerId?: string;
  /**
   * How long a delivery waits for its inline processing before answering 2xx anyway (the event is
   * already durable; processing goes on under its lease). Keeps Stripe from timing out on a slow read.
   */
  inlineDeadlineMs?: number;
}

/** Retry delay after a failure caused by the store being unavailable (not by the event). */
const TRANSIENT_RETRY_MS = 1_000;

type EventRow = Rows['webhook_events'];

const toRow = (r: EventRow): InboxRow => ({
  id: r.id,
  type: r.type,
  // bigint: node-postgres answers a string, PGlite a number.
  created: Number(r.created),
  status: r.status as InboxStatus,
  attempts: r.attempts,
  payload: r.payload,
  outcome: r.outcome,
  reason: r.reason,
  lastError: r.last_error,
  receivedAt: r.received_at,
});

/** How a new event is stored: claimed for processing now, ignored unread (a type we do not handle), or already settled by mapping. */
type Disposition = 'claim' | 'ignored' | { settled: 'ignored' | 'unmapped'; reason: string };

/**
 * The durable inbox of webhook events, keyed by event id. Every state change is one atomic SQL
 * statement, so any number of replicas can share it: an insert decides dedup, a leased claim
 * decides who processes, and only the lease holder can complete or fail the event.
 */
export class WebhookInbox {
  readonly workerId: string;
  readonly leaseMs: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly recorder: ReturnType<typeof groupedRecorder>;

  constructor(
    private readonly store: Store,
    options: InboxOptions = {},
  ) {
    this.workerId = options.workerId ?? `worker_${randomUUID()}`;
    this.maxAttempts = options.maxAttempts ?? 8;
    this.baseDelayMs = options.baseDelayMs ?? 5_000;
    // Above the worst case of one processing: a Stripe read is at most 3 attempts of 20 s plus backoff.
    this.leaseMs = options.leaseMs ?? 120_000;
    this.recorder = groupedRecorder(store, this);
  }

  /**
   * Stores the event unless its id is already there; resolves only once the row is durable. A
   * claimed event is stored already held by this worker (one statement instead of two), so the
   * delivery that brought it processes it right away; a duplicate returns undefined.
   */
  async record(event: VerifiedEvent, disposition: Disposition, provider = 'stripe'): Promise<InboxRow | undefined> {
    const claim = disposition === 'claim';
    const status = claim ? 'processing' : disposition === 'ignored' ? 'ignored' : disposition.settled;
    const rows = await this.store.query<EventRow>(
      `INSERT INTO webhook_events (id, provider, type, api_version, created, payload, status, attempts, next_attempt_at,
                                   locked_by, locked_until, outcome, processed_at, reason)
       VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, now(),
               $9, CASE WHEN $7 = 'processing' THEN now() + ($10::int * interval '1 millisecond') END, $11,
               CASE WHEN $7 <> 'processing' THEN now() END, $12)
       ON CONFLICT (id) DO NOTHING RETURNING *`,
      [
        event.id, provider, event.type, event.apiVersion, event.created, payloadJson(event), status,
        disposition === 'ignored' ? 0 : 1, disposition === 'ignored' ? null : this.workerId, this.leaseMs,
        claim ? null : status, typeof disposition === 'object' ? disposition.reason : null,
      ],
    );
    return rows[0] ? toRow(rows[0]) : undefined;
  }

  /** Stores a new event and applies its update in one statement, shared with the deliveries beside it (see record-group.ts). */
  recordApplied(event: VerifiedEvent, update: SubscriptionUpdate, writer: Pick<SubscriptionWriter, 'embed'>): Promise<RecordedAndApplied> {
    return this.recorder(event, update, writer);
  }

  /**
   * Keeps a signed event that can never be stored as-is or applied, for the operator: the raw body
   * as a JSON string (so NULs and odd types survive) and why it was refused. Terminal: never processed
   * nor replayed. A redelivery finds the row and changes nothing.
   */
  async recordInvalid(event: { id: string; type: string; created: number }, rawBody: string, reason: string, provider = 'stripe'): Promise<void> {
    // A raw NUL byte cannot reach here inside valid JSON, but text columns refuse it: escape to be sure.
    const raw = rawBody.replaceAll('\u0000', '\\u0000');
    await this.store.query(
      `INSERT INTO webhook_events (id, provider, type, created, payload, status, attempts, outcome, reason, processed_at)
       VALUES ($1, $2, $3, $4, $5::jsonb, 'invalid', 0, 'invalid', $6, now())
       ON CONFLICT (id) DO NOTHING`,
      [event.id, provider, event.type, event.created, JSON.stringify(raw), reason.slice(0, 2000)],
    );
  }

  /** Takes the lease on a due event; undefined when it is not due or another worker holds it. */
  async claim(id: string): Promise<InboxRow | undefined> {
    const rows = await this.store.query<EventRow>(
      `UPDATE webhook_events
          SET status = 'processing', locked_by = $2, locked_until = now() + ($3::int * interval '1 millisecond'), attempts = attempts + 1
        WHERE id = $1
          AND ((status IN ('received', 'retrying') AND (next_attempt_at IS NULL OR next_attempt_at <= now()))
               OR (status = 'processing' AND locked_until < now()))
        RETURNING *`,
      [id, this.workerId, this.leaseMs],
    );
    return rows[0] ? toRow(rows[0]) : undefined;
  }

  async complete(id: string, status: 'processed' | 'ignored' | 'unmapped', outcome: string, reason?: string): Promise<void> {
    await this.store.query(
      `UPDATE webhook_events SET status = $3, outcome = $4, reason = $5, processed_at = now(), locked_until = NULL, last_error = NULL
        WHERE id = $1 AND locked_by = $2`,
      [id, this.workerId, status, outcome, reason ?? null],
    );
  }

  /**
   * Schedules a retry with exponential backoff, or parks the event as failed after the bound. A
   * `transient` failure (the store was unavailable) says nothing about the event: it is retried
   * after a short fixed delay and does not count toward the bound.
   */
  async fail(id: string, attempts: number, error: string, options: { transient?: boolean } = {}): Promise<'retrying' | 'failed'> {
    const transient = options.transient === true;
    const failed = !transient && attempts >= this.maxAttempts;
    const delay = transient ? TRANSIENT_RETRY_MS : Math.min(this.baseDelayMs * 2 ** Math.max(0, attempts - 1), 3_600_000);
    await this.store.query(
      `UPDATE webhook_events
          SET status = $3, last_error = $4, locked_until = NULL, attempts = attempts - $6::int,
              next_attempt_at = CASE WHEN $3 = 'failed' THEN NULL ELSE now() + ($5::int * interval '1 millisecond') END
        WHERE id = $1 AND locked_by = $2`,
      [id, this.workerId, failed ? 'failed' : 'retrying', error.slice(0, 2000), delay, transient ? 1 : 0],
    );
    return failed ? 'failed' : 'retrying';
  }

  /**
   * Gives back the leases this worker holds on events it is not processing: attempts that died
   * without recording their end (the store went away mid-processing, so recording the failure failed
   * too, or a claim committed but its answer was lost). Without this such an event would sit out its
   * whole lease after the store returns. Only this worker's own leases (worker ids are per process)
   * older than `graceMs` are touched, so no other replica's claim and no claim whose answer is still
   * on its way is ever released. The dead attempt does not count toward the bound.
   */
  async releaseOrphanedLeases(active: Iterable<string>, graceMs = 2_000): Promise<string[]> {
    const rows = await this.store.query<Pick<EventRow, 'id'>>(
      `UPDATE webhook_events
          SET status = 'retrying', locked_until = NULL, next_attempt_at = now(), attempts = GREATEST(attempts - 1, 0),
              last_error = coalesce(last_error, 'the attempt ended without recording its outcome (store unavailable)')
        WHERE locked_by = $1 AND status = 'processing' AND NOT (id = ANY($2::text[]))
          AND locked_until < now() + ($3::int * interval '1 millisecond')
        RETURNING id`,
      [this.workerId, [...active], this.leaseMs - graceMs],
    );
    return rows.map((r) => r.id);
  }

  /**
   * Claims up to `limit` due events in one statement, oldest first. `FOR UPDATE SKIP LOCKED` lets
   * replicas polling together take disjoint rows instead of queueing on the same ones; the WHERE is
   * re-checked on the locked row, so a row another worker claimed meanwhile is never taken twice.
   */
  async claimDue(limit = 1): Promise<InboxRow[]> {
    const rows = await this.store.query<EventRow>(
      `UPDATE webhook_events AS w
          SET status = 'processing', locked_by = $2, locked_until = now() + ($3::int * interval '1 millisecond'), attempts = w.attempts + 1
         FROM (SELECT id FROM webhook_events
                WHERE (status IN ('received', 'retrying') AND (next_attempt_at IS NULL OR next_attempt_at <= now()))
                   OR (status = 'processing' AND locked_until < now())
                ORDER BY created, received_at
                LIMIT $1
                FOR UPDATE SKIP LOCKED) AS due
        WHERE w.id = due.id
        RETURNING w.*`,
      [limit, this.workerId, this.leaseMs],
    );
    return rows.map(toRow).sort((a, b) => a.created - b.created || a.receivedAt.getTime() - b.receivedAt.getTime());
  }

  async get(id: string): Promise<InboxRow | undefined> {
    const rows = await this.store.query<EventRow>('SELECT * FROM webhook_events WHERE id = $1', [id]);
    return rows[0] ? toRow(rows[0]) : undefined;
  }

  async list(status: InboxStatus, limit = 100): Promise<InboxRow[]> {
    const rows = await this.store.query<EventRow>(
      'SELECT * FROM webhook_events WHERE status = $1 ORDER BY received_at DESC LIMIT $2',
      [status, limit],
    );
    return rows.map(toRow);
  }

  /** Makes an event due again now, whatever happened to it (operators replay failed or unmapped ones). */
  async requeue(id: string): Promise<boolean> {
    const rows = await this.store.query(
      `UPDATE webhook_events SET status = 'received', attempts = 0, next_attempt_at = now(), locked_until = NULL, last_error = NULL
        WHERE id = $1 AND status NOT IN ('processing', 'invalid') RETURNING id`,
      [id],
    );
    return rows.length > 0;
  }

  async requeueFailed(): Promise<string[]> {
    const rows = await this.store.query<Pick<EventRow, 'id'>>(
      `UPDATE webhook_events SET status = 'received', attempts = 0, next_attempt_at = now(), last_error = NULL
        WHERE status = 'failed' RETURNING id`,
    );
    return rows.map((r) => r.id);
  }
}
