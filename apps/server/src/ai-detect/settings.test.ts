import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../config.js';

const production = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://app@db:5432/app',
  STRIPE_SECRET_KEY: 'sk_live_abcdef',
  STRIPE_WEBHOOK_SECRET: 'whsec_abc',
  CLERK_SECRET_KEY: 'sk_live_abcdef',
  CLERK_PUBLISHABLE_KEY: 'pk_live_abc',
  SIGHTENGINE_API_USER: '12345',
  SIGHTENGINE_API_SECRET: 'se-secret-value',
};

describe('AI detection settings', () => {
  it('defaults: budget 500, no TTL, 10/min burst 5, loopback refused', () => {
    expect(loadConfig({}).aiDetect).toEqual({
      monthlyBudget: 500,
      cacheTtlSeconds: undefined,
      ratePerMinute: 10,
      rateBurst: 5,
      fetchAllowLoopback: false,
    });
  });

  it('reads every setting', () => {
    const config = loadConfig({
      SIGHTENGINE_MONTHLY_BUDGET: '2000',
      AI_DETECT_CACHE_TTL_SECONDS: '3600',
      AI_DETECT_RATE_PER_MINUTE: '30',
      AI_DETECT_RATE_BURST: '8',
      AI_DETECT_FETCH_ALLOW_LOOPBACK: 'true',
      NODE_ENV: 'test',
    });
    expect(config.aiDetect).toEqual({ monthlyBudget: 2000, cacheTtlSeconds: 3600, ratePerMinute: 30, rateBurst: 8, fetchAllowLoopback: true });
  });

  it('refuses the loopback allowance in production, naming the variable', () => {
    expect(loadConfig(production).aiDetect.fetchAllowLoopback).toBe(false);
    try {
      loadConfig({ ...production, AI_DETECT_FETCH_ALLOW_LOOPBACK: 'true' });
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as ConfigError).problems.join('\n')).toMatch(/AI_DETECT_FETCH_ALLOW_LOOPBACK: refused in production/);
    }
  });

  it('names bad values', () => {
    try {
      loadConfig({ SIGHTENGINE_MONTHLY_BUDGET: '-1', AI_DETECT_FETCH_ALLOW_LOOPBACK: 'yes' });
      expect.unreachable();
    } catch (error) {
      const text = (error as ConfigError).problems.join('\n');
      expect(text).toMatch(/SIGHTENGINE_MONTHLY_BUDGET/);
      expect(text).toMatch(/AI_DETECT_FETCH_ALLOW_LOOPBACK/);
    }
  });
});
