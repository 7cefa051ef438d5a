import type { Migration } from '../migrations.js';

export const aiDetectIdempotency: Migration = {
  id: '0011_ai_detect_idempotency',
  sql: `
      -- Idempotency keys of AI-detection checks (ai-detect/idempotency.ts): one row per (account, key),
      -- so a retried check is charged once and answered the same, on every replica. A row is 'pending'
      -- while one request holds its claim (claim_token, until claimed_until: a dead replica's claim is
      -- taken over after it) and 'done' with the answer given; a failed check releases its claim
      -- (claimed_until -infinity; fingerprint and charge_id kept), so a retry of it takes the claim over. fingerprint says which request the key was made for (the image's SHA-256, or
      -- the URL's), so the key cannot be reused for another one. charge_id names the check's charge
      -- (its usage-ledger key ends with it): a takeover writes the same ledger row, so the meter counts it once.
      CREATE TABLE ai_detect_idempotency_keys (
        account_id text NOT NULL,
        idempotency_key text NOT NULL,
        fingerprint text NOT NULL,
        state text NOT NULL CHECK (state IN ('pending', 'done')),
        claim_token text,
        claimed_until timestamptz,
        charge_id text NOT NULL,
        answer jsonb,
        expires_at timestamptz NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (account_id, idempotency_key)
      );
      -- For the purge of expired keys.
      CREATE INDEX ai_detect_idempotency_keys_expires_idx ON ai_detect_idempotency_keys (expires_at);
    `,
};
