import type { SubscriptionStatusOutput } from '@verifieddit/contracts';
import { isEntitledStatus } from '@verifieddit/contracts/statuses';
import type { Store } from '../store/ports.js';
import type { Rows } from '../store/rows.js';
import { outboundUpdate } from './changes/outbound.js';
import type { SubscriptionChanges } from './changes/ports.js';
import { TERMINAL_STATUSES, type ApplyOutcome, type EmbeddedApply, type SubscriptionUpdate, type SubscriptionWriter } from './ports.js';

type SubscriptionRow = Rows['subscriptions'];

const TERMINAL = TERMINAL_STATUSES.map((s) => `'${s}'`).join(', ');

/** The columns an update writes, by name: the upsert's one list. */
function columnsOf(update: SubscriptionUpdate) {
  return {
    account_id: update.accountId,
    provider: update.provider,
    provider_customer_id: update.providerCustomerId,
    provider_subscription_id: update.providerSubscriptionId,
    plan_id: update.planId,
    status: update.status,
    features: update.features,
    current_period_end: update.currentPeriodEnd,
    cancel_at_period_end: update.cancelAtPeriodEnd,
    source_created: update.sourceCreated,
    source_rank: update.sourceRank,
    last_event_id: update.eventId,
  } satisfies Omit<SubscriptionRow, 'updated_at'>;
}

export interface StoredSubscription {
  accountId: string;
  provider: string;
  providerCustomerId: string | null;
  providerSubscriptionId: string;
  planId: string | null;
  status: string;
  features: string[];
  currentPeriodEnd: Date | null;
  cancelAtPeriodEnd: boolean;
  sourceCreated: number;
  sourceRank: number;
  lastEventId: string | null;
}

const toStored = (r: SubscriptionRow): StoredSubscription => ({
  accountId: r.account_id,
  provider: r.provider,
  providerCustomerId: r.provider_customer_id,
  providerSubscriptionId: r.provider_subscription_id,
  planId: r.plan_id,
  status: r.status,
  features: r.features,
  currentPeriodEnd: r.current_period_end,
  cancelAtPeriodEnd: r.cancel_at_period_end,
  // bigint: node-postgres answers a string, PGlite a number.
  sourceCreated: Number(r.source_created),
  sourceRank: r.source_rank,
  lastEventId: r.last_event_id,
});

/** embed()'s outcome for the proposed row `p`: told from its locked prior row when the upsert wrote nothing (NULL without one). */
const OUTCOME = `CASE WHEN EXISTS (SELECT FROM written w WHERE w.account_id = p.account_id) THEN 'applied' ELSE (
    SELECT CASE WHEN o.last_event_id = p.last_event_id THEN 'duplicate'
                WHEN (o.source_created, o.source_rank) = (p.source_created, p.source_rank) THEN 'tie'
                ELSE 'stale' END
      FROM prior o WHERE o.account_id = p.account_id) END`;

/** A JSON array of values, for one jsonb parameter that carries a value per update. */
const jsonArray = (values: unknown[]) => JSON.stringify(values);

/**
 * Subscription state per account. `apply` is a single atomic upsert whose WHERE clause only lets a
 * newer state through, so duplicates and out-of-order deliveries cannot put an older state on top of
 * a newer one — on one process or many sharing PostgreSQL. "Newer" means:
 *  - an end (canceled, incomplete_expired) of the stored subscription always wins over its live
 *    states, and nothing revives an ended subscription (Stripe never does; event timestamps can
 *    disagree, e.g. a past_due update stamped after the deletion);
 *  - otherwise a strictly greater (source_created, source_rank), or an equal one from a fresh
 *    provider read (`authoritative`).
 * The same statement appends the change to `subscription_changes`, so history exists exactly when the
 * state changed. Other replicas are told after the commit (NOTIFY in the statement held PostgreSQL's
 * one notify lock through every commit's WAL flush: acks ran one at a time, about 400/s); `committed()`
 * publishes the change to this process's subscribers and the bus tells the others.
 */
export class SubscriptionRepository implements SubscriptionWriter {
  /** embed()'s statement texts by parameter offset, ordering and gate. */
  private readonly texts = new Map<string, string>();

  constructor(
    private readonly store: Store,
    private readonly changes?: SubscriptionChanges,
    /** Also queue each applied update in `subscription_event_outbox` (SUBSCRIPTION_EVENTS_URL is set). */
    private readonly options: { eventOutbox?: boolean } = {},
  ) {}

  async apply(update: SubscriptionUpdate): Promise<ApplyOutcome> {
    const upsert = this.embed([update]);
    const [row] = await this.store.query<{ change_id: number | string | null; outcome: ApplyOutcome | null }>(
      `WITH ${upsert.ctes} SELECT ${upsert.changeId} AS change_id, ${upsert.outcome} AS outcome FROM proposed p`,
      upsert.params,
      { prepared: true },
    );
    upsert.committed([row?.change_id ?? null]);
    if (row?.change_id != null) return 'applied';
    if (row?.outcome) return row.outcome;
    // Another statement inserted the account's first row meanwhile: its committed state decides.
    const current = await this.get(update.accountId);
    if (current?.lastEventId === update.eventId) return 'duplicate';
    if (current && current.sourceCreated === update.sourceCreated && current.sourceRank === update.sourceRank) return 'tie';
    return 'stale';
  }

  /**
   * The ordered upsert of several updates (one per account, all authoritative or none) for a caller's
   * statement, its parameters numbered from `firstParam`; it writes only where `gate` (SQL over the
   * caller's CTEs and the proposed row `p`, numbered by `p.ordinality` from 1) holds. The values travel
   * as JSON arrays, so the text is the same whatever the number of updates and is prepared once.
   * `prior` locks the stored rows, in account order, before the upsert reads them, so each outcome is
   * told against the state the upsert saw, and statements of several replicas lock in one order.
   */
  embed(updates: readonly SubscriptionUpdate[], options: { firstParam?: number; gate?: string } = {}): EmbeddedApply {
    const authoritative = updates[0]?.authoritative === true;
    if (updates.some((u) => (u.authoritative === true) !== authoritative)) throw new Error('embed(): mixed authoritative and event updates');
    // The upsert would touch an account's row twice in one statement, which PostgreSQL refuses.
    if (new Set(updates.map((u) => u.accountId)).size !== updates.length) throw new Error('embed(): two updates of one account');
    const [first, gate] = [options.firstParam ?? 1, options.gate ?? 'true'] as const;
    const key = `${first} ${authoritative} ${gate}`;
    let ctes = this.texts.get(key);
    if (!ctes) this.texts.set(key, (ctes = this.upsertText(Object.keys(columnsOf(updates[0]!)), first, gate, authoritative)));
    return {
      ctes,
      params: [
        jsonArray(updates.map(columnsOf)),
        jsonArray(updates.map(toStatusOutput)),
        ...(this.options.eventOutbox ? [jsonArray(updates.map(outboundUpdate))] : []),
      ],
      outcome: OUTCOME,
      changeId: '(SELECT c.id FROM change c WHERE c.account_id = p.account_id)',
      committed: (changeIds) => {
        changeIds.forEach((id, i) => {
          if (id !== null) this.changes?.publish({ id: Number(id), accountId: updates[i]!.accountId });
        });
      },
    };
  }

  /** The text of embed()'s CTEs: the same for every update of one kind, so it is built once per kind. */
  private upsertText(names: string[], first: number, gate: string, authoritative: boolean): string {
    const columns = names.filter((column) => column !== 'account_id');
    const [rows, snapshots, outbound] = [0, 1, 2].map((i) => `$${first + i}::jsonb`);
    const keyOrder = authoritative ? '<=' : '<';
    const of = (list: string) => `${list} -> (p.ordinality::int - 1)`;
    const queued = this.options.eventOutbox
      ? `,
      queued AS (INSERT INTO subscription_event_outbox (change_id, payload) SELECT c.id, ${of(outbound!)} FROM change c JOIN proposed p ON p.account_id = c.account_id)`
      : '';
    return `proposed AS (SELECT * FROM jsonb_populate_recordset(NULL::subscriptions, ${rows}) WITH ORDINALITY),
      prior AS (SELECT account_id, last_event_id, source_created, source_rank FROM subscriptions
                 WHERE account_id IN (SELECT account_id FROM proposed) ORDER BY account_id FOR UPDATE),
      written AS (
        INSERT INTO subscriptions AS s (account_id, ${columns.join(', ')}, updated_at)
        SELECT p.account_id, ${columns.map((c) => `p.${c}`).join(', ')}, now()
          FROM proposed p LEFT JOIN prior ON prior.account_id = p.account_id
         WHERE ${gate}
         ORDER BY p.account_id
        ON CONFLICT (account_id) DO UPDATE SET (${columns.join(', ')}, updated_at) = (${columns.map((c) => `EXCLUDED.${c}`).join(', ')}, now())
        WHERE EXCLUDED.last_event_id IS DISTINCT FROM s.last_event_id AND (
          (s.provider_subscription_id = EXCLUDED.provider_subscription_id AND EXCLUDED.status IN (${TERMINAL}) AND s.status NOT IN (${TERMINAL}))
          OR (NOT (s.provider_subscription_id = EXCLUDED.provider_subscription_id AND s.status IN (${TERMINAL}))
              AND (s.source_created, s.source_rank) ${keyOrder} (EXCLUDED.source_created, EXCLUDED.source_rank)))
        RETURNING account_id
      ),
      change AS (INSERT INTO subscription_changes (account_id, status)
                 SELECT w.account_id, ${of(snapshots!)} FROM written w JOIN proposed p ON p.account_id = w.account_id RETURNING id, account_id)${queued}`;
  }

  async get(accountId: string): Promise<StoredSubscription | undefined> {
    const [row] = await this.store.query<SubscriptionRow>('SELECT * FROM subscriptions WHERE account_id = $1', [accountId]);
    return row ? toStored(row) : undefined;
  }

  /** The provider customer on the account's subscription, if any. */
  async customerOfAccount(accountId: string): Promise<string | undefined> {
    return (await this.get(accountId))?.providerCustomerId ?? undefined;
  }

  async statusOf(accountId: string): Promise<SubscriptionStatusOutput> {
    const row = await this.get(accountId);
    return row ? toStatusOutput(row) : NO_SUBSCRIPTION;
  }

  /** The current status and the id of the latest change that produced it (0 if none is kept). */
  async statusWithChangeId(accountId: string): Promise<{ id: number; status: SubscriptionStatusOutput }> {
    const [latest] = await this.store.query<Pick<Rows['subscription_changes'], 'id'>>(
      'SELECT id FROM subscription_changes WHERE account_id = $1 ORDER BY id DESC LIMIT 1',
      [accountId],
    );
    return { id: latest ? Number(latest.id) : 0, status: await this.statusOf(accountId) };
  }

  /** The account's changes after `afterId`, oldest first, each with the status it left. */
  async changesSince(accountId: string, afterId: number, limit = 100): Promise<{ id: number; status: SubscriptionStatusOutput }[]> {
    const rows = await this.store.query<Pick<Rows['subscription_changes'], 'id' | 'status'>>(
      'SELECT id, status FROM subscription_changes WHERE account_id = $1 AND id > $2 ORDER BY id LIMIT $3',
      [accountId, afterId, limit],
    );
    return rows.map((row) => ({ id: Number(row.id), status: row.status as SubscriptionStatusOutput }));
  }

  /** The oldest change id still kept (any account): a Last-Event-ID before it may have missed pruned changes. */
  async oldestChangeId(): Promise<number | undefined> {
    const [row] = await this.store.query<{ id: number | string | null }>('SELECT min(id) AS id FROM subscription_changes');
    return row?.id == null ? undefined : Number(row.id);
  }

  /** Keeps the history short: changes older than `olderThan` are only needed by streams long gone. */
  async pruneChanges(olderThan: Date): Promise<number> {
    const rows = await this.store.query('DELETE FROM subscription_changes WHERE created_at < $1 RETURNING id', [olderThan]);
    return rows.length;
  }
}

const NO_SUBSCRIPTION: SubscriptionStatusOutput = { status: 'none', plan: null, features: [], currentPeriodEnd: null, cancelAtPeriodEnd: false, provider: null };

function toStatusOutput(row: Pick<StoredSubscription, 'status' | 'planId' | 'features' | 'currentPeriodEnd' | 'cancelAtPeriodEnd' | 'provider'>): SubscriptionStatusOutput {
  const status = row.status as SubscriptionStatusOutput['status'];
  return {
    status,
    plan: row.planId,
    features: isEntitledStatus(status) ? row.features : [],
    currentPeriodEnd: row.currentPeriodEnd?.toISOString() ?? null,
    cancelAtPeriodEnd: row.cancelAtPeriodEnd,
    provider: row.provider === 'stripe' || row.provider === 'local' ? row.provider : null,
  };
}
