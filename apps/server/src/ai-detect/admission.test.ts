import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wire } from '../bootstrap.js';
import { loadConfig } from '../config.js';
import { AppError } from '../errors.js';
import type { QueryOptions, Session, Store } from '../store/ports.js';
import { isStoreUnavailable } from '../store/store.js';
import { captureLogger } from '../testing/harness.js';
import { pngVariant } from '../testing/images.js';
import { openReplica, storeTargets, type TestStore } from '../testing/stores.js';

/**
 * The cached path of `aiDetect.check` as production wires it (bootstrap's `wire`, the local detector),
 * over the real store with every statement counted: a cached detection is ONE round trip, and the
 * limits it applies in that statement keep their meaning at their edges and under concurrency.
 */

/**
 * The store, with the text of every statement it is sent (sessions included). Billing's cached reads
 * (entitlements for 2 s, the catalog for 5 s) are left out: a slow machine may outlive those caches
 * mid-test, and they are not the detection's round trips.
 */
function counting(store: Store): { store: Store; statements: string[] } {
  const statements: string[] = [];
  const note = (text: string) => {
    if (!/FROM (subscriptions|catalogs)\b/.test(text)) statements.push(text);
  };
  const session = (inner: Session): Session => ({
    query: (text, params) => (note(text), inner.query(text, params)),
    exec: (text) => (note(text), inner.exec(text)),
  });
  return {
    statements,
    store: { ...store, query: (text, params, options) => (note(text), store.query(text, params, options)), withSession: (fn) => store.withSession((inner) => fn(session(inner))) },
  };
}

let month = 0;
function service(store: Store, env: Record<string, string> = {}, admission: { admissionDeadlineMs?: number } = {}) {
  // A month of its own per service keeps quotas of tests apart on one store.
  const at = new Date(Date.UTC(2040 + month++, 0, 15));
  const config = loadConfig({ NODE_ENV: 'test', AI_DETECT_RATE_BURST: '100', ...env });
  const wiring = wire(config, store, captureLogger().logger, { aiDetect: { now: () => at, ...admission } });
  const check = (userId: string, image: Buffer) => wiring.aiDetect.check({ userId, requestId: 'req_admission', input: { image: image.toString('base64'), mimeType: 'image/png' } });
  return { check, usage: (userId: string) => wiring.aiDetect.usage(userId) };
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
    return 'ok';
  } catch (error) {
    if (error instanceof AppError) return error.code;
    throw error;
  }
}

describe.each(storeTargets)('one round trip per cached detection on $name', (target) => {
  let t: TestStore;
  beforeAll(async () => {
    t = await target.open();
  });
  afterAll(() => t.dispose());

  const ledgerRows = async (accountId: string) =>
    Number((await t.store.query<{ n: number }>('SELECT count(*)::int AS n FROM usage_ledger WHERE account_id = $1 AND cached', [accountId]))[0]!.n);

  it.each([
    ['verdicts that never expire', {}],
    ['a verdict TTL (nothing remembered in the process)', { AI_DETECT_CACHE_TTL_SECONDS: '3600' }],
  ])('a repeat and another account’s first check of a cached image each make one statement (%s)', async (name, env) => {
    const { store, statements } = counting(t.store);
    const s = service(store, env);
    const image = pngVariant(`${target.name}:trips:${name}`);
    const [a, b] = [`trips_a:${name}`, `trips_b:${name}`];
    const first = await s.check(a, image);

    statements.length = 0;
    const repeat = await s.check(a, image);
    expect(statements).toHaveLength(1);
    expect(repeat).toMatchObject({ cached: true, checkedAt: first.checkedAt });

    statements.length = 0;
    const other = await s.check(b, image);
    expect(statements).toHaveLength(1);
    expect(other.cached).toBe(false);
    expect((await s.check(b, image)).cached).toBe(true);
    // Every counted check reached the ledger once, each cached one flagged as cached.
    expect(await ledgerRows(a)).toBe(1);
    expect(await ledgerRows(b)).toBe(2);
  });

  it('refusals are one statement too and charge nothing: no quota, ledger row or answer', async () => {
    const { store, statements } = counting(t.store);
    const s = service(store, { AI_DETECT_RATE_BURST: '2' });
    const image = pngVariant(`${target.name}:refused`);
    await s.check('refused', image);
    await s.check('refused', image);
    statements.length = 0;
    const error = await s.check('refused', image).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 6 });
    expect(statements).toHaveLength(1);
    expect(await s.usage('refused')).toMatchObject({ used: 2 });
    expect(await ledgerRows('refused')).toBe(1);
  });

  it('quota at its boundary: with one check left, exactly one of 6 concurrent cached checks passes', async () => {
    const s = service(t.store);
    const image = pngVariant(`${target.name}:boundary`);
    for (let i = 0; i < 9; i++) await s.check('boundary', image); // the free plan allows 10 a month
    const codes = await Promise.all(Array.from({ length: 6 }, () => codeOf(s.check('boundary', image))));
    expect(codes.sort()).toEqual(['QUOTA_EXCEEDED', 'QUOTA_EXCEEDED', 'QUOTA_EXCEEDED', 'QUOTA_EXCEEDED', 'QUOTA_EXCEEDED', 'ok']);
    expect(await s.usage('boundary')).toMatchObject({ used: 10, limit: 10 });
    expect(await ledgerRows('boundary')).toBe(9); // 1 upstream check + 9 cached, refused ones not recorded
    expect(await codeOf(s.check('boundary', image))).toBe('QUOTA_EXCEEDED');
  });

  it('concurrent cached checks of one account: each is counted once, and all are told the same first check time', async () => {
    const s = service(t.store);
    const image = pngVariant(`${target.name}:same-account`);
    await s.check('first_asker', image);
    const answers = await Promise.all(Array.from({ length: 8 }, () => s.check('same_account', image)));
    // The first to be recorded reads as news (racing ones may too); the rest and later repeats are its repeats.
    expect(answers.filter((a) => !a.cached).length).toBeGreaterThanOrEqual(1);
    const later = await s.check('same_account', image);
    expect(later.cached).toBe(true);
    expect(new Set([...answers, later].map((a) => a.checkedAt))).toEqual(new Set([later.checkedAt]));
    expect(await s.usage('same_account')).toMatchObject({ used: 9 });
    expect(await ledgerRows('same_account')).toBe(9);
    const keys = await t.store.query<{ key: string }>('SELECT key FROM usage_ledger WHERE account_id = $1', ['same_account']);
    expect(new Set(keys.map((row) => row.key)).size).toBe(9);
  });

  it('rate limit at its boundary: with 3 tokens left, exactly 3 of 8 concurrent cached checks pass', async () => {
    const s = service(t.store, { AI_DETECT_RATE_BURST: '5' });
    const image = pngVariant(`${target.name}:rate-boundary`);
    await s.check('rate_boundary', image);
    await s.check('rate_boundary', image);
    const codes = await Promise.all(Array.from({ length: 8 }, () => codeOf(s.check('rate_boundary', image))));
    expect(codes.filter((code) => code === 'ok')).toHaveLength(3);
    expect(codes.filter((code) => code === 'RATE_LIMITED')).toHaveLength(5);
    expect(await s.usage('rate_boundary')).toMatchObject({ used: 5 });
    expect(await ledgerRows('rate_boundary')).toBe(4);
  });

  it('concurrent cached checks of many accounts go in together, fewer statements than checks, each counted once', async () => {
    const { store, statements } = counting(t.store);
    const s = service(store);
    const image = pngVariant(`${target.name}:grouped`);
    await s.check('grouped_seed', image);
    statements.length = 0;
    const accounts = Array.from({ length: 12 }, (_, i) => `grouped_${i}`);
    const answers = await Promise.all(accounts.map((account) => s.check(account, image)));
    expect(answers.every((a) => !a.cached)).toBe(true);
    expect(statements.length).toBeLessThan(accounts.length);
    for (const account of accounts) expect(await ledgerRows(account)).toBe(1);
    expect((await s.check('grouped_3', image)).cached).toBe(true);
  });

  it('a check whose admission fails fails alone: the checks that arrived beside it are answered and counted once', async () => {
    const s = service(t.store);
    const image = pngVariant(`${target.name}:isolated`);
    await s.check('isolated_seed', image);
    // The store refuses the ledger row of one account only.
    await t.store.query(`CREATE FUNCTION refuse_isolated() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.account_id = 'isolated_refused' THEN RAISE EXCEPTION 'ledger refused'; END IF; RETURN NEW; END $$`);
    await t.store.query('CREATE TRIGGER refuse_isolated BEFORE INSERT ON usage_ledger FOR EACH ROW EXECUTE FUNCTION refuse_isolated()');
    try {
      const accounts = ['isolated_0', 'isolated_1', 'isolated_refused', 'isolated_2', 'isolated_3'];
      const outcomes = await Promise.allSettled(accounts.map((account) => s.check(account, image)));
      expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
      for (const account of accounts) expect(await ledgerRows(account)).toBe(account === 'isolated_refused' ? 0 : 1);
      expect(await s.usage('isolated_refused')).toMatchObject({ used: 0 });
      expect(await s.usage('isolated_2')).toMatchObject({ used: 1 });
    } finally {
      await t.store.query('DROP TRIGGER refuse_isolated ON usage_ledger');
      await t.store.query('DROP FUNCTION refuse_isolated()');
    }
  });

  it('fails the checks of an admission statement that never answers at the deadline, as an unreachable store, and admits the checks behind it', async () => {
    let release!: () => void;
    const released = new Promise<void>((done) => (release = done));
    let late: Promise<unknown> | undefined;
    let carried: string[] = [];
    const stuck: Store = Object.assign(Object.create(t.store) as Store, {
      query: (text: string, params?: unknown[], options?: QueryOptions) => {
        // The first admission of the stuck accounts hangs, as on a half-open connection, until released.
        if (late || !text.includes('ai_detect_admit') || !JSON.stringify(params).includes('"stuck_')) return t.store.query(text, params, options);
        carried = [params![0]!].flat() as string[];
        return (late = released.then(() => t.store.query(text, params, options)));
      },
    });
    const s = service(stuck, {}, { admissionDeadlineMs: 1_000 });
    const image = pngVariant(`${target.name}:stuck`);
    await s.check('seed_of_stuck', image);
    const started = Date.now();
    const accounts = ['stuck_0', 'stuck_1', 'stuck_2'];
    const checks = Promise.allSettled(accounts.map((account) => s.check(account, image)));
    while (!late) await new Promise((done) => setTimeout(done, 5));
    // Arrives while the stuck statement is in flight: it waits for the next group, behind it.
    const behind = s.check('behind_stuck', image);
    const outcomes = await checks;
    // The checks the stuck statement carried fail together (the rest of them arrived a turn later, behind it).
    expect(carried.length).toBeGreaterThan(0);
    for (const [i, outcome] of outcomes.entries()) {
      if (carried.includes(accounts[i]!)) expect(outcome.status === 'rejected' && isStoreUnavailable(outcome.reason) && outcome.reason).toMatchObject({ code: 'ETIMEDOUT' });
      else expect(outcome).toMatchObject({ status: 'fulfilled', value: { cached: false } });
    }
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await behind).toMatchObject({ cached: false });
    expect(await ledgerRows('behind_stuck')).toBe(1);
    expect((await s.check('after_stuck', image)).cached).toBe(false);
    release();
    await late;
  });

  it('two replicas admitting groups of the same accounts in opposite orders at once: every check answered and counted once', async () => {
    // A second "replica": its own pool on the same database (PGlite has one connection, so it shares it).
    const other = t.databaseUrl ? await openReplica(t.databaseUrl) : t.store;
    try {
      const [a, b] = [service(t.store), service(other)];
      const image = pngVariant(`${target.name}:replica-groups`);
      await a.check('replica_seed', image);
      const accounts = Array.from({ length: 10 }, (_, i) => `replica_group_${i}`);
      const outcomes = await Promise.allSettled([
        ...accounts.map((account) => a.check(account, image)),
        ...[...accounts].reverse().map((account) => b.check(account, image)),
      ]);
      expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
      for (const account of accounts) expect(await ledgerRows(account)).toBe(2);
    } finally {
      if (other !== t.store) await other.close();
    }
  });
});
