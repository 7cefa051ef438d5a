import type { ApplyOutcome, SubscriptionWriter, WebhookEventSource } from '../billing/ports.js';
import type { LogPort } from '../logger.js';
import { startPeriodicWorker, type PeriodicWorker } from '../jobs/periodic.js';
import { isStoreUnavailable } from '../store/store.js';
import type { InboxRow, WebhookInbox } from './inbox.js';

export type ProcessResult =
  | { status: 'processed'; outcome: ApplyOutcome }
  | { status: 'ignored' | 'unmapped'; reason: string }
  | { status: 'retrying' | 'failed'; error: string };

/**
 * Applies inbox events. Whoever holds the claim maps the event to one SubscriptionUpdate and applies
 * it through SubscriptionRepository.apply (the same write path as the local provider). A tie on the
 * ordering key (two events of one subscription in the same second) costs exactly one provider read.
 */
export class WebhookProcessor {
  /** Events this process is processing right now; every other lease it holds belongs to a dead attempt. */
  private readonly active = new Set<string>();

  constructor(
    private readonly deps: {
      inbox: WebhookInbox;
      source: WebhookEventSource;
      subscriptions: SubscriptionWriter;
      log: LogPort;
    },
  ) {}

  /** Processes one event if it is due and nobody else holds it; undefined otherwise. */
  async process(id: string): Promise<ProcessResult | undefined> {
    const row = await this.deps.inbox.claim(id);
    return row ? this.processClaimed(row) : undefined;
  }

  /** Processes an event this worker holds the claim on. */
  async processClaimed(row: InboxRow): Promise<ProcessResult> {
    const { inbox, source, subscriptions, log } = this.deps;
    const id = row.id;
    this.active.add(id);
    try {
      const mapped = await source.map(row.payload);
      if (mapped.kind !== 'update') {
        if (mapped.kind === 'unmapped') log.warn({ eventId: id, type: row.type, reason: mapped.reason }, 'webhook event maps to no account');
        await inbox.complete(id, mapped.kind, mapped.kind, mapped.reason);
        return { status: mapped.kind, reason: mapped.reason };
      }
      let outcome = await subscriptions.apply(mapped.update);
      // An update that already is a fresh provider read (checkout completion) spent this event's one
      // read: a tie then means the store already holds that same state, so no second read.
      if (outcome === 'tie' && !mapped.update.authoritative) {
        const fresh = await source.reread(mapped.update);
        if (fresh) outcome = await subscriptions.apply(fresh);
      }
      await inbox.complete(id, 'processed', outcome);
      log.info({ eventId: id, type: row.type, accountId: mapped.update.accountId, status: mapped.update.status, outcome }, 'webhook event processed');
      return { status: 'processed', outcome };
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const transient = isStoreUnavailable(error);
      let status: 'retrying' | 'failed';
      try {
        status = await inbox.fail(id, row.attempts, message, { transient });
      } catch (failError) {
        // The store is gone, so the failure cannot be recorded either. The lease is left behind; once
        // the store answers, the retry worker's next pass releases it (releaseOrphanedLeases).
        log.error({ eventId: id, type: row.type, err: error, recordErr: failError }, 'webhook event failed and the failure could not be recorded; retried once the store answers');
        return { status: 'retrying', error: message };
      }
      log.error({ eventId: id, type: row.type, attempts: row.attempts, transient, err: error }, status === 'failed' ? 'webhook event failed for good' : 'webhook event failed; will retry');
      return { status, error: message };
    } finally {
      this.active.delete(id);
    }
  }

  /**
   * One pass of the retry worker: claims due events one at a time (each lease starts when its
   * processing does) until none is due or `limit` were processed.
   */
  async runDue(limit = 50): Promise<number> {
    const released = await this.deps.inbox.releaseOrphanedLeases(this.active);
    if (released.length) this.deps.log.warn({ eventIds: released }, 'released leases of webhook attempts that ended without recording their outcome');
    let done = 0;
    while (done < limit) {
      const [row] = await this.deps.inbox.claimDue(1);
      if (!row) break;
      await this.processClaimed(row);
      done++;
    }
    return done;
  }

  /** The background retry loop; `stop()` waits for the pass in flight. */
  start(intervalMs = 5_000): PeriodicWorker {
    return startPeriodicWorker({ name: 'webhook retries', intervalMs, run: () => this.runDue(), log: this.deps.log });
  }
}
