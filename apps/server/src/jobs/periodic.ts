import type { LogPort } from '../logger.js';

export interface PeriodicWorkerOptions {
  /** Names the worker in the log line of a failed pass. */
  name: string;
  intervalMs: number;
  /** One pass. A failure is logged and the next interval tries again. */
  run: () => Promise<unknown>;
  log: LogPort;
  /**
   * When the first pass runs (default: one interval after start). Workers that catch up on downtime
   * start sooner, but a cold start's first requests should not queue behind them for the store.
   */
  firstPassAfterMs?: number;
  /** After the last pass has finished on stop, e.g. to release a lease. */
  afterStop?: () => Promise<void>;
}

export interface PeriodicWorker {
  /** Stops the timer and waits for the pass in flight (then `afterStop`). */
  stop(): Promise<void>;
}

/**
 * The background loop every worker shares: a pass every `intervalMs`, never two at once (a tick that
 * finds the last pass still running is skipped, so slow passes do not pile up), errors logged, and a
 * `stop()` that returns only once no pass is running. The timer is unref'd: it never keeps the process alive.
 */
export function startPeriodicWorker(options: PeriodicWorkerOptions): PeriodicWorker {
  let inFlight: Promise<void> | undefined;
  let stopped = false;
  const tick = () => {
    if (inFlight || stopped) return;
    inFlight = options
      .run()
      .then(
        () => undefined,
        (error: unknown) => options.log.warn({ err: error, worker: options.name }, `${options.name} pass failed; the next interval retries`),
      )
      .finally(() => {
        inFlight = undefined;
      });
  };
  const timer = setInterval(tick, options.intervalMs);
  timer.unref();
  const first = options.firstPassAfterMs === undefined ? undefined : setTimeout(tick, options.firstPassAfterMs);
  first?.unref();
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      clearTimeout(first);
      await inFlight;
      await options.afterStop?.();
    },
  };
}
