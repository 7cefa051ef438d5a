import type { ApplyOutcome, SubscriptionUpdate, SubscriptionWriter, VerifiedEvent, WebhookEventSource } from '../billing/ports.js';
import type { LogPort } from '../logger.js';
import { startPeriodicWorker, type PeriodicWorker } from '../jobs/periodic.js';
import { isStoreUnavailable } from '../store/store.js';
import type { InboxRow, WebhookInbox } from './inbox.js';
import type { RecordedAndApplied } from './record-applied.js';

export type ProcessResult =
  | { status: 'processed'; outcome: ApplyOutcome }
  | { status: 'ignored' | 'unmapped'; reason: string }
  | { status: 'retrying' | 'failed'; error: string };

/** What taking a delivery did. */
export interface Receipt {
  /** False when the event id was in the inbox already (a redelivery). */
  stored: boolean;
  /** Processing left after the event became durable; the route waits for it up to its deadline. */
  pending?: Promise<ProcessResult | undefined>;
  /** What storing it also applied, for the caller's log line (the route puts it on the request's). */
  processed?: ProcessedEvent;
}

/** What the 'webhook event processed' line says. */
interface ProcessedEvent {
  eventId: string;
  eventType: string;
  accountId: string;
  subscriptionStatus: string;
  outcome: ApplyOutcome;
}

/** Statuses a redelivery may take the event from: due ones, and leases that ran out (claim() checks both). */
const TAKEN_ON_REDELIVERY = new Set(['received', 'retrying', 'processing']);

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

  /**
   * Takes a verified delivery of a handled type. An event that maps without the provider (a
   * subscription event) costs one statement: stored and applied together (record-applied.ts).
   * Anything else is stored claimed and processed the long way: map, apply, complete.
   */
  async receive(event: VerifiedEvent): Promise<Receipt> {
    const { inbox, source, log } = this.deps;
    // A mapping failure is not the delivery's: the long way stores the event and retries it.
    const mapped = await source.mapLocally(event.payload).catch((error: unknown) => {
      log.warn({ err: error, eventId: event.id }, 'mapping a webhook event failed; storing it the long way');
      return undefined;
    });
    if (mapped?.kind === 'update') {
      const done = await inbox.recordApplied(event, mapped.update, this.deps.subscriptions).catch((error: unknown) => {
        log.warn({ err: error, eventId: event.id }, 'storing and applying a webhook event in one statement failed; storing it the long way');
        return undefined;
      });
      if (done) return this.afterRecordApplied(event, mapped.update, done);
    } else if (mapped) {
      const row = await inbox.record(event, { settled: mapped.kind, reason: mapped.reason });
      if (row && mapped.kind === 'unmapped') log.warn({ eventId: event.id, type: event.type, reason: mapped.reason }, 'webhook event maps to no account');
      return { stored: row !== undefined };
    }
    const row = await inbox.record(event, 'claim');
    return row ? { stored: true, pending: this.processClaimed(row) } : { stored: false };
  }

  private afterRecordApplied(event: VerifiedEvent, update: SubscriptionUpdate, done: RecordedAndApplied): Receipt {
    if (done.known) {
      // A redelivery of an event still waiting for a retry takes it now, if claim() lets it.
      return TAKEN_ON_REDELIVERY.has(done.known) ? { stored: false, pending: this.process(event.id) } : { stored: false };
    }
    if (!done.stored) return { stored: false };
    if (done.stored === 'processed') return { stored: true, processed: processedEvent(event, update, done.outcome ?? 'applied') };
    // Stored under this worker's lease: a tie to settle with a provider read, or an outcome to learn.
    const row: InboxRow = {
      id: event.id, type: event.type, created: event.created, status: 'processing', attempts: 1, payload: event.payload,
      outcome: null, reason: null, lastError: null, receivedAt: new Date(),
    };
    return { stored: true, pending: this.underLease(row, () => this.finish(row, update, done.outcome ?? undefined)) };
  }

  /** Processes one event if it is due and nobody else holds it; undefined otherwise. */
  async process(id: string): Promise<ProcessResult | undefined> {
    const row = await this.deps.inbox.claim(id);
    return row ? this.processClaimed(row) : undefined;
  }

  /** Processes an event this worker holds the claim on. */
  processClaimed(row: InboxRow): Promise<ProcessResult> {
    return this.underLease(row, async () => {
      const mapped = await this.deps.source.map(row.payload);
      if (mapped.kind === 'update') return this.finish(row, mapped.update);
      if (mapped.kind === 'unmapped') this.deps.log.warn({ eventId: row.id, type: row.type, reason: mapped.reason }, 'webhook event maps to no account');
      await this.deps.inbox.complete(row.id, mapped.kind, mapped.kind, mapped.reason);
      return { status: mapped.kind, reason: mapped.reason };
    });
  }

  /** Applies a held event's update (unless `outcome` says how that went), spends a tie's one provider read, completes. */
  private async finish(row: InboxRow, update: SubscriptionUpdate, outcome?: ApplyOutcome): Promise<ProcessResult> {
    const { inbox, source, subscriptions } = this.deps;
    let result = outcome ?? (await subscriptions.apply(update));
    // An update that already is a fresh provider read (checkout completion) spent this event's one
    // read: a tie then means the store already holds that same state, so no second read.
    if (result === 'tie' && !update.authoritative) {
      const fresh = await source.reread(update);
      if (fresh) result = await subscriptions.apply(fresh);
    }
    await inbox.complete(row.id, 'processed', result);
    this.logProcessed(row, update, result);
    return { status: 'processed', outcome: result };
  }

  private logProcessed(event: { id: string; type: string }, update: SubscriptionUpdate, outcome: ApplyOutcome): void {
    this.deps.log.info(processedEvent(event, update, outcome), 'webhook event processed');
  }

  /** Runs `work` on a held event; a failure is recorded on the event (retried with backoff, or parked as failed). */
  private async underLease(row: InboxRow, work: () => Promise<ProcessResult>): Promise<ProcessResult> {
    const { inbox, log } = this.deps;
    const id = row.id;
    this.active.add(id);
    try {
      return await work();
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

const processedEvent = (event: { id: string; type: string }, update: SubscriptionUpdate, outcome: ApplyOutcome): ProcessedEvent => ({
  eventId: event.id,
  eventType: event.type,
  accountId: update.accountId,
  subscriptionStatus: update.status,
  outcome,
});
