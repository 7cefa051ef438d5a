import { catalogSchema, type Catalog } from '@verifieddit/contracts';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startStripeDouble, type StripeDouble } from '../../testing/stripe-double.js';
import { syncCatalog } from './catalog-sync.js';

const catalog = (proAmount = 900): Catalog =>
  catalogSchema.parse({
    plans: [
      { id: 'free', name: 'Free', features: [], prices: [], quotas: { aiDetectionsPerMonth: 10 } },
      {
        id: 'pro',
        name: 'Pro',
        features: ['ai-detect'],
        prices: [
          { lookupKey: 'pro_monthly', currency: 'usd', amount: proAmount, interval: 'month' },
          { lookupKey: 'pro_yearly', currency: 'usd', amount: 9000, interval: 'year' },
        ],
        quotas: { aiDetectionsPerMonth: 1000 },
      },
    ],
    meters: [{ eventName: 'ai_detection', displayName: 'AI detections', aggregation: 'sum' }],
  });

const writes = (double: StripeDouble) => double.requests.filter((r) => r.method === 'POST');

describe('stripe catalog sync', () => {
  let double: StripeDouble;
  beforeEach(async () => {
    double = await startStripeDouble();
  });
  afterEach(() => double.close());

  it('creates what is missing on the first run, keyed by stable identifiers', async () => {
    const result = await syncCatalog(double.stripe(), catalog());
    expect(result.applied).toBe(true);
    expect(double.meters.size).toBe(1);
    expect([...double.meters.values()][0]).toMatchObject({ event_name: 'ai_detection', display_name: 'AI detections', default_aggregation: { formula: 'sum' } });
    // Only plans with prices become products.
    expect([...double.products.values()].map((p) => [p.name, p.metadata])).toEqual([['Pro', { catalog_plan_id: 'pro' }]]);
    const product = [...double.products.values()][0]!;
    expect(
      [...double.prices.values()].map((p) => ({ key: p.lookup_key, amount: p.unit_amount, product: p.product, interval: (p.recurring as { interval: string }).interval })),
    ).toEqual([
      { key: 'pro_monthly', amount: 900, product: product.id, interval: 'month' },
      { key: 'pro_yearly', amount: 9000, product: product.id, interval: 'year' },
    ]);
    const priceCreate = double.requestsTo('/v1/prices', 'POST')[0]!;
    expect(priceCreate.body).toEqual({
      currency: 'usd',
      unit_amount: '900',
      recurring: { interval: 'month' },
      lookup_key: 'pro_monthly',
      metadata: { catalog_plan_id: 'pro' },
      product: product.id,
    });
    expect(priceCreate.idempotencyKey).toMatch(/^catalog-sync-create_price-/);
    expect(result.lines[0]).toMatch(/^applied 4 change/);
  });

  it('changes nothing on a second run, and says so', async () => {
    await syncCatalog(double.stripe(), catalog());
    double.clearRequests();
    const second = await syncCatalog(double.stripe(), catalog());
    expect(second.applied).toBe(false);
    expect(second.actions).toEqual([]);
    expect(writes(double)).toEqual([]);
    expect(second.lines[0]).toBe('nothing to change: Stripe already matches the catalog (1 products, 2 prices, 1 meters)');
  });

  it('replaces a price whose amount changed: new price, lookup key moved, old one archived', async () => {
    await syncCatalog(double.stripe(), catalog(900));
    const old = [...double.prices.values()].find((p) => p.lookup_key === 'pro_monthly')!;
    const result = await syncCatalog(double.stripe(), catalog(1200));
    expect(result.actions.map((a) => a.kind)).toEqual(['create_price']);
    const current = [...double.prices.values()].filter((p) => p.lookup_key === 'pro_monthly');
    expect(current).toHaveLength(1);
    expect(current[0]).toMatchObject({ unit_amount: 1200, active: true });
    expect(current[0]!.id).not.toBe(old.id);
    expect(double.prices.get(old.id)).toMatchObject({ active: false, lookup_key: null, unit_amount: 900 });
    expect(double.requestsTo('/v1/prices', 'POST').at(-1)!.body.transfer_lookup_key).toBe('true');
    expect(result.lines.join('\n')).toContain('amount 900 → 1200');
    // and then it is settled
    expect((await syncCatalog(double.stripe(), catalog(1200))).actions).toEqual([]);
  });

  it('updates names in place and reactivates archived products', async () => {
    await syncCatalog(double.stripe(), catalog());
    const product = [...double.products.values()][0]!;
    product.active = false;
    const renamed = catalog();
    renamed.plans[1]!.name = 'Pro (2027)';
    renamed.meters[0]!.displayName = 'AI image checks';
    const result = await syncCatalog(double.stripe(), renamed);
    expect(result.actions.map((a) => a.kind).sort()).toEqual(['update_meter', 'update_product']);
    expect(double.products.get(product.id)).toMatchObject({ name: 'Pro (2027)', active: true });
    expect([...double.meters.values()][0]!.display_name).toBe('AI image checks');
    expect(double.products.size).toBe(1);
  });

  it('prints the plan on a dry run and writes nothing', async () => {
    const result = await syncCatalog(double.stripe(), catalog(), { dryRun: true });
    expect(result.applied).toBe(false);
    expect(writes(double)).toEqual([]);
    expect(double.products.size + double.prices.size + double.meters.size).toBe(0);
    expect(result.lines).toEqual([
      'dry run: 4 change(s) would be made (nothing written)',
      '  would create meter ai_detection ("AI detections", sum)',
      '  would create product "Pro" for plan pro',
      '  would create price pro_monthly for plan pro: 900 usd per month',
      '  would create price pro_yearly for plan pro: 9000 usd per year',
    ]);
  });

  it('finishes after a failed run without duplicating anything', async () => {
    double.failNext('POST /v1/prices', 500, 1);
    await expect(syncCatalog(double.stripe(), catalog())).rejects.toMatchObject({ statusCode: 500 });
    await syncCatalog(double.stripe(), catalog());
    expect(double.products.size).toBe(1);
    expect(double.meters.size).toBe(1);
    expect([...double.prices.values()].map((p) => p.lookup_key).sort()).toEqual(['pro_monthly', 'pro_yearly']);
  });
});
