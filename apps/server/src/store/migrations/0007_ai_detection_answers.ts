import type { Migration } from '../migrations.js';

export const aiDetectionAnswers: Migration = {
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
};
