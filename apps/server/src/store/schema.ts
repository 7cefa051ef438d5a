import { sql } from 'drizzle-orm';
import { bigint, boolean, doublePrecision, index, integer, jsonb, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * The typed schema of the tables that `migrations.ts` creates. Migrations are the source of truth
 * (plain SQL, reviewed like code); schema.test.ts holds this file to the migrated database (columns,
 * types, nullability). Convention: data access is raw SQL through `store.query<Row>()`, with rows
 * typed from this file as `Pick<Rows['table'], 'column' | …>` (store/rows.ts); drizzle only describes.
 */

/** One provider customer per account: the unique keys make concurrent "ensure customer" calls converge. */
const customers = pgTable('customers', {
  accountId: text('account_id').primaryKey(),
  provider: text('provider').notNull(),
  providerCustomerId: text('provider_customer_id').notNull().unique(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/** The latest known subscription state per account, ordered by (source_created, source_rank). */
const subscriptions = pgTable('subscriptions', {
  accountId: text('account_id').primaryKey(),
  provider: text('provider').notNull(),
  providerCustomerId: text('provider_customer_id'),
  providerSubscriptionId: text('provider_subscription_id').notNull(),
  planId: text('plan_id'),
  status: text('status').notNull(),
  features: text('features').array().notNull().default(sql`'{}'::text[]`),
  currentPeriodEnd: timestamp('current_period_end', { withTimezone: true }),
  cancelAtPeriodEnd: boolean('cancel_at_period_end').notNull().default(false),
  /** When the provider produced this state (event.created, or the read time of a fresh provider read). */
  sourceCreated: bigint('source_created', { mode: 'number' }).notNull(),
  /** Tie-breaker within one second: higher means later in the subscription's life. */
  sourceRank: integer('source_rank').notNull().default(0),
  lastEventId: text('last_event_id'),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Durable inbox of provider webhook events, keyed by event id: the dedup and retry ledger. */
const webhookEvents = pgTable(
  'webhook_events',
  {
    id: text('id').primaryKey(),
    provider: text('provider').notNull(),
    type: text('type').notNull(),
    apiVersion: text('api_version'),
    created: bigint('created', { mode: 'number' }).notNull(),
    payload: jsonb('payload').notNull(),
    /** received | processed | ignored | unmapped | failed */
    status: text('status').notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }),
    lastError: text('last_error'),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
    processedAt: timestamp('processed_at', { withTimezone: true }),
    lockedUntil: timestamp('locked_until', { withTimezone: true }),
    lockedBy: text('locked_by'),
    outcome: text('outcome'),
    reason: text('reason'),
  },
  (t) => [index('webhook_events_pending_idx').on(t.status, t.nextAttemptAt)],
);

const schemaMigrations = pgTable('schema_migrations', {
  id: text('id').primaryKey(),
  appliedAt: timestamp('applied_at', { withTimezone: true }).notNull().defaultNow(),
});

const usageCounters = pgTable(
  'usage_counters',
  {
    scope: text('scope').notNull(),
    period: text('period').notNull(),
    used: integer('used').notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.scope, t.period] })],
);

/** Every stored catalog version; the highest version is the active one (`pnpm billing catalog put`). */
const catalogs = pgTable('catalogs', {
  version: bigint('version', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
  catalog: jsonb('catalog').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/** AI detection verdicts by image SHA-256, and the cross-replica single-flight claim (migration 0003_ai_detect). */
const aiDetections = pgTable('ai_detections', {
  sha256: text('sha256').primaryKey(),
  /** pending | done */
  state: text('state').notNull(),
  claimToken: text('claim_token'),
  claimedUntil: timestamp('claimed_until', { withTimezone: true }),
  aiGenerated: doublePrecision('ai_generated'),
  generators: jsonb('generators'),
  provider: text('provider'),
  checkedAt: timestamp('checked_at', { withTimezone: true }),
  expiresAt: timestamp('expires_at', { withTimezone: true }),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

const aiRateBuckets = pgTable('ai_rate_buckets', {
  scope: text('scope').primaryKey(),
  tokens: doublePrecision('tokens').notNull(),
  updatedMs: doublePrecision('updated_ms').notNull(),
});

/** Billable usage (source of truth) and the meter-event outbox. */
const usageLedger = pgTable(
  'usage_ledger',
  {
    key: text('key').primaryKey(),
    accountId: text('account_id').notNull(),
    period: text('period').notNull(),
    eventName: text('event_name').notNull(),
    quantity: integer('quantity').notNull(),
    imageSha256: text('image_sha256'),
    cached: boolean('cached').notNull().default(false),
    occurredAt: timestamp('occurred_at', { withTimezone: true }).notNull().defaultNow(),
    /** pending | sent | no_customer | failed */
    status: text('status').notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    lastError: text('last_error'),
    sentAt: timestamp('sent_at', { withTimezone: true }),
  },
  (t) => [index('usage_ledger_outbox_idx').on(t.status, t.nextAttemptAt), index('usage_ledger_account_idx').on(t.accountId, t.period)],
);

/** A short history of applied subscription changes (migration 0005_subscription_changes): live streams replay from it. */
const subscriptionChanges = pgTable(
  'subscription_changes',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    accountId: text('account_id').notNull(),
    /** The account's SubscriptionStatusOutput as this change left it. */
    status: jsonb('status').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('subscription_changes_account_idx').on(t.accountId, t.id), index('subscription_changes_created_idx').on(t.createdAt)],
);

/** Server secrets generated once and shared by every replica (e.g. the local billing link key). */
const settings = pgTable('settings', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Local Checkout sessions already paid: a local Pay link works once. */
const localCheckoutPayments = pgTable(
  'local_checkout_payments',
  {
    sessionId: text('session_id').primaryKey(),
    accountId: text('account_id').notNull(),
    paidAt: timestamp('paid_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('local_checkout_payments_account_idx').on(t.accountId)],
);

/** Which verdict each account has been given for an image, and since when (detection answers say `cached` per account). */
const aiDetectionAnswers = pgTable(
  'ai_detection_answers',
  {
    accountId: text('account_id').notNull(),
    imageSha256: text('image_sha256').notNull(),
    verdictCheckedAt: timestamp('verdict_checked_at', { withTimezone: true }).notNull(),
    firstAnsweredAt: timestamp('first_answered_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.imageSha256] })],
);

/** Leases of periodic jobs that run on one replica at a time (migration 0008_job_leases). */
const jobLeases = pgTable('job_leases', {
  name: text('name').primaryKey(),
  holder: text('holder').notNull(),
  lockedUntil: timestamp('locked_until', { withTimezone: true }).notNull(),
  lastRunAt: timestamp('last_run_at', { withTimezone: true }).notNull().defaultNow(),
  lastSuccessAt: timestamp('last_success_at', { withTimezone: true }),
});

/** Applied updates to post to SUBSCRIPTION_EVENTS_URL, keyed by change id (migration 0009_subscription_event_outbox). */
const subscriptionEventOutbox = pgTable(
  'subscription_event_outbox',
  {
    changeId: bigint('change_id', { mode: 'number' }).primaryKey(),
    payload: jsonb('payload').notNull(),
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true }).notNull().defaultNow(),
    lastError: text('last_error'),
    deliveredAt: timestamp('delivered_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('subscription_event_outbox_due_idx').on(t.nextAttemptAt)],
);

/** Idempotency keys of AI-detection checks, per account (migration 0011_ai_detect_idempotency). */
const aiDetectIdempotencyKeys = pgTable(
  'ai_detect_idempotency_keys',
  {
    accountId: text('account_id').notNull(),
    idempotencyKey: text('idempotency_key').notNull(),
    /** `sha256:<image hex>` or `url:<hex of the URL>`: the request the key was made for. */
    fingerprint: text('fingerprint').notNull(),
    /** pending | done */
    state: text('state').notNull(),
    claimToken: text('claim_token'),
    claimedUntil: timestamp('claimed_until', { withTimezone: true }),
    chargeId: text('charge_id').notNull(),
    /** The AiDetectCheckOutput given (state done). */
    answer: jsonb('answer'),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.idempotencyKey] }), index('ai_detect_idempotency_keys_expires_idx').on(t.expiresAt)],
);

/** Quota reservations of keyed checks, by usage-ledger key: a retry reserves nothing again (migration 0012_ai_detect_quota_once). */
const aiDetectQuotaCharges = pgTable(
  'ai_detect_quota_charges',
  {
    usageKey: text('usage_key').primaryKey(),
    reservedAt: timestamp('reserved_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('ai_detect_quota_charges_reserved_idx').on(t.reservedAt)],
);

export const schema = {
  customers,
  subscriptions,
  webhookEvents,
  schemaMigrations,
  usageCounters,
  catalogs,
  aiDetections,
  aiRateBuckets,
  usageLedger,
  subscriptionChanges,
  settings,
  localCheckoutPayments,
  aiDetectionAnswers,
  jobLeases,
  subscriptionEventOutbox,
  aiDetectIdempotencyKeys,
  aiDetectQuotaCharges,
};
