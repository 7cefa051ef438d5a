import type { Config } from './config.js';
import type { Services } from './context.js';
import type { Logger } from './logger.js';
import { migrate, openStore, type Store } from './store/store.js';

declare const __APP_VERSION__: string | undefined;
export const APP_VERSION = typeof __APP_VERSION__ === 'string' ? __APP_VERSION__ : '0.0.0-dev';

export interface Runtime {
  store: Store;
  services: Services;
  close(): Promise<void>;
}

/** Opens the store, migrates it and wires every port. The only place that picks implementations. */
export async function buildRuntime(config: Config, logger: Logger): Promise<Runtime> {
  const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    const result = await migrate(store);
    if (result.applied.length) logger.info({ applied: result.applied }, 'migrations applied');
  } catch (error) {
    await store.close();
    throw error;
  }
  logger.info({ store: store.kind }, 'store ready');

  const services: Services = {
    version: APP_VERSION,
    startedAt: Date.now(),
    readiness: { ping: () => store.ping() },
  };
  return {
    store,
    services,
    close: () => store.close(),
  };
}
