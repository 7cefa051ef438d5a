import type { Migration } from '../migrations.js';

export const localBilling: Migration = {
  id: '0006_local_billing',
  formerId: '0013_local_billing',
  sql: `
      -- Server secrets generated once and shared by every replica (e.g. the local billing link key).
      CREATE TABLE settings (
        key text PRIMARY KEY,
        value text NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
      -- Local Checkout sessions that were paid: a Pay link works once, as a Stripe Checkout session does.
      CREATE TABLE local_checkout_payments (
        session_id text PRIMARY KEY,
        account_id text NOT NULL,
        paid_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX local_checkout_payments_account_idx ON local_checkout_payments (account_id);
    `,
};
