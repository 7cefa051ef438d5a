/**
 * The subscription change bus. `SubscriptionRepository.apply` publishes one change each time its
 * ordered upsert actually changes an account's subscription; anything that must react to a change
 * (live status streams, read caches) subscribes here instead of polling the store.
 */
export interface SubscriptionChange {
  /** Monotonically increasing per store (the `subscription_changes` row id): an SSE event id. */
  id: number;
  accountId: string;
}

export type SubscriptionChangeListener = (change: SubscriptionChange) => void;

export interface SubscriptionChanges {
  /**
   * A change this process committed: every local subscriber hears it now, other replicas through the
   * store (PostgreSQL: a NOTIFY after the commit, and each replica's catch-up poll if one is lost).
   */
  publish(change: SubscriptionChange): void;
  /** Calls `listener` for every change applied by any replica; returns the unsubscribe function. */
  subscribe(listener: SubscriptionChangeListener): () => void;
  close(): Promise<void>;
}
