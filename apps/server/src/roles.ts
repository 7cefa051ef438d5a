import type { LogPort } from './logger.js';

/**
 * What one process does (`ROLE`). Serverless API instances scale to zero, so anything that must run
 * on a schedule or answer Stripe promptly lives on a small always-on `webhooks` (or `worker`) instance.
 */
export const ROLES = ['all', 'api', 'webhooks', 'worker'] as const;
export type Role = (typeof ROLES)[number];

export interface RoleDuties {
  /** tRPC, the REST aliases, the local billing pages and /openapi.json. */
  api: boolean;
  /** The Stripe webhook routes. */
  webhooks: boolean;
  /** Background workers: webhook retries, the meter outbox, and any job registered in bootstrap. */
  workers: boolean;
}

const DUTIES: Record<Role, RoleDuties> = {
  all: { api: true, webhooks: true, workers: true },
  api: { api: true, webhooks: false, workers: false },
  webhooks: { api: false, webhooks: true, workers: true },
  worker: { api: false, webhooks: false, workers: true },
};

export function dutiesOf(role: Role): RoleDuties {
  return DUTIES[role];
}

/** A periodic job. `start` begins its loop; `stop` waits for the pass in flight. */
export interface BackgroundWorker {
  name: string;
  start(): { stop(): Promise<void> };
}

export interface RunningWorkers {
  /** Names of the workers this process runs (empty for ROLE=api). */
  readonly names: readonly string[];
  stop(): Promise<void>;
}

/**
 * The one place that decides whether background workers run in this process: every periodic job is
 * handed to it (in bootstrap), and it starts them only for roles with the `workers` duty.
 */
export function startBackgroundWorkers(role: Role, workers: readonly BackgroundWorker[], log: LogPort): RunningWorkers {
  if (!dutiesOf(role).workers) {
    log.info({ role, skipped: workers.map((w) => w.name) }, 'background workers not started for this role');
    return { names: [], stop: async () => {} };
  }
  const running = workers.map((worker) => ({ name: worker.name, handle: worker.start() }));
  log.info({ role, workers: running.map((w) => w.name) }, 'background workers started');
  return {
    names: running.map((w) => w.name),
    async stop() {
      await Promise.all(running.map((w) => w.handle.stop()));
    },
  };
}
