import { billingCore } from './migrations/0001_billing_core.js';
import { catalog } from './migrations/0002_catalog.js';
import { aiDetect } from './migrations/0003_ai_detect.js';
import { webhooks } from './migrations/0004_webhooks.js';
import { subscriptionChanges } from './migrations/0005_subscription_changes.js';
import { localBilling } from './migrations/0006_local_billing.js';
import { aiDetectionAnswers } from './migrations/0007_ai_detection_answers.js';
import { jobLeases } from './migrations/0008_job_leases.js';
import { subscriptionEventOutbox } from './migrations/0009_subscription_event_outbox.js';
import { aiDetectAdmit } from './migrations/0010_ai_detect_admit.js';
import { aiDetectIdempotency } from './migrations/0011_ai_detect_idempotency.js';
import { aiDetectQuotaOnce } from './migrations/0012_ai_detect_quota_once.js';

/**
 * Forward-only SQL migrations, one file each in migrations/, embedded so the bundle carries them and
 * applied in this list's order. Add a file numbered after the last and append it here (`migrate`
 * refuses a list that is not strictly increasing); never edit an applied one.
 */
export interface Migration {
  /** `NNNN_name`; the number orders migrations. */
  id: string;
  /** The id this migration was applied under before the renumbering (issue 10); such rows are renamed. */
  formerId?: string;
  sql: string;
}

export const migrations: Migration[] = [
  billingCore,
  catalog,
  aiDetect,
  webhooks,
  subscriptionChanges,
  localBilling,
  aiDetectionAnswers,
  jobLeases,
  subscriptionEventOutbox,
  aiDetectAdmit,
  aiDetectIdempotency,
  aiDetectQuotaOnce,
];
