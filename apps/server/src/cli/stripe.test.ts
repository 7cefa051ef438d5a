import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_CATALOG } from '../billing/catalog.js';
import { loadConfig } from '../config.js';
import { startStripeDouble, type StripeDouble } from '../testing/stripe-double.js';
import { runCliCaptured } from '../testing/cli.js';
import { seedDataDir } from '../testing/stores.js';

const KEY = 'sk_test_cli_0123456789abcdef';
const dir = mkdtempSync(join(tmpdir(), 'vd-cli-stripe-'));
seedDataDir(join(dir, 'data'));
let double: StripeDouble;
beforeAll(async () => {
  double = await startStripeDouble();
});
afterAll(async () => {
  await double.close();
  rmSync(dir, { recursive: true, force: true });
});

const run = (argv: string[], env: Record<string, string> = {}) =>
  runCliCaptured(argv, loadConfig({ NODE_ENV: 'test', STRIPE_SECRET_KEY: KEY, STRIPE_API_BASE_URL: double.url, DATA_DIR: join(dir, 'data'), ...env }));
const file = (name: string, content: string) => {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
};

describe('stripe test', () => {
  it('says the key works, its mode and the API version, and never prints the key', async () => {
    const result = await run(['stripe', 'test']);
    expect(result.code).toBe(0);
    expect(result.out).toContain('key works: secret key, test mode');
    expect(result.out).toContain('API version: 2026-10-28.endive');
    expect(result.out + result.err).not.toContain(KEY);
    expect(double.requests.at(-1)?.authorization).toBe(`Bearer ${KEY}`);
  });

  it('reports a refused key without printing it', async () => {
    const refused = await startStripeDouble({ acceptKey: () => false });
    try {
      const result = await run(['stripe', 'test'], { STRIPE_API_BASE_URL: refused.url });
      expect(result.code).toBe(1);
      expect(result.err).toContain('Stripe refused the key (401)');
      expect(result.out + result.err).not.toContain(KEY);
    } finally {
      await refused.close();
    }
  });

  it('reads the key from --secret-file and refuses a live one outside production unless --live', async () => {
    const live = file('live.key', 'sk_live_0123456789abcdef\n');
    const refused = await run(['stripe', 'test', '--secret-file', live]);
    expect(refused.code).toBe(2);
    expect(refused.err).toContain('live key is refused outside NODE_ENV=production');
    const allowed = await run(['stripe', 'test', '--secret-file', live, '--live']);
    expect(allowed).toMatchObject({ code: 0, out: expect.stringContaining('secret key, live mode') });
    expect(allowed.out).not.toContain('sk_live_0123456789abcdef');
  });

  it('refuses keys given as arguments', async () => {
    const result = await run(['stripe', 'test', '--secret-file', 'sk_test_oops']);
    expect(result.code).toBe(2);
    expect(result.err).toContain('never accepted as arguments');
  });
});

describe('stripe catalog sync', () => {
  it('plans on --dry-run, applies, then reports nothing to change', async () => {
    const catalog = file('catalog.json', JSON.stringify(DEFAULT_CATALOG));
    const dry = await run(['stripe', 'catalog', 'sync', '--file', catalog, '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.out).toContain('dry run: 3 change(s) would be made (nothing written)');
    expect(double.products.size + double.prices.size + double.meters.size).toBe(0);

    const first = await run(['stripe', 'catalog', 'sync', '--file', catalog]);
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/^applied 3 change\(s\)/);
    expect([...double.prices.values()].map((p) => p.lookup_key)).toEqual(['pro_monthly']);

    const second = await run(['stripe', 'catalog', 'sync', '--file', catalog]);
    expect(second.out).toContain('nothing to change: Stripe already matches the catalog');
  });

  it('refuses an invalid catalog before talking to Stripe', async () => {
    double.clearRequests();
    const result = await run(['stripe', 'catalog', 'sync', '--file', file('bad.json', '{"plans":[]}')]);
    expect(result.code).toBe(1);
    expect(result.err).toContain('$.plans: list at least one plan');
    expect(double.requests).toEqual([]);
  });
});
