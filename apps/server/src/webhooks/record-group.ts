import type { SubscriptionUpdate, SubscriptionWriter, VerifiedEvent } from '../billing/ports.js';
import type { Store } from '../store/ports.js';
import { oneAtATime, turnGroups, type Pending } from '../store/turn-groups.js';
import { recordApplied, type RecordedAndApplied } from './record-applied.js';

type Writer = Pick<SubscriptionWriter, 'embed'>;

interface Waiting extends Pending<RecordedAndApplied> {
  event: VerifiedEvent;
  update: SubscriptionUpdate;
  writer: Writer;
}

/** At most this many events in one statement. */
const MAX_GROUP = 64;

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

/**
 * Webhook deliveries that reach the store in the same turn of the event loop are stored and applied
 * together: one statement and one commit for the group (a round trip, a socket write and a WAL flush
 * per event saved), each event still with its own gate, upsert and outcome. A group is ordered by
 * account, so rows it already sees are locked in one order; rows of accounts new to its snapshot are
 * locked later by the upsert's ON CONFLICT, so two replicas' groups can still deadlock. PostgreSQL
 * detects that (deadlock_timeout, 1 s) and fails one group, which then goes event by event: latency,
 * not correctness. If the store refuses the group's statement with an SQL error, none of it was kept:
 * each event goes again on its own, so one event's failure stays its own (its delivery then takes the
 * long way) and never fails the events that arrived beside it. Any other failure (an unreachable store,
 * a missed deadline, a wrong row count, a client-side error after the reply) may come after a commit,
 * so the group's deliveries fail together (each takes the long way, refused with 503 if that fails too).
 * Such a statement that committed after all loses or doubles nothing: its deliveries were not
 * acknowledged by it, and their long way or redelivery finds the event id in the inbox (a duplicate),
 * or stored it first, when the late upsert finds the row (ON CONFLICT DO NOTHING) and the long way's
 * apply is a duplicate by the upsert's ordering.
 */
export function groupedRecorder(store: Store, lease: { workerId: string; leaseMs: number }, options: { deadlineMs?: number } = {}) {
  const add = turnGroups<Waiting, RecordedAndApplied>({
    take: nextGroup,
    run: (items) => recordApplied(store, lease, items, items[0]!.writer),
    retry: oneAtATime,
    what: "a webhook group's statement",
    ...(options.deadlineMs === undefined ? {} : { deadlineMs: options.deadlineMs }),
  });
  return (event: VerifiedEvent, update: SubscriptionUpdate, writer: Writer): Promise<RecordedAndApplied> =>
    new Promise((resolve, reject) => add({ event, update, writer, resolve, reject }));
}
