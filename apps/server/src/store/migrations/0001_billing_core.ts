import type { Migration } from '../migrations.js';

export const billingCore: Migration = {
  id: '0001_billing_core',
  sql: `
      CREATE TABLE customers (
        account_id text PRIMARY KEY,
        provider text NOT NULL,
        provider_customer_id text NOT NULL UNIQUE,
        created_at timestamptz NOT NULL DEFAULT now()
      );

      CREATE TABLE subscriptions (
        account_id text PRIMARY KEY,
        provider text NOT NULL,
        provider_customer_id text,
        provider_subscription_id text NOT NULL,
        plan_id text,
        status text NOT NULL,
        features text[] NOT NULL DEFAULT '{}'::text[],
        current_period_end timestamptz,
        cancel_at_period_end boolean NOT NULL DEFAULT false,
        source_created bigint NOT NULL,
        source_rank integer NOT NULL DEFAULT 0,
        last_event_id text,
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX subscriptions_provider_subscription_idx ON subscriptions (provider_subscription_id);

      CREATE TABLE webhook_events (
        id text PRIMARY KEY,
        provider text NOT NULL,
        type text NOT NULL,
        api_version text,
        created bigint NOT NULL,
        payload jsonb NOT NULL,
        status text NOT NULL,
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz,
        last_error text,
        received_at timestamptz NOT NULL DEFAULT now(),
        processed_at timestamptz
      );
      CREATE INDEX webhook_events_pending_idx ON webhook_events (status, next_attempt_at);

      CREATE TABLE usage_counters (
        scope text NOT NULL,
        period text NOT NULL,
        used integer NOT NULL DEFAULT 0,
        PRIMARY KEY (scope, period)
      );
    `,
};
