import type { Catalog, CatalogInput, Meter, Plan } from '@verifieddit/contracts';
import type { Store } from '../store/ports.js';
import type { Rows } from '../store/rows.js';
import { isParsedCatalog } from './catalog-check.js';
import type { CatalogPort } from './ports.js';

/**
 * The contracts' catalog schema, loaded when a catalog is first parsed: this module is on the webhook
 * path, which answers Stripe before classic zod and the contract schemas are compiled (issue 11).
 */
const catalogSchema = async () => (await import('@verifieddit/contracts')).catalogSchema;

/** A stored catalog as put() wrote it passes the plain checks; anything else is parsed by the schema. */
const parseStored = async (raw: unknown): Promise<Catalog> => (isParsedCatalog(raw) ? raw : (await catalogSchema()).parse(raw));

/** What is on sale until an operator stores a catalog of their own (`pnpm billing catalog put`); catalog.test.ts holds it to the schema. */
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
  meters: [{ eventName: 'ai_detection', displayName: 'AI detections', aggregation: 'sum' }],
};

/** A catalog that is not kept in the store (tests, the bench); parsed at its first read. */
export function staticCatalog(catalog: CatalogInput = DEFAULT_CATALOG): CatalogPort {
  let parsed: Promise<Catalog> | undefined;
  const read = () => (parsed ??= catalogSchema().then((schema) => schema.parse(catalog)));
  return { plans: async () => (await read()).plans, meters: async () => (await read()).meters };
}

export interface ActiveCatalog {
  catalog: Catalog;
  /** `stored`: the latest `catalog put`; `default`: none stored yet. */
  source: 'stored' | 'default';
  version: number | null;
  storedAt: Date | null;
}

/**
 * The active catalog kept in the database: every `put` appends a version, the latest one is active,
 * and DEFAULT_CATALOG stands in until the first `put`. Reads are cached for `cacheMs`.
 */
export class StoreCatalog implements CatalogPort {
  private cached: { at: number; value: ActiveCatalog } | undefined;

  constructor(
    private readonly store: Store,
    private readonly options: { cacheMs?: number; fallback?: Catalog } = {},
  ) {}

  async plans(): Promise<Plan[]> {
    return (await this.active()).catalog.plans;
  }

  async meters(): Promise<Meter[]> {
    return (await this.active()).catalog.meters;
  }

  async active(): Promise<ActiveCatalog> {
    const cacheMs = this.options.cacheMs ?? 5_000;
    if (this.cached && Date.now() - this.cached.at < cacheMs) return this.cached.value;
    const rows = await this.store.query<Pick<Rows['catalogs'], 'version' | 'catalog' | 'created_at'>>(
      'SELECT version, catalog, created_at FROM catalogs ORDER BY version DESC LIMIT 1',
    );
    const row = rows[0];
    const value: ActiveCatalog = row
      ? {
          // Validated on the way in; parsed again so a hand-edited row cannot smuggle in a bad shape.
          catalog: await parseStored(typeof row.catalog === 'string' ? JSON.parse(row.catalog) : row.catalog),
          source: 'stored',
          version: Number(row.version),
          storedAt: new Date(row.created_at),
        }
      : { catalog: this.options.fallback ?? DEFAULT_CATALOG, source: 'default', version: null, storedAt: null };
    this.cached = { at: Date.now(), value };
    return value;
  }

  /** Validates and stores a catalog as the new active version. Throws a ZodError on a bad catalog. */
  async put(input: unknown): Promise<{ version: number }> {
    const catalog = (await catalogSchema()).parse(input);
    const rows = await this.store.query<Pick<Rows['catalogs'], 'version'>>('INSERT INTO catalogs (catalog) VALUES ($1::jsonb) RETURNING version', [
      JSON.stringify(catalog),
    ]);
    this.cached = undefined;
    return { version: Number(rows[0]!.version) };
  }
}
