import { isStoreUnavailable } from './store.js';

/** An item waiting in a turn-group queue: the caller's own object, settled once by the queue. */
export interface Pending<R> {
  resolve: (result: R) => void;
  reject: (error: unknown) => void;
}

/** The statement a group runs, under the queue's deadline: one result per item, in the group's order. */
export type GroupStatement<T, R> = (group: T[]) => Promise<R[]>;

/** What a queue's caller decides: which items share a statement, the statement, and what a failed group does next. */
export interface TurnGroupPlan<T extends Pending<R>, R> {
  /** Takes the next group off `waiting` (never empty): the group to run now, and the rest, which keep waiting in order. */
  take: (waiting: T[]) => { group: T[]; rest: T[] };
  /** One statement for the whole group. */
  run: GroupStatement<T, R>;
  /**
   * A group of several items whose statement the server refused (isRefused: nothing of it was kept):
   * settles each item some other way, e.g. one by one through `statement` (which has the deadline too;
   * one statement at a time, awaited before the next, as the queue's). Without it, the group fails together.
   */
  retry?: (group: T[], statement: GroupStatement<T, R>) => Promise<void>;
  /** Names the statement in the deadline's error: "the store did not answer <what> within …". */
  what: string;
  /** How long a group's statement may take before its items are refused (default 10 s). */
  deadlineMs?: number;
}

/**
 * A failed group's items each on its own statement, so one item's failure stays its own; once the store
 * proves unreachable (or misses the deadline), the rest fail with it instead of waiting out one more
 * connect timeout or deadline each. The usual `retry`.
 */
export async function oneAtATime<T extends Pending<R>, R>(group: T[], statement: GroupStatement<T, R>): Promise<void> {
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

/**
 * The server refused the statement with an SQL error (a SQLSTATE `code`, as pg's DatabaseError and
 * PGlite's errors carry; not an unavailable class): it was rolled back, so its items may go again. Any
 * other failure (no answer, a wrong row count, a client-side error after the reply) may come after a
 * commit, when each item going again would apply twice (a second rate token, a second reservation).
 */
function isRefused(error: unknown): boolean {
  const code = (error as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && !isStoreUnavailable(error);
}

/** A group statement's default deadline: well under what a caller waits (Stripe's webhook timeout, an HTTP client's). */
const GROUP_DEADLINE_MS = 10_000;

/** Resolves after the event loop's next turn, once the I/O read meanwhile has reached this point. */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A queue that sends the items arriving in one turn of the event loop (the requests read meanwhile
 * reach this point in it) to the store together, as one statement per group, with at most one group
 * in flight: the next turn's items form the next group. Each group's statement has a deadline, so one
 * statement stuck on a half-open connection refuses its own items as an unreachable store instead of
 * stalling the queue. Only a group of several that the server refused (isRefused: rolled back) goes
 * to `plan.retry`, so one item's failure can stay its own. Any other failure fails the group together:
 * an unreachable store (or a missed deadline) would fail each item too, one connect timeout or deadline
 * after another, and a wrong row count or a client-side error may follow a commit.
 *
 * Returns `add`: the caller makes the item (with its promise's resolve and reject) and the queue
 * settles it exactly once.
 */
export function turnGroups<T extends Pending<R>, R>(plan: TurnGroupPlan<T, R>): (item: T) => void {
  const { take, run, retry, what } = plan;
  const deadlineMs = plan.deadlineMs ?? GROUP_DEADLINE_MS;
  let waiting: T[] = [];
  let busy = false;
  // At most one statement is in flight (drain and retry await each before the next; `statement`
  // asserts it), so one timer serves them all: refreshed as each starts (no timer made per group), it
  // refuses the statement in flight, if any, when it fires. Unref'd: an idle queue's timer never holds
  // the process open.
  let refuse: ((error: unknown) => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const expire = () => {
    const late = refuse;
    refuse = undefined;
    late?.(Object.assign(new Error(`the store did not answer ${what} within ${deadlineMs} ms`), { code: 'ETIMEDOUT' }));
  };
  /**
   * The group's results, or a store-unavailable error (code ETIMEDOUT: isStoreUnavailable) at the
   * deadline: a statement on a half-open connection never settles, and would stall every item behind
   * it. The abandoned statement's late result is dropped and its late failure swallowed.
   */
  const statement: GroupStatement<T, R> = (group) => {
    // A second statement would refresh the one timer under the first, and the first could then never miss its deadline.
    if (refuse) throw new Error(`${what}: a statement was started while another was in flight`);
    const work = run(group);
    return new Promise<R[]>((resolve, reject) => {
      refuse = reject;
      if (timer) timer.refresh();
      else timer = setTimeout(expire, deadlineMs).unref();
      work.then(
        (results) => {
          if (refuse === reject) refuse = undefined;
          if (results.length === group.length) resolve(results);
          else reject(new Error(`${what} returned ${results.length} results for ${group.length} items`));
        },
        (error: unknown) => {
          if (refuse === reject) refuse = undefined;
          reject(error);
        },
      );
    });
  };
  async function drain() {
    await nextTurn();
    while (waiting.length) {
      const { group, rest } = take(waiting);
      waiting = rest;
      try {
        const results = await statement(group);
        for (let i = 0; i < group.length; i++) group[i]!.resolve(results[i]!);
      } catch (error) {
        if (!retry || group.length === 1 || !isRefused(error)) for (const item of group) item.reject(error);
        // Settling a settled item does nothing, so whatever retry left unsettled fails with its error
        // (a synchronous throw included: it must not end drain with `busy` left true).
        else
          await Promise.resolve()
            .then(() => retry(group, statement))
            .catch((failure: unknown) => group.forEach((item) => item.reject(failure)));
      }
      if (!waiting.length) await nextTurn();
    }
    busy = false;
  }
  return (item) => {
    waiting.push(item);
    if (busy) return;
    busy = true;
    void drain();
  };
}
