import { describe, expect, it } from 'vitest';
import { catalogProblems, catalogSchema, jsonPathOf } from './catalog.js';

const valid = {
  plans: [
    { id: 'free', name: 'Free', features: [], prices: [], quotas: { aiDetectionsPerMonth: 10 } },
    { id: 'pro', name: 'Pro', features: ['ai-detect'], prices: [{ lookupKey: 'pro_monthly', currency: 'usd', amount: 900, interval: 'month' }], quotas: { aiDetectionsPerMonth: 1000 } },
  ],
  meters: [{ eventName: 'ai_detection', displayName: 'AI detections', aggregation: 'sum' }],
};

describe('catalog schema', () => {
  it('accepts a valid catalog and defaults meters to none', () => {
    expect(catalogProblems(valid)).toEqual([]);
    expect(catalogSchema.parse({ plans: valid.plans }).meters).toEqual([]);
  });

  it('names every problem with its JSON path', () => {
    const bad = structuredClone(valid) as { plans: Array<Record<string, unknown> & { prices: Array<Record<string, unknown>> }>; meters: Array<Record<string, unknown>> };
    bad.plans[1]!.prices[0]!.amount = -1;
    bad.plans[1]!.prices[0]!.currency = 'USD';
    bad.meters[0]!.aggregation = 'avg';
    expect(catalogProblems(bad)).toEqual([
      expect.stringMatching(/^\$\.plans\[1\]\.prices\[0\]\.currency: /),
      expect.stringMatching(/^\$\.plans\[1\]\.prices\[0\]\.amount: /),
      expect.stringMatching(/^\$\.meters\[0\]\.aggregation: /),
    ]);
  });

  it('refuses duplicate plan ids, lookup keys and meter event names, and unknown top-level keys', () => {
    const dup = {
      plans: [valid.plans[1], { ...valid.plans[1], name: 'Pro again' }],
      meters: [valid.meters[0], valid.meters[0]],
      extra: true,
    };
    const problems = catalogProblems(dup);
    expect(problems).toContain('$: Unrecognized key: "extra"');
    expect(catalogProblems({ plans: dup.plans, meters: dup.meters })).toEqual([
      '$.plans[1].id: duplicate plan id "pro" (first used at index 0)',
      '$.plans[1].prices[0].lookupKey: duplicate price lookup key "pro_monthly" (first used at index 0)',
      '$.meters[1].eventName: duplicate meter event name "ai_detection" (first used at index 0)',
    ]);
  });

  it('writes JSON paths for odd keys', () => {
    expect(jsonPathOf(['a', 0, 'b-c'])).toBe('$.a[0]["b-c"]');
  });
});
