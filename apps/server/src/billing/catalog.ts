import { planSchema, type Plan } from '@verifieddit/contracts';
import { z } from 'zod';

export const catalogSchema = z.object({ plans: z.array(planSchema).min(1) });
export type Catalog = z.infer<typeof catalogSchema>;

/** What is on sale until an operator stores a catalog of their own. */
export const DEFAULT_CATALOG: Catalog = {
  plans: [
    { id: 'free', name: 'Free', features: [], prices: [], quotas: { aiDetectionsPerMonth: 10 } },
    {
      id: 'pro',
      name: 'Pro',
      features: ['ai-detect'],
      prices: [{ lookupKey: 'pro_monthly', currency: 'usd', amount: 900, interval: 'month' }],
      quotas: { aiDetectionsPerMonth: 1000 },
    },
  ],
};

export interface CatalogPort {
  plans(): Promise<Plan[]>;
}

export function staticCatalog(catalog: Catalog = DEFAULT_CATALOG): CatalogPort {
  const parsed = catalogSchema.parse(catalog);
  return { plans: async () => parsed.plans };
}

export function findPlanByLookupKey(plans: Plan[], lookupKey: string): Plan | undefined {
  return plans.find((plan) => plan.prices.some((price) => price.lookupKey === lookupKey));
}
