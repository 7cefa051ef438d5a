import { runCli } from './cli/index.js';
import { ConfigError, invocationDir, loadConfig, loadDotEnvIfDevelopment } from './config.js';

/** `pnpm billing <command>` / `node dist/cli.js <command>`. Secrets come only from the environment. */
async function main(argv: string[]): Promise<number> {
  loadDotEnvIfDevelopment();
  const config = loadConfig();
  return runCli(argv, config, {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    cwd: invocationDir(),
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof ConfigError ? error.message : error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
