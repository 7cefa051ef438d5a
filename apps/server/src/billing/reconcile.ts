import type { RecoverySource, SubscriptionUpdate } from './ports.js';
import { TERMINAL_STATUSES } from './ports.js';
import type { StoredSubscription, SubscriptionRepository } from './subscriptions.js';

interface ReconcileRow {
  accountId: string | null;
  subscriptionId: string;
  /** `field: stored → provider` for each field that differed (empty when in sync). */
  differences: string[];
  action: 'in sync' | 'applied' | 'would apply' | 'stale' | 'unmapped' | 'superseded';
  reason?: string;
}

export interface ReconcileReport {
  rows: ReconcileRow[];
  listed: number;
  applied: number;
}

const ended = (status: string) => (TERMINAL_STATUSES as readonly string[]).includes(status);

/** What an account shows if this update is stored, compared field by field with what is stored. */
function differences(stored: StoredSubscription | undefined, update: SubscriptionUpdate): string[] {
  const pairs: [string, unknown, unknown][] = [
    ['subscription', stored?.providerSubscriptionId, update.providerSubscriptionId],
    ['customer', stored?.providerCustomerId, update.providerCustomerId],
    ['status', stored?.status, update.status],
    ['plan', stored?.planId, update.planId],
    ['features', stored ? [...stored.features].sort().join(',') : undefined, [...update.features].sort().join(',')],
    ['currentPeriodEnd', stored?.currentPeriodEnd?.toISOString() ?? null, update.currentPeriodEnd?.toISOString() ?? null],
    ['cancelAtPeriodEnd', stored?.cancelAtPeriodEnd, update.cancelAtPeriodEnd],
  ];
  return pairs.filter(([, a, b]) => (a ?? null) !== (b ?? null)).map(([name, a, b]) => `${name}: ${String(a ?? '-')} → ${String(b ?? '-')}`);
}

/**
 * Compares every subscription the provider has with the store and repairs what differs through the
 * same ordered `apply` as webhooks, as a fresh read (it outranks events up to now, never a newer
 * one). Per account, the live subscription wins over ended ones, then the newest. Accounts already
 * in sync are not written, so a second run writes nothing.
 */
export async function reconcileSubscriptions(options: {
  source: RecoverySource;
  subscriptions: SubscriptionRepository;
  accountId?: string | undefined;
  dryRun?: boolean;
}): Promise<ReconcileReport> {
  const { source, subscriptions } = options;
  let customerId: string | undefined;
  if (options.accountId) customerId = await subscriptions.customerOfAccount(options.accountId);
  const rows: ReconcileRow[] = [];
  const chosen = new Map<string, SubscriptionUpdate>();
  let listed = 0;
  for await (const mapped of source.subscriptions(customerId ? { customerId } : {})) {
    listed++;
    if (mapped.kind !== 'update') {
      if (!options.accountId) rows.push({ accountId: null, subscriptionId: mapped.subscriptionId, differences: [], action: 'unmapped', reason: mapped.reason });
      continue;
    }
    const update = mapped.update;
    if (options.accountId && update.accountId !== options.accountId) continue;
    const previous = chosen.get(update.accountId);
    // Newest first: keep the first seen unless it ended and this one is live.
    if (!previous || (ended(previous.status) && !ended(update.status))) {
      if (previous) rows.push({ accountId: previous.accountId, subscriptionId: previous.providerSubscriptionId, differences: [], action: 'superseded' });
      chosen.set(update.accountId, update);
    } else {
      rows.push({ accountId: update.accountId, subscriptionId: update.providerSubscriptionId, differences: [], action: 'superseded' });
    }
  }
  let applied = 0;
  for (const update of chosen.values()) {
    const stored = await subscriptions.get(update.accountId);
    const diff = differences(stored, update);
    if (!diff.length) {
      rows.push({ accountId: update.accountId, subscriptionId: update.providerSubscriptionId, differences: [], action: 'in sync' });
      continue;
    }
    if (options.dryRun) {
      rows.push({ accountId: update.accountId, subscriptionId: update.providerSubscriptionId, differences: diff, action: 'would apply' });
      continue;
    }
    const outcome = await subscriptions.apply(update);
    if (outcome === 'applied') applied++;
    rows.push({
      accountId: update.accountId,
      subscriptionId: update.providerSubscriptionId,
      differences: diff,
      action: outcome === 'applied' ? 'applied' : 'stale',
      ...(outcome === 'applied' ? {} : { reason: `the store holds a newer state (${outcome})` }),
    });
  }
  return { rows, listed, applied };
}

/** The report as the CLI prints it: one line per account or subscription, differences named. */
export function formatReconcileReport(report: ReconcileReport, dryRun: boolean): string[] {
  const interesting = report.rows.filter((row) => row.action !== 'in sync' && row.action !== 'superseded');
  const lines = interesting.map((row) =>
    [row.accountId ?? '(no account)', row.subscriptionId, row.action, row.differences.join('; ') || row.reason || ''].join('  |  ').trimEnd(),
  );
  const inSync = report.rows.filter((row) => row.action === 'in sync').length;
  const changed = report.rows.filter((row) => row.action === 'applied' || row.action === 'would apply').length;
  return [
    ...(lines.length ? ['account  |  subscription  |  action  |  differences', ...lines] : []),
    `${report.listed} subscriptions listed; ${inSync} accounts in sync; ${changed} ${dryRun ? 'would change (dry run: nothing written)' : 'repaired'}`,
  ];
}
