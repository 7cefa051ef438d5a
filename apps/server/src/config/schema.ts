import * as z from 'zod/mini';
import { ROLES } from '../roles.js';
import { blankAsUnset, commaList, httpUrl, integer, keyOfForm, optionalString, originList } from './fields.js';
import { secretValues } from './secrets.js';

/**
 * Every variable the server reads, as it is in the environment (after `<NAME>_FILE` is resolved).
 * zod/mini (the same zod, tree-shakable): the server parses this before it listens, and classic zod
 * would add tens of milliseconds to a cold start.
 */
export const envSchema = z.object({
  NODE_ENV: z._default(z.enum(['development', 'test', 'production']), 'development'),
  PORT: z._default(integer(z.minimum(0), z.maximum(65535)), 8787),
  LOG_LEVEL: z._default(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']), 'info'),
  LOG_FORMAT: blankAsUnset(z.optional(z.enum(['pretty', 'json'], { error: 'must be pretty or json' }))),
  DATABASE_URL: blankAsUnset(z.optional(z.string().check(z.regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')))),
  DATA_DIR: blankAsUnset(z._default(z.string(), '.data')),
  PUBLIC_URL: httpUrl,
  APP_ORIGINS: blankAsUnset(z.optional(originList)),
  DEMO_PORT: z._default(integer(z.minimum(1), z.maximum(65535)), 5173),
  STRIPE_SECRET_KEY: keyOfForm('STRIPE_SECRET_KEY', { prefixes: ['sk_test_', 'sk_live_', 'rk_test_', 'rk_live_'], describe: 'sk_test_, sk_live_ or rk_ (restricted key)' }),
  STRIPE_WEBHOOK_SECRET: blankAsUnset(
    z.optional(
      z.pipe(
        commaList,
        z.array(z.string().check(z.refine((value) => value.startsWith('whsec_'), { message: 'every STRIPE_WEBHOOK_SECRET entry must start with whsec_ (the endpoint signing secret)' }))),
      ),
    ),
  ),
  STRIPE_API_VERSION: blankAsUnset(
    z._default(z.string().check(z.regex(/^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$/, 'must look like 2026-10-28.endive')), '2026-10-28.endive'),
  ),
  STRIPE_DEFAULT_PRICE_ID: blankAsUnset(z.optional(z.string().check(z.regex(/^price_\w+$/, 'must be a Stripe price id (price_…)')))),
  STRIPE_API_BASE_URL: httpUrl,
  CLERK_SECRET_KEY: keyOfForm('CLERK_SECRET_KEY', { prefixes: ['sk_test_', 'sk_live_'], describe: 'sk_test_ or sk_live_' }),
  CLERK_JWT_KEY: blankAsUnset(
    z.optional(z.string().check(z.refine((value) => value.includes('BEGIN PUBLIC KEY'), 'must be the PEM public key (-----BEGIN PUBLIC KEY-----…)'))),
  ),
  CLERK_PUBLISHABLE_KEY: blankAsUnset(
    z.optional(z.string().check(z.refine((value) => value.startsWith('pk_test_') || value.startsWith('pk_live_'), 'must start with pk_test_ or pk_live_'))),
  ),
  CLERK_AUTHORIZED_PARTIES: blankAsUnset(z._default(originList, [])),
  SIGHTENGINE_API_USER: optionalString,
  SIGHTENGINE_API_SECRET: optionalString,
  SIGHTENGINE_BASE_URL: blankAsUnset(z._default(httpUrl, 'https://api.sightengine.com')),
  SIGHTENGINE_MONTHLY_BUDGET: blankAsUnset(z._default(integer(z.nonnegative()), 500)),
  AI_DETECT_CACHE_TTL_SECONDS: blankAsUnset(z.optional(integer(z.positive()))),
  AI_DETECT_RATE_PER_MINUTE: blankAsUnset(z._default(integer(z.positive()), 10)),
  AI_DETECT_RATE_BURST: blankAsUnset(z._default(integer(z.positive()), 5)),
  ROLE: blankAsUnset(z._default(z.enum(ROLES, { error: `must be one of ${ROLES.join(', ')}` }), 'all')),
  STRIPE_RECOVERY_INTERVAL_SECONDS: blankAsUnset(z._default(integer(z.minimum(0), z.maximum(7 * 86_400)), 3600)),
  LIVE_STREAMS_PER_ACCOUNT: blankAsUnset(z._default(integer(z.minimum(1), z.maximum(1000)), 5)),
  SUBSCRIPTION_CHANGES_KEEP_HOURS: blankAsUnset(z._default(integer(z.minimum(1), z.maximum(24 * 30)), 24)),
  SUBSCRIPTION_EVENTS_URL: httpUrl,
  SUBSCRIPTION_EVENTS_SECRET: blankAsUnset(
    z.optional(z.string().check(z.minLength(16, 'must be at least 16 characters (receivers verify the signature with it)'))),
  ),
  WORKER_INTERVAL_MS: blankAsUnset(z.optional(integer(z.minimum(50), z.maximum(3_600_000)))),
  METRICS_TOKEN: blankAsUnset(
    z.optional(
      z.string().check(
        z.minLength(16, 'must be at least 16 characters (it is the only thing guarding /metrics)'),
        z.refine((v) => !/\s/.test(v), 'contains white space'),
      ),
    ),
  ),
  AI_DETECT_FETCH_ALLOW_LOOPBACK: blankAsUnset(
    z.pipe(
      z._default(z.enum(['true', 'false', '1', '0'], { error: 'must be true or false' }), 'false'),
      z.transform((value) => value === 'true' || value === '1'),
    ),
  ),
});

type Env = z.output<typeof envSchema>;

/** Rules across variables; each problem names its variables at the start of the message. */
function crossChecks(e: Env): string[] {
  const problems: string[] = [];
  if (e.NODE_ENV === 'production') {
    if (!e.DATABASE_URL) problems.push('DATABASE_URL: required in production (the embedded store is for development only)');
    if (!e.STRIPE_SECRET_KEY) problems.push('STRIPE_SECRET_KEY: required in production');
    if (!e.STRIPE_WEBHOOK_SECRET?.length) problems.push('STRIPE_WEBHOOK_SECRET: required in production');
    if (!e.CLERK_SECRET_KEY && !e.CLERK_JWT_KEY) problems.push('CLERK_SECRET_KEY or CLERK_JWT_KEY: required in production');
    if (!e.CLERK_PUBLISHABLE_KEY) problems.push('CLERK_PUBLISHABLE_KEY: required in production');
    if (!e.SIGHTENGINE_API_USER || !e.SIGHTENGINE_API_SECRET) problems.push('SIGHTENGINE_API_USER and SIGHTENGINE_API_SECRET: required in production');
    if (e.AI_DETECT_FETCH_ALLOW_LOOPBACK) problems.push('AI_DETECT_FETCH_ALLOW_LOOPBACK: refused in production (it lets image URLs reach 127.0.0.1)');
  }
  if (Boolean(e.SIGHTENGINE_API_USER) !== Boolean(e.SIGHTENGINE_API_SECRET)) problems.push('SIGHTENGINE_API_USER and SIGHTENGINE_API_SECRET: set both or neither');
  if (e.STRIPE_SECRET_KEY?.startsWith('sk_live_') && e.NODE_ENV !== 'production') problems.push('STRIPE_SECRET_KEY: a live key (sk_live_) is refused outside NODE_ENV=production');
  if (Boolean(e.SUBSCRIPTION_EVENTS_URL) !== Boolean(e.SUBSCRIPTION_EVENTS_SECRET)) problems.push('SUBSCRIPTION_EVENTS_URL and SUBSCRIPTION_EVENTS_SECRET: set both or neither');
  return problems;
}

/** The server's settings as code reads them; `Config` is this schema's output type. */
export const configSchema = z.pipe(
  envSchema.check(
    z.superRefine((e, ctx) => {
      // No path: the message already names its variables ("A and B: set both or neither").
      for (const message of crossChecks(e)) ctx.addIssue({ code: 'custom', message, path: [] });
    }),
  ),
  z.transform((e) => ({
    nodeEnv: e.NODE_ENV,
    isProduction: e.NODE_ENV === 'production',
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    /** Human-readable lines with local times (development default) or one JSON object per line. */
    logFormat: e.LOG_FORMAT ?? (e.NODE_ENV === 'development' ? 'pretty' : 'json'),
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    /** Where this server is reachable from a browser (local Checkout/Portal pages link here). */
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    // The demo (on DEMO_PORT) is an allowed redirect target by default, next to the frontend's dev port.
    appOrigins: e.APP_ORIGINS ?? [...new Set(['http://localhost:3000', `http://localhost:${e.DEMO_PORT}`])],
    /** Where `pnpm dev` serves the demo app (apps/demo); named in the start banner. */
    demoPort: e.DEMO_PORT,
    stripe: {
      secretKey: e.STRIPE_SECRET_KEY,
      webhookSecrets: e.STRIPE_WEBHOOK_SECRET ?? [],
      apiVersion: e.STRIPE_API_VERSION,
      defaultPriceId: e.STRIPE_DEFAULT_PRICE_ID,
      apiBaseUrl: e.STRIPE_API_BASE_URL,
    },
    clerk: { secretKey: e.CLERK_SECRET_KEY, jwtKey: e.CLERK_JWT_KEY, publishableKey: e.CLERK_PUBLISHABLE_KEY, authorizedParties: e.CLERK_AUTHORIZED_PARTIES },
    sightengine: { apiUser: e.SIGHTENGINE_API_USER, apiSecret: e.SIGHTENGINE_API_SECRET, baseUrl: e.SIGHTENGINE_BASE_URL },
    aiDetect: {
      /** Sightengine operations this deployment may spend per calendar month (UTC), across replicas. */
      monthlyBudget: e.SIGHTENGINE_MONTHLY_BUDGET,
      /** How long a cached verdict stays valid; undefined: forever (a verdict for given bytes does not change). */
      cacheTtlSeconds: e.AI_DETECT_CACHE_TTL_SECONDS,
      ratePerMinute: e.AI_DETECT_RATE_PER_MINUTE,
      rateBurst: e.AI_DETECT_RATE_BURST,
      /** Test-only: let the image fetcher reach 127.0.0.1. Refused in production. */
      fetchAllowLoopback: e.AI_DETECT_FETCH_ALLOW_LOOPBACK,
    },
    /** Reconcile + catch-up from Stripe on one replica every this many seconds; 0 (or no Stripe key): off. */
    stripeRecoveryIntervalSeconds: e.STRIPE_RECOVERY_INTERVAL_SECONDS,
    live: {
      /** Open `billing.onStatusChange` streams per account on one server. */
      streamsPerAccount: e.LIVE_STREAMS_PER_ACCOUNT,
      /** How long applied changes are kept for streams to resume from (Last-Event-ID). */
      changesKeepHours: e.SUBSCRIPTION_CHANGES_KEEP_HOURS,
    },
    /** Each applied SubscriptionUpdate is posted here, signed with `secret`; undefined: off. */
    subscriptionEvents: e.SUBSCRIPTION_EVENTS_URL && e.SUBSCRIPTION_EVENTS_SECRET ? { url: e.SUBSCRIPTION_EVENTS_URL, secret: e.SUBSCRIPTION_EVENTS_SECRET } : undefined,
    /** What this process does: serve the API, take webhooks, run background workers (see roles.ts). */
    role: e.ROLE,
    /** How often each background worker polls; undefined: each worker's own default (retries 5 s, outbox 10 s). */
    workerIntervalMs: e.WORKER_INTERVAL_MS,
    /** Bearer token for GET /metrics; undefined: /metrics answers 404. */
    metricsToken: e.METRICS_TOKEN,
    /** Every secret value in this config, so the logger can scrub them wherever they appear. */
    secrets: secretValues(e),
  })),
);
