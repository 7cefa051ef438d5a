import pg from 'pg';
import { startPeriodicWorker, type PeriodicWorker } from '../../jobs/periodic.js';
import type { LogPort } from '../../logger.js';
import type { Store } from '../../store/ports.js';
import type { Rows } from '../../store/rows.js';
import type { SubscriptionChange, SubscriptionChangeListener, SubscriptionChanges } from './ports.js';

/** The PostgreSQL channel a replica notifies on after it committed a subscription change. */
const SUBSCRIPTION_CHANGES_CHANNEL = 'subscription_changes';

/** How many passes back the catch-up reads from (a change committing that much later than a higher id is still read). */
const CATCH_UP_PASSES = 5;
const NOTIFY_BATCH = 500; // most notifications per statement

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
 * between its commit and its NOTIFY), so every replica also reads the recent history each
 * `catchUpMs`; and when the LISTEN connection drops, it reconnects with backoff and replays what was
 * committed meanwhile. No change is delivered twice.
 */
export class PostgresSubscriptionChanges extends InProcessSubscriptionChanges {
  private client: pg.Client | undefined;
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private delay: number;
  /** Ids already delivered (bounded): loopback notifications and replays must not repeat a change. */
  private readonly seen = new Set<number>();
  private lostAt: Date | undefined;
  /** Highest change id delivered here, and its value at each of the last CATCH_UP_PASSES passes. */
  private highest = 0;
  private readonly highestAtPasses: number[] = [];
  private catchUp: PeriodicWorker | undefined;
  /** Changes committed here not notified yet, and whether a NOTIFY is on its way. */
  private readonly unsent: SubscriptionChange[] = [];
  private notifying = false;

  constructor(private readonly options: PostgresChangesOptions) {
    super(options.log);
    this.delay = options.reconnectMs ?? 250;
  }

  /** Resolves once listening, so a replica that says it is ready hears every change after that. Its LISTEN
   *  connection is set up while `migrated` (the store's migration) runs; the history is read after it. */
  async start(migrated: Promise<unknown> = Promise.resolve()): Promise<void> {
    const connecting = this.connect();
    try {
      await migrated;
      const [latest] = await this.options.store.query<{ id: number | string | null }>('SELECT max(id) AS id FROM subscription_changes');
      this.highest = Math.max(this.highest, Number(latest?.id ?? 0)); // a change heard already may be higher
      this.highestAtPasses.push(this.highest);
      await connecting;
    } catch (error) {
      await this.close(); // connect() ends a connection that completes after this
      throw error;
    }
    this.catchUp = startPeriodicWorker({ name: 'subscription change catch-up', intervalMs: this.options.catchUpMs ?? 1_000, run: () => this.catchUpOnce(), log: this.options.log });
  }

  /**
   * A change committed here: local subscribers now, other replicas by a NOTIFY on the LISTEN connection
   * (best effort: while it reconnects, or if a NOTIFY is lost, they catch up). That session commits
   * without waiting for its WAL flush, so the notify lock is not held through one. Changes committed
   * while a NOTIFY is on its way go in the next statement together, one notification each (a round
   * trip and a transaction per change cost more under load than the writes themselves).
   */
  override publish(change: SubscriptionChange): void {
    this.deliver(change);
    if (!this.client) return;
    this.unsent.push({ id: change.id, accountId: change.accountId });
    if (!this.notifying) void this.notifyUnsent();
  }

  private async notifyUnsent(): Promise<void> {
    this.notifying = true;
    while (this.unsent.length && this.client) {
      const batch = this.unsent.splice(0, NOTIFY_BATCH);
      const notes = batch.map((change) => JSON.stringify(change));
      await this.client.query('SELECT pg_notify($1, note) FROM unnest($2::text[]) AS note', [SUBSCRIPTION_CHANGES_CHANNEL, notes]).catch((error: unknown) => {
        this.options.log.warn({ err: error, changeIds: batch.map((c) => c.id) }, 'could not notify other replicas of subscription changes; they catch up from the history');
      });
    }
    this.unsent.length = 0; // the connection is gone: the others catch up from the history
    this.notifying = false;
  }

  private deliver(change: SubscriptionChange): void {
    if (!this.remember(change.id)) return;
    super.publish(change);
  }

  /**
   * Reads changes above the highest id seen CATCH_UP_PASSES passes ago: ids are allocated before
   * commit, so one that commits up to that many passes after a higher one is still read (and `seen`
   * drops repeats). A commit later than that, with its NOTIFY lost too, waits for the status cache's
   * expiry (2 s) to reach reads; live streams miss it.
   */
  private async catchUpOnce(): Promise<void> {
    const from = this.highestAtPasses[0] ?? 0;
    this.highestAtPasses.push(this.highest);
    if (this.highestAtPasses.length > CATCH_UP_PASSES) this.highestAtPasses.shift();
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
      // This session only LISTENs and NOTIFYs: a NOTIFY lost in a crash is caught up from the history.
      await client.query('SET synchronous_commit = off');
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
