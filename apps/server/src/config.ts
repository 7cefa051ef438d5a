import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { z } from 'zod';
import { ROLES, type Role } from './roles.js';

/**
 * The one place that reads process.env. Everything else receives a typed `Config`.
 * A bad environment fails at boot with every bad variable named, never later at the first request.
 */

const emptyToUndefined = (value: unknown) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

const optionalString = z.preprocess(emptyToUndefined, z.string().optional());

function keyOfForm(name: string, forms: { prefixes: string[]; describe: string }) {
  return z.preprocess(
    emptyToUndefined,
    z
      .string()
      .optional()
      .superRefine((value, ctx) => {
        if (value === undefined) return;
        if (/\s/.test(value)) {
          ctx.addIssue({ code: 'custom', message: "contains white space" });
          return;
        }
        if (value.startsWith('pk_')) {
          ctx.addIssue({
            code: 'custom',
            message: `holds a publishable key (pk_…); ${name} must be the secret key (${forms.describe}) — publishable keys are for browsers and cannot call the API`,
          });
          return;
        }
        if (!forms.prefixes.some((prefix) => value.startsWith(prefix))) {
          ctx.addIssue({ code: 'custom', message: `must start with ${forms.describe}` });
        }
      }),
  );
}

const commaList = z.preprocess(
  (value) =>
    typeof value === 'string'
      ? value
          .split(',')
          .map((part) => part.trim())
          .filter(Boolean)
      : value,
  z.array(z.string()),
);

const originList = commaList.pipe(
  z.array(
    z.string().refine((value) => {
      try {
        const url = new URL(value);
        return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value.replace(/\/$/, '');
      } catch {
        return false;
      }
    }, 'must be a comma-separated list of origins like https://verifieddit.com (scheme, host and optional port, no path)'),
  ),
);

const httpUrl = z.preprocess(
  emptyToUndefined,
  z
    .string()
    .url()
    .refine((value) => /^https?:\/\//.test(value), 'must be an http(s) URL')
    .optional(),
);

const envSchema = z.object({
  NODE_ENV: z.enum(['development', 'test', 'production']).default('development'),
  PORT: z.coerce.number().int().min(0).max(65535).default(8787),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  LOG_FORMAT: z.preprocess(emptyToUndefined, z.enum(['pretty', 'json'], { error: 'must be pretty or json' }).optional()),
  DATABASE_URL: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .optional(),
  ),
  DATA_DIR: z.preprocess(emptyToUndefined, z.string().default('.data')),
  PUBLIC_URL: httpUrl,
  APP_ORIGINS: z.preprocess(emptyToUndefined, originList.optional()),
  DEMO_PORT: z.coerce.number().int().min(1).max(65535).default(5173),
  STRIPE_SECRET_KEY: keyOfForm('STRIPE_SECRET_KEY', {
    prefixes: ['sk_test_', 'sk_live_', 'rk_test_', 'rk_live_'],
    describe: 'sk_test_, sk_live_ or rk_ (restricted key)',
  }),
  STRIPE_WEBHOOK_SECRET: z.preprocess(
    emptyToUndefined,
    commaList
      .pipe(
        z.array(
          z.string().refine((value) => value.startsWith('whsec_'), {
            message: 'every STRIPE_WEBHOOK_SECRET entry must start with whsec_ (the endpoint signing secret)',
          }),
        ),
      )
      .optional(),
  ),
  STRIPE_API_VERSION: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}(\.[a-z]+)?$/, 'must look like 2026-10-28.endive')
      .default('2026-10-28.endive'),
  ),
  STRIPE_DEFAULT_PRICE_ID: z.preprocess(
    emptyToUndefined,
    z.string().regex(/^price_\w+$/, 'must be a Stripe price id (price_…)').optional(),
  ),
  STRIPE_API_BASE_URL: httpUrl,
  CLERK_SECRET_KEY: keyOfForm('CLERK_SECRET_KEY', { prefixes: ['sk_test_', 'sk_live_'], describe: 'sk_test_ or sk_live_' }),
  CLERK_JWT_KEY: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .refine((value) => value.includes('BEGIN PUBLIC KEY'), 'must be the PEM public key (-----BEGIN PUBLIC KEY-----…)')
      .optional(),
  ),
  CLERK_PUBLISHABLE_KEY: z.preprocess(
    emptyToUndefined,
    z
      .string()
      .refine((value) => value.startsWith('pk_test_') || value.startsWith('pk_live_'), 'must start with pk_test_ or pk_live_')
      .optional(),
  ),
  CLERK_AUTHORIZED_PARTIES: z.preprocess(emptyToUndefined, originList.default([])),
  SIGHTENGINE_API_USER: optionalString,
  SIGHTENGINE_API_SECRET: optionalString,
  SIGHTENGINE_BASE_URL: z.preprocess(emptyToUndefined, httpUrl.default('https://api.sightengine.com')),
  SIGHTENGINE_MONTHLY_BUDGET: z.preprocess(emptyToUndefined, z.coerce.number().int().nonnegative().default(500)),
  AI_DETECT_CACHE_TTL_SECONDS: z.preprocess(emptyToUndefined, z.coerce.number().int().positive().optional()),
  AI_DETECT_RATE_PER_MINUTE: z.preprocess(emptyToUndefined, z.coerce.number().int().positive().default(10)),
  AI_DETECT_RATE_BURST: z.preprocess(emptyToUndefined, z.coerce.number().int().positive().default(5)),
  ROLE: z.preprocess(
    emptyToUndefined,
    z.enum(ROLES, { error: `must be one of ${ROLES.join(', ')}` }).default('all'),
  ),
  STRIPE_RECOVERY_INTERVAL_SECONDS: z.preprocess(emptyToUndefined, z.coerce.number().int().min(0).max(7 * 86_400).default(3600)),
  LIVE_STREAMS_PER_ACCOUNT: z.preprocess(emptyToUndefined, z.coerce.number().int().min(1).max(1000).default(5)),
  SUBSCRIPTION_CHANGES_KEEP_HOURS: z.preprocess(emptyToUndefined, z.coerce.number().int().min(1).max(24 * 30).default(24)),
  SUBSCRIPTION_EVENTS_URL: httpUrl,
  SUBSCRIPTION_EVENTS_SECRET: z.preprocess(
    emptyToUndefined,
    z.string().min(16, 'must be at least 16 characters (receivers verify the signature with it)').optional(),
  ),
  WORKER_INTERVAL_MS: z.preprocess(emptyToUndefined, z.coerce.number().int().min(50).max(3_600_000).optional()),
  METRICS_TOKEN: z.preprocess(
    emptyToUndefined,
    z.string().min(16, 'must be at least 16 characters (it is the only thing guarding /metrics)').refine((v) => !/\s/.test(v), 'contains white space').optional(),
  ),
  AI_DETECT_FETCH_ALLOW_LOOPBACK: z.preprocess(
    emptyToUndefined,
    z
      .enum(['true', 'false', '1', '0'], { error: 'must be true or false' })
      .default('false')
      .transform((value) => value === 'true' || value === '1'),
  ),
});

type Env = z.infer<typeof envSchema>;


export interface Config {
  nodeEnv: Env['NODE_ENV'];
  isProduction: boolean;
  port: number;
  logLevel: Env['LOG_LEVEL'];
  /** Human-readable lines with local times (development default) or one JSON object per line. */
  logFormat: 'pretty' | 'json';
  databaseUrl: string | undefined;
  dataDir: string;
  /** Where this server is reachable from a browser (local Checkout/Portal pages link here). */
  publicUrl: string;
  appOrigins: string[];
  /** Where `pnpm dev` serves the demo app (apps/demo); named in the start banner. */
  demoPort: number;
  stripe: {
    secretKey: string | undefined;
    webhookSecrets: string[];
    apiVersion: string;
    defaultPriceId: string | undefined;
    apiBaseUrl: string | undefined;
  };
  clerk: {
    secretKey: string | undefined;
    jwtKey: string | undefined;
    publishableKey: string | undefined;
    authorizedParties: string[];
  };
  sightengine: {
    apiUser: string | undefined;
    apiSecret: string | undefined;
    baseUrl: string;
  };
  aiDetect: {
    /** Sightengine operations this deployment may spend per calendar month (UTC), across replicas. */
    monthlyBudget: number;
    /** How long a cached verdict stays valid; undefined: forever (a verdict for given bytes does not change). */
    cacheTtlSeconds: number | undefined;
    ratePerMinute: number;
    rateBurst: number;
    /** Test-only: let the image fetcher reach 127.0.0.1. Refused in production. */
    fetchAllowLoopback: boolean;
  };
  /** Reconcile + catch-up from Stripe on one replica every this many seconds; 0 (or no Stripe key): off. */
  stripeRecoveryIntervalSeconds: number;
  live: {
    /** Open `billing.onStatusChange` streams per account on one server. */
    streamsPerAccount: number;
    /** How long applied changes are kept for streams to resume from (Last-Event-ID). */
    changesKeepHours: number;
  };
  /** Each applied SubscriptionUpdate is posted here, signed with `secret`; undefined: off. */
  subscriptionEvents: { url: string; secret: string } | undefined;
  /** What this process does: serve the API, take webhooks, run background workers (see roles.ts). */
  role: Role;
  /** How often each background worker polls; undefined: each worker's own default (retries 5 s, outbox 10 s). */
  workerIntervalMs: number | undefined;
  /** Bearer token for GET /metrics; undefined: /metrics answers 404. */
  metricsToken: string | undefined;
  /** Every secret value in this config, so the logger can scrub them wherever they appear. */
  secrets: string[];
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Variables that may instead be read from a file named by `<NAME>_FILE` (Docker/Kubernetes secrets,
 * Scaleway secret mounts), so a key never has to sit in the process environment of a shell.
 */
const FILE_SECRETS = [
  'DATABASE_URL',
  'STRIPE_SECRET_KEY',
  'STRIPE_WEBHOOK_SECRET',
  'CLERK_SECRET_KEY',
  'CLERK_JWT_KEY',
  'SIGHTENGINE_API_SECRET',
  'METRICS_TOKEN',
  'SUBSCRIPTION_EVENTS_SECRET',
] as const;

/** Every variable the server reads; `turbo.json` and `.env.example` must list each (a test checks). */
export const CONFIG_VARIABLES: readonly string[] = [...Object.keys(envSchema.shape), ...FILE_SECRETS.map((name) => `${name}_FILE`)];

/** The environment with every `<NAME>_FILE` replaced by the file's content (one trailing newline dropped). */
function withFileSecrets(env: Record<string, string | undefined>): Record<string, string | undefined> {
  const resolved = { ...env };
  const problems: string[] = [];
  for (const name of FILE_SECRETS) {
    const path = env[`${name}_FILE`]?.trim();
    if (!path) continue;
    if (env[name]?.trim()) {
      problems.push(`${name}_FILE: ${name} is set too; set one of them`);
      continue;
    }
    try {
      resolved[name] = readFileSync(path, 'utf8').replace(/\r?\n$/, '');
    } catch (error) {
      problems.push(`${name}_FILE: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  if (problems.length) throw new ConfigError(problems);
  return resolved;
}

export function loadConfig(rawEnv: Record<string, string | undefined> = process.env): Config {
  const env = withFileSecrets(rawEnv);
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => {
      const [variable, ...rest] = issue.path;
      const where = rest.length ? ` (entry ${rest.map((part) => (typeof part === 'number' ? part + 1 : String(part))).join('.')})` : '';
      return `${String(variable ?? '(env)')}: ${issue.message}${where}`;
    });
    throw new ConfigError(problems);
  }
  const e = parsed.data;
  const problems: string[] = [];

  if (e.NODE_ENV === 'production') {
    if (!e.DATABASE_URL) problems.push('DATABASE_URL: required in production (the embedded store is for development only)');
    if (!e.STRIPE_SECRET_KEY) problems.push('STRIPE_SECRET_KEY: required in production');
    if (!e.STRIPE_WEBHOOK_SECRET?.length) problems.push('STRIPE_WEBHOOK_SECRET: required in production');
    if (!e.CLERK_SECRET_KEY && !e.CLERK_JWT_KEY) problems.push('CLERK_SECRET_KEY or CLERK_JWT_KEY: required in production');
    if (!e.CLERK_PUBLISHABLE_KEY) problems.push('CLERK_PUBLISHABLE_KEY: required in production');
    if (!e.SIGHTENGINE_API_USER || !e.SIGHTENGINE_API_SECRET)
      problems.push('SIGHTENGINE_API_USER and SIGHTENGINE_API_SECRET: required in production');
  }
  if (e.NODE_ENV === 'production' && e.AI_DETECT_FETCH_ALLOW_LOOPBACK) {
    problems.push('AI_DETECT_FETCH_ALLOW_LOOPBACK: refused in production (it lets image URLs reach 127.0.0.1)');
  }
  if (Boolean(e.SIGHTENGINE_API_USER) !== Boolean(e.SIGHTENGINE_API_SECRET)) {
    problems.push('SIGHTENGINE_API_USER and SIGHTENGINE_API_SECRET: set both or neither');
  }
  if (e.STRIPE_SECRET_KEY?.startsWith('sk_live_') && e.NODE_ENV !== 'production') {
    problems.push('STRIPE_SECRET_KEY: a live key (sk_live_) is refused outside NODE_ENV=production');
  }
  if (Boolean(e.SUBSCRIPTION_EVENTS_URL) !== Boolean(e.SUBSCRIPTION_EVENTS_SECRET)) {
    problems.push('SUBSCRIPTION_EVENTS_URL and SUBSCRIPTION_EVENTS_SECRET: set both or neither');
  }
  if (problems.length) throw new ConfigError(problems);

  const secrets = [
    e.STRIPE_SECRET_KEY,
    ...(e.STRIPE_WEBHOOK_SECRET ?? []),
    e.CLERK_SECRET_KEY,
    e.SIGHTENGINE_API_SECRET,
    passwordOf(e.DATABASE_URL),
    e.METRICS_TOKEN,
    e.SUBSCRIPTION_EVENTS_SECRET,
  ].filter((value): value is string => typeof value === 'string' && value.length >= 4);

  return {
    nodeEnv: e.NODE_ENV,
    isProduction: e.NODE_ENV === 'production',
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT ?? (e.NODE_ENV === 'development' ? 'pretty' : 'json'),
    databaseUrl: e.DATABASE_URL,
    dataDir: e.DATA_DIR,
    publicUrl: (e.PUBLIC_URL ?? `http://localhost:${e.PORT}`).replace(/\/+$/, ''),
    // The demo (on DEMO_PORT) is an allowed redirect target by default, next to the frontend's dev port.
    appOrigins: e.APP_ORIGINS ?? [...new Set(['http://localhost:3000', `http://localhost:${e.DEMO_PORT}`])],
    demoPort: e.DEMO_PORT,
    stripe: {
      secretKey: e.STRIPE_SECRET_KEY,
      webhookSecrets: e.STRIPE_WEBHOOK_SECRET ?? [],
      apiVersion: e.STRIPE_API_VERSION,
      defaultPriceId: e.STRIPE_DEFAULT_PRICE_ID,
      apiBaseUrl: e.STRIPE_API_BASE_URL,
    },
    clerk: {
      secretKey: e.CLERK_SECRET_KEY,
      jwtKey: e.CLERK_JWT_KEY,
      publishableKey: e.CLERK_PUBLISHABLE_KEY,
      authorizedParties: e.CLERK_AUTHORIZED_PARTIES,
    },
    sightengine: {
      apiUser: e.SIGHTENGINE_API_USER,
      apiSecret: e.SIGHTENGINE_API_SECRET,
      baseUrl: e.SIGHTENGINE_BASE_URL,
    },
    aiDetect: {
      monthlyBudget: e.SIGHTENGINE_MONTHLY_BUDGET,
      cacheTtlSeconds: e.AI_DETECT_CACHE_TTL_SECONDS,
      ratePerMinute: e.AI_DETECT_RATE_PER_MINUTE,
      rateBurst: e.AI_DETECT_RATE_BURST,
      fetchAllowLoopback: e.AI_DETECT_FETCH_ALLOW_LOOPBACK,
    },
    stripeRecoveryIntervalSeconds: e.STRIPE_RECOVERY_INTERVAL_SECONDS,
    live: { streamsPerAccount: e.LIVE_STREAMS_PER_ACCOUNT, changesKeepHours: e.SUBSCRIPTION_CHANGES_KEEP_HOURS },
    subscriptionEvents:
      e.SUBSCRIPTION_EVENTS_URL && e.SUBSCRIPTION_EVENTS_SECRET ? { url: e.SUBSCRIPTION_EVENTS_URL, secret: e.SUBSCRIPTION_EVENTS_SECRET } : undefined,
    role: e.ROLE,
    workerIntervalMs: e.WORKER_INTERVAL_MS,
    metricsToken: e.METRICS_TOKEN,
    secrets,
  };
}

function passwordOf(databaseUrl: string | undefined): string | undefined {
  if (!databaseUrl) return undefined;
  try {
    const password = new URL(databaseUrl).password;
    return password ? decodeURIComponent(password) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The folder the user typed a command in. pnpm runs a package's scripts in the package folder and
 * passes the user's folder as INIT_CWD; run directly (node, the bundle), it is the working directory.
 */
export function invocationDir(env: Record<string, string | undefined> = process.env): string {
  return env.INIT_CWD || process.cwd();
}

/**
 * Development convenience: read `.env` files, never in production. The package's own `.env` (the folder
 * the server runs in) first, then the workspace root's, where a newcomer puts it; the real environment
 * wins over both, and the nearer file over the root one (Node's loader never overwrites a set variable).
 * Returns the files read, for the start banner.
 */
export function loadDotEnvIfDevelopment(cwd = process.cwd()): string[] {
  if (process.env.NODE_ENV === 'production') return [];
  const files = [join(cwd, '.env')];
  const root = workspaceRoot(cwd);
  if (root && resolve(root) !== resolve(cwd)) files.push(join(root, '.env'));
  const loaded = files.filter((file) => existsSync(file));
  for (const file of loaded) process.loadEnvFile(file);
  return loaded.map((file) => relative(root ?? cwd, file) || file);
}

/** The nearest folder at or above `from` holding `pnpm-workspace.yaml`. */
function workspaceRoot(from: string): string | undefined {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'pnpm-workspace.yaml'))) return dir;
    if (dirname(dir) === dir) return undefined;
  }
}
