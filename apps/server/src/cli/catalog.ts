import { readFileSync } from 'node:fs';
import { catalogProblems, catalogSchema, type Catalog } from '@verifieddit/contracts';
import { DEFAULT_CATALOG, StoreCatalog } from '../billing/catalog.js';
import type { Config } from '../config.js';
import { CliUsageError, parseFlags, userPath } from './flags.js';
import { withStore } from './store.js';
import type { CliCommand, CliIo } from './types.js';

/** Runs a command body, turning usage errors into a message and exit code 2. */
export async function guarded(io: CliIo, body: () => Promise<number>): Promise<number> {
  try {
    return await body();
  } catch (error) {
    if (error instanceof CliUsageError) {
      io.err(error.message);
      return 2;
    }
    throw error;
  }
}

/** Reads and validates a catalog file; every problem is printed with its JSON path. */
export function readCatalogFile(path: string | undefined, io: CliIo): Catalog | undefined {
  if (!path) throw new CliUsageError('--file PATH is required');
  let text: string;
  try {
    text = readFileSync(userPath(io, path), 'utf8');
  } catch (error) {
    throw new CliUsageError(`cannot read ${userPath(io, path)}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    io.err(`${path}: not valid JSON: ${(error as Error).message}`);
    return undefined;
  }
  const problems = catalogProblems(json);
  if (problems.length) {
    io.err(`${path}: ${problems.length} problem(s):`);
    for (const problem of problems) io.err(`  ${problem}`);
    return undefined;
  }
  return catalogSchema.parse(json);
}

const summary = (catalog: Catalog) =>
  `${catalog.plans.length} plans, ${catalog.plans.reduce((n, p) => n + p.prices.length, 0)} prices, ${catalog.meters.length} meters`;

export const catalogTemplateCommand: CliCommand = {
  words: ['catalog', 'template'],
  usage: 'catalog template',
  summary: 'print a starter catalog (JSON) to edit',
  run: async ({ argv, io }) =>
    guarded(io, async () => {
      parseFlags(argv, {});
      io.out(JSON.stringify(DEFAULT_CATALOG, null, 2));
      return 0;
    }),
};

export const catalogValidateCommand: CliCommand = {
  words: ['catalog', 'validate'],
  usage: 'catalog validate --file F',
  summary: 'check a catalog file, naming every problem by its JSON path',
  run: async ({ argv, io }) =>
    guarded(io, async () => {
      const flags = parseFlags(argv, { strings: ['file'] });
      const catalog = readCatalogFile(flags.file, io);
      if (!catalog) return 1;
      io.out(`${flags.file}: valid (${summary(catalog)})`);
      return 0;
    }),
};

export const catalogPutCommand: CliCommand = {
  words: ['catalog', 'put'],
  usage: 'catalog put --file F',
  summary: 'store a catalog file as the active catalog (the server serves its plans and quotas)',
  run: async ({ argv, config, io }) =>
    guarded(io, async () => {
      const flags = parseFlags(argv, { strings: ['file'] });
      const catalog = readCatalogFile(flags.file, io);
      if (!catalog) return 1;
      const { version } = await withStore(config, (store) => new StoreCatalog(store).put(catalog));
      io.out(`stored catalog version ${version} (${summary(catalog)}); run \`stripe catalog sync --file ${flags.file}\` to push it to Stripe`);
      return 0;
    }),
};

export const catalogGetCommand: CliCommand = {
  words: ['catalog', 'get'],
  usage: 'catalog get',
  summary: 'print the active catalog (the stored one, or the built-in default)',
  run: async ({ argv, config, io }) =>
    guarded(io, async () => {
      parseFlags(argv, {});
      const active = await withStore(config, (store) => new StoreCatalog(store, { cacheMs: 0 }).active());
      io.err(
        active.source === 'stored'
          ? `active catalog: version ${active.version}, stored ${active.storedAt?.toISOString()}`
          : 'active catalog: the built-in default (none stored yet; `catalog put --file F` stores one)',
      );
      io.out(JSON.stringify(active.catalog, null, 2));
      return 0;
    }),
};
