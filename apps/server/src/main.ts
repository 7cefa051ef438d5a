import { ConfigError, loadConfig, loadDotEnvIfDevelopment } from './config.js';
import { createLogger, prettyDestination } from './logger.js';
import { handOver, startingApp } from './http/starting.js';
import { listen } from './server.js';
import { StoreLockedError } from './store/embedded-lock.js';
import { APP_VERSION } from './version.js';

/**
 * Everything behind the store (billing, Stripe, Clerk, AI detection, the tRPC app) is loaded after the
 * server listens: the bundle is split, so a replica scaled from zero answers /health once Express and
 * this file are compiled instead of after the whole server is (most of a cold start on Node is compiling).
 */
const loadServer = () => Promise.all([import('./bootstrap.js'), import('./app.js'), import('./banner.js')]);

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
  // Listen first: /health answers while the store opens and migrates; requests that need the store
  // wait for it (src/http/starting.ts), then the real app takes the server over.
  // The store starts opening, migrating and opening its change bus first: its database round trips
  // (and PGlite's WebAssembly compile, off the main thread) overlap compiling the rest of the server.
  // The rest is loaded only once the store's module is loaded (on PostgreSQL, its first round trip is then on its way): loaded together, the
  // store's small chunk waited behind the rest's compile, and the round trips then followed it.
  // A failure (e.g. a data folder in use) surfaces from buildRuntime.
  const storeModule = import('./store/server-store.js');
  const opening = storeModule.then(({ openServerStore }) => openServerStore(config, logger));
  opening.catch(() => undefined);
  const starting = storeModule.then(loadServer).then(async ([{ buildRuntime }, { createApp }, { startBanner }]) => {
    const runtime = await buildRuntime(config, logger, opening);
    return {
      runtime,
      startBanner,
      app: createApp({
        logger,
        services: runtime.services,
        mounts: runtime.mounts,
        role: { name: config.role, workers: runtime.workers.names },
        metrics: { metrics: runtime.metrics, token: config.metricsToken },
      }),
    };
  });
  const early = startingApp({ version: APP_VERSION, role: config.role, startedAt: Date.now(), ready: starting.then((s) => s.app) });
  const running = await listen(early, config.port);
  const { runtime, app, startBanner } = await starting;
  handOver(running.server, early, app);
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
