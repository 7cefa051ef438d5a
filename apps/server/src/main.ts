import { ConfigError, loadConfig, loadDotEnvIfDevelopment } from './config.js';
import { createLogger, prettyDestination } from './logger.js';
import { startServer } from './startup.js';
import { StoreLockedError } from './store/embedded-lock.js';

/**
 * `node index.js` serves; `node index.js <command>` (e.g. `migrate`) runs an operator command, so the
 * production artifact alone can migrate its database.
 */
async function main(argv: string[]): Promise<void> {
  const envFiles = loadDotEnvIfDevelopment();
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  if (argv.length) {
    const { runCli } = await import('./cli/index.js');
    const code = await runCli(argv, config, { out: (text) => process.stdout.write(`${text}\n`), err: (text) => process.stderr.write(`${text}\n`) });
    process.exit(code);
  }
  // Pretty in development even when stdout is a pipe (turbo pipes it); JSON elsewhere (LOG_FORMAT).
  const logger = createLogger({
    level: config.logLevel,
    secrets: config.secrets,
    ...(config.logFormat === 'pretty' ? { destination: await prettyDestination() } : {}),
  });
  // Listens at once; serves the webhooks once the store is migrated, then the full app (startup.ts).
  // A failure (e.g. a data folder in use) surfaces from `serving`.
  const started = await startServer(config, logger, { port: config.port });
  let stopping = false;
  const stop = async (signal: string) => {
    stopping = true;
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    try {
      await started.stop();
    } catch (error) {
      logger.error({ err: error }, 'shutdown failed');
      logger.flush();
      process.exit(1);
    }
    logger.info({}, 'stopped');
    logger.flush();
    process.exit(0);
  };
  // At once, not after the full app took over: the webhook routes answer deliveries before it does.
  process.once('SIGTERM', (signal) => void stop(signal));
  process.once('SIGINT', (signal) => void stop(signal));
  // A stop before the full app took over rejects `serving`: the stop exits, not this.
  const served = await started.serving.catch((error: unknown) => {
    if (stopping) return undefined;
    throw error;
  });
  if (!served) return;
  const banner = served.startBanner(config, started.running.port, envFiles);
  if (config.logFormat === 'pretty') logger.info(banner.text);
  else logger.info({ port: started.running.port, env: config.nodeEnv, role: config.role, ...banner.fields }, `listening on http://localhost:${started.running.port}`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  // A data folder in use is the operator's situation to resolve, not a bug: the message says how.
  if (error instanceof StoreLockedError) process.stderr.write(`${error.message}\n`);
  else process.stderr.write(`fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
