import type { SubscriptionStatusOutput } from '@verifieddit/contracts';
import { AppError } from '../../errors.js';
import { startPeriodicWorker, type PeriodicWorker } from '../../jobs/periodic.js';
import type { LogPort } from '../../logger.js';
import type { StatusEvent, WatchStatusOptions } from '../ports.js';
import type { SubscriptionChanges } from './ports.js';

/** What the streams read: the account's status with its latest change id, and the changes after an id. */
interface StatusHistory {
  statusWithChangeId(accountId: string): Promise<{ id: number; status: SubscriptionStatusOutput }>;
  changesSince(accountId: string, afterId: number, limit?: number): Promise<{ id: number; status: SubscriptionStatusOutput }[]>;
  oldestChangeId(): Promise<number | undefined>;
}

export interface StatusStreamsOptions {
  history: StatusHistory;
  changes: SubscriptionChanges;
  /** Open streams per account on this server; one more is refused with TOO_MANY_STREAMS. */
  maxPerAccount?: number;
  now?: () => number;
}

class StreamClosed extends Error {}

/**
 * Live subscription status per account, fed by the change bus. One bus subscription serves every
 * stream (a map from account to its waiting streams); each stream reads the account's changes
 * after its last sent id from the history, so a notification that arrives twice, late or
 * coalesced never makes it miss or repeat a change.
 */
export class StatusStreams {
  private readonly waiting = new Map<string, Set<() => void>>();
  private readonly open = new Map<string, number>();
  private readonly closers = new Set<(error: Error) => void>();
  private readonly unsubscribe: () => void;
  private closing = false;
  private readonly maxPerAccount: number;
  private readonly now: () => number;

  constructor(private readonly options: StatusStreamsOptions) {
    this.maxPerAccount = options.maxPerAccount ?? 5;
    this.now = options.now ?? Date.now;
    this.unsubscribe = options.changes.subscribe((change) => {
      for (const wake of this.waiting.get(change.accountId) ?? []) wake();
    });
  }

  /** Open streams on this server (all accounts). */
  get size(): number {
    let total = 0;
    for (const n of this.open.values()) total += n;
    return total;
  }

  async *watch(accountId: string, options: WatchStatusOptions = {}): AsyncGenerator<StatusEvent, void, undefined> {
    if (this.closing) throw new AppError('NOT_READY', 'The server is shutting down: reconnect to another one');
    const count = this.open.get(accountId) ?? 0;
    if (count >= this.maxPerAccount) {
      throw new AppError('TOO_MANY_STREAMS', `This account already has ${count} live status streams open on this server; close one (e.g. another tab) first`, {
        details: { limit: this.maxPerAccount },
      });
    }
    this.open.set(accountId, count + 1);

    // Listen before reading, so a change committed between the read and the wait still wakes us.
    let pending = true;
    let wake: () => void = () => {};
    const waiters = this.waiting.get(accountId) ?? new Set();
    this.waiting.set(accountId, waiters);
    const notify = () => {
      pending = true;
      wake();
    };
    waiters.add(notify);
    let stop: ((error: Error) => void) | undefined;
    const stopped = new Promise<never>((_, reject) => {
      stop = reject;
    });
    stopped.catch(() => {});
    const end = (error: Error) => stop?.(error);
    this.closers.add(end);
    const onAbort = () => end(new StreamClosed());
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const expiry =
      options.expiresAt !== undefined
        ? setTimeout(() => end(new AppError('UNAUTHENTICATED', 'The session token expired: reconnect with a fresh token')), Math.max(0, options.expiresAt - this.now()))
        : undefined;
    expiry?.unref?.();

    try {
      if (options.signal?.aborted) return;
      // Whatever the read below covers needs no wake-up; a change arriving from now on sets `pending` again.
      pending = false;
      let cursor = await this.resumePoint(accountId, options.lastEventId);
      if (cursor.initial) yield cursor.initial;
      // A resumed stream first reads what it missed.
      else pending = true;
      for (;;) {
        if (!pending) {
          await Promise.race([new Promise<void>((resolve) => (wake = resolve)), stopped]);
        }
        pending = false;
        for (;;) {
          const changes = await Promise.race([this.options.history.changesSince(accountId, cursor.id), stopped]);
          for (const change of changes) {
            yield { id: String(change.id), status: change.status };
            cursor = { id: change.id };
          }
          if (changes.length < 100) break;
        }
      }
    } catch (error) {
      if (error instanceof StreamClosed) return;
      throw error;
    } finally {
      if (expiry) clearTimeout(expiry);
      options.signal?.removeEventListener('abort', onAbort);
      this.closers.delete(end);
      waiters.delete(notify);
      if (!waiters.size) this.waiting.delete(accountId);
      const left = (this.open.get(accountId) ?? 1) - 1;
      if (left > 0) this.open.set(accountId, left);
      else this.open.delete(accountId);
    }
  }

  /**
   * Where a stream starts. A new stream (or one whose id is unknown or older than the kept history)
   * gets the current status with the id of the latest change; a reconnect gets only what it missed.
   */
  private async resumePoint(accountId: string, lastEventId: string | null | undefined): Promise<{ id: number; initial?: StatusEvent }> {
    const last = lastEventId && /^\d{1,15}$/.test(lastEventId) ? Number(lastEventId) : undefined;
    if (last !== undefined) {
      const oldest = await this.options.history.oldestChangeId();
      // Anything after `last` is still kept (or nothing was ever pruned past it): replay from there.
      if (oldest === undefined || oldest <= last + 1) return { id: last };
    }
    const current = await this.options.history.statusWithChangeId(accountId);
    return { id: current.id, initial: { id: String(current.id), status: current.status } };
  }

  /**
   * Ends every open stream (graceful stop) with NOT_READY, which tRPC's client treats as "reconnect":
   * its EventSource comes back, with its Last-Event-ID, to whichever replica is still up.
   */
  async close(): Promise<void> {
    this.closing = true;
    this.unsubscribe();
    for (const end of [...this.closers]) end(new AppError('NOT_READY', 'The server is shutting down: reconnecting'));
  }
}

/** Drops changes older than `keepHours` every hour (idempotent: every replica may run it). */
export function startChangeHistoryPruning(
  history: { pruneChanges(olderThan: Date): Promise<number> },
  keepHours: number,
  log: LogPort,
): PeriodicWorker {
  return startPeriodicWorker({
    name: 'change history pruning',
    intervalMs: 3600_000,
    // Soon after a start (replicas scaled to zero may never live an hour), after its first requests.
    firstPassAfterMs: 10_000,
    run: () => history.pruneChanges(new Date(Date.now() - keepHours * 3600_000)),
    log,
  });
}
