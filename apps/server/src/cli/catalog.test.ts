import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFAULT_CATALOG } from '../billing/catalog.js';
import { loadConfig } from '../config.js';
import { runCliCaptured } from '../testing/cli.js';
import { seedDataDir } from '../testing/stores.js';

const dir = mkdtempSync(join(tmpdir(), 'vd-cli-catalog-'));
seedDataDir(join(dir, 'data'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: join(dir, 'data') });

const run = (...argv: string[]) => runCliCaptured(argv, config);
const file = (name: string, content: unknown) => {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
};

// put and get open the PGlite folder (seconds on a busy machine): a generous timeout.
describe('catalog commands', { timeout: 120_000 }, () => {
  it('prints a template that validates', async () => {
    const template = await run('catalog', 'template');
    expect(template.code).toBe(0);
    expect(JSON.parse(template.out)).toEqual(DEFAULT_CATALOG);
    const validated = await run('catalog', 'validate', '--file', file('template.json', template.out));
    expect(validated).toMatchObject({ code: 0, out: expect.stringContaining('valid (2 plans, 1 prices, 1 meters)') });
  });

  it('explains every problem of a bad catalog with its JSON path, and exits 1', async () => {
    const bad = structuredClone(DEFAULT_CATALOG) as unknown as { plans: Array<{ id: string; prices: Array<{ amount: unknown }> }>; meters: unknown[] };
    bad.plans[0]!.id = 'Free Plan';
    bad.plans[1]!.prices[0]!.amount = '9.00';
    bad.meters = [{ eventName: 'ai_detection', displayName: '', aggregation: 'sum' }];
    const result = await run('catalog', 'validate', '--file', file('bad.json', bad));
    expect(result.code).toBe(1);
    expect(result.err).toContain('3 problem(s)');
    expect(result.err).toContain('$.plans[0].id: lowercase letters, digits, - and _');
    expect(result.err).toMatch(/\$\.plans\[1\]\.prices\[0\]\.amount: .*number/);
    expect(result.err).toMatch(/\$\.meters\[0\]\.displayName: /);
    expect((await run('catalog', 'validate', '--file', file('broken.json', '{ "plans": ['))).err).toContain('not valid JSON');
  });

  it('refuses missing --file, unknown flags and stray arguments with exit 2', async () => {
    expect(await run('catalog', 'validate')).toMatchObject({ code: 2, err: '--file PATH is required' });
    expect((await run('catalog', 'get', '--nope')).code).toBe(2);
    expect((await run('catalog', 'template', 'extra')).code).toBe(2);
  });

  it('stores a catalog with put and shows it with get; the default before that', async () => {
    const before = await run('catalog', 'get');
    expect(before.code).toBe(0);
    expect(before.err).toContain('built-in default');
    expect(JSON.parse(before.out)).toEqual(DEFAULT_CATALOG);

    const mine = { plans: [{ id: 'team', name: 'Team', features: ['ai-detect'], prices: [], quotas: { aiDetectionsPerMonth: 5 } }] };
    const put = await run('catalog', 'put', '--file', file('mine.json', mine));
    expect(put).toMatchObject({ code: 0, out: expect.stringMatching(/^stored catalog version \d+/) });
    const after = await run('catalog', 'get');
    expect(after.err).toMatch(/active catalog: version \d+/);
    expect(JSON.parse(after.out)).toEqual({ ...mine, meters: [] });

    expect((await run('catalog', 'put', '--file', file('empty.json', { plans: [] }))).code).toBe(1);
    expect(JSON.parse((await run('catalog', 'get')).out)).toEqual({ ...mine, meters: [] });
  });
});
