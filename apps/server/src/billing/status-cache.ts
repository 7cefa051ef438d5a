import type { SubscriptionStatusOutput } from '@verifieddit/contracts';
import type { SubscriptionChanges } from './changes/ports.js';
import type { SubscriptionReader } from './ports.js';

export interface StatusCacheOptions {
  /**
   * How long a read is reused when no change is heard. The change bus invalidates at once; this only
   * bounds how stale a replica can be if a notification is lost.
   */
  maxAgeMs?: number;
  /** Accounts kept (oldest out). */
  maxEntries?: number;
}

/**
 * Entitlement reads cached per account, invalidated by the change bus the ordered upsert fires: at
 * once for a change applied in this process (before the webhook's 2xx), on NOTIFY for one applied
 * by another replica, and after `maxAgeMs` at the latest. Concurrent misses for one account share
 * one store read. A read that was in flight when its account changed is neither cached nor joined
 * by later readers, so the first read after a change always sees it.
 */
export class CachedSubscriptionReader implements SubscriptionReader {
  private readonly entries = new Map<string, { status: SubscriptionStatusOutput; until: number }>();
  private readonly inflight = new Map<string, { read: Promise<SubscriptionStatusOutput>; stale: boolean }>();
  private readonly maxAgeMs: number;
  private readonly maxEntries: number;
  private readonly unsubscribe: () => void;

  constructor(
    private readonly source: SubscriptionReader,
    changes: SubscriptionChanges,
    options: StatusCacheOptions = {},
  ) {
    this.maxAgeMs = options.maxAgeMs ?? 2_000;
    this.maxEntries = options.maxEntries ?? 50_000;
    this.unsubscribe = changes.subscribe((change) => this.invalidate(change.accountId));
  }

  statusOf(accountId: string): Promise<SubscriptionStatusOutput> {
    const hit = this.entries.get(accountId);
    if (hit && Date.now() < hit.until) return Promise.resolve(hit.status);
    const pending = this.inflight.get(accountId);
    if (pending) return pending.read;
    const flight = { read: this.source.statusOf(accountId), stale: false };
    this.inflight.set(accountId, flight);
    const until = Date.now() + this.maxAgeMs;
    const done = () => {
      if (this.inflight.get(accountId) === flight) this.inflight.delete(accountId);
    };
    flight.read.then((status) => {
      done();
      if (!flight.stale) this.remember(accountId, status, until);
    }, done);
    return flight.read;
  }

  invalidate(accountId: string): void {
    this.entries.delete(accountId);
    const flight = this.inflight.get(accountId);
    if (flight) {
      flight.stale = true;
      this.inflight.delete(accountId);
    }
  }

  close(): void {
    this.unsubscribe();
    this.entries.clear();
  }

  private remember(accountId: string, status: SubscriptionStatusOutput, until: number): void {
    this.entries.delete(accountId);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(accountId, { status, until });
  }
}
