import { describe, expect, it } from 'vitest';
import type { MeterEvent, UsageMeter } from '../billing/ports.js';
import { monthClock, useDetectionDoubles } from '../testing/ai-detection.js';
import { useTestStore } from '../testing/fixtures.js';
import { pngVariant } from '../testing/images.js';
import { storeTargets } from '../testing/stores.js';
import { LocalDetector } from './sightengine.js';

/** Counted checks reach the usage ledger and leave through the outbox. */
const s = useDetectionDoubles();
const { serviceOn, check } = s;

describe.each(storeTargets)('AI detection usage on $name', (target) => {
  const t = useTestStore(target);

  it('the background outbox sends ledger rows without being asked', async () => {
    const clock = monthClock();
    const sent: string[] = [];
    const service = serviceOn(t.store, {
      now: clock.now,
      detector: new LocalDetector(),
      meter: { name: 'test', send: async (event) => void sent.push(event.identifier) },
      customers: { billingCustomerOf: async (id) => (id === 'bg_user' ? 'cus_bg' : undefined) },
    });
    await t.store.query(`UPDATE usage_ledger SET status = 'sent' WHERE status = 'pending'`);
    await check(service, 'bg_user', pngVariant(`${target.name}:bg`));
    const loop = service.outbox.start(20);
    try {
      await expect.poll(() => sent.length, { timeout: 5_000 }).toBe(1);
    } finally {
      await loop.stop();
    }
    const [row] = await t.store.query<{ status: string; key: string }>(`SELECT status, key FROM usage_ledger WHERE account_id = 'bg_user'`);
    expect(row).toEqual({ status: 'sent', key: sent[0] });
  });

  it('records every counted check in the ledger and sends it through the outbox with retries', async () => {
    const clock = monthClock();
    const sent: MeterEvent[] = [];
    let failuresLeft = 1;
    const meter: UsageMeter = {
      name: 'test',
      async send(event) {
        if (failuresLeft-- > 0) throw new Error('meter down');
        sent.push(event);
      },
    };
    const customers = { billingCustomerOf: async (id: string) => (id === 'user_meter' ? 'cus_meter' : undefined) };
    const service = serviceOn(t.store, { now: clock.now, meter, customers });
    const image = pngVariant(`${target.name}:meter`);
    await check(service, 'user_meter', image);
    await check(service, 'user_meter', image);
    await check(service, 'user_nocustomer', image);
    const rows = await t.store.query<{ key: string; cached: boolean }>(
      `SELECT key, cached FROM usage_ledger WHERE account_id IN ('user_meter', 'user_nocustomer') ORDER BY occurred_at, key`,
    );
    expect(rows).toHaveLength(3);
    expect(new Set(rows.map((r) => r.key)).size).toBe(3);

    await t.store.query(`UPDATE usage_ledger SET status = 'sent' WHERE account_id NOT IN ('user_meter', 'user_nocustomer')`);
    const first = await service.outbox.flush();
    expect(first).toEqual({ released: 0, sent: 1, failed: 1, noCustomer: 1 });
    expect(await service.outbox.flush()).toEqual({ released: 0, sent: 0, failed: 0, noCustomer: 0 }); // backoff not due yet
    await t.store.query(`UPDATE usage_ledger SET next_attempt_at = now() WHERE account_id = 'user_meter' AND status = 'pending'`);
    expect(await service.outbox.flush()).toEqual({ released: 0, sent: 1, failed: 0, noCustomer: 0 });
    expect(sent.map((e) => [e.eventName, e.customerId, e.value])).toEqual([
      ['ai_detection', 'cus_meter', 1],
      ['ai_detection', 'cus_meter', 1],
    ]);
    expect(new Set(sent.map((e) => e.identifier))).toEqual(new Set(rows.filter((r) => r.key.includes('user_meter')).map((r) => r.key)));
  });
});
