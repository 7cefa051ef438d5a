import type { Migration } from '../migrations.js';

export const aiDetectAdmit: Migration = {
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
};
