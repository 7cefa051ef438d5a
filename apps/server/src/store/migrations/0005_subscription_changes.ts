import type { Migration } from '../migrations.js';

export const subscriptionChanges: Migration = {
  id: '0005_subscription_changes',
  formerId: '0012_subscription_changes',
  sql: `
      -- A short history of applied subscription changes (one row per change that the ordered upsert
      -- let through), so any replica can replay a live status stream from an SSE Last-Event-ID.
      CREATE TABLE subscription_changes (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        account_id text NOT NULL,
        status jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX subscription_changes_account_idx ON subscription_changes (account_id, id);
      CREATE INDEX subscription_changes_created_idx ON subscription_changes (created_at);
    `,
};
