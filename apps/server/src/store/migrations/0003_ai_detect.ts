import type { Migration } from '../migrations.js';

export const aiDetect: Migration = {
  id: '0003_ai_detect',
  sql: `
      -- One row per image (SHA-256): 'pending' while one replica asks upstream (a claim with a lease),
      -- 'done' with the verdict afterwards. Failures delete the claim: they are never cached.
      CREATE TABLE ai_detections (
        sha256 text PRIMARY KEY,
        state text NOT NULL,
        claim_token text,
        claimed_until timestamptz,
        ai_generated double precision,
        generators jsonb,
        provider text,
        checked_at timestamptz,
        expires_at timestamptz,
        updated_at timestamptz NOT NULL DEFAULT now()
      );

      -- Per-user token buckets (rate limit), updated by one atomic upsert.
      CREATE TABLE ai_rate_buckets (
        scope text PRIMARY KEY,
        tokens double precision NOT NULL,
        updated_ms double precision NOT NULL
      );

      -- Every billable detection (unique key per request) and the outbox state of its meter event.
      CREATE TABLE usage_ledger (
        key text PRIMARY KEY,
        account_id text NOT NULL,
        period text NOT NULL,
        event_name text NOT NULL,
        quantity integer NOT NULL,
        image_sha256 text,
        cached boolean NOT NULL DEFAULT false,
        occurred_at timestamptz NOT NULL DEFAULT now(),
        status text NOT NULL DEFAULT 'pending',
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_error text,
        sent_at timestamptz
      );
      CREATE INDEX usage_ledger_outbox_idx ON usage_ledger (status, next_attempt_at);
      CREATE INDEX usage_ledger_account_idx ON usage_ledger (account_id, period);
    `,
};
