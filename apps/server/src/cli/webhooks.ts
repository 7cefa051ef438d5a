import { wire } from '../bootstrap.js';
import type { Config } from '../config.js';
import { createLogger } from '../logger.js';
import type { Store } from '../store/ports.js';
import { migrate, openStore } from '../store/store.js';
import type { InboxRow } from '../webhooks/inbox.js';
import type { WebhookWiring } from '../webhooks/wiring.js';
import { CliUsageError, parseFlags } from './flags.js';
import type { CliCommand, CliIo } from './types.js';

/** Opens the store and wires the webhook processor exactly as the server does. */
async function withWebhooks<T>(config: Config, fn: (webhooks: WebhookWiring, store: Store) => Promise<T>): Promise<T> {
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await migrate(store);
    const logger = createLogger({ level: 'warn', pretty: false, secrets: config.secrets, destination: process.stderr });
    return await fn(wire(config, store, logger).webhooks, store);
  } finally {
    await store.close();
  }
}

const line = (row: InboxRow) =>
  [row.id, row.type, row.status, `attempts=${row.attempts}`, row.receivedAt.toISOString(), row.reason ?? row.lastError ?? ''].filter(Boolean).join('  ');

function usageError(io: CliIo, error: unknown, usage: string): number {
  if (!(error instanceof CliUsageError)) throw error;
  io.err(`${error.message} (usage: pnpm billing ${usage})`);
  return 2;
}

export const webhooksListCommand: CliCommand = {
  words: ['webhooks', 'list'],
  usage: 'webhooks list --failed|--unmapped|--invalid',
  summary: 'list webhook events that failed for good, map to no account, or were refused as invalid',
  async run({ argv, config, io }) {
    let flags;
    try {
      flags = parseFlags(argv, { booleans: ['failed', 'unmapped', 'invalid'] as const });
      if ([flags.failed, flags.unmapped, flags.invalid].filter(Boolean).length !== 1) throw new CliUsageError('give exactly one of --failed, --unmapped or --invalid');
    } catch (error) {
      return usageError(io, error, this.usage);
    }
    const status = flags.failed ? 'failed' : flags.unmapped ? 'unmapped' : 'invalid';
    const rows = await withWebhooks(config, (webhooks) => webhooks.inbox.list(status, 500));
    if (!rows.length) io.out(`no ${status} events`);
    for (const row of rows) io.out(line(row));
    return 0;
  },
};

export const webhooksReplayCommand: CliCommand = {
  words: ['webhooks', 'replay'],
  usage: 'webhooks replay <eventId> | --failed',
  summary: 'process one stored event again (or every failed one) through the same code as a delivery',
  async run({ argv, config, io }) {
    const [first, ...rest] = argv;
    let ids: string[] | 'failed';
    try {
      if (first === '--failed' && rest.length === 0) ids = 'failed';
      else if (first && !first.startsWith('-') && rest.length === 0) ids = [first];
      else throw new CliUsageError('give one event id, or --failed');
    } catch (error) {
      return usageError(io, error, this.usage);
    }
    return withWebhooks(config, async (webhooks) => {
      const targets = ids === 'failed' ? await webhooks.inbox.requeueFailed() : ids;
      if (ids !== 'failed' && !(await webhooks.inbox.requeue(ids[0]!))) {
        io.err(`no replayable event ${ids[0]} (unknown, or being processed right now)`);
        return 1;
      }
      if (!targets.length) io.out('no failed events');
      let failures = 0;
      for (const id of targets) {
        const result = await webhooks.processor.process(id);
        const summary = !result ? 'skipped (claimed by a running server)' : result.status === 'processed' ? `processed (${result.outcome})` : 'reason' in result ? `${result.status}: ${result.reason}` : `${result.status}: ${result.error}`;
        if (result && (result.status === 'retrying' || result.status === 'failed')) failures++;
        io.out(`${id}  ${summary}`);
      }
      return failures ? 1 : 0;
    });
  },
};
