import { describe, expect, it } from 'vitest';
import type { Store } from '../store/ports.js';
import { callsOn, image, useSightengine } from '../testing/detect-calls.js';
import { useTestStore, useWiredApp } from '../testing/fixtures.js';
import { startWiredApp } from '../testing/harness.js';
import { storeTargets } from '../testing/stores.js';

/**
 * Idempotency keys when a keyed check fails or runs long: what a client retrying with its key is
 * charged (idempotency.ts), through POST /ai-detect, wired as main.ts wires it.
 */

/** The store, except that the next statement whose text includes `marker` commits and then reports a lost connection. */
function losingTheReplyOf(store: Store, marker: string): Store & { arm(): void } {
  let armed = false;
  const query: Store['query'] = async (text, params, options) => {
    const rows = await store.query(text, params, options);
    if (armed && text.includes(marker)) {
      armed = false;
      throw new Error('Connection terminated unexpectedly');
    }
    return rows as never;
  };
  return new Proxy(store, {
    get: (target, prop) => (prop === 'query' ? query : prop === 'arm' ? () => void (armed = true) : (Reflect.get(target, prop) as unknown)),
  }) as Store & { arm(): void };
}

describe.each(storeTargets)('idempotency keys of failing and slow checks on $name', (target) => {
  const sightengine = useSightengine();
  const t = useTestStore(target);
  const ledgerRows = async (user: string) =>
    (await t.store.query<{ n: number }>('SELECT count(*)::int AS n FROM usage_ledger WHERE account_id = $1', [user]))[0]!.n;
  /** The app wired over the store whose next statement including `marker` loses its reply once armed. */
  const onLosingApp = async (marker: string, test: (calls: ReturnType<typeof callsOn>, arm: () => void) => Promise<void>) => {
    const store = losingTheReplyOf(t.store, marker);
    const app = await startWiredApp({ store, env: sightengine.env() });
    try {
      await test(callsOn({ app }, ledgerRows), () => store.arm());
    } finally {
      await app.shutdown();
    }
  };

  it('meters a check once when its charge committed but the request failed, and keeps the key for that image', async () => {
    await onLosingApp('INSERT INTO usage_ledger', async ({ rest, charged }, arm) => {
      const operations = sightengine.double.operations();
      arm();
      const failed = await rest('idem_lost', image('idem-lost'), 'key-lost');
      expect(failed.status).toBe(500);
      expect(await ledgerRows('idem_lost')).toBe(1); // the charge did commit

      // The retry reuses the claim's charge id: the ledger (and so the meter) counts the check once.
      const retried = await rest('idem_lost', image('idem-lost'), 'key-lost');
      expect(retried).toMatchObject({ status: 200, replayed: null });
      // The retry's admission finds the first attempt's reservation: the quota counts the check once too.
      expect(await charged('idem_lost')).toEqual({ used: 1, ledger: 1 });
      expect(sightengine.double.operations() - operations).toBe(1);
      // A failed check's key stays bound to its image.
      const other = await rest('idem_lost', image('idem-lost-other'), 'key-lost');
      expect(other).toMatchObject({ status: 409, body: { error: { code: 'IDEMPOTENCY_KEY_REUSED' } } });
    });
  });

  it('takes the quota once when the first attempt\'s admission committed but its reply was lost', async () => {
    await onLosingApp('ai_detect_admit', async ({ rest, charged }, arm) => {
      arm();
      const failed = await rest('idem_admit', image('idem-admit'), 'key-admit');
      expect(failed).toMatchObject({ status: 500, body: { error: { code: 'INTERNAL' } } }); // its reply lost: an unknown failure
      expect(await charged('idem_admit')).toEqual({ used: 1, ledger: 0 }); // reserved, and kept: nobody knows it committed

      const retried = await rest('idem_admit', image('idem-admit'), 'key-admit');
      expect(retried).toMatchObject({ status: 200, replayed: null });
      expect(await charged('idem_admit')).toEqual({ used: 1, ledger: 1 });
    });
  });

  it('answers the retry of a charged check that took the last check of the month, instead of refusing it', async () => {
    await onLosingApp('INSERT INTO usage_ledger', async ({ rest, charged }, arm) => {
      // The free plan allows 10 checks a month: 9 without a key, then the 10th with one.
      for (let n = 0; n < 9; n++) expect((await rest('idem_last', image(`idem-last-${n}`))).status).toBe(200);
      arm();
      expect((await rest('idem_last', image('idem-last'), 'key-last')).status).toBe(500);
      expect(await rest('idem_last', image('idem-last'), 'key-last')).toMatchObject({ status: 200, replayed: null });
      expect(await charged('idem_last')).toEqual({ used: 10, ledger: 10 });
      // The month's quota is still used up for a new check.
      expect(await rest('idem_last', image('idem-last-new'), 'key-new')).toMatchObject({ status: 429, body: { error: { code: 'QUOTA_EXCEEDED' } } });
    });
  });
});

describe.each(storeTargets)('idempotency keys of a check outlasting its lease on $name', (target) => {
  const sightengine = useSightengine();
  // A lease far shorter than the upstream call: only its renewal keeps the retry waiting.
  const wired = useWiredApp({ target, env: sightengine.env, overrides: { aiDetect: { keyLeaseMs: 2_000 } } });
  const ledgerRows = async (user: string) =>
    (await wired.store.store.query<{ n: number }>('SELECT count(*)::int AS n FROM usage_ledger WHERE account_id = $1', [user]))[0]!.n;
  const { rest, charged } = callsOn(wired, ledgerRows);

  it('does not let a retry take over the claim of a live check slower than the lease', async () => {
    sightengine.double.setDelay(5_000);
    try {
      const operations = sightengine.double.operations();
      const first = rest('idem_slow', image('idem-slow'), 'key-slow');
      const state = async () =>
        (await wired.store.store.query<{ state: string }>(`SELECT state FROM ai_detect_idempotency_keys WHERE account_id = 'idem_slow'`))[0]?.state;
      await expect.poll(state).toBe('pending');
      // Past the first lease: without its renewal the retry would take the claim over and charge again.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect(await state()).toBe('pending');
      const retry = await rest('idem_slow', image('idem-slow'), 'key-slow');
      expect(retry).toMatchObject({ status: 200, replayed: 'true' });
      expect(await first).toMatchObject({ status: 200, replayed: null });
      expect(sightengine.double.operations() - operations).toBe(1);
      expect(await charged('idem_slow')).toEqual({ used: 1, ledger: 1 });
    } finally {
      sightengine.double.setDelay(0);
    }
  });
});
