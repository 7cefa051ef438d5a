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

/**
 * Webhook deliveries that reach the store in the same turn of the event loop are stored and applied
 * together: one statement and one commit for the group (a round trip, a socket write and a WAL flush
 * per event saved), each event still with its own gate, upsert and outcome. A group is ordered by
 * account, so groups of several replicas lock account rows in one order. If the group's statement
 * fails, none of it was kept: each event goes again on its own, so one event's failure stays its own
 * (its delivery then takes the long way) and never fails the events that arrived beside it; unless the
 * store itself is unreachable, when every delivery takes the long way (and, not durable, is refused).
 */
export function groupedRecorder(store: Store, lease: { workerId: string; leaseMs: number }) {
  let waiting: Waiting[] = [];
  let busy = false;
  const alone = async (item: Waiting) => {
    const [recorded] = await recordApplied(store, lease, [item], item.writer);
    return recorded!;
  };
  async function drain() {
    await nextTurn();
    while (waiting.length) {
      const { group, rest } = nextGroup(waiting);
      waiting = rest;
      try {
        if (group.length === 1) group[0]!.resolve(await alone(group[0]!));
        else (await recordApplied(store, lease, group, group[0]!.writer)).forEach((recorded, i) => group[i]!.resolve(recorded));
      } catch (error) {
        // An unreachable store fails each event alone too, one connect timeout after another: fail them together.
        if (group.length === 1 || isStoreUnavailable(error)) for (const item of group) item.reject(error);
        else for (const item of group) await alone(item).then(item.resolve, item.reject);
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
