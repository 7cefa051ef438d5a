/**
 * Forward-only SQL migrations, embedded so the single-file bundle carries them, applied in list order.
 * Append new entries with the next number (`migrate` refuses a list that is not strictly increasing);
 * never edit an applied one.
 */
export interface Migration {
  /** `NNNN_name`; the number orders migrations. */
  id: string;
  /** The id this migration was applied under before the renumbering (issue 10); such rows are renamed. */
  formerId?: string;
  sql: string;
}

export const migrations: Migration[] = [
  {
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
  },
  {
    id: '0002_catalog',
    formerId: '0004_catalog',
    sql: `
      CREATE TABLE catalogs (
        version bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        catalog jsonb NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
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
  },
  {
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
  },
  {
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
  },
  {
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
  },
  {
    id: '0007_ai_detection_answers',
    formerId: '0014_ai_detection_answers',
    sql: `
      -- Which verdict each account has been given for an image, and since when: a detection answer says
      -- \`cached\` only for the account's own repeat, never because another account checked the image.
      CREATE TABLE ai_detection_answers (
        account_id text NOT NULL,
        image_sha256 text NOT NULL,
        verdict_checked_at timestamptz NOT NULL,
        first_answered_at timestamptz NOT NULL,
        PRIMARY KEY (account_id, image_sha256)
      );
    `,
  },
  {
    id: '0008_job_leases',
    formerId: '0012_job_leases',
    sql: `
      -- Periodic jobs that must run on one replica at a time, once per interval (reconcile + catch-up).
      CREATE TABLE job_leases (
        name text PRIMARY KEY,
        holder text NOT NULL,
        locked_until timestamptz NOT NULL,
        last_run_at timestamptz NOT NULL DEFAULT now(),
        last_success_at timestamptz
      );
    `,
  },
  {
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
  },
  {
    id: '0010_ai_detect_admit',
    sql: `
      -- A check's way into the store in one call (ai-detect/admission.ts): take a rate token (unless
      -- p_rate_scope is NULL: taken already), reserve one check of the monthly quota and, when the
      -- verdict for the bytes is cached, write the usage ledger row (as billing/usage/ledger.ts does) and
      -- what this account is told. Each step runs only if the previous passed: a refusal charges nothing.
      -- A function, so PostgreSQL and PGlite plan its statements once per connection, not per check.
      CREATE FUNCTION ai_detect_admit(
        p_account text, p_sha256 text,
        p_rate_scope text, p_burst double precision, p_now_ms double precision, p_per_ms double precision,
        p_quota_scope text, p_period text, p_quota_limit integer,
        p_usage_key text, p_event_name text, p_told_at timestamptz,
        OUT rate_taken boolean, OUT bucket_tokens double precision, OUT bucket_updated_ms double precision,
        OUT quota_used integer, OUT verdict_ai_generated double precision, OUT verdict_generators jsonb,
        OUT verdict_provider text, OUT verdict_checked_at timestamptz, OUT answered_first_at timestamptz
      ) LANGUAGE plpgsql AS $fn$
      DECLARE
        v ai_detections%ROWTYPE;
      BEGIN
        rate_taken := true;
        IF p_rate_scope IS NOT NULL THEN
          INSERT INTO ai_rate_buckets AS b (scope, tokens, updated_ms) VALUES (p_rate_scope, p_burst - 1, p_now_ms)
          ON CONFLICT (scope) DO UPDATE
            SET tokens = LEAST(p_burst, b.tokens + GREATEST(0, p_now_ms - b.updated_ms) * p_per_ms) - 1, updated_ms = GREATEST(b.updated_ms, p_now_ms)
            WHERE LEAST(p_burst, b.tokens + GREATEST(0, p_now_ms - b.updated_ms) * p_per_ms) >= 1;
          IF NOT FOUND THEN
            -- Refused: the bucket as it stands, for Retry-After.
            rate_taken := false;
            SELECT b.tokens, b.updated_ms INTO bucket_tokens, bucket_updated_ms FROM ai_rate_buckets b WHERE b.scope = p_rate_scope;
            RETURN;
          END IF;
        END IF;

        IF p_quota_limit < 1 THEN RETURN; END IF;
        INSERT INTO usage_counters AS c (scope, period, used) VALUES (p_quota_scope, p_period, 1)
        ON CONFLICT (scope, period) DO UPDATE SET used = c.used + 1 WHERE c.used + 1 <= p_quota_limit
        RETURNING c.used INTO quota_used;
        IF quota_used IS NULL THEN RETURN; END IF;

        SELECT * INTO v FROM ai_detections d
        WHERE d.sha256 = p_sha256 AND d.state = 'done' AND (d.expires_at IS NULL OR d.expires_at > now());
        IF NOT FOUND THEN RETURN; END IF;

        INSERT INTO usage_ledger (key, account_id, period, event_name, quantity, image_sha256, cached)
        VALUES (p_usage_key, p_account, p_period, p_event_name, 1, p_sha256, true)
        ON CONFLICT (key) DO NOTHING;
        -- cached only for this account's own repeat of this very verdict (ai-detect/answers.ts).
        SELECT a.first_answered_at INTO answered_first_at FROM ai_detection_answers a
        WHERE a.account_id = p_account AND a.image_sha256 = p_sha256 AND a.verdict_checked_at = v.checked_at;
        IF answered_first_at IS NULL THEN
          INSERT INTO ai_detection_answers AS a (account_id, image_sha256, verdict_checked_at, first_answered_at)
          VALUES (p_account, p_sha256, v.checked_at, p_told_at)
          ON CONFLICT (account_id, image_sha256) DO UPDATE
            SET verdict_checked_at = EXCLUDED.verdict_checked_at, first_answered_at = EXCLUDED.first_answered_at
            WHERE a.verdict_checked_at IS DISTINCT FROM EXCLUDED.verdict_checked_at;
        END IF;
        verdict_ai_generated := v.ai_generated;
        verdict_generators := v.generators;
        verdict_provider := v.provider;
        verdict_checked_at := v.checked_at;
      END
      $fn$;
    `,
  },
];
