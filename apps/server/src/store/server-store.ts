import type { Config } from '../config.js';
import type { Store } from './ports.js';
import { openStore } from './store.js';

/** The server's store: the embedded one is shared on a loopback port so the operator CLI works while the server runs. */
export const openServerStore = (config: Config): Promise<Store> =>
  openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir, embedded: { share: true, join: false } });
