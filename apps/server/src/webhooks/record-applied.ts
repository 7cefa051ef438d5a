import type { ApplyOutcome, SubscriptionUpdate, SubscriptionWriter, VerifiedEvent } from '../billing/ports.js';
import type { Rows } from '../store/rows.js';
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

/** An event to store and the update it applies. */
interface EventAndUpdate {
  event: VerifiedEvent;
  update: SubscriptionUpdate;
}

type Event = Rows['webhook_events'];

/** One row per event, in the order given. */
interface RecordedRow {
  known: Event['status'] | null;
  stored: Event['status'] | null;
  outcome: Event['outcome'];
  change_id: Rows['subscription_changes']['id'] | null;
}

/** Whether the proposed row `p`'s event is in the inbox already (`known` is keyed by the event's number). */
const KNOWN = 'EXISTS (SELECT FROM known k WHERE k.n = p.ordinality)';

/** The event's payload as JSON for a jsonb parameter: the text it was verified from when there is one. */
export const payloadJson = (event: VerifiedEvent): string => event.payloadText ?? JSON.stringify(event.payload);

/** Statement texts by the embedded upsert's text: one per kind of update, built once. */
const TEXTS = new Map<string, string>();

/**
 * Stores new events and applies their updates (one per account) in ONE statement: each event's upsert
 * (with its change and outbox rows) runs only if its id is not in the inbox yet, and the inbox row it
 * inserts already carries the outcome. All or nothing, so a crash leaves either both or neither, for
 * every event of the statement. A concurrent delivery of the same event waits on the account's row
 * lock and then finds the update already there (outcome duplicate) and the inbox row too (stored
 * nothing): one effect. The values travel as arrays, so one text serves any number of events.
 */
export async function recordApplied(
  store: Store,
  lease: { workerId: string; leaseMs: number },
  items: readonly EventAndUpdate[],
  writer: Pick<SubscriptionWriter, 'embed'>,
  provider = 'stripe',
): Promise<RecordedAndApplied[]> {
  const upsert = writer.embed(
    items.map((i) => i.update),
    { firstParam: 10, gate: `NOT ${KNOWN}` },
  );
  // A tie is settled only by a fresh provider read; an update that is one already settles it.
  const settled: ApplyOutcome[] = items[0]?.update.authoritative ? ['applied', 'duplicate', 'stale', 'tie'] : ['applied', 'duplicate', 'stale'];
  let text = TEXTS.get(upsert.ctes);
  if (!text) {
    text = `WITH input AS (SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) WITH ORDINALITY AS i(id, type, api_version, created, n)),
       known AS (SELECT i.n, e.status FROM input i JOIN webhook_events e ON e.id = i.id),
       ${upsert.ctes},
       verdict AS (SELECT p.ordinality AS n, CASE WHEN NOT ${KNOWN} THEN ${upsert.outcome} END AS outcome, ${upsert.changeId} AS change_id FROM proposed p),
       stored AS (
         INSERT INTO webhook_events (id, provider, type, api_version, created, payload, status, attempts, next_attempt_at,
                                     locked_by, locked_until, outcome, processed_at)
         SELECT i.id, $5::text, i.type, i.api_version, i.created, $6::jsonb -> (i.n::int - 1), CASE WHEN settled THEN 'processed' ELSE 'processing' END, 1, now(),
                $7::text, CASE WHEN NOT settled THEN now() + ($8::int * interval '1 millisecond') END,
                CASE WHEN settled THEN v.outcome END, CASE WHEN settled THEN now() END
           FROM input i JOIN (SELECT n, outcome, coalesce(outcome = ANY($9::text[]), false) AS settled FROM verdict) AS v ON v.n = i.n
          WHERE NOT EXISTS (SELECT FROM known k WHERE k.n = i.n)
          ORDER BY i.n
         ON CONFLICT (id) DO NOTHING
         RETURNING id, status
       )
       SELECT k.status AS known, s.status AS stored, v.outcome, v.change_id
         FROM input i JOIN verdict v ON v.n = i.n LEFT JOIN known k ON k.n = i.n LEFT JOIN stored s ON s.id = i.id
        ORDER BY i.n`;
    TEXTS.set(upsert.ctes, text);
  }
  const events = items.map((i) => i.event);
  const rows = await store.query<RecordedRow>(
    text,
    [
      events.map((e) => e.id), events.map((e) => e.type), events.map((e) => e.apiVersion ?? null), events.map((e) => e.created),
      provider, `[${events.map(payloadJson).join(',')}]`, lease.workerId, lease.leaseMs, settled, ...upsert.params,
    ],
    { prepared: true },
  );
  if (rows.length !== items.length) throw new Error(`recording ${items.length} webhook events returned ${rows.length} rows`);
  upsert.committed(rows.map((row) => row.change_id));
  return rows.map((row) => ({
    ...(row.known ? { known: row.known as InboxStatus } : {}),
    ...(row.stored ? { stored: row.stored as 'processed' | 'processing' } : {}),
    outcome: (row.outcome as ApplyOutcome | null) ?? null,
  }));
}
