import { describe, expect, test } from 'vitest';
import { startBanner } from './banner.js';
import { loadConfig } from './config.js';

describe('the start banner', () => {
  test('with no keys it names the API, the demo and the local Checkout, and every development mode', () => {
    const banner = startBanner(loadConfig({ PORT: '0' }), 41234, ['.env']);
    expect(banner.fields.urls).toEqual({
      api: 'http://localhost:41234',
      demo: 'http://localhost:5173',
      localCheckout: 'http://localhost:41234/local-billing/checkout/<token>',
    });
    expect(banner.text).toContain('Demo:           http://localhost:5173');
    for (const mode of ['billing: local provider', 'sign-in: development identities', 'AI detection: local detector', 'POST /webhook verifies with a local secret', 'store: embedded PGlite in .data', 'env files read: .env'])
      expect(banner.text).toContain(mode);
    expect(banner.text).not.toContain('image URLs');
  });

  test('real keys turn the development modes off; PUBLIC_URL and DEMO_PORT are honoured', () => {
    const config = loadConfig({
      PUBLIC_URL: 'https://api.example.test',
      DEMO_PORT: '5174',
      STRIPE_SECRET_KEY: 'sk_test_banner',
      STRIPE_WEBHOOK_SECRET: 'whsec_a,whsec_b',
      CLERK_JWT_KEY: '-----BEGIN PUBLIC KEY-----x',
      SIGHTENGINE_API_USER: 'u',
      SIGHTENGINE_API_SECRET: 's3cret',
      DATABASE_URL: 'postgres://db/app',
      ROLE: 'api',
    });
    const banner = startBanner(config, 8787);
    expect(banner.fields.urls).toEqual({ api: 'https://api.example.test', demo: 'http://localhost:5174' });
    expect(banner.fields.modes).toEqual([
      'webhooks: POST /webhook verifies with 2 secret(s)',
      'role: api (ROLE; all does everything in one process)',
      'store: PostgreSQL (DATABASE_URL)',
    ]);
  });
});
