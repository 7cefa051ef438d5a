import { randomUUID } from 'node:crypto';
import { reconcileSubscriptions } from '../billing/reconcile.js';
import type { RecoverySource } from '../billing/ports.js';
import type { SubscriptionRepository } from '../billing/subscriptions.js';
import type { LogPort } from '../logger.js';
import { startPeriodicWorker, type PeriodicWorker } from '../jobs/periodic.js';
import type { Store } from '../store/ports.js';
import type { Rows } from '../store/rows.js';
import { catchUpEvents } from './catch-up.js';
import type { WebhookInbox } from './inbox.js';
import type { WebhookProcessor } from './processor.js';

const JOB = 'stripe-recovery';

export interface RecoveryJobOptions {
  store: Store;
  source: RecoverySource;
  subscriptions: SubscriptionRepository;
  inbox: WebhookInbox;
  processor: WebhookProcessor;
  log: LogPort;
  intervalMs: number;
  /** How far back the first catch-up looks (later ones start at the last success, with a margin). */
  firstLookbackMs?: number;
  holder?: string;
}

/**
 * Runs `stripe reconcile` and `webhooks catch-up` periodically on exactly one replica: a replica
 * runs only if it takes the lease, which is free only when no one holds it and the last run is one
 * interval old. Each catch-up starts where the last successful one did (minus 10 minutes).
 */
export async function runRecoveryOnce(options: RecoveryJobOptions): Promise<'ran' | 'skipped'> {
  const holder = options.holder ?? `recovery_${randomUUID()}`;
  const intervalSeconds = options.intervalMs / 1000;
  const [lease] = await options.store.query<Pick<Rows['job_leases'], 'last_success_at'>>(
    `INSERT INTO job_leases (name, holder, locked_until, last_run_at) VALUES ($1, $2, now() + make_interval(secs => $3), now())
     ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, locked_until = EXCLUDED.locked_until, last_run_at = now()
     WHERE job_leases.locked_until < now() AND job_leases.last_run_at <= now() - make_interval(secs => $4)
     RETURNING last_success_at`,
    [JOB, holder, Math.max(600, intervalSeconds), intervalSeconds * 0.9],
  );
  if (!lease) return 'skipped';
  const startedAt = new Date();
  const since = lease.last_success_at
    ? new Date(new Date(lease.last_success_at).getTime() - 10 * 60_000)
    : new Date(startedAt.getTime() - (options.firstLookbackMs ?? 24 * 3600_000));
  try {
    const reconciled = await reconcileSubscriptions({ source: options.source, subscriptions: options.subscriptions });
    const caught = await catchUpEvents({ source: options.source, inbox: options.inbox, processor: options.processor, since });
    options.log.info(
      { listed: reconciled.listed, repaired: reconciled.applied, events: caught.listed, recovered: caught.recovered.length, outcomes: caught.outcomes },
      'stripe recovery ran',
    );
    await options.store.query(`UPDATE job_leases SET locked_until = now(), last_success_at = $3 WHERE name = $1 AND holder = $2`, [JOB, holder, startedAt.toISOString()]);
    return 'ran';
  } catch (error) {
    await options.store.query(`UPDATE job_leases SET locked_until = now() WHERE name = $1 AND holder = $2`, [JOB, holder]).catch(() => {});
    throw error;
  }
}

export function startRecoveryJob(options: RecoveryJobOptions): PeriodicWorker {
  const holder = options.holder ?? `recovery_${randomUUID()}`;
  return startPeriodicWorker({
    name: 'stripe recovery',
    // Check often (another replica may have held the lease); the lease makes it run once per interval.
    intervalMs: Math.max(1_000, Math.min(60_000, options.intervalMs / 4)),
    run: () => runRecoveryOnce({ ...options, holder }),
    log: options.log,
    // Soon after a start (a replica scaled from zero catches up), after its first requests.
    firstPassAfterMs: 2_000,
  });
}
