import { z } from 'zod';
import { planSchema } from './billing.js';

/**
 * What is for sale, provider-neutral: plans (features, quotas, prices keyed by lookup key) and the
 * usage meters. Operators keep it in a JSON file, store it with `pnpm billing catalog put` and push it
 * to Stripe with `pnpm billing stripe catalog sync`.
 */

export const meterAggregationSchema = z.enum(['sum', 'count', 'last']);
export type MeterAggregation = z.infer<typeof meterAggregationSchema>;

export const meterSchema = z.object({
  /** The stable identifier: Stripe meter events name it, and sync matches meters by it. */
  eventName: z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,99}$/, 'lowercase letters, digits, ., - and _ (at most 100)'),
  displayName: z.string().min(1).max(250),
  aggregation: meterAggregationSchema,
});
export type Meter = z.infer<typeof meterSchema>;

export const catalogSchema = z
  .object({
    /** Lets editors find this schema; ignored otherwise. */
    $schema: z.string().optional(),
    plans: z.array(planSchema).min(1, 'list at least one plan'),
    meters: z.array(meterSchema).default([]),
  })
  .strict()
  .superRefine((catalog, ctx) => {
    const duplicates = <T>(items: T[], keyOf: (item: T) => string, path: (index: number) => PropertyKey[], what: string) => {
      const seen = new Map<string, number>();
      items.forEach((item, index) => {
        const key = keyOf(item);
        const first = seen.get(key);
        if (first === undefined) seen.set(key, index);
        else ctx.addIssue({ code: 'custom', path: path(index), message: `duplicate ${what} "${key}" (first used at index ${first})` });
      });
    };
    duplicates(catalog.plans, (plan) => plan.id, (i) => ['plans', i, 'id'], 'plan id');
    const prices = catalog.plans.flatMap((plan, p) => plan.prices.map((price, i) => ({ key: price.lookupKey, path: ['plans', p, 'prices', i, 'lookupKey'] })));
    duplicates(prices, (price) => price.key, (i) => prices[i]!.path, 'price lookup key');
    duplicates(catalog.meters, (meter) => meter.eventName, (i) => ['meters', i, 'eventName'], 'meter event name');
  });
export type Catalog = z.infer<typeof catalogSchema>;
export type CatalogInput = z.input<typeof catalogSchema>;

/** `['plans', 0, 'prices', 1, 'amount']` → `$.plans[0].prices[1].amount`. */
export function jsonPathOf(path: readonly PropertyKey[]): string {
  return path.reduce<string>(
    (out, part) => (typeof part === 'number' ? `${out}[${part}]` : /^[A-Za-z_$][\w$]*$/.test(String(part)) ? `${out}.${String(part)}` : `${out}[${JSON.stringify(String(part))}]`),
    '$',
  );
}

/** Every problem of a catalog, each as `<json path>: <message>`; empty when it is valid. */
export function catalogProblems(input: unknown): string[] {
  const result = catalogSchema.safeParse(input);
  return result.success ? [] : result.error.issues.map((issue) => `${jsonPathOf(issue.path)}: ${issue.message}`);
}
