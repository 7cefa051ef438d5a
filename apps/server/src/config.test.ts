import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected the configuration to be refused');
}

const productionEnv = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://app:hunter2secret@db.internal:5432/verifieddit',
  STRIPE_SECRET_KEY: 'sk_live_51AbCdEf',
  STRIPE_WEBHOOK_SECRET: 'whsec_abc123',
  CLERK_SECRET_KEY: 'sk_live_clerk123',
  CLERK_PUBLISHABLE_KEY: 'pk_live_Y2xlcms',
  SIGHTENGINE_API_USER: '12345',
  SIGHTENGINE_API_SECRET: 'se-secret-value',
};

describe('loadConfig', () => {
  it('runs with no variables at all outside production, selecting local providers and defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      nodeEnv: 'development',
      port: 8787,
      logLevel: 'info',
      databaseUrl: undefined,
      dataDir: '.data',
      stripe: { secretKey: undefined, webhookSecrets: [], apiVersion: '2026-10-28.endive' },
      clerk: { secretKey: undefined, jwtKey: undefined, authorizedParties: [] },
      sightengine: { apiUser: undefined, baseUrl: 'https://api.sightengine.com' },
    });
    expect(config.secrets).toEqual([]);
  });

  it('names every bad variable in one error', () => {
    const problems = problemsOf({
      PORT: 'eighty',
      LOG_LEVEL: 'loud',
      DATABASE_URL: 'mysql://x',
      APP_ORIGINS: 'https://ok.example,not a url',
      STRIPE_API_VERSION: 'yesterday',
      STRIPE_DEFAULT_PRICE_ID: 'prod_123',
      SIGHTENGINE_BASE_URL: 'ftp://x',
    });
    const named = problems.map((p) => p.split(':')[0]);
    expect(named).toEqual(
      expect.arrayContaining(['PORT', 'LOG_LEVEL', 'DATABASE_URL', 'APP_ORIGINS', 'STRIPE_API_VERSION', 'STRIPE_DEFAULT_PRICE_ID', 'SIGHTENGINE_BASE_URL']),
    );
    expect(problems).toHaveLength(7);
  });

  it('refuses a publishable key where the Stripe secret key belongs, and says why', () => {
    const [problem] = problemsOf({ STRIPE_SECRET_KEY: 'pk_test_51AbC' });
    expect(problem).toMatch(/^STRIPE_SECRET_KEY: .*publishable key/);
  });

  it('accepts test, live (in production) and restricted Stripe keys and refuses other forms', () => {
    expect(loadConfig({ STRIPE_SECRET_KEY: 'sk_test_abc' }).stripe.secretKey).toBe('sk_test_abc');
    expect(loadConfig({ STRIPE_SECRET_KEY: 'rk_test_abc' }).stripe.secretKey).toBe('rk_test_abc');
    expect(loadConfig({ ...productionEnv, STRIPE_SECRET_KEY: 'rk_live_abc' }).stripe.secretKey).toBe('rk_live_abc');
    expect(problemsOf({ STRIPE_SECRET_KEY: 'whsec_abc' })[0]).toMatch(/STRIPE_SECRET_KEY: must start with sk_test_/);
  });

  it('refuses a live Stripe key outside production', () => {
    expect(problemsOf({ STRIPE_SECRET_KEY: 'sk_live_abc' })[0]).toMatch(/live key .* refused outside NODE_ENV=production/);
  });

  it('takes several comma-separated webhook secrets for rotation and checks each is whsec_', () => {
    expect(loadConfig({ STRIPE_WEBHOOK_SECRET: 'whsec_old, whsec_new' }).stripe.webhookSecrets).toEqual(['whsec_old', 'whsec_new']);
    expect(problemsOf({ STRIPE_WEBHOOK_SECRET: 'whsec_ok,sk_test_wrong' })[0]).toMatch(/STRIPE_WEBHOOK_SECRET.*whsec_/);
  });

  it('refuses a publishable key as the Clerk secret key', () => {
    expect(problemsOf({ CLERK_SECRET_KEY: 'pk_test_abc' })[0]).toMatch(/CLERK_SECRET_KEY: .*publishable key/);
  });

  it('refuses to start in production without a real store, Stripe, Clerk and Sightengine keys, naming each', () => {
    const problems = problemsOf({ NODE_ENV: 'production' });
    const text = problems.join('\n');
    for (const name of ['DATABASE_URL', 'STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET', 'CLERK_SECRET_KEY', 'CLERK_PUBLISHABLE_KEY', 'SIGHTENGINE_API_USER']) {
      expect(text).toContain(name);
    }
  });

  it('starts in production with everything set and lists every secret for the log scrubber', () => {
    const config = loadConfig(productionEnv);
    expect(config.isProduction).toBe(true);
    expect(config.secrets).toEqual(expect.arrayContaining(['sk_live_51AbCdEf', 'whsec_abc123', 'sk_live_clerk123', 'se-secret-value', 'hunter2secret']));
  });

  it('treats empty strings as unset', () => {
    expect(loadConfig({ STRIPE_SECRET_KEY: '', DATABASE_URL: ' ' }).stripe.secretKey).toBeUndefined();
  });

  it('reads numbers and flags from their text, and a blank one as unset (its default)', () => {
    const config = loadConfig({ PORT: ' 8080 ', AI_DETECT_RATE_BURST: '7', SIGHTENGINE_MONTHLY_BUDGET: ' ', AI_DETECT_FETCH_ALLOW_LOOPBACK: '1', WORKER_INTERVAL_MS: '' });
    expect(config).toMatchObject({ port: 8080, aiDetect: { rateBurst: 7, monthlyBudget: 500, fetchAllowLoopback: true }, workerIntervalMs: undefined });
    expect(loadConfig({ AI_DETECT_FETCH_ALLOW_LOOPBACK: '' }).aiDetect.fetchAllowLoopback).toBe(false);
  });

  // The schema is zod/mini, which sets no language of its own: its messages must still be English.
  it('words the built-in checks in English, naming the limit', () => {
    expect(problemsOf({ PORT: '65536' })).toEqual(['PORT: Too big: expected number to be <=65535']);
    expect(problemsOf({ AI_DETECT_RATE_BURST: '2.5' })).toEqual(['AI_DETECT_RATE_BURST: Invalid input: expected int, received number']);
    expect(problemsOf({ NODE_ENV: 'staging' })).toEqual(['NODE_ENV: Invalid option: expected one of "development"|"test"|"production"']);
    expect(problemsOf({ PUBLIC_URL: 'not a url' })).toEqual(['PUBLIC_URL: Invalid URL', 'PUBLIC_URL: must be an http(s) URL']);
  });
});
