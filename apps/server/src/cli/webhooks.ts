import type { Config } from '../config.js';
import type { Store } from '../store/ports.js';
import { stripeSignatureHeader, stripeTestEvent, TRIGGER_TYPES, type TriggerType } from '../billing/stripe/test-events.js';
import type { InboxRow } from '../webhooks/inbox.js';
import { localWebhookSecret, usesLocalWebhookSecret } from '../webhooks/local-secret.js';
import type { WebhookWiring } from '../webhooks/wiring.js';
import { CliUsageError, parseFlags, usageError } from './flags.js';
import { withStore, withWiring } from './store.js';
import type { CliCommand, CliIo } from './types.js';

/** The webhook processor over the store, wired exactly as the server wires it. */
const withWebhooks = <T>(config: Config, fn: (webhooks: WebhookWiring, store: Store) => Promise<T>): Promise<T> =>
  withWiring(config, (wiring, store) => fn(wiring.webhooks, store));

const line = (row: InboxRow) =>
  [row.id, row.type, row.status, `attempts=${row.attempts}`, row.receivedAt.toISOString(), row.reason ?? row.lastError ?? ''].filter(Boolean).join('  ');

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

export const webhooksTriggerCommand: CliCommand = {
  words: ['webhooks', 'trigger'],
  usage: `webhooks trigger <${TRIGGER_TYPES.join('|')}> [--account ID] [--url SERVER]`,
  summary: 'sign a test event for an account with the webhook secret and post it to a running server (like `stripe trigger`)',
  async run({ argv, config, io }) {
    const [type, ...rest] = argv;
    let flags;
    try {
      if (!type || type.startsWith('-')) throw new CliUsageError(`give an event type: ${TRIGGER_TYPES.join(', ')}`);
      if (!(TRIGGER_TYPES as string[]).includes(type)) throw new CliUsageError(`unknown event type ${type}; one of ${TRIGGER_TYPES.join(', ')}`);
      flags = parseFlags(rest, { strings: ['account', 'url'] as const });
      if (flags.url !== undefined && !/^https?:\/\/[^/]+/.test(flags.url)) throw new CliUsageError('--url must be the server, e.g. http://localhost:8787');
    } catch (error) {
      return usageError(io, error, this.usage);
    }
    const secret = await webhookSecretFor(config);
    if (!secret) {
      io.err('no webhook secret: set STRIPE_WEBHOOK_SECRET (the endpoint signing secret the server verifies with); in development without it, one is generated');
      return 1;
    }
    const account = flags.account ?? 'local';
    const endpoint = `${(flags.url ?? `http://localhost:${config.port}`).replace(/\/+$/, '')}/webhook`;
    const event = stripeTestEvent(type as TriggerType, account);
    const payload = JSON.stringify(event);
    let res: Response;
    try {
      res = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'stripe-signature': stripeSignatureHeader(payload, secret) },
        body: payload,
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      io.err(`no answer from ${endpoint} (${(error as Error).message}); is the server running (\`pnpm dev\`)? --url SERVER picks another`);
      return 1;
    }
    const body = await res.text();
    const summary = `${type} ${String(event.id)} for account ${account} -> ${endpoint}: ${res.status} ${body.slice(0, 300)}`;
    if (!res.ok) {
      io.err(summary);
      return 1;
    }
    io.out(summary);
    return 0;
  },
};

/** What the server verifies with: STRIPE_WEBHOOK_SECRET, or in development the local one in the store. */
async function webhookSecretFor(config: Config): Promise<string | undefined> {
  if (config.stripe.webhookSecrets.length) return config.stripe.webhookSecrets[0];
  if (!usesLocalWebhookSecret(config)) return undefined;
  // Joins the running dev server's store (or opens it when none runs): the same secret either way.
  return withStore(config, (store) => localWebhookSecret(store));
}
