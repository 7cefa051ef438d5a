import type { SubscriptionUpdate } from './ports.js';

/** The provider-event ports: webhook deliveries and recovery reads, provider-neutral (re-exported by billing/ports.ts). */

/** A verified provider event, reduced to what the inbox needs. Provider-neutral. */
export interface VerifiedEvent {
  id: string;
  type: string;
  created: number;
  apiVersion: string | null;
  livemode: boolean;
  payload: unknown;
  /** The JSON text `payload` was parsed from, when the verifier has it: stored as-is, not serialised again. */
  payloadText?: string;
}

export type WebhookRejectionReason = 'missing_signature' | 'bad_signature' | 'stale_timestamp' | 'not_json' | 'not_an_event' | 'invalid_event' | 'not_configured';

/** Enough of a signed but invalid event to keep a record of it. */
export interface KeptEvent {
  id: string;
  type: string;
  created: number;
}

export class WebhookRejection extends Error {
  constructor(
    readonly reason: WebhookRejectionReason,
    message: string,
    /** For a signed event that can never be stored or applied: what can be kept of it, if anything. */
    readonly keep?: KeptEvent,
  ) {
    super(message);
    this.name = 'WebhookRejection';
  }
}

/** Verifies webhook deliveries; the route knows only this port, never `stripe`. */
export interface WebhookVerifier {
  verify(rawBody: Buffer, signatureHeader: string | undefined): VerifiedEvent;
}

export type MappedEvent =
  | { kind: 'update'; update: SubscriptionUpdate }
  | { kind: 'ignored'; reason: string }
  | { kind: 'unmapped'; reason: string };

/** The Stripe side of webhooks behind a provider-neutral port: the route and processor never see `stripe`. */
export interface WebhookEventSource {
  /** Whether processing this event type can change anything (others are recorded as ignored). */
  handles(type: string): boolean;
  /** Maps a stored, verified event payload. */
  map(payload: unknown): Promise<MappedEvent>;
  /** `map` when it needs no provider call and writes nothing, else undefined (the webhook's one-statement path). */
  mapLocally(payload: unknown): Promise<MappedEvent | undefined>;
  /** Re-reads the subscription of an update whose ordering key tied, as a fresh, authoritative update. */
  reread(update: SubscriptionUpdate): Promise<SubscriptionUpdate | null>;
}

/**
 * What recovery reads from the provider: every subscription as it is now (reconcile), and the
 * events it recorded (catch-up after deliveries it gave up on). Only billing/stripe/ implements it.
 */
export interface RecoverySource {
  /** Every subscription (any status), newest first, as authoritative updates read now; auto-paginated. */
  subscriptions(options?: { customerId?: string | undefined }): AsyncIterable<MappedEvent & { subscriptionId: string }>;
  /** Events of the handled types created at or after `since` (epoch seconds), oldest first. */
  events(since: number): Promise<VerifiedEvent[]>;
}
