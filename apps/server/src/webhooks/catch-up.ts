import type { RecoverySource } from '../billing/ports.js';
import type { WebhookInbox } from './inbox.js';
import type { WebhookProcessor } from './processor.js';

export interface CatchUpReport {
  /** Handled events the provider has since `since`. */
  listed: number;
  /** Of those, new to the inbox (their delivery never reached us). */
  recovered: string[];
  /** Recovered and processed now, by outcome. */
  outcomes: Record<string, number>;
}

/**
 * Recovers deliveries the provider gave up on: lists its events since `since` and stores each one
 * the inbox does not have yet (the inbox is keyed by event id, so an event that did arrive, or that
 * a concurrent delivery stores first, is skipped), then processes it through the same processor as
 * a delivery. Each event is therefore processed exactly once.
 */
export async function catchUpEvents(options: { source: RecoverySource; inbox: WebhookInbox; processor: WebhookProcessor; since: Date }): Promise<CatchUpReport> {
  const events = await options.source.events(Math.floor(options.since.getTime() / 1000));
  const report: CatchUpReport = { listed: events.length, recovered: [], outcomes: {} };
  for (const event of events) {
    const row = await options.inbox.record(event, 'claim');
    if (!row) continue;
    report.recovered.push(event.id);
    const result = await options.processor.processClaimed(row);
    const key = result.status === 'processed' ? `processed (${result.outcome})` : result.status;
    report.outcomes[key] = (report.outcomes[key] ?? 0) + 1;
  }
  return report;
}
