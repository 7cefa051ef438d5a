import { openSubscriptionChanges } from '../billing/changes/bus.js';
import type { SubscriptionChanges } from '../billing/changes/ports.js';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
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
    const result = await migrate(store);
    if (result.applied.length) logger.info({ applied: result.applied }, 'migrations applied');
    logger.info({ store: store.kind }, 'store ready');
    // Across replicas on PostgreSQL (LISTEN/NOTIFY), in-process on PGlite.
    const changes = await openSubscriptionChanges({ store, databaseUrl: config.databaseUrl, log: logger });
    return { store, changes };
  } catch (error) {
    await store.close();
    throw error;
  }
}
