import { isEntitledStatus, type SubscriptionStatusOutput } from '@verifieddit/contracts';
import { and, asc, eq, gt, lt, sql } from 'drizzle-orm';
import { customers, subscriptionChanges, subscriptions } from '../store/schema.js';
import type { Store } from '../store/ports.js';
import { SUBSCRIPTION_CHANGES_CHANNEL } from './changes/bus.js';
import type { SubscriptionChanges } from './changes/ports.js';
import { TERMINAL_STATUSES, type ApplyOutcome, type SubscriptionUpdate } from './ports.js';

const terminalList = sql.raw(TERMINAL_STATUSES.map((s) => `'${s}'`).join(', '));

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

/**
 * Subscription state per account. `apply` is a single atomic upsert whose WHERE clause only lets a
 * newer state through, so duplicates and out-of-order deliveries cannot put an older state on top of
 * a newer one — on one process or many sharing PostgreSQL. "Newer" means:
 *  - an end (canceled, incomplete_expired) of the stored subscription always wins over its live
 *    states, and nothing revives an ended subscription (Stripe never does; event timestamps can
 *    disagree, e.g. a past_due update stamped after the deletion);
 *  - otherwise a strictly greater (source_created, source_rank), or an equal one from a fresh
 *    provider read (`authoritative`).
 * The same statement appends the change to `subscription_changes` and NOTIFYs other replicas (at
 * commit), so history and notification exist exactly when the state changed; then `apply`
 * publishes the change to this process's subscribers.
 */
export class SubscriptionRepository {
  constructor(
    private readonly store: Store,
    private readonly changes?: SubscriptionChanges,
    /** Also queue each applied update in `subscription_event_outbox` (SUBSCRIPTION_EVENTS_URL is set). */
    private readonly options: { eventOutbox?: boolean } = {},
  ) {}

  async apply(update: SubscriptionUpdate): Promise<ApplyOutcome> {
    const values = {
      accountId: update.accountId,
      provider: update.provider,
      providerCustomerId: update.providerCustomerId,
      providerSubscriptionId: update.providerSubscriptionId,
      planId: update.planId,
      status: update.status,
      features: update.features,
      currentPeriodEnd: update.currentPeriodEnd,
      cancelAtPeriodEnd: update.cancelAtPeriodEnd,
      sourceCreated: update.sourceCreated,
      sourceRank: update.sourceRank,
      lastEventId: update.eventId,
      updatedAt: new Date(),
    };
    const { accountId: _key, ...changes } = values;
    const written = this.store.db
      .insert(subscriptions)
      .values(values)
      .onConflictDoUpdate({
        target: subscriptions.accountId,
        set: changes,
        setWhere: sql`${update.eventId} IS DISTINCT FROM ${subscriptions.lastEventId} AND (
          (${subscriptions.providerSubscriptionId} = ${update.providerSubscriptionId}
            AND ${update.status} IN (${terminalList}) AND ${subscriptions.status} NOT IN (${terminalList}))
          OR (
            NOT (${subscriptions.providerSubscriptionId} = ${update.providerSubscriptionId} AND ${subscriptions.status} IN (${terminalList}))
            AND ${
              update.authoritative
                ? sql`(${subscriptions.sourceCreated}, ${subscriptions.sourceRank}) <= (${update.sourceCreated}, ${update.sourceRank})`
                : sql`(${subscriptions.sourceCreated}, ${subscriptions.sourceRank}) < (${update.sourceCreated}, ${update.sourceRank})`
            }
          )
        )`,
      })
      .returning({ accountId: subscriptions.accountId });
    const snapshot = JSON.stringify(toStatusOutput(values));
    // The outbox row is written by the same statement as the change: it exists exactly when the change does.
    const outbox = this.options.eventOutbox
      ? sql`, queued AS (
        INSERT INTO subscription_event_outbox (change_id, payload)
        SELECT id, ${JSON.stringify(outboundUpdate(update))}::jsonb FROM change
      )`
      : sql``;
    const result = await this.store.db.execute<{ id: number | string }>(sql`
      WITH written AS ${written},
      change AS (
        INSERT INTO subscription_changes (account_id, status)
        SELECT account_id, ${snapshot}::jsonb FROM written RETURNING id, account_id
      )${outbox}
      SELECT id, pg_notify(${SUBSCRIPTION_CHANGES_CHANNEL}, json_build_object('id', id, 'accountId', account_id)::text) FROM change`);
    const [change] = (result as unknown as { rows: { id: number | string }[] }).rows;
    if (change) {
      this.changes?.publish({ id: Number(change.id), accountId: update.accountId });
      return 'applied';
    }

    const current = await this.get(update.accountId);
    if (current?.lastEventId === update.eventId) return 'duplicate';
    if (current && current.sourceCreated === update.sourceCreated && current.sourceRank === update.sourceRank) return 'tie';
    return 'stale';
  }

  async get(accountId: string): Promise<StoredSubscription | undefined> {
    const [row] = await this.store.db.select().from(subscriptions).where(eq(subscriptions.accountId, accountId)).limit(1);
    return row;
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
    const [latest] = await this.store.db
      .select({ id: subscriptionChanges.id })
      .from(subscriptionChanges)
      .where(eq(subscriptionChanges.accountId, accountId))
      .orderBy(sql`${subscriptionChanges.id} DESC`)
      .limit(1);
    return { id: latest?.id ?? 0, status: await this.statusOf(accountId) };
  }

  /** The account's changes after `afterId`, oldest first, each with the status it left. */
  async changesSince(accountId: string, afterId: number, limit = 100): Promise<{ id: number; status: SubscriptionStatusOutput }[]> {
    const rows = await this.store.db
      .select({ id: subscriptionChanges.id, status: subscriptionChanges.status })
      .from(subscriptionChanges)
      .where(and(eq(subscriptionChanges.accountId, accountId), gt(subscriptionChanges.id, afterId)))
      .orderBy(asc(subscriptionChanges.id))
      .limit(limit);
    return rows.map((row) => ({ id: Number(row.id), status: row.status as SubscriptionStatusOutput }));
  }

  /** The oldest change id still kept (any account): a Last-Event-ID before it may have missed pruned changes. */
  async oldestChangeId(): Promise<number | undefined> {
    const [row] = await this.store.db.select({ id: sql<number | string | null>`min(${subscriptionChanges.id})` }).from(subscriptionChanges);
    return row?.id == null ? undefined : Number(row.id);
  }

  /** Keeps the history short: changes older than `olderThan` are only needed by streams long gone. */
  async pruneChanges(olderThan: Date): Promise<number> {
    const rows = await this.store.db.delete(subscriptionChanges).where(lt(subscriptionChanges.createdAt, olderThan)).returning({ id: subscriptionChanges.id });
    return rows.length;
  }
}

/** The update as posted to SUBSCRIPTION_EVENTS_URL (dates as ISO strings). */
function outboundUpdate(update: SubscriptionUpdate): Record<string, unknown> {
  return {
    eventId: update.eventId,
    accountId: update.accountId,
    provider: update.provider,
    providerCustomerId: update.providerCustomerId,
    providerSubscriptionId: update.providerSubscriptionId,
    planId: update.planId,
    status: update.status,
    features: update.features,
    currentPeriodEnd: update.currentPeriodEnd?.toISOString() ?? null,
    cancelAtPeriodEnd: update.cancelAtPeriodEnd,
    sourceCreated: update.sourceCreated,
    sourceRank: update.sourceRank,
  };
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

/** One provider customer per account; concurrent callers converge on the first one stored. */
export class CustomerRepository {
  constructor(private readonly store: Store) {}

  async get(accountId: string): Promise<{ provider: string; customerId: string } | undefined> {
    const [row] = await this.store.db.select().from(customers).where(eq(customers.accountId, accountId)).limit(1);
    return row ? { provider: row.provider, customerId: row.providerCustomerId } : undefined;
  }

  /**
   * The customer usage is billed to: the checkout mapping, else the customer on the account's
   * subscription (subscriptions made in the Dashboard, migrated, or whose checkout completion is
   * late or lost reach us only through subscription events).
   */
  async billingCustomerOf(accountId: string): Promise<string | undefined> {
    const mapped = await this.get(accountId);
    if (mapped) return mapped.customerId;
    const [row] = await this.store.db
      .select({ customerId: subscriptions.providerCustomerId })
      .from(subscriptions)
      .where(eq(subscriptions.accountId, accountId))
      .limit(1);
    return row?.customerId ?? undefined;
  }

  async findAccountByCustomer(customerId: string): Promise<string | undefined> {
    const [row] = await this.store.db
      .select({ accountId: customers.accountId })
      .from(customers)
      .where(eq(customers.providerCustomerId, customerId))
      .limit(1);
    return row?.accountId;
  }

  /** Stores the mapping unless one exists; returns the mapping that won. */
  async claim(accountId: string, provider: string, customerId: string): Promise<string> {
    await this.store.db.insert(customers).values({ accountId, provider, providerCustomerId: customerId }).onConflictDoNothing();
    const stored = await this.get(accountId);
    if (!stored) throw new Error(`customer mapping for ${accountId} vanished`);
    return stored.customerId;
  }
}
