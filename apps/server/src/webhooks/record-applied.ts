import type { ApplyOutcome, SubscriptionUpdate, SubscriptionWriter, VerifiedEvent } from '../billing/ports.js';
import type { Store } from '../store/ports.js';
import type { InboxStatus } from './inbox.js';

export interface RecordedAndApplied {
  /** The event's status when it was already in the inbox (a redelivery): the statement changed nothing. */
  known?: InboxStatus;
  /**
   * What this statement stored: `processed` (done), or `processing` under this worker's lease when
   * the outcome needs more (a tie not from a provider read, or unknown). Absent when a concurrent
   * delivery of the same event stored it first.
   */
  stored?: 'processed' | 'processing';
  /** The upsert's outcome; null when a concurrent statement created the account's first row. */
  outcome: ApplyOutcome | null;
}

const KNOWN = 'NOT EXISTS (SELECT FROM known)';

/** The event's payload as JSON for a jsonb parameter: the text it was verified from when there is one. */
export const payloadJson = (event: VerifiedEvent): string => event.payloadText ?? JSON.stringify(event.payload);

/** Statement texts by the embedded upsert's text: one per kind of update, built once. */
const TEXTS = new Map<string, string>();

/**
 * Stores a new event and applies its update in ONE statement: the upsert (with its change
 * and outbox rows) runs only if the event id is not in the inbox yet, and the inbox
 * row it inserts already carries the outcome. All or nothing, so a crash leaves either both or
 * neither. A concurrent delivery of the same event waits on the account's row lock and then finds
 * the update already there (outcome duplicate) and the inbox row too (stored nothing): one effect.
 */
export async function recordApplied(
  store: Store,
  lease: { workerId: string; leaseMs: number },
  event: VerifiedEvent,
  update: SubscriptionUpdate,
  writer: Pick<SubscriptionWriter, 'embed'>,
  provider = 'stripe',
): Promise<RecordedAndApplied> {
  const upsert = writer.embed(update, { firstParam: 10, gate: KNOWN });
  // A tie is settled only by a fresh provider read; an update that is one already settles it.
  const settled: ApplyOutcome[] = update.authoritative ? ['applied', 'duplicate', 'stale', 'tie'] : ['applied', 'duplicate', 'stale'];
  let text = TEXTS.get(upsert.ctes);
  if (!text) {
    text = `WITH known AS (SELECT status FROM webhook_events WHERE id = $1),
       ${upsert.ctes},
       verdict AS (SELECT CASE WHEN ${KNOWN} THEN ${upsert.outcome} END AS outcome),
       stored AS (
         INSERT INTO webhook_events (id, provider, type, api_version, created, payload, status, attempts, next_attempt_at,
                                     locked_by, locked_until, outcome, processed_at)
         SELECT $1::text, $2::text, $3::text, $4::text, $5::bigint, $6::jsonb, CASE WHEN settled THEN 'processed' ELSE 'processing' END, 1, now(),
                $7::text, CASE WHEN NOT settled THEN now() + ($8::int * interval '1 millisecond') END,
                CASE WHEN settled THEN outcome END, CASE WHEN settled THEN now() END
           FROM (SELECT outcome, coalesce(outcome = ANY($9::text[]), false) AS settled FROM verdict) AS v
          WHERE ${KNOWN}
         ON CONFLICT (id) DO NOTHING
         RETURNING status
       )
       SELECT (SELECT status FROM known) AS known, (SELECT status FROM stored) AS stored, (SELECT outcome FROM verdict) AS outcome,
              ${upsert.changeId} AS change_id`;
    TEXTS.set(upsert.ctes, text);
  }
  const [row] = await store.query<{ known: InboxStatus | null; stored: 'processed' | 'processing' | null; outcome: ApplyOutcome | null; change_id: number | string | null }>(
    text,
    [
      event.id, provider, event.type, event.apiVersion, event.created, payloadJson(event),
      lease.workerId, lease.leaseMs, settled, ...upsert.params,
    ],
    { prepared: true },
  );
  upsert.committed(row?.change_id ?? null);
  return {
    ...(row?.known ? { known: row.known } : {}),
    ...(row?.stored ? { stored: row.stored } : {}),
    outcome: row?.outcome ?? null,
  };
}
