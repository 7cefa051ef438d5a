import { createApp } from './app.js';
import { buildRuntime } from './bootstrap.js';
import { ConfigError, loadConfig, loadDotEnvIfDevelopment } from './config.js';
import { createLogger } from './logger.js';
import { listen } from './server.js';

async function main(): Promise<void> {
  loadDotEnvIfDevelopment();
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
  const logger = createLogger({ level: config.logLevel, pretty: !config.isProduction && process.stdout.isTTY === true, secrets: config.secrets });
  const runtime = await buildRuntime(config, logger);
  const app = createApp({ logger, services: runtime.services, mounts: runtime.mounts });
  const running = await listen(app, config.port);
  logger.info({ port: running.port, env: config.nodeEnv }, `listening on http://localhost:${running.port}`);

  const stop = async (signal: string) => {
    logger.info({ signal }, 'shutting down: finishing in-flight requests');
    await running.shutdown();
    await runtime.close();
    logger.info({}, 'stopped');
    logger.flush();
    process.exit(0);
  };
  process.once('SIGTERM', (signal) => void stop(signal));
  process.once('SIGINT', (signal) => void stop(signal));
}

main().catch((error: unknown) => {
  process.stderr.write(`fatal: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
