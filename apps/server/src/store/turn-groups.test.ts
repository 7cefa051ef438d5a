import { describe, expect, it } from 'vitest';
import { isStoreUnavailable } from './store.js';
import { oneAtATime, turnGroups, type GroupStatement, type Pending, type TurnGroupPlan } from './turn-groups.js';

type Item = Pending<string> & { n: number };

/** A promise with its settle functions, for statements the test answers when it chooses. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const answer = (group: Item[]) => group.map((item) => `ok ${item.n}`);

/** A queue over `run` that groups every item waiting; `enqueue` also counts how often each item was settled. */
function queue(run: GroupStatement<Item, string>, plan: Partial<TurnGroupPlan<Item, string>> = {}) {
  const groups: number[][] = [];
  const settled = new Map<number, number>();
  const add = turnGroups<Item, string>({
    take: (waiting) => ({ group: waiting, rest: [] }),
    run: (group) => (groups.push(group.map((item) => item.n)), run(group)),
    what: 'a test group',
    ...plan,
  });
  const count = (n: number) => settled.set(n, (settled.get(n) ?? 0) + 1);
  const enqueue = (n: number) =>
    new Promise<string>((resolve, reject) =>
      add({ n, resolve: (value) => (count(n), resolve(value)), reject: (error) => (count(n), reject(error)) }),
    );
  return { groups, settled, enqueue };
}

describe('turn groups', () => {
  it('sends the items added in one turn as one group, one result each in order', async () => {
    const q = queue(async (group) => answer(group));
    expect(await Promise.all([1, 2, 3].map(q.enqueue))).toEqual(['ok 1', 'ok 2', 'ok 3']);
    expect(q.groups).toEqual([[1, 2, 3]]);
    expect(await q.enqueue(4)).toBe('ok 4');
    expect(q.groups).toEqual([[1, 2, 3], [4]]);
  });

  it('keeps one group in flight: items added while it runs wait and go in together as the next group', async () => {
    const first = deferred<string[]>();
    let inFlight = 0;
    let most = 0;
    const q = queue(async (group) => {
      most = Math.max(most, ++inFlight);
      try {
        return group[0]!.n === 1 ? await first.promise : answer(group);
      } finally {
        inFlight--;
      }
    });
    const a = q.enqueue(1);
    await nextTurn();
    await nextTurn();
    const later = [2, 3].map(q.enqueue);
    await nextTurn();
    await nextTurn();
    expect(q.groups).toEqual([[1]]);
    first.resolve(['ok 1']);
    expect(await Promise.all([a, ...later])).toEqual(['ok 1', 'ok 2', 'ok 3']);
    expect(q.groups).toEqual([[1], [2, 3]]);
    expect(most).toBe(1);
  });

  it('fails a group whose statement misses the deadline together, as an unreachable store, and runs the next group', async () => {
    const stuck = deferred<string[]>();
    const q = queue((group) => (group[0]!.n === 1 ? stuck.promise : Promise.resolve(answer(group))), { deadlineMs: 50 });
    const started = Date.now();
    const group = Promise.allSettled([1, 2].map(q.enqueue));
    await nextTurn();
    await nextTurn();
    const behind = q.enqueue(3);
    const results = await group;
    expect(Date.now() - started).toBeLessThan(2_000);
    for (const result of results) {
      expect(result).toMatchObject({ status: 'rejected', reason: { code: 'ETIMEDOUT', message: 'the store did not answer a test group within 50 ms' } });
      expect(isStoreUnavailable((result as PromiseRejectedResult).reason)).toBe(true);
    }
    expect(await behind).toBe('ok 3');
    expect(q.groups).toEqual([[1, 2], [3]]);
  });

  it('settles nothing again when a statement answers after its deadline, and swallows one that fails after it', async () => {
    const late = deferred<string[]>();
    const failing = deferred<string[]>();
    const q = queue((group) => (group[0]!.n === 1 ? late.promise : failing.promise), { deadlineMs: 20 });
    await expect(q.enqueue(1)).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    await expect(q.enqueue(2)).rejects.toMatchObject({ code: 'ETIMEDOUT' });
    late.resolve(['ok 1']);
    // A late failure would surface as an unhandled rejection, which fails the run.
    failing.reject(new Error('connection reset at last'));
    await nextTurn();
    await nextTurn();
    expect([...q.settled]).toEqual([
      [1, 1],
      [2, 1],
    ]);
  });

  it('hands a group that failed for its own reasons to retry, but fails it together when the store is unreachable', async () => {
    const retried: number[][] = [];
    const retry = async (group: Item[], statement: GroupStatement<Item, string>) => {
      retried.push(group.map((item) => item.n));
      for (const item of group) await statement([item]).then((rows) => item.resolve(rows[0]!), item.reject);
    };
    let failure: Error | undefined = Object.assign(new Error('deadlock detected'), { code: '40P01' });
    const q = queue(async (group) => {
      if (group.length > 1 && failure) throw failure;
      return answer(group);
    }, { retry });
    expect(await Promise.all([1, 2].map(q.enqueue))).toEqual(['ok 1', 'ok 2']);
    expect(retried).toEqual([[1, 2]]);
    failure = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
    const down = await Promise.allSettled([3, 4].map(q.enqueue));
    expect(down.map((r) => r.status === 'rejected' && isStoreUnavailable(r.reason))).toEqual([true, true]);
    expect(retried).toEqual([[1, 2]]);
  });

  it('retries a failed group one item at a time, each failure its own, until the store proves unreachable', async () => {
    const tried: number[] = [];
    const q = queue(
      async (group) => {
        if (group.length > 1) throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
        tried.push(group[0]!.n);
        if (group[0]!.n === 2) throw new Error('item 2 is bad');
        if (group[0]!.n === 3) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
        return answer(group);
      },
      { retry: oneAtATime },
    );
    const results = await Promise.allSettled([1, 2, 3, 4, 5].map(q.enqueue));
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
      'ok 1',
      'item 2 is bad',
      'connect ECONNREFUSED 127.0.0.1:5432',
      'connect ECONNREFUSED 127.0.0.1:5432',
      'connect ECONNREFUSED 127.0.0.1:5432',
    ]);
    // 4 and 5 were not sent: each would have waited out its own connect timeout or deadline.
    expect(tried).toEqual([1, 2, 3]);
    expect([...q.settled.values()]).toEqual([1, 1, 1, 1, 1]);
  });

  it('fails a group whose statement answers a different number of rows than it has items together, without retrying it', async () => {
    const retried: number[][] = [];
    const q = queue(async (group) => (group.length > 1 ? ['only one'] : answer(group)), {
      retry: async (group, statement) => (retried.push(group.map((item) => item.n)), oneAtATime(group, statement)),
    });
    const results = await Promise.allSettled([1, 2].map(q.enqueue));
    expect(results).toMatchObject([
      { status: 'rejected', reason: { message: 'a test group returned 1 results for 2 items' } },
      { status: 'rejected', reason: { message: 'a test group returned 1 results for 2 items' } },
    ]);
    // The statement may have committed: each item going again would apply it twice.
    expect(retried).toEqual([]);
  });

  it('fails a group together, without retrying it, on an error the server did not raise (it may follow a commit)', async () => {
    const retried: number[][] = [];
    let failure: unknown;
    const q = queue(
      async (group) => {
        if (group.length > 1) throw failure;
        return answer(group);
      },
      { retry: async (group, statement) => (retried.push(group.map((item) => item.n)), oneAtATime(group, statement)) },
    );
    const clientSide = [new TypeError("Cannot read properties of undefined (reading 'rows')"), Object.assign(new Error('odd code'), { code: 'ERR_ODD' }), 'a string'];
    for (const [i, error] of clientSide.entries()) {
      failure = error;
      const results = await Promise.allSettled([10 * i + 1, 10 * i + 2].map(q.enqueue));
      expect(results).toEqual([
        { status: 'rejected', reason: error },
        { status: 'rejected', reason: error },
      ]);
    }
    expect(retried).toEqual([]);
    // A server-raised SQL error (rolled back) still goes to retry.
    failure = Object.assign(new Error('division by zero'), { code: '22012' });
    expect(await Promise.all([91, 92].map(q.enqueue))).toEqual(['ok 91', 'ok 92']);
    expect(retried).toEqual([[91, 92]]);
  });

  it('fails the group of a retry that throws synchronously, and goes on with the next group', async () => {
    const q = queue(
      async (group) => {
        if (group.length > 1) throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
        return answer(group);
      },
      {
        retry: () => {
          throw new Error('retry broke');
        },
      },
    );
    expect(await Promise.allSettled([1, 2].map(q.enqueue))).toMatchObject([
      { status: 'rejected', reason: { message: 'retry broke' } },
      { status: 'rejected', reason: { message: 'retry broke' } },
    ]);
    expect(await q.enqueue(3)).toBe('ok 3');
  });

  it('refuses a second statement while one is in flight: the one deadline timer serves one statement at a time', async () => {
    const q = queue(
      async (group) => {
        if (group.length > 1) throw Object.assign(new Error('deadlock detected'), { code: '40P01' });
        return answer(group);
      },
      { retry: async (group, statement) => void (await Promise.all(group.map((item) => statement([item])))) },
    );
    const results = await Promise.allSettled([1, 2].map(q.enqueue));
    expect(results).toMatchObject([
      { status: 'rejected', reason: { message: 'a test group: a statement was started while another was in flight' } },
      { status: 'rejected', reason: { message: 'a test group: a statement was started while another was in flight' } },
    ]);
    expect(await q.enqueue(3)).toBe('ok 3');
  });
});
