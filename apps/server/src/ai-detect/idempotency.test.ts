import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Store } from '../store/ports.js';
import { useWiredApp } from '../testing/fixtures.js';
import { startWiredApp } from '../testing/harness.js';
import { callsOn, image, useSightengine } from '../testing/detect-calls.js';
import { openReplica, postgresTargetOrUndefined, storeTargets } from '../testing/stores.js';
import { purgeExpiredKeys } from './idempotency.js';

/**
 * Idempotency keys of `aiDetect.check` through what callers hit (POST /ai-detect with the
 * `Idempotency-Key` header, /trpc with `idempotencyKey`), wired as main.ts wires it, with the
 * Sightengine double counting upstream calls and the usage counters and ledger counting charges.
 */

const HOUR = 3_600_000;

describe.each(storeTargets)('idempotency keys of AI-detection checks on $name', (target) => {
  const sightengine = useSightengine();
  let offsetMs = 0;
  const now = () => new Date(Date.UTC(2031, 0, 10, 12) + offsetMs);
  const wired = useWiredApp({ target, env: sightengine.env, overrides: { aiDetect: { now } } });
  const ledgerRows = async (user: string) =>
    (await wired.store.store.query<{ n: number }>('SELECT count(*)::int AS n FROM usage_ledger WHERE account_id = $1', [user]))[0]!.n;
  const { rest, trpc, charged } = callsOn(wired, ledgerRows);

  it('charges a retry with the same key and image once, and answers the same verdict again, marked as a replay', async () => {
    const operations = sightengine.double.operations();
    const first = await rest('idem_retry', image('idem-retry'), 'key-retry-1');
    expect(first).toMatchObject({ status: 200, replayed: null });
    expect(first.body.replayed).toBeUndefined();

    const again = await rest('idem_retry', image('idem-retry'), 'key-retry-1');
    expect(again).toMatchObject({ status: 200, replayed: 'true' });
    expect(again.body).toEqual({ ...first.body, replayed: true });
    // The key is one per account whichever way it comes: in the tRPC input it finds the same answer.
    const viaTrpc = await trpc('idem_retry', { ...image('idem-retry'), idempotencyKey: 'key-retry-1' });
    expect(viaTrpc.body.result.data).toEqual({ ...first.body, replayed: true });

    expect(sightengine.double.operations() - operations).toBe(1);
    expect(await charged('idem_retry')).toEqual({ used: 1, ledger: 1 });
  });

  it('refuses the same key with another image as IDEMPOTENCY_KEY_REUSED (409), charging nothing', async () => {
    await rest('idem_reuse', image('idem-reuse-a'), 'key-reuse');
    const operations = sightengine.double.operations();
    const other = await trpc('idem_reuse', { ...image('idem-reuse-b'), idempotencyKey: 'key-reuse' });
    expect(other.status).toBe(409);
    expect(other.body.error.data).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', httpStatus: 409 });
    expect(other.body.error.message).toContain('use a new key for a new check');
    const overRest = await rest('idem_reuse', image('idem-reuse-b'), 'key-reuse');
    expect(overRest).toMatchObject({ status: 409, body: { error: { code: 'IDEMPOTENCY_KEY_REUSED' } } });
    expect(sightengine.double.operations()).toBe(operations);
    expect(await charged('idem_reuse')).toEqual({ used: 1, ledger: 1 });
  });

  it('makes one upstream call and one charge for concurrent requests with one key; the others get its answer', async () => {
    sightengine.double.setDelay(300);
    try {
      const operations = sightengine.double.operations();
      const answers = await Promise.all([1, 2, 3].map(() => rest('idem_race', image('idem-race'), 'key-race')));
      expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
      expect(answers.filter((a) => a.replayed === 'true')).toHaveLength(2);
      const original = answers.find((a) => a.replayed === null)!;
      for (const answer of answers) expect(answer.body).toMatchObject({ ...original.body });
      expect(sightengine.double.operations() - operations).toBe(1);
      expect(await charged('idem_race')).toEqual({ used: 1, ledger: 1 });
    } finally {
      sightengine.double.setDelay(0);
    }
  });

  it('replays a URL check with the same key without fetching it again, and refuses the key for another URL', async () => {
    const url = `${sightengine.imagesUrl}/idem-url.png`;
    const first = await trpc('idem_url', { url, idempotencyKey: 'key-url' });
    const fetches = sightengine.fetches;
    const again = await rest('idem_url', { url }, 'key-url');
    expect(again).toMatchObject({ status: 200, replayed: 'true', body: { ...first.body.result.data, replayed: true } });
    expect(sightengine.fetches).toBe(fetches);
    const other = await rest('idem_url', { url: `${url}?other` }, 'key-url');
    expect(other).toMatchObject({ status: 409, body: { error: { code: 'IDEMPOTENCY_KEY_REUSED' } } });
    expect(await charged('idem_url')).toEqual({ used: 1, ledger: 1 });
  });

  it('keeps the keys of different accounts apart', async () => {
    const a = await rest('idem_acct_a', image('idem-acct-a'), 'shared-key');
    const b = await rest('idem_acct_b', image('idem-acct-b'), 'shared-key');
    expect([a.status, a.replayed, b.status, b.replayed]).toEqual([200, null, 200, null]);
    expect(b.body.imageSha256).not.toBe(a.body.imageSha256);
    expect(await charged('idem_acct_a')).toEqual({ used: 1, ledger: 1 });
    expect(await charged('idem_acct_b')).toEqual({ used: 1, ledger: 1 });
  });

  it('treats a key older than 24 hours as new: the same request is charged again, another image is accepted', async () => {
    await rest('idem_expiry', image('idem-expiry'), 'key-expiry');
    offsetMs += 23 * HOUR;
    expect(await rest('idem_expiry', image('idem-expiry'), 'key-expiry')).toMatchObject({ status: 200, replayed: 'true' });
    offsetMs += HOUR + 1_000;
    const same = await rest('idem_expiry', image('idem-expiry'), 'key-expiry');
    expect(same).toMatchObject({ status: 200, replayed: null, body: { cached: true } });
    offsetMs += 24 * HOUR + 1_000;
    const other = await rest('idem_expiry', image('idem-expiry-other'), 'key-expiry');
    expect(other).toMatchObject({ status: 200, replayed: null });
    expect(await charged('idem_expiry')).toEqual({ used: 3, ledger: 3 });
  });

  it('frees the key of a failed check: its retry runs again and is charged once', async () => {
    sightengine.double.script({ fixture: 'error-usage-limit' });
    const failed = await rest('idem_fail', image('idem-fail'), 'key-fail');
    expect(failed.status).toBeGreaterThanOrEqual(400);
    expect(await charged('idem_fail')).toEqual({ used: 0, ledger: 0 });
    const retried = await rest('idem_fail', image('idem-fail'), 'key-fail');
    expect(retried).toMatchObject({ status: 200, replayed: null });
    expect(await charged('idem_fail')).toEqual({ used: 1, ledger: 1 });
  });

  it('refuses a malformed key, and a header that disagrees with the body, before charging anything', async () => {
    const spaced = await rest('idem_bad', image('idem-bad'), 'has space');
    expect(spaced).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
    expect(spaced.body.error.message).toContain('idempotencyKey');
    const long = await trpc('idem_bad', { ...image('idem-bad'), idempotencyKey: 'k'.repeat(256) });
    expect(long.body.error.data.code).toBe('VALIDATION_FAILED');
    const differ = await rest('idem_bad', { ...image('idem-bad'), idempotencyKey: 'body-key' }, 'header-key');
    expect(differ).toMatchObject({ status: 400, body: { error: { code: 'VALIDATION_FAILED' } } });
    expect(await charged('idem_bad')).toEqual({ used: 0, ledger: 0 });
  });

  // Last: the purge at a later time drops the other tests' keys too.
  it('purges a key once it expired, and its quota reservation once no retry can need it', async () => {
    await rest('idem_purge', image('idem-purge'), 'key-purge');
    const count = async (sql: string) => (await wired.store.store.query<{ n: number }>(sql))[0]!.n;
    const keys = () => count(`SELECT count(*)::int AS n FROM ai_detect_idempotency_keys WHERE account_id = 'idem_purge'`);
    const reservations = () => count(`SELECT count(*)::int AS n FROM ai_detect_quota_charges WHERE usage_key LIKE '%:idem_purge:%'`);
    await purgeExpiredKeys(wired.store.store, now());
    expect([await keys(), await reservations()]).toEqual([1, 1]);
    await purgeExpiredKeys(wired.store.store, new Date(now().getTime() + 24 * HOUR + 1_000));
    expect([await keys(), await reservations()]).toEqual([0, 1]);
    await purgeExpiredKeys(wired.store.store, new Date(now().getTime() + 25 * HOUR + 1_000));
    expect(await reservations()).toBe(0);
  });
});

const postgres = postgresTargetOrUndefined;
describe.skipIf(!postgres)('idempotency keys across two replicas on PostgreSQL', () => {
  const sightengine = useSightengine();
  const wired = useWiredApp({ target: postgres!, env: sightengine.env });
  // A second replica: its own app and connection pool over the same database.
  const replica = {} as { app: Awaited<ReturnType<typeof startWiredApp>>; store: Store };
  beforeAll(async () => {
    replica.store = await openReplica(wired.store.databaseUrl);
    replica.app = await startWiredApp({ store: replica.store, env: sightengine.env() });
  });
  afterAll(async () => {
    await replica.app?.shutdown();
    await replica.store?.close();
  });

  it('answers concurrent requests with one key on two replicas with one upstream call and one charge', async () => {
    const ledgerRows = async (user: string) =>
      (await wired.store.store.query<{ n: number }>('SELECT count(*)::int AS n FROM usage_ledger WHERE account_id = $1', [user]))[0]!.n;
    const a = callsOn(wired, ledgerRows);
    const b = callsOn(replica, ledgerRows);
    sightengine.double.setDelay(300);
    const answers = await Promise.all([a.rest('idem_two', image('idem-two'), 'key-two'), b.rest('idem_two', image('idem-two'), 'key-two')]);
    sightengine.double.setDelay(0);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200]);
    expect(answers.map((answer) => answer.replayed).sort()).toEqual([null, 'true']);
    expect(sightengine.double.operations()).toBe(1);
    expect(await a.charged('idem_two')).toEqual({ used: 1, ledger: 1 });
  });
});
