import type { SubscriptionUpdate, SubscriptionWriter, VerifiedEvent } from '../billing/ports.js';
import type { Store } from '../store/ports.js';
import { isStoreUnavailable } from '../store/store.js';
import { recordApplied, type RecordedAndApplied } from './record-applied.js';

type Writer = Pick<SubscriptionWriter, 'embed'>;

interface Waiting {
  event: VerifiedEvent;
  update: SubscriptionUpdate;
  writer: Writer;
  resolve: (recorded: RecordedAndApplied) => void;
  reject: (error: unknown) => void;
}

/** At most this many events in one statement. */
const MAX_GROUP = 64;

/** Resolves after the event loop's next turn, once the deliveries read meanwhile have reached this point. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

const byAccount = (a: Waiting, b: Waiting) => (a.update.accountId < b.update.accountId ? -1 : a.update.accountId > b.update.accountId ? 1 : 0);

/**
 * Takes the next group off `waiting`: deliveries of one writer and one kind of update (one statement
 * text), at most one per account (a statement may touch an account's row once) and per event id; the
 * rest keep their place for the next group, so one account's events still go in arrival order.
 */
function nextGroup(waiting: Waiting[]): { group: Waiting[]; rest: Waiting[] } {
  const [head] = waiting;
  const group: Waiting[] = [];
  const rest: Waiting[] = [];
  const seen = new Set<string>();
  for (const item of waiting) {
    const fits =
      group.length < MAX_GROUP &&
      item.writer === head!.writer &&
      (item.update.authoritative === true) === (head!.update.authoritative === true) &&
      !seen.has(`a:${item.update.accountId}`) &&
      !seen.has(`e:${item.event.id}`);
    // Once an account's event waits, its later ones wait too: never overtake within an account.
    seen.add(`a:${item.update.accountId}`).add(`e:${item.event.id}`);
    (fits ? group : rest).push(item);
  }
  return { group: group.sort(byAccount), rest };
}

/** How long a group's statement may take before its deliveries are refused (well under the time Stripe waits for an answer). */
const DEADLINE_MS = 10_000;

/**
 * `work`, or a store-unavailable error (isStoreUnavailable: its code) once `ms` pass: a statement on a
 * half-open connection never settles, and one group in flight per process would stall every delivery
 * behind it. The abandoned statement's late result is dropped and its failure swallowed. If it commits
 * after all, nothing is lost or doubled: its deliveries were not acknowledged by it, and their long way
 * or redelivery finds the event id in the inbox (a duplicate), or stored it first, when the late upsert
 * finds the row (ON CONFLICT DO NOTHING) and the long way's apply is a duplicate by the upsert's ordering.
 */
function withDeadline<T>(work: Promise<T>, ms: number): Promise<T> {
  work.catch(() => {});
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`the store did not answer a webhook group's statement within ${ms} ms`), { code: 'ETIMEDOUT' })), ms);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

/**
 * Webhook deliveries that reach the store in the same turn of the event loop are stored and applied
 * together: one statement and one commit for the group (a round trip, a socket write and a WAL flush
 * per event saved), each event still with its own gate, upsert and outcome. A group is ordered by
 * account, so rows it already sees are locked in one order; rows of accounts new to its snapshot are
 * locked later by the upsert's ON CONFLICT, so two replicas' groups can still deadlock. PostgreSQL
 * detects that (deadlock_timeout, 1 s) and fails one group, which then goes event by event: latency,
 * not correctness. If the group's statement fails, none of it was kept: each event goes again on its
 * own, so one event's failure stays its own (its delivery then takes the long way) and never fails the
 * events that arrived beside it; unless the store is unreachable or misses the deadline, when the
 * group's deliveries fail together (each takes the long way, refused with 503 if that fails too).
 */
export function groupedRecorder(store: Store, lease: { workerId: string; leaseMs: number }, options: { deadlineMs?: number } = {}) {
  let waiting: Waiting[] = [];
  let busy = false;
  const statement = (items: Waiting[]) => withDeadline(recordApplied(store, lease, items, items[0]!.writer), options.deadlineMs ?? DEADLINE_MS);
  /** Each event of a failed group on its own; once the store proves unreachable, the rest fail with it (no connect timeout each). */
  async function oneByOne(group: Waiting[]) {
    let unavailable: { error: unknown } | undefined;
    for (const item of group) {
      if (unavailable) {
        item.reject(unavailable.error);
        continue;
      }
      try {
        item.resolve((await statement([item]))[0]!);
      } catch (error) {
        if (isStoreUnavailable(error)) unavailable = { error };
        item.reject(error);
      }
    }
  }
  async function drain() {
    await nextTurn();
    while (waiting.length) {
      const { group, rest } = nextGroup(waiting);
      waiting = rest;
      try {
        (await statement(group)).forEach((recorded, i) => group[i]!.resolve(recorded));
      } catch (error) {
        // An unreachable store fails each event alone too, one connect timeout after another: fail them together.
        if (group.length === 1 || isStoreUnavailable(error)) for (const item of group) item.reject(error);
        else await oneByOne(group);
      }
      if (!waiting.length) await nextTurn();
    }
    busy = false;
  }
  return (event: VerifiedEvent, update: SubscriptionUpdate, writer: Writer): Promise<RecordedAndApplied> =>
    new Promise((resolve, reject) => {
      waiting.push({ event, update, writer, resolve, reject });
      if (busy) return;
      busy = true;
      void drain();
    });
}
