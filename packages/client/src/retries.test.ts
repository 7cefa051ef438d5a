import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pngVariant, startSightengineDouble, useWiredApp, type SightengineDouble } from '@verifieddit/testing';
import { createClient, getErrorCode } from './index.js';

/** aiDetect.check's retries and idempotency keys, through the SDK against the real server and the Sightengine double. */
describe('aiDetect.check retries through the SDK against a real server', () => {
  let sightengine: SightengineDouble;
  beforeAll(async () => {
    sightengine = await startSightengineDouble();
  });
  afterAll(() => sightengine.close());
  const fixture = useWiredApp({
    env: () => ({ SIGHTENGINE_API_USER: sightengine.apiUser, SIGHTENGINE_API_SECRET: sightengine.apiSecret, SIGHTENGINE_BASE_URL: sightengine.baseUrl }),
  });

  const image = (seed: string) => ({ image: pngVariant(seed).toString('base64'), mimeType: 'image/png' as const });

  /** A client whose fetch records the key of every check it sends and loses the first `lose` answers. */
  function clientFor(user: string, lose = 0, retries?: number) {
    const keys: unknown[] = [];
    const client = createClient({
      url: fixture.app.url,
      getToken: () => `dev_${user}`,
      aiDetectCheck: { retryDelayMs: () => 1, ...(retries === undefined ? {} : { retries }) },
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        if (!String(input).includes('aiDetect.check')) return response;
        keys.push((JSON.parse(String(init?.body)) as Record<string, { idempotencyKey?: unknown }>)['0']?.idempotencyKey);
        // The server answered, and charged; the answer is lost on the way back, as on a timeout.
        if (lose-- > 0) throw new TypeError('fetch failed');
        return response;
      },
    });
    return { client, keys };
  }

  it('retries a check whose answer was lost with the same key: one upstream call, one charge, the first answer replayed', async () => {
    const operations = sightengine.operations();
    const { client, keys } = clientFor('sdk_idem_lost', 2);
    const answer = await client.aiDetect.check.mutate(image('sdk-lost'));
    expect(answer).toMatchObject({ replayed: true, cached: false, provider: 'sightengine' });
    expect(keys).toHaveLength(3);
    expect(new Set(keys).size).toBe(1);
    expect(keys[0]).toEqual(expect.any(String));
    expect(sightengine.operations() - operations).toBe(1);
    expect((await client.aiDetect.usage.query()).used).toBe(1);
  });

  it('makes a new key for each call, and sends the caller’s own key when given', async () => {
    const { client, keys } = clientFor('sdk_idem_calls');
    const first = await client.aiDetect.check.mutate(image('sdk-calls'));
    const second = await client.aiDetect.check.mutate(image('sdk-calls'));
    expect(keys[0]).not.toBe(keys[1]);
    // Two checks the user asked for: two charges, the second a cached verdict, not a replay.
    expect([first.replayed, second.replayed, second.cached]).toEqual([undefined, undefined, true]);

    const mine = await client.aiDetect.check.mutate({ ...image('sdk-own'), idempotencyKey: 'order-42-check' });
    const again = await client.aiDetect.check.mutate({ ...image('sdk-own'), idempotencyKey: 'order-42-check' });
    expect(keys.slice(2)).toEqual(['order-42-check', 'order-42-check']);
    expect(again).toEqual({ ...mine, replayed: true });
    expect((await client.aiDetect.usage.query()).used).toBe(3);
  });

  it('sends no key of its own with retries turned off (a key buys nothing then), and the caller’s own key still', async () => {
    const { client, keys } = clientFor('sdk_idem_off', 0, 0);
    await client.aiDetect.check.mutate(image('sdk-off'));
    await client.aiDetect.check.mutate({ ...image('sdk-off'), idempotencyKey: 'mine' });
    expect(keys).toEqual([undefined, 'mine']);
  });

  it('does not retry a refusal: the caller gets IDEMPOTENCY_KEY_REUSED at once', async () => {
    const { client, keys } = clientFor('sdk_idem_reused');
    await client.aiDetect.check.mutate({ ...image('sdk-reused-a'), idempotencyKey: 'reused' });
    const error = await client.aiDetect.check.mutate({ ...image('sdk-reused-b'), idempotencyKey: 'reused' }).catch((e: unknown) => e);
    expect(getErrorCode(error)).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(keys).toHaveLength(2);
  });

  it('gives up after its retries and reports the failure', async () => {
    const { client, keys } = clientFor('sdk_idem_down', 10);
    const error = await client.aiDetect.check.mutate(image('sdk-down')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(keys).toHaveLength(3);
    expect(new Set(keys).size).toBe(1);
  });
});
