import pg from 'pg';
import { startPeriodicWorker, type PeriodicWorker } from '../../jobs/periodic.js';
import type { LogPort } from '../../logger.js';
import type { Store } from '../../store/ports.js';
import type { Rows } from '../../store/rows.js';
import type { SubscriptionChange, SubscriptionChangeListener, SubscriptionChanges } from './ports.js';

/** The PostgreSQL channel a replica notifies on after it committed a subscription change. */
const SUBSCRIPTION_CHANGES_CHANNEL = 'subscription_changes';

/** Fan-out to this process's subscribers; a throwing subscriber never stops the others. */
export class InProcessSubscriptionChanges implements SubscriptionChanges {
  private readonly listeners = new Set<SubscriptionChangeListener>();
  constructor(protected readonly log?: LogPort) {}

  publish(change: SubscriptionChange): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(change);
      } catch (error) {
        this.log?.warn({ err: error, changeId: change.id }, 'subscription change listener failed');
      }
    }
  }

  subscribe(listener: SubscriptionChangeListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  get subscriberCount(): number {
    return this.listeners.size;
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}

export interface PostgresChangesOptions {
  databaseUrl: string;
  /** Reads the history, to replay what was committed while the LISTEN connection was down. */
  store: Store;
  log: LogPort;
  /** First reconnect delay; doubles up to 30 s. */
  reconnectMs?: number;
  /** How often the history is read for changes whose notification never came (default 1 s). */
  catchUpMs?: number;
}

/**
 * Changes across replicas: every replica holds one dedicated connection that LISTENs on
 * `subscription_changes`, and NOTIFYs it after committing a change (not inside the writing
 * statement: a NOTIFY holds PostgreSQL's one notify lock through its transaction's WAL flush, which
 * made every webhook ack wait for the previous one). Changes applied here are delivered locally at
 * once and their loopback notification is ignored. A notification can be lost (a replica dies
 * between its commit and its NOTIFY), so every replica also reads the history each `catchUpMs`;
 * and when the LISTEN connection drops, it reconnects with backoff and replays what was committed
 * meanwhile. Either way no change is missed, and none is delivered twice.
 */
export class PostgresSubscriptionChanges extends InProcessSubscriptionChanges {
  private client: pg.Client | undefined;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private delay: number;
  /** Ids already delivered (bounded): loopback notifications and replays must not repeat a change. */
  private readonly seen = new Set<number>();
  private lostAt: Date | undefined;
  /** Highest change id delivered here, and its value at the last catch-up pass. */
  private highest = 0;
  private highestAtLastPass = 0;
  private catchUp: PeriodicWorker | undefined;

  constructor(private readonly options: PostgresChangesOptions) {
    super(options.log);
    this.delay = options.reconnectMs ?? 250;
  }

  /** Resolves once listening, so a replica that says it is ready hears every change after that. */
  async start(): Promise<void> {
    const [latest] = await this.options.store.query<{ id: number | string | null }>('SELECT max(id) AS id FROM subscription_changes');
    this.highest = this.highestAtLastPass = Number(latest?.id ?? 0);
    await this.connect();
    this.catchUp = startPeriodicWorker({ name: 'subscription change catch-up', intervalMs: this.options.catchUpMs ?? 1_000, run: () => this.catchUpOnce(), log: this.options.log });
  }

  /** A change committed here: local subscribers now, other replicas by NOTIFY (best effort: they also catch up). */
  override publish(change: SubscriptionChange): void {
    this.deliver(change);
    this.options.store
      .query('SELECT pg_notify($1, $2)', [SUBSCRIPTION_CHANGES_CHANNEL, JSON.stringify({ id: change.id, accountId: change.accountId })], { prepared: true })
      .catch((error: unknown) => this.options.log.warn({ err: error, changeId: change.id }, 'could not notify other replicas of a subscription change; they catch up from the history'));
  }

  private deliver(change: SubscriptionChange): void {
    if (!this.remember(change.id)) return;
    super.publish(change);
  }

  /**
   * Reads changes above the highest id seen one pass ago: ids are allocated before commit, so one
   * that commits after a higher one is still read on the next pass (and `seen` drops repeats).
   */
  private async catchUpOnce(): Promise<void> {
    const from = this.highestAtLastPass;
    this.highestAtLastPass = this.highest;
    const rows = await this.options.store.query<Pick<Rows['subscription_changes'], 'id' | 'account_id'>>(
      'SELECT id, account_id FROM subscription_changes WHERE id > $1 ORDER BY id LIMIT 10000',
      [from],
      { prepared: true },
    );
    for (const row of rows) this.deliver({ id: Number(row.id), accountId: row.account_id });
  }

  private remember(id: number): boolean {
    if (this.seen.has(id)) return false;
    if (id > this.highest) this.highest = id;
    this.seen.add(id);
    if (this.seen.size > 10_000) {
      const oldest = this.seen.values().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    return true;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.options.databaseUrl, connectionTimeoutMillis: 5_000 });
    client.on('notification', (message) => {
      if (message.channel !== SUBSCRIPTION_CHANGES_CHANNEL || !message.payload) return;
      try {
        const parsed = JSON.parse(message.payload) as { id: number | string; accountId: string };
        this.deliver({ id: Number(parsed.id), accountId: parsed.accountId });
      } catch (error) {
        this.options.log.warn({ err: error }, 'unreadable subscription change notification');
      }
    });
    const lost = (error?: Error) => {
      if (this.client !== client) return;
      this.client = undefined;
      this.lostAt ??= new Date();
      client.removeAllListeners('error');
      client.on('error', () => {});
      void client.end().catch(() => {});
      if (this.closed) return;
      this.options.log.warn({ err: error }, 'subscription change listener lost its connection; reconnecting');
      this.scheduleReconnect();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    try {
      await client.connect();
      await client.query(`LISTEN ${SUBSCRIPTION_CHANGES_CHANNEL}`);
    } catch (error) {
      client.on('error', () => {});
      await client.end().catch(() => {});
      if (this.closed) return;
      this.lostAt ??= new Date();
      this.options.log.warn({ err: error }, 'subscription change listener could not connect; retrying');
      this.scheduleReconnect();
      return;
    }
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.delay = this.options.reconnectMs ?? 250;
    if (this.lostAt) await this.replaySince(this.lostAt);
  }

  private scheduleReconnect(): void {
    if (this.retryTimer || this.closed) return;
    const wait = this.delay;
    this.delay = Math.min(this.delay * 2, 30_000);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, wait);
    this.retryTimer.unref();
  }

  /** Ids are allocated before commit, so replay by time (with margin) rather than by id, and dedupe. */
  private async replaySince(since: Date): Promise<void> {
    try {
      const rows = await this.options.store.query<Pick<Rows['subscription_changes'], 'id' | 'account_id'>>(
        `SELECT id, account_id FROM subscription_changes WHERE created_at >= $1::timestamptz - interval '10 seconds' ORDER BY id`,
        [since.toISOString()],
      );
      this.lostAt = undefined;
      for (const row of rows) this.deliver({ id: Number(row.id), accountId: row.account_id });
    } catch (error) {
      this.options.log.warn({ err: error }, 'could not replay subscription changes after reconnecting; will retry');
      setTimeout(() => void (this.closed || this.replaySince(since)), 1_000).unref();
    }
  }

  get listening(): boolean {
    return this.client !== undefined;
  }

  override async close(): Promise<void> {
    this.closed = true;
    await this.catchUp?.stop();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = undefined;
    if (client) await client.end().catch(() => {});
    await super.close();
  }
}

/** PostgreSQL: LISTEN/NOTIFY across replicas. PGlite (one process): in-process. */
export async function openSubscriptionChanges(options: { store: Store; databaseUrl: string | undefined; log: LogPort }): Promise<SubscriptionChanges> {
  if (options.store.kind !== 'postgres' || !options.databaseUrl) return new InProcessSubscriptionChanges(options.log);
  const bus = new PostgresSubscriptionChanges({ databaseUrl: options.databaseUrl, store: options.store, log: options.log });
  await bus.start();
  return bus;
}
