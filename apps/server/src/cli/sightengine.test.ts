import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { startSightengineDouble, type SightengineDouble } from '../testing/sightengine-double.js';
import { runCli } from './index.js';

describe('pnpm billing sightengine usage', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vd-cli-se-'));
  let double: SightengineDouble;
  beforeAll(async () => {
    double = await startSightengineDouble();
  });
  afterAll(async () => {
    await double.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function run(env: Record<string, string>) {
    const out: string[] = [];
    const err: string[] = [];
    const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: join(dir, 'data'), ...env });
    const code = await runCli(['sightengine', 'usage'], config, { out: (t) => out.push(t), err: (t) => err.push(t) });
    return { code, out: out.join('\n'), err: err.join('\n') };
  }

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
