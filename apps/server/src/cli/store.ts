import { wire, type Wiring } from '../bootstrap.js';
import type { Config } from '../config.js';
import { createLogger } from '../logger.js';
import type { Store } from '../store/ports.js';
import { migrate, openStore } from '../store/store.js';

/** Opens the configured store, migrates it, runs `fn`, and closes the store whatever happens. */
export async function withStore<T>(config: Config, fn: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    await migrate(store);
    return await fn(store);
  } finally {
    await store.close();
  }
}

/** `withStore` plus the server's own wiring over it; warnings go to stderr, as stdout is the command's answer. */
export function withWiring<T>(config: Config, fn: (wiring: Wiring, store: Store) => Promise<T>): Promise<T> {
  return withStore(config, (store) => {
    const logger = createLogger({ level: 'warn', secrets: config.secrets, destination: process.stderr });
    return fn(wire(config, store, logger), store);
  });
}
