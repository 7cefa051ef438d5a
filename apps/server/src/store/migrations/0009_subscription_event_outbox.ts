import type { Migration } from '../migrations.js';

export const subscriptionEventOutbox: Migration = {
  id: '0009_subscription_event_outbox',
  formerId: '0015_subscription_event_outbox',
  sql: `
      -- Applied SubscriptionUpdates waiting to be posted to SUBSCRIPTION_EVENTS_URL, keyed by the
      -- subscription_changes id and written by the same statement as the change (only when enabled).
      CREATE TABLE subscription_event_outbox (
        change_id bigint PRIMARY KEY,
        payload jsonb NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_error text,
        delivered_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX subscription_event_outbox_due_idx ON subscription_event_outbox (next_attempt_at) WHERE delivered_at IS NULL;
    `,
};
