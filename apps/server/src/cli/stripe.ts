import { catalogSchema } from '@verifieddit/contracts';
import { syncCatalog } from '../billing/stripe/catalog-sync.js';
import { createStripeClient } from '../billing/stripe/client.js';
import { checkStripeKey } from '../billing/stripe/key-check.js';
import type { Config } from '../config.js';
import { guarded, readCatalogFile } from './catalog.js';
import { parseFlags, stripeSecret } from './flags.js';
import type { CliCommand } from './types.js';

const clientFor = (config: Config, secretKey: string) =>
  createStripeClient({ secretKey, apiVersion: config.stripe.apiVersion, apiBaseUrl: config.stripe.apiBaseUrl });

export const stripeCatalogSyncCommand: CliCommand = {
  words: ['stripe', 'catalog', 'sync'],
  usage: 'stripe catalog sync --file F [--dry-run] [--secret-file P] [--live]',
  summary: 'make Stripe products, prices and meters match a catalog file (a second run changes nothing)',
  run: async ({ argv, config, io }) =>
    guarded(io, async () => {
      const flags = parseFlags(argv, { strings: ['file', 'secret-file'], booleans: ['dry-run', 'live'] });
      const key = stripeSecret(config, flags, io);
      const catalog = readCatalogFile(flags.file, io);
      if (!catalog) return 1;
      const mode = /^(sk|rk)_live_/.test(key) ? 'LIVE' : 'test';
      io.err(`Stripe ${mode} mode, API version ${config.stripe.apiVersion}${flags['dry-run'] ? ', dry run' : ''}`);
      const result = await syncCatalog(clientFor(config, key), catalogSchema.parse(catalog), { dryRun: flags['dry-run'] ?? false });
      for (const line of result.lines) io.out(line);
      return 0;
    }),
};

export const stripeTestCommand: CliCommand = {
  words: ['stripe', 'test'],
  usage: 'stripe test [--secret-file P] [--live]',
  summary: 'check the Stripe key: does it work, test or live mode, which API version (never prints the key)',
  run: async ({ argv, config, io }) =>
    guarded(io, async () => {
      const flags = parseFlags(argv, { strings: ['secret-file'], booleans: ['live'] });
      const key = stripeSecret(config, flags, io);
      const result = await checkStripeKey(clientFor(config, key), key);
      const what = `${result.kind} key, ${result.mode} mode`;
      if (!result.ok) {
        io.err(`key does not work (${what}): ${result.problem}`);
        return 1;
      }
      io.out(`key works: ${what}`);
      io.out(`API version: ${result.apiVersion ?? config.stripe.apiVersion} (pinned: ${config.stripe.apiVersion})`);
      if (result.problem) io.out(`note: ${result.problem}`);
      return 0;
    }),
};
