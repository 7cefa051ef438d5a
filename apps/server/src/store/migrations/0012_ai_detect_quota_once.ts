import type { Migration } from '../migrations.js';

export const aiDetectQuotaOnce: Migration = {
  id: '0012_ai_detect_quota_once',
  sql: `
      -- A keyed check's retry runs under the same charge id as its first attempt (ai-detect/idempotency.ts),
      -- so its usage-ledger key is the same and the meter counts it once. The monthly quota counter is a
      -- plain counter: an attempt that reserved a check and then failed without giving it back (its reply
      -- lost after the commit, or its replica gone) was counted again by the retry. A keyed check's
      -- reservation is now recorded under its ledger key, in the statement that makes it; a retry finding
      -- it reserves nothing again, and giving the check back (a failed detection) removes it.
      -- Rows are dropped a day after their key can no longer be retried (the idempotency-keys worker).
      CREATE TABLE ai_detect_quota_charges (
        usage_key text PRIMARY KEY,
        reserved_at timestamptz NOT NULL
      );
      CREATE INDEX ai_detect_quota_charges_reserved_idx ON ai_detect_quota_charges (reserved_at);

      -- ai_detect_admit (0010) with p_once: true for a keyed check (its charge may be retried). The
      -- 12-argument version stays for replicas of the previous release during a rolling deploy.
      CREATE FUNCTION ai_detect_admit(
        p_account text, p_sha256 text,
        p_rate_scope text, p_burst double precision, p_now_ms double precision, p_per_ms double precision,
        p_quota_scope text, p_period text, p_quota_limit integer,
        p_usage_key text, p_event_name text, p_told_at timestamptz, p_once boolean,
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
        -- The charge's row first: an insert waits for another attempt's uncommitted row of the same key
        -- (a retry overlapping a first attempt that outlived its deadline), so the two line up here and
        -- only one of them reserves. An EXISTS would not see the other's row until it committed.
        IF p_once THEN
          INSERT INTO ai_detect_quota_charges (usage_key, reserved_at) VALUES (p_usage_key, p_told_at)
          ON CONFLICT (usage_key) DO NOTHING;
          IF NOT FOUND THEN
            -- An earlier attempt of this very charge reserved the check and kept it: taken once only.
            SELECT c.used INTO quota_used FROM usage_counters c WHERE c.scope = p_quota_scope AND c.period = p_period;
            quota_used := COALESCE(quota_used, 0);
          END IF;
        END IF;
        IF quota_used IS NULL THEN
          INSERT INTO usage_counters AS c (scope, period, used) VALUES (p_quota_scope, p_period, 1)
          ON CONFLICT (scope, period) DO UPDATE SET used = c.used + 1 WHERE c.used + 1 <= p_quota_limit
          RETURNING c.used INTO quota_used;
          IF quota_used IS NULL THEN
            -- Refused: nothing reserved, so nothing recorded either.
            IF p_once THEN DELETE FROM ai_detect_quota_charges q WHERE q.usage_key = p_usage_key; END IF;
            RETURN;
          END IF;
        END IF;

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
