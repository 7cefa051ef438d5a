import { InProcessSubscriptionChanges, PostgresSubscriptionChanges } from '../billing/changes/bus.js';
import type { SubscriptionChanges } from '../billing/changes/ports.js';
import type { Config } from '../config.js';
import type { Logger, LogPort } from '../logger.js';
import type { Store } from './ports.js';
import { migrate, openStore } from './store.js';

/** An open, migrated store and the change bus over it: what the server needs before it serves a request. */
export interface ServerStore {
  store: Store;
  changes: SubscriptionChanges;
}

/**
 * Opens the server's store (the embedded one is shared on a loopback port so the operator CLI works
 * while the server runs), migrates it and opens the change bus. main.ts starts this before loading the
 * rest of the server, so its database round trips (and PGlite's WebAssembly compile) overlap compiling
 * the rest instead of following it; nothing is served from the store until this resolves.
 */
export async function openServerStore(config: Config, logger: Logger): Promise<ServerStore> {
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, embedded: { share: true, join: false } });
  try {
    const migrating = migrate(store);
    // Across replicas on PostgreSQL (LISTEN/NOTIFY), in-process on PGlite. Its LISTEN connection is set
    // up while the migration runs (it reads the history once the migration is done).
    const [result, changes] = await Promise.all([migrating, openSubscriptionChanges({ store, databaseUrl: config.databaseUrl, log: logger, migrated: migrating })]);
    if (result.applied.length) logger.info({ applied: result.applied }, 'migrations applied');
    logger.info({ store: store.kind }, 'store ready');
    return { store, changes };
  } catch (error) {
    await store.close();
    throw error;
  }
}

/** PostgreSQL: LISTEN/NOTIFY across replicas. PGlite (one process): in-process. Resolves after `migrated`. */
async function openSubscriptionChanges(options: { store: Store; databaseUrl: string | undefined; log: LogPort; migrated: Promise<unknown> }): Promise<SubscriptionChanges> {
  if (options.store.kind !== 'postgres' || !options.databaseUrl) {
    await options.migrated;
    return new InProcessSubscriptionChanges(options.log);
  }
  const bus = new PostgresSubscriptionChanges({ databaseUrl: options.databaseUrl, store: options.store, log: options.log });
  await bus.start(options.migrated);
  return bus;
}
