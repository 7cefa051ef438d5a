/** The usage ports: how billable use is recorded and sent to the provider's meter (re-exported by billing/ports.ts). */

/** One usage record sent to the billing provider's meter. */
export interface MeterEvent {
  /** Idempotency: the ledger key. Stripe deduplicates on it for a rolling 24 h. */
  identifier: string;
  eventName: string;
  customerId: string;
  value: number;
  timestamp: Date;
}

/** Where billable usage goes (Stripe meter events; nothing for the local provider). */
export interface UsageMeter {
  readonly name: string;
  send(event: MeterEvent): Promise<void>;
}

/** One billable use. The ledger row is the source of truth; the outbox sends it to the meter. */
export interface UsageRecord {
  /** Unique: recording it again is a no-op. Also the meter event's identifier. */
  key: string;
  accountId: string;
  /** Calendar month (UTC), e.g. `2026-12`. */
  period: string;
  /** The catalog meter it counts towards, by event name (the first meter when the catalog has no such one). */
  meter: string;
  quantity: number;
  imageSha256: string | undefined;
  cached: boolean;
}

/** The usage ledger: where every billable use is recorded before anything is sent anywhere. */
export interface UsageLedger {
  /** Resolves true when recorded, false when the key was already there. */
  record(entry: UsageRecord): Promise<boolean>;
  /**
   * The meter event a row for `meter` is recorded as (the catalog's first meter when it has no such
   * one), for a caller that writes its ledger row inside a larger statement (ai_detect_admit).
   */
  eventNameOf(meter: string): Promise<string>;
}

/** Sends recorded usage to the meter: one pass on demand, or a loop in the background. */
export interface UsageOutbox {
  flush(): Promise<FlushResult>;
  start(intervalMs?: number): { stop(): Promise<void> };
}

/** What one outbox pass did. */
export interface FlushResult {
  /** Parked rows put back because their account now has a customer. */
  released: number;
  sent: number;
  failed: number;
  noCustomer: number;
}
