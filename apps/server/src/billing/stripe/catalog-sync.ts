import { createHash } from 'node:crypto';
import type { Catalog } from '@verifieddit/contracts';
import type Stripe from 'stripe';

/**
 * Makes Stripe match a catalog. Everything is matched by stable identifiers, never by Stripe ids:
 * products by `metadata.catalog_plan_id`, prices by lookup key, meters by event name. Missing
 * objects are created, changed ones updated; prices are immutable, so a changed price is replaced
 * (new price takes the lookup key with `transfer_lookup_key`, the old one is archived). Objects that
 * are no longer in the catalog are left alone and reported. A second run plans nothing.
 */

const PLAN_METADATA_KEY = 'catalog_plan_id';

type SyncAction =
  | { kind: 'create_meter'; eventName: string; params: Stripe.Billing.MeterCreateParams }
  | { kind: 'update_meter'; eventName: string; meterId: string; displayName: string }
  | { kind: 'reactivate_meter'; eventName: string; meterId: string }
  | { kind: 'create_product'; planId: string; params: Stripe.ProductCreateParams }
  | { kind: 'update_product'; planId: string; productId: string; params: Stripe.ProductUpdateParams }
  | {
      kind: 'create_price';
      planId: string;
      lookupKey: string;
      params: Omit<Stripe.PriceCreateParams, 'product'>;
      /** The price currently holding the lookup key, archived once the new one has it. */
      replaces: string | null;
      why: string;
    }
  | { kind: 'reactivate_price'; planId: string; lookupKey: string; priceId: string };

interface SyncPlan {
  actions: SyncAction[];
  /** Stripe objects we manage that the catalog no longer lists (left alone). */
  unmanaged: string[];
  counts: { products: number; prices: number; meters: number };
}

export interface SyncResult extends SyncPlan {
  applied: boolean;
  /** Human-readable lines, one per action (or one saying nothing changed). */
  lines: string[];
}

const plansForSale = (catalog: Catalog) => catalog.plans.filter((plan) => plan.prices.length > 0);

/** Reads Stripe and works out what would change; writes nothing. */
async function planCatalogSync(stripe: Stripe, catalog: Catalog): Promise<SyncPlan> {
  const actions: SyncAction[] = [];
  const unmanaged: string[] = [];

  // Meters, by event name.
  const meters = await stripe.billing.meters.list({ limit: 100 }).autoPagingToArray({ limit: 10_000 });
  for (const meter of catalog.meters) {
    const candidates = meters.filter((m) => m.event_name === meter.eventName);
    const existing = candidates.find((m) => m.status === 'active') ?? candidates[0];
    if (!existing) {
      actions.push({
        kind: 'create_meter',
        eventName: meter.eventName,
        params: { display_name: meter.displayName, event_name: meter.eventName, default_aggregation: { formula: meter.aggregation } },
      });
      continue;
    }
    if (existing.status !== 'active') actions.push({ kind: 'reactivate_meter', eventName: meter.eventName, meterId: existing.id });
    if (existing.display_name !== meter.displayName)
      actions.push({ kind: 'update_meter', eventName: meter.eventName, meterId: existing.id, displayName: meter.displayName });
    if (existing.default_aggregation.formula !== meter.aggregation)
      unmanaged.push(
        `meter ${meter.eventName} (${existing.id}) aggregates by ${existing.default_aggregation.formula}, the catalog says ${meter.aggregation}: Stripe meters are immutable — create a meter with a new event name`,
      );
  }
  const catalogEvents = new Set(catalog.meters.map((m) => m.eventName));
  for (const meter of meters) if (meter.status === 'active' && !catalogEvents.has(meter.event_name)) unmanaged.push(`meter ${meter.event_name} (${meter.id})`);

  // Products, by metadata.catalog_plan_id (listed, not searched: search lags behind writes).
  const products = (await stripe.products.list({ limit: 100 }).autoPagingToArray({ limit: 10_000 })).filter((p) => p.metadata?.[PLAN_METADATA_KEY]);
  const productOf = new Map<string, Stripe.Product>();
  for (const product of products) {
    const planId = product.metadata[PLAN_METADATA_KEY]!;
    const known = productOf.get(planId);
    // Prefer an active product if an operator made duplicates by hand.
    if (!known || (!known.active && product.active)) productOf.set(planId, product);
  }
  for (const plan of plansForSale(catalog)) {
    const product = productOf.get(plan.id);
    if (!product) {
      actions.push({ kind: 'create_product', planId: plan.id, params: { name: plan.name, metadata: { [PLAN_METADATA_KEY]: plan.id } } });
      continue;
    }
    const params: Stripe.ProductUpdateParams = {};
    if (product.name !== plan.name) params.name = plan.name;
    if (!product.active) params.active = true;
    if (Object.keys(params).length) actions.push({ kind: 'update_product', planId: plan.id, productId: product.id, params });
  }
  const salePlanIds = new Set(plansForSale(catalog).map((p) => p.id));
  for (const [planId, product] of productOf) if (product.active && !salePlanIds.has(planId)) unmanaged.push(`product ${product.name} (${product.id}, plan ${planId})`);

  // Prices, by lookup key (the list endpoint takes at most 10 keys a call).
  const lookupKeys = plansForSale(catalog).flatMap((plan) => plan.prices.map((price) => price.lookupKey));
  const priceOf = new Map<string, Stripe.Price>();
  for (let i = 0; i < lookupKeys.length; i += 10) {
    const page = await stripe.prices.list({ lookup_keys: lookupKeys.slice(i, i + 10), limit: 100 });
    for (const price of page.data) if (price.lookup_key) priceOf.set(price.lookup_key, price);
  }
  for (const plan of plansForSale(catalog)) {
    const product = productOf.get(plan.id);
    for (const price of plan.prices) {
      const params: Omit<Stripe.PriceCreateParams, 'product'> = {
        currency: price.currency,
        unit_amount: price.amount,
        recurring: { interval: price.interval },
        lookup_key: price.lookupKey,
        metadata: { [PLAN_METADATA_KEY]: plan.id },
      };
      const existing = priceOf.get(price.lookupKey);
      if (!existing) {
        actions.push({ kind: 'create_price', planId: plan.id, lookupKey: price.lookupKey, params, replaces: null, why: 'missing' });
        continue;
      }
      const differences = [
        existing.currency !== price.currency && `currency ${existing.currency} → ${price.currency}`,
        existing.unit_amount !== price.amount && `amount ${existing.unit_amount} → ${price.amount}`,
        existing.recurring?.interval !== price.interval && `interval ${existing.recurring?.interval ?? 'one-time'} → ${price.interval}`,
        (existing.recurring?.interval_count ?? 1) !== 1 && `interval count ${existing.recurring?.interval_count} → 1`,
        (!product || (typeof existing.product === 'string' ? existing.product : existing.product.id) !== product.id) && `product → plan ${plan.id}'s product`,
      ].filter((d): d is string => Boolean(d));
      if (differences.length) {
        actions.push({
          kind: 'create_price',
          planId: plan.id,
          lookupKey: price.lookupKey,
          params: { ...params, transfer_lookup_key: true },
          replaces: existing.id,
          why: differences.join(', '),
        });
      } else if (!existing.active) {
        actions.push({ kind: 'reactivate_price', planId: plan.id, lookupKey: price.lookupKey, priceId: existing.id });
      }
    }
  }

  return {
    actions,
    unmanaged,
    counts: { products: plansForSale(catalog).length, prices: lookupKeys.length, meters: catalog.meters.length },
  };
}

function describeAction(action: SyncAction): string {
  switch (action.kind) {
    case 'create_meter':
      return `create meter ${action.eventName} ("${action.params.display_name}", ${action.params.default_aggregation.formula})`;
    case 'update_meter':
      return `update meter ${action.eventName} (${action.meterId}): display name → "${action.displayName}"`;
    case 'reactivate_meter':
      return `reactivate meter ${action.eventName} (${action.meterId})`;
    case 'create_product':
      return `create product "${action.params.name}" for plan ${action.planId}`;
    case 'update_product':
      return `update product ${action.productId} for plan ${action.planId}: ${Object.entries(action.params)
        .map(([k, v]) => `${k} → ${JSON.stringify(v)}`)
        .join(', ')}`;
    case 'create_price':
      return action.replaces
        ? `replace price ${action.lookupKey} (${action.why}): create a new price, move the lookup key, archive ${action.replaces}`
        : `create price ${action.lookupKey} for plan ${action.planId}: ${action.params.unit_amount} ${action.params.currency} per ${action.params.recurring?.interval}`;
    case 'reactivate_price':
      return `reactivate price ${action.lookupKey} (${action.priceId})`;
  }
}

/** Stable per intended write, so a rerun after a crash replays instead of duplicating (Stripe keeps keys 24 h). */
function idempotencyKey(action: SyncAction, productId?: string): string {
  const digest = createHash('sha256')
    .update(JSON.stringify({ action, productId }))
    .digest('hex')
    .slice(0, 32);
  return `catalog-sync-${action.kind}-${digest}`;
}

export async function syncCatalog(stripe: Stripe, catalog: Catalog, options: { dryRun?: boolean } = {}): Promise<SyncResult> {
  const plan = await planCatalogSync(stripe, catalog);
  const summary = `${plan.counts.products} products, ${plan.counts.prices} prices, ${plan.counts.meters} meters`;
  const notes = plan.unmanaged.map((u) => `not in the catalog, left alone: ${u}`);
  if (plan.actions.length === 0)
    return { ...plan, applied: false, lines: [`nothing to change: Stripe already matches the catalog (${summary})`, ...notes] };
  if (options.dryRun)
    return {
      ...plan,
      applied: false,
      lines: [`dry run: ${plan.actions.length} change(s) would be made (nothing written)`, ...plan.actions.map((a) => `  would ${describeAction(a)}`), ...notes],
    };

  const lines: string[] = [];
  const productIds = new Map<string, string>();
  // Products already in Stripe, for prices of plans whose product is not created in this run.
  const existing = (await stripe.products.list({ limit: 100 }).autoPagingToArray({ limit: 10_000 })).filter((p) => p.metadata?.[PLAN_METADATA_KEY]);
  for (const product of existing.sort((a, b) => Number(a.active) - Number(b.active))) productIds.set(product.metadata[PLAN_METADATA_KEY]!, product.id);

  for (const action of plan.actions) {
    switch (action.kind) {
      case 'create_meter': {
        const meter = await stripe.billing.meters.create(action.params, { idempotencyKey: idempotencyKey(action) });
        lines.push(`created meter ${action.eventName} (${meter.id})`);
        break;
      }
      case 'update_meter':
        await stripe.billing.meters.update(action.meterId, { display_name: action.displayName });
        lines.push(describeAction(action).replace(/^update/, 'updated'));
        break;
      case 'reactivate_meter':
        await stripe.billing.meters.reactivate(action.meterId);
        lines.push(`reactivated meter ${action.eventName} (${action.meterId})`);
        break;
      case 'create_product': {
        const product = await stripe.products.create(action.params, { idempotencyKey: idempotencyKey(action) });
        productIds.set(action.planId, product.id);
        lines.push(`created product "${product.name}" (${product.id}) for plan ${action.planId}`);
        break;
      }
      case 'update_product':
        await stripe.products.update(action.productId, action.params);
        productIds.set(action.planId, action.productId);
        lines.push(describeAction(action).replace(/^update/, 'updated'));
        break;
      case 'create_price': {
        const productId = productIds.get(action.planId);
        if (!productId) throw new Error(`no Stripe product for plan ${action.planId}`);
        const price = await stripe.prices.create({ ...action.params, product: productId }, { idempotencyKey: idempotencyKey(action, productId) });
        if (action.replaces) {
          await stripe.prices.update(action.replaces, { active: false });
          lines.push(`replaced price ${action.lookupKey} (${action.why}): ${price.id} now holds the lookup key, archived ${action.replaces}`);
        } else {
          lines.push(`created price ${action.lookupKey} (${price.id})`);
        }
        break;
      }
      case 'reactivate_price':
        await stripe.prices.update(action.priceId, { active: true });
        lines.push(`reactivated price ${action.lookupKey} (${action.priceId})`);
        break;
    }
  }
  return { ...plan, applied: true, lines: [`applied ${plan.actions.length} change(s) (${summary})`, ...lines, ...notes] };
}
