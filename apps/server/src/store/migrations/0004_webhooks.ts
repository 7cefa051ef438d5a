import type { Migration } from '../migrations.js';

export const webhooks: Migration = {
  id: '0004_webhooks',
  formerId: '0002_webhooks',
  sql: `
      -- Lease-based claims: a replica processes an event only while it holds an unexpired lease,
      -- so concurrent deliveries and the retry worker never work on one event at once.
      ALTER TABLE webhook_events ADD COLUMN locked_until timestamptz;
      ALTER TABLE webhook_events ADD COLUMN locked_by text;
      -- What processing did: applied | stale | duplicate | ignored | unmapped (and why, for unmapped/failed).
      ALTER TABLE webhook_events ADD COLUMN outcome text;
      ALTER TABLE webhook_events ADD COLUMN reason text;
      CREATE INDEX webhook_events_due_idx ON webhook_events (next_attempt_at) WHERE status IN ('received', 'retrying', 'processing');
    `,
};
