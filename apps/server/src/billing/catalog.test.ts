import { catalogSchema } from '@verifieddit/contracts';
import { describe, expect, it } from 'vitest';
import { useTestStore } from '../testing/fixtures.js';
import { storeTargets } from '../testing/stores.js';
import { DEFAULT_CATALOG, StoreCatalog } from './catalog.js';

describe('the default catalog', () => {
  it('is a valid catalog, written as the schema parses it', () => {
    expect(catalogSchema.parse(DEFAULT_CATALOG)).toEqual(DEFAULT_CATALOG);
  });
});

describe.each(storeTargets)('catalog kept in the store ($name)', (target) => {
  const t = useTestStore(target);

  it('serves the default catalog until one is stored, then the latest stored version', async () => {
    const catalog = new StoreCatalog(t.store, { cacheMs: 0 });
    expect(await catalog.active()).toMatchObject({ source: 'default', version: null });
    expect(await catalog.plans()).toEqual(DEFAULT_CATALOG.plans);

    const team = { id: 'team', name: 'Team', features: ['ai-detect'], prices: [{ lookupKey: 'team_yearly', currency: 'eur', amount: 9900, interval: 'year' }], quotas: { aiDetectionsPerMonth: 50000 } };
    const first = await catalog.put({ plans: [team] });
    const second = await catalog.put({ plans: [{ ...team, name: 'Team+' }] });
    expect(second.version).toBeGreaterThan(first.version);
    const active = await catalog.active();
    expect(active).toMatchObject({ source: 'stored', version: second.version, catalog: { plans: [{ id: 'team', name: 'Team+' }], meters: [] } });
    expect(active.storedAt).toBeInstanceOf(Date);
  });

  it('reads a stored row through the schema unless it is already the schema\'s output', async () => {
    const catalog = new StoreCatalog(t.store, { cacheMs: 0 });
    const insert = (row: unknown) => t.store.query('INSERT INTO catalogs (catalog) VALUES ($1::jsonb)', [JSON.stringify(row)]);
    await insert({ plans: [{ ...DEFAULT_CATALOG.plans[0], tier: 'gold' }] });
    expect((await catalog.active()).catalog).toEqual({ plans: [DEFAULT_CATALOG.plans[0]], meters: [] });
    await insert({ ...DEFAULT_CATALOG, plans: [{ ...DEFAULT_CATALOG.plans[0], quotas: { aiDetectionsPerMonth: -1 } }] });
    await expect(catalog.active()).rejects.toThrow(/aiDetectionsPerMonth/);
    await catalog.put(DEFAULT_CATALOG); // the store is shared by this file's tests
  });

  it('refuses to store an invalid catalog', async () => {
    const catalog = new StoreCatalog(t.store, { cacheMs: 0 });
    const before = await catalog.active();
    await expect(catalog.put({ plans: [] })).rejects.toThrow(/at least one plan/);
    expect((await catalog.active()).version).toBe(before.version);
  });
});
