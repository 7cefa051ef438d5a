import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wire } from '../bootstrap.js';
import { loadConfig } from '../config.js';
import type { QueryOptions, Store } from '../store/ports.js';
import { captureLogger } from '../testing/harness.js';
import { pngVariant } from '../testing/images.js';
import { storeTargets, type TestStore } from '../testing/stores.js';

/**
 * Grouped admission (admission.ts) when a group's statement may have committed but its reply is lost
 * to a client-side error: its checks fail together, charged once each (unanswered, as any lost reply),
 * and are not admitted again one by one (a second rate token and quota reservation each).
 */
describe.each(storeTargets)('an admission group whose reply is lost after its commit on $name', (target) => {
  let t: TestStore;
  beforeAll(async () => {
    t = await target.open();
  });
  afterAll(() => t.dispose());

  it('fails its checks together and charges each once', async () => {
    const broken = new TypeError("Cannot read properties of undefined (reading 'rows')");
    const carried: string[] = [];
    const lost: Store = Object.assign(Object.create(t.store) as Store, {
      query: async (text: string, params?: unknown[], options?: QueryOptions) => {
        const rows = await t.store.query(text, params, options);
        // A group's statement (its parameters are arrays) commits, then the client fails on its reply.
        if (text.includes('ai_detect_admit') && Array.isArray(params?.[0])) {
          carried.push(...(params[0] as string[]));
          throw broken;
        }
        return rows;
      },
    });
    const at = new Date(Date.UTC(2050, 0, 15));
    const config = loadConfig({ NODE_ENV: 'test', AI_DETECT_RATE_BURST: '100' });
    const { aiDetect } = wire(config, lost, captureLogger().logger, { aiDetect: { now: () => at } });
    const image = pngVariant(`${target.name}:reply-lost`);
    const check = (userId: string) => aiDetect.check({ userId, requestId: 'req_reply_lost', input: { image: image.toString('base64'), mimeType: 'image/png' } });
    await check('reply_lost_seed');
    const accounts = Array.from({ length: 4 }, (_, i) => `reply_lost_${i}`);
    const outcomes = await Promise.allSettled(accounts.map(check));
    expect(carried.length).toBeGreaterThan(1);
    for (const [i, account] of accounts.entries()) {
      expect(outcomes[i]!.status).toBe(carried.includes(account) ? 'rejected' : 'fulfilled');
      expect(await aiDetect.usage(account)).toMatchObject({ used: 1 });
    }
  });
});
