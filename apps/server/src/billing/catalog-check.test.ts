import { catalogSchema } from '@verifieddit/contracts';
import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { describe, expect, it } from 'vitest';
import { isParsedCatalog } from './catalog-check.js';
import { DEFAULT_CATALOG } from './catalog.js';

const price = fc.record({ lookupKey: fc.constantFrom('pro_monthly', 'pro_yearly', 'team'), currency: fc.constantFrom('usd', 'eur'), amount: fc.nat(), interval: fc.constantFrom('month', 'year') });
const plan = fc.record({
  id: fc.constantFrom('free', 'pro', 'team'),
  name: fc.constantFrom('Free', 'Pro'),
  features: fc.array(fc.constantFrom('ai-detect', 'priority'), { maxLength: 2 }),
  prices: fc.array(price, { maxLength: 2 }),
  quotas: fc.record({ aiDetectionsPerMonth: fc.nat() }),
});
const meter = fc.record({ eventName: fc.constantFrom('ai_detection', 'ai.upload'), displayName: fc.constantFrom('AI detections', 'x'.repeat(250)), aggregation: fc.constantFrom('sum', 'count', 'last') });
const valid = fc.record({ $schema: fc.constant('./catalog.schema.json'), plans: fc.array(plan, { minLength: 1, maxLength: 3 }), meters: fc.array(meter, { maxLength: 2 }) }, { requiredKeys: ['plans', 'meters'] });
const odd = fc.constantFrom(undefined, -1, 1.5, 2 ** 53, null, true, [], {}, '1', '', 'A', 'US', 'decade', '-a', 'x'.repeat(65), 'x'.repeat(251));

/** A catalog (valid or not) with one field replaced, removed or added: what a hand-edited row could hold. */
const edited = fc.tuple(valid, fc.nat(), odd, fc.constantFrom('set', 'delete', 'add')).map(([catalog, at, value, how]) => {
  const places: [Record<string, unknown>, string][] = [];
  const walk = (node: unknown) => {
    if (!node || typeof node !== 'object') return;
    for (const [key, child] of Object.entries(node)) {
      places.push([node as Record<string, unknown>, key]);
      walk(child);
    }
  };
  walk(catalog);
  const [object, key] = places[at % places.length]!;
  if (how === 'delete') delete object[key];
  else if (how === 'add') object.extra = value;
  else object[key] = value;
  return catalog;
});
const catalog = fc.oneof(valid, edited);

describe('the stored catalog check', () => {
  it('says yes only to what the schema accepts and returns unchanged (a stored row is JSON)', () => {
    let accepted = 0;
    fc.assert(
      fc.property(catalog, (generated) => {
        const row: unknown = JSON.parse(JSON.stringify(generated));
        if (!isParsedCatalog(row)) return;
        accepted++;
        const parsed = catalogSchema.safeParse(row);
        expect(parsed.success && isDeepStrictEqual(parsed.data, row)).toBe(true);
      }),
      { numRuns: 20_000 },
    );
    expect(accepted).toBeGreaterThan(0);
  });

  it('says yes to a catalog as put() stores it', () => {
    const stored = JSON.parse(JSON.stringify(catalogSchema.parse({ ...DEFAULT_CATALOG, $schema: './catalog.schema.json' })));
    expect(isParsedCatalog(stored)).toBe(true);
  });

  it.each([
    ['no meters (the schema adds them)', { plans: DEFAULT_CATALOG.plans }],
    ['an unknown plan field (the schema drops it)', { ...DEFAULT_CATALOG, plans: [{ ...DEFAULT_CATALOG.plans[0], tier: 1 }] }],
    ['no plans', { plans: [], meters: [] }],
    ['a duplicate plan id', { ...DEFAULT_CATALOG, plans: [DEFAULT_CATALOG.plans[0], DEFAULT_CATALOG.plans[0]] }],
  ])('leaves a catalog with %s to the schema', (_name, row) => {
    expect(isParsedCatalog(row)).toBe(false);
  });
});
