import type { startBanner } from './banner.js';
import type { Runtime } from './bootstrap.js';
import type { Config } from './config.js';
import { handOver, startingApp } from './http/starting.js';
import type { Logger } from './logger.js';
import { dutiesOf } from './roles.js';
import { listen, type RunningServer } from './server.js';
import type { ServerStore } from './store/server-store.js';
import { APP_VERSION } from './version.js';

/**
 * Everything a webhook delivery does not need (AI detection, metrics, the tRPC app, OpenAPI) is loaded
 * after the webhook routes are served: the bundle is split, so a replica scaled from zero answers
 * Stripe once Express, the store and billing are compiled and the store is migrated, not after the
 * whole server is (most of a cold start on Node is compiling).
 */
export const loadRest = () => Promise.all([import('./bootstrap.js'), import('./app.js'), import('./banner.js')]);

/** The longest the rest of the server waits for the deliveries the webhook routes are answering. */
const REST_WAITS_FOR_DELIVERIES_MS = 200;

export interface StartOptions {
  port: number;
  host?: string;
  /** Opens the store; default openServerStore (tests hand in an open test store). */
  open?: () => Promise<ServerStore>;
  /** Tests hold the rest of the server back until this resolves. */
  restGate?: Promise<void>;
  /** Loads the rest of the server; default loadRest (tests observe when it starts). */
  loadRest?: typeof loadRest;
}

export interface Started {
  running: RunningServer;
  /** Resolves once the full app has taken the server over; rejects if anything failed to open or wire, or on a stop before. */
  serving: Promise<{ runtime: Runtime; startBanner: typeof startBanner }>;
  /**
   * Stops accepting, lets in-flight requests finish (up to `graceMs`), then closes what is open. Before
   * the full app has taken over (the webhook routes may be answering deliveries), the rest is not wired
   * (no worker starts), requests waiting for it get 503 NOT_READY, and the store closes once it is open;
   * rejects if it does not open within `graceMs`.
   */
  stop(graceMs?: number): Promise<void>;
}

/** The longest a stop waits for in-flight requests, and for a store still opening. */
const STOP_GRACE_MS = 10_000;

/**
 * Listens first: /health answers while the store opens and migrates, and requests that need the store
 * wait for it (src/http/starting.ts). Then, in order: the webhook routes (webhooks-first.ts) as soon
 * as the store is migrated, then the full app, which takes the server over. A role without the webhook
 * duty (ROLE=api, worker) loads the rest while the store opens instead.
 */
export async function startServer(config: Config, logger: Logger, options: StartOptions): Promise<Started> {
  // The store starts opening, migrating and opening its change bus first: its database round trips
  // (and PGlite's WebAssembly compile, off the main thread) overlap compiling the webhook pieces.
  // Those are loaded only once the store's module is (on PostgreSQL, its first round trip is then on
  // its way): loaded together, the store's small chunk waited behind their compile.
  const storeModule = options.open ? undefined : import('./store/server-store.js');
  const opening = options.open ? options.open() : storeModule!.then(({ openServerStore }) => openServerStore(config, logger));
  opening.catch(() => undefined);
  const storeLoaded = Promise.resolve(storeModule);
  const load = options.loadRest ?? loadRest;
  // A role without the webhook duty serves nothing early, so nothing is gained by compiling the rest
  // after the store opens: it compiles while the store opens, as the webhook pieces do.
  const restLoading = dutiesOf(config.role).webhooks ? undefined : storeLoaded.then(() => load());
  restLoading?.catch(() => undefined);
  const first = storeLoaded.then(() => import('./webhooks-first.js')).then(({ startWebhooksFirst }) => startWebhooksFirst(config, logger, opening));
  first.catch(() => undefined);
  let stopped = false;
  let abort!: (error: Error) => void;
  const aborted = new Promise<never>((_, reject) => (abort = reject));
  aborted.catch(() => undefined);
  const built = first.then(async (wired) => {
    await options.restGate;
    await wired.early?.answered(REST_WAITS_FOR_DELIVERIES_MS);
    const [{ buildRuntime }, { createApp }, banner] = await (restLoading ?? load());
    // Stopped while the rest was loading: nothing of it is wired, so no worker starts.
    if (stopped) throw new Error('stopped before the server finished starting');
    const runtime = buildRuntime(wired, logger);
    const app = createApp({
      logger,
      services: runtime.services,
      mounts: runtime.mounts,
      role: { name: config.role, workers: runtime.workers.names },
      metrics: { metrics: runtime.metrics, token: config.metricsToken },
    });
    return { runtime, app, startBanner: banner.startBanner };
  });
  built.catch(() => undefined);
  // A stop ends starting at once: requests waiting for the full app get NOT_READY instead of holding the stop.
  const starting = Promise.race([built, aborted]);
  const early = startingApp({
    version: APP_VERSION,
    role: config.role,
    startedAt: Date.now(),
    ready: starting.then((s) => s.app),
    early: first.then((wired) => wired.early?.routes),
  });
  const running = await listen(early, options.port, options.host);
  const serving = starting.then(({ runtime, app, startBanner }) => {
    handOver(running.server, early, app);
    return { runtime, startBanner };
  });
  let stopping: Promise<void> | undefined;
  const stop = async (graceMs: number) => {
    stopped = true;
    abort(new Error('stopped before the server finished starting'));
    const drained = running.shutdown(graceMs);
    // Settled already if the full app took over (it resolves within the turn the rest is built in).
    const full = await serving.catch(() => undefined);
    if (full) {
      // Live status streams never finish on their own: end them (clients reconnect to another replica).
      await full.runtime.billing.streams.close();
      await drained;
      return full.runtime.close();
    }
    await drained;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(resolve, graceMs, 'late')));
    const opened = await Promise.race([opening.catch(() => undefined), late]);
    clearTimeout(timer);
    if (opened === 'late') throw new Error(`the store did not open within ${graceMs} ms of the stop; exiting without closing it`);
    if (!opened) return;
    // Wiring over the open store takes one statement at most (the local webhook secret).
    const wired = await first.catch(() => undefined);
    await wired?.billing.streams.close();
    await opened.changes.close();
    await opened.store.close();
  };
  return { running, serving, stop: (graceMs = STOP_GRACE_MS) => (stopping ??= stop(graceMs)) };
}
