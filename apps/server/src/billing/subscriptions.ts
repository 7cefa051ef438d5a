import { isEntitledStatus, type SubscriptionStatusOutput } from '@verifieddit/contracts';
import { eq, sql } from 'drizzle-orm';
import { customers, subscriptions } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { TERMINAL_STATUSES, type ApplyOutcome, type SubscriptionUpdate } from './types.js';

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
 */
export class SubscriptionRepository {
  constructor(private readonly store: Store) {}

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
    const written = await this.store.db
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
    if (written.length) return 'applied';

    const current = await this.get(update.accountId);
    if (current?.lastEventId === update.eventId) return 'duplicate';
    if (current && current.sourceCreated === update.sourceCreated && current.sourceRank === update.sourceRank) return 'tie';
    return 'stale';
  }

  async get(accountId: string): Promise<StoredSubscription | undefined> {
    const [row] = await this.store.db.select().from(subscriptions).where(eq(subscriptions.accountId, accountId)).limit(1);
    return row;
  }

  async findAccountBySubscription(providerSubscriptionId: string): Promise<string | undefined> {
    const [row] = await this.store.db
      .select({ accountId: subscriptions.accountId })
      .from(subscriptions)
      .where(eq(subscriptions.providerSubscriptionId, providerSubscriptionId))
      .limit(1);
    return row?.accountId;
  }

  async statusOf(accountId: string): Promise<SubscriptionStatusOutput> {
    const row = await this.get(accountId);
    if (!row) return { status: 'none', plan: null, features: [], currentPeriodEnd: null, cancelAtPeriodEnd: false, provider: null };
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
}

/** One provider customer per account; concurrent callers converge on the first one stored. */
export class CustomerRepository {
  constructor(private readonly store: Store) {}

  async get(accountId: string): Promise<{ provider: string; customerId: string } | undefined> {
    const [row] = await this.store.db.select().from(customers).where(eq(customers.accountId, accountId)).limit(1);
    return row ? { provider: row.provider, customerId: row.providerCustomerId } : undefined;
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
