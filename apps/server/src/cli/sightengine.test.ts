import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { startSightengineDouble, type SightengineDouble } from '../testing/sightengine-double.js';
import { runCliCaptured } from '../testing/cli.js';
import { seedDataDir } from '../testing/stores.js';

// Each run opens the PGlite folder (seconds on a busy machine): a generous timeout, as the other CLI tests.
describe('pnpm billing sightengine usage', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'vd-cli-se-'));
  seedDataDir(join(dir, 'data'));
  let double: SightengineDouble;
  beforeAll(async () => {
    double = await startSightengineDouble();
  });
  afterAll(async () => {
    await double.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const run = (env: Record<string, string>) => runCliCaptured(['sightengine', 'usage'], loadConfig({ NODE_ENV: 'test', DATA_DIR: join(dir, 'data'), ...env }));

  it("shows the account's numbers (parsed loosely) next to our counters", async () => {
    double.accountBody = { status: 'success', plan: { name: 'starter' }, usage: { ops: { month: '42' }, daily: 7 } };
    const result = await run({ SIGHTENGINE_API_USER: double.apiUser, SIGHTENGINE_API_SECRET: double.apiSecret, SIGHTENGINE_BASE_URL: double.baseUrl, SIGHTENGINE_MONTHLY_BUDGET: '500' });
    expect(result.code).toBe(0);
    expect(result.out).toMatch(/our counters \(\d{4}-\d{2}\): 0 Sightengine operations spent of a budget of 500; 0 billable detections/);
    expect(result.out).toContain('usage.ops.month: 42');
    expect(result.out).toContain('usage.daily: 7');
  });

  it('says so when Sightengine refuses the credentials', async () => {
    const result = await run({ SIGHTENGINE_API_USER: double.apiUser, SIGHTENGINE_API_SECRET: 'wrong', SIGHTENGINE_BASE_URL: double.baseUrl });
    expect(result.code).toBe(1);
    expect(result.err).toMatch(/Sightengine refused: credentials_error/);
    expect(result.err).not.toContain('wrong');
  });

  it('without credentials shows only our counters', async () => {
    const result = await run({});
    expect(result.code).toBe(0);
    expect(result.out).toContain('no credentials configured');
  });
});
