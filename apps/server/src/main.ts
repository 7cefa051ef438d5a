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
  const { running, serving } = await startServer(config, logger, { port: config.port });
  const { runtime, startBanner } = await serving;
  const banner = startBanner(config, running.port, envFiles);
  if (config.logFormat === 'pretty') logger.info(banner.text);
  else logger.info({ port: running.port, env: config.nodeEnv, role: config.role, ...banner.fields }, `listening on http://localhost:${running.port}`);

  const stop = async (signal: string) => {
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    // Live status streams never finish on their own: stop accepting, end them (clients reconnect to
    // another replica), then wait for the rest of the in-flight requests.
    const drained = running.shutdown();
    await runtime.billing.streams.close();
    await drained;
    await runtime.close();
    logger.info({}, 'stopped');
    logger.flush();
    process.exit(0);
  };
  process.once('SIGTERM', (signal) => void stop(signal));
  process.once('SIGINT', (signal) => void stop(signal));
}

main(process.argv.slice(2)).catch((error: unknown) => {
  // A data folder in use is the operator's situation to resolve, not a bug: the message says how.
  if (error instanceof StoreLockedError) process.stderr.write(`${error.message}\n`);
  else process.stderr.write(`fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
