import { migrate, openStore } from '../store/store.js';
import type { CliCommand } from './types.js';

export const migrateCommand: CliCommand = {
  words: ['migrate'],
  usage: 'migrate',
  summary: 'apply pending database migrations (a no-op when none are pending)',
  async run({ config, io }) {
    const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
    try {
      const result = await migrate(store);
      io.out(result.applied.length ? `applied: ${result.applied.join(', ')}` : `nothing to do (${result.alreadyApplied.length} already applied)`);
    } finally {
      await store.close();
    }
    return 0;
  },
};
