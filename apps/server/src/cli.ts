import { loadConfig, loadDotEnvIfDevelopment, ConfigError } from './config.js';
import { migrate, openStore } from './store/store.js';

/** `pnpm migrate` / `pnpm billing <command>`: operator commands. Secrets come only from the environment. */
async function run(argv: string[]): Promise<number> {
  loadDotEnvIfDevelopment();
  const config = loadConfig();
  const [command] = argv;
  switch (command) {
    case 'migrate': {
      const store = await openStore({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
      try {
        const result = await migrate(store);
        process.stdout.write(
          result.applied.length ? `applied: ${result.applied.join(', ')}\n` : `nothing to do (${result.alreadyApplied.length} already applied)\n`,
        );
      } finally {
        await store.close();
      }
      return 0;
    }
    default:
      process.stderr.write(`usage: billing <command>\n  migrate   apply pending database migrations\n`);
      return command ? 2 : 0;
  }
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof ConfigError ? error.message : error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
