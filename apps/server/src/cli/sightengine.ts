import { Counters } from '../ai-detect/repository.js';
import { periodOf } from '../ai-detect/limits.js';
import { SightengineDetector } from '../ai-detect/sightengine.js';
import { withStore } from './store.js';
import type { CliCommand } from './types.js';

/**
 * `pnpm billing sightengine usage`: the account's usage as Sightengine reports it (`account.json`,
 * parsed loosely: every numeric field is shown, nothing is assumed) next to our own counters.
 */
export const sightengineUsageCommand: CliCommand = {
  words: ['sightengine', 'usage'],
  usage: 'sightengine usage',
  summary: "Sightengine's account usage next to our own monthly counters",
  async run({ config, io }) {
    const period = periodOf(new Date());
    const ours = await withStore(config, async (store) => {
      const operations = await new Counters(store).get('sightengine:operations', period);
      const [row] = await store.query<{ n: number }>('SELECT count(*)::int AS n FROM usage_ledger WHERE period = $1', [period]);
      return { operations, ledger: Number(row?.n ?? 0) };
    });
    io.out(`our counters (${period}): ${ours.operations} Sightengine operations spent of a budget of ${config.aiDetect.monthlyBudget}; ${ours.ledger} billable detections in the ledger`);
    const { apiUser, apiSecret, baseUrl } = config.sightengine;
    if (!apiUser || !apiSecret) {
      io.out('Sightengine: no credentials configured (local detector); nothing to ask');
      return 0;
    }
    const silent = { debug() {}, info() {}, warn() {}, error() {} };
    try {
      const account = await new SightengineDetector({ apiUser, apiSecret, baseUrl, log: silent }).account();
      const numbers = Object.entries(account.numbers);
      io.out(`Sightengine account.json (${baseUrl}):`);
      if (!numbers.length) io.out(`  no numeric fields; raw answer: ${JSON.stringify(account.raw)}`);
      for (const [path, value] of numbers) io.out(`  ${path}: ${value}`);
      return 0;
    } catch (error) {
      io.err(`could not read Sightengine's account.json: ${(error as Error).message}`);
      return 1;
    }
  },
};
