import type { Wiring } from '../bootstrap.js';
import { formatReconcileReport, reconcileSubscriptions } from '../billing/reconcile.js';
import type { Config } from '../config.js';
import { catchUpEvents } from '../webhooks/catch-up.js';
import { CliUsageError, parseFlags, usageError } from './flags.js';
import { withWiring } from './store.js';
import type { CliCommand, CliIo } from './types.js';

/** The server's wiring over the store, for a Stripe account to recover from. */
async function withRecovery<T>(config: Config, io: CliIo, fn: (wiring: Wiring) => Promise<T>): Promise<T | number> {
  if (!config.stripe.secretKey) {
    io.err('STRIPE_SECRET_KEY is not set: there is no Stripe account to recover from');
    return 1;
  }
  return withWiring(config, fn);
}

export const stripeReconcileCommand: CliCommand = {
  words: ['stripe', 'reconcile'],
  usage: 'stripe reconcile [--account <id>] [--dry-run]',
  summary: "compare Stripe's subscriptions with the store and repair what differs (a second run writes nothing)",
  async run({ argv, config, io }) {
    let flags;
    try {
      flags = parseFlags(argv, { strings: ['account'] as const, booleans: ['dry-run'] as const });
    } catch (error) {
      return usageError(io, error, this.usage);
    }
    const dryRun = flags['dry-run'] ?? false;
    return withRecovery(config, io, async (wiring) => {
      const report = await reconcileSubscriptions({
        source: wiring.billing.recovery!,
        subscriptions: wiring.billing.subscriptions,
        accountId: flags.account,
        dryRun,
      });
      for (const line of formatReconcileReport(report, dryRun)) io.out(line);
      return 0;
    });
  },
};

/** `2026-11-30T12:00:00Z`, `2026-11-30`, or a duration back from now: `90m`, `6h`, `3d`. */
function parseSince(text: string, now = Date.now()): Date {
  const relative = /^(\d+)([mhd])$/.exec(text);
  const at = relative
    ? new Date(now - Number(relative[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[relative[2] as 'm' | 'h' | 'd'])
    : new Date(text);
  if (Number.isNaN(at.getTime())) throw new CliUsageError(`--since ${text}: give an ISO time (2026-11-30T12:00:00Z) or a duration like 6h or 3d`);
  if (at.getTime() < now - 30 * 86_400_000) throw new CliUsageError(`--since ${text}: Stripe keeps events for 30 days only`);
  return at;
}

export const webhooksCatchUpCommand: CliCommand = {
  words: ['webhooks', 'catch-up'],
  usage: 'webhooks catch-up --since <time|6h|3d>',
  summary: 'fetch the handled events Stripe has since a time into the inbox (dedup by id) and process the new ones once',
  async run({ argv, config, io }) {
    let since: Date;
    try {
      const flags = parseFlags(argv, { strings: ['since'] as const });
      if (!flags.since) throw new CliUsageError('--since is required');
      since = parseSince(flags.since);
    } catch (error) {
      return usageError(io, error, this.usage);
    }
    return withRecovery(config, io, async (wiring) => {
      const report = await catchUpEvents({ source: wiring.billing.recovery!, inbox: wiring.webhooks.inbox, processor: wiring.webhooks.processor, since });
      for (const id of report.recovered) io.out(`recovered ${id}`);
      const outcomes = Object.entries(report.outcomes).map(([k, v]) => `${v} ${k}`).join(', ');
      io.out(`${report.listed} events since ${since.toISOString()}; ${report.recovered.length} were missing from the inbox${outcomes ? `: ${outcomes}` : ''}`);
      return 0;
    });
  },
};
