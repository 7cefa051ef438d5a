import type { WebhookEventSource } from '../billing/stripe/events.js';
import type { SubscriptionRepository } from '../billing/subscriptions.js';
import type { ApplyOutcome } from '../billing/types.js';
import type { LogPort } from '../logger.js';
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
  constructor(
    private readonly deps: {
      inbox: WebhookInbox;
      source: WebhookEventSource;
      subscriptions: Pick<SubscriptionRepository, 'apply'>;
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
      const status = await inbox.fail(id, row.attempts, message);
      log.error({ eventId: id, type: row.type, attempts: row.attempts, err: error }, status === 'failed' ? 'webhook event failed for good' : 'webhook event failed; will retry');
      return { status, error: message };
    }
  }

  /**
   * One pass of the retry worker: claims due events one at a time (each lease starts when its
   * processing does) until none is due or `limit` were processed.
   */
  async runDue(limit = 50): Promise<number> {
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
  start(intervalMs = 5_000): { stop(): Promise<void> } {
    let running: Promise<unknown> = Promise.resolve();
    const timer = setInterval(() => {
      running = running.then(() => this.runDue()).catch((error: unknown) => this.deps.log.error({ err: error }, 'webhook retry pass failed'));
    }, intervalMs);
    timer.unref();
    return {
      async stop() {
        clearInterval(timer);
        await running;
      },
    };
  }
}
