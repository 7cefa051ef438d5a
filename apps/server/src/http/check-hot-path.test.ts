import { describe, expect, it } from 'vitest';
import type { Detector } from '../ai-detect/ports.js';
import { pngVariant } from '../testing/images.js';
import { useWiredApp } from '../testing/fixtures.js';

// A fixed clock: the bucket never refills, so Retry-After is the same for every refused call.
const NOW = new Date('2026-12-01T12:00:00Z');
let explode = false;
const detector: Detector = {
  provider: 'local',
  async detect() {
    if (explode) throw new Error('detector exploded');
    return { aiGenerated: 0.25, provider: 'local', checkedAt: NOW.toISOString(), operations: 0 };
  },
};

describe('aiDetect.check without the tRPC adapter', () => {
  const wired = useWiredApp({ env: { AI_DETECT_RATE_BURST: '8', AI_DETECT_RATE_PER_MINUTE: '1' }, overrides: { aiDetect: { detector, now: () => NOW } } });
  const image = (tag: string) => ({ image: pngVariant(`hot-check:${tag}`).toString('base64'), mimeType: 'image/png' });
  const post = (path: string, user: string, body: unknown, requestId: string) =>
    fetch(`${wired.app.url}/trpc/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer dev_${user}`, 'x-request-id': requestId },
      body: JSON.stringify(body),
    });
  /** Two calls in one batch are not taken by the hot path: that is tRPC's own answer, item by item. */
  const viaTrpc = async (user: string, input: unknown, requestId: string) => {
    const res = await post('aiDetect.check,aiDetect.check?batch=1', user, { 0: input, 1: input }, requestId);
    return { res, items: (await res.json()) as unknown[] };
  };
  const usedBy = async (user: string) => {
    const res = await fetch(`${wired.app.url}/trpc/aiDetect.usage`, { headers: { authorization: `Bearer dev_${user}` } });
    return ((await res.json()) as { result: { data: { used: number } } }).result.data.used;
  };

  it('answers a plain call and a one-call batch with the bytes and headers tRPC sends', async () => {
    const input = image('same-bytes');
    expect((await post('aiDetect.check', 'hot_a', input, 'hot-first')).status).toBe(200);
    const trpc = await viaTrpc('hot_a', input, 'hot-same');
    expect(trpc.res.status).toBe(200);
    expect(trpc.items[0]).toMatchObject({ result: { data: { cached: true, requestId: 'hot-same', aiGenerated: 0.25 } } });

    const plain = await post('aiDetect.check', 'hot_a', input, 'hot-same');
    expect(plain.status).toBe(200);
    expect(await plain.text()).toBe(JSON.stringify(trpc.items[0]));
    const batch = await post('aiDetect.check?batch=1', 'hot_a', { 0: input }, 'hot-same');
    expect(await batch.text()).toBe(JSON.stringify([trpc.items[0]]));
    for (const res of [plain, batch]) {
      expect(res.headers.get('content-type')).toBe(trpc.res.headers.get('content-type'));
      expect(res.headers.get('vary')).toBe(trpc.res.headers.get('vary'));
    }
    // Every call counted once: the first, two in the batch, the plain one and the one-call batch.
    expect(await usedBy('hot_a')).toBe(5);
  });

  it('answers a refused check (rate limited) as tRPC does: status, Retry-After and body', async () => {
    const input = image('rate');
    for (let i = 0; i < 8; i++) expect((await post('aiDetect.check', 'hot_rl', input, `hot-rl-${i}`)).status).toBe(200);
    const trpc = await viaTrpc('hot_rl', input, 'hot-rl-refused');
    expect(trpc.res.status).toBe(429);
    const plain = await post('aiDetect.check', 'hot_rl', input, 'hot-rl-refused');
    expect(plain.status).toBe(429);
    expect(plain.headers.get('retry-after')).toBe(trpc.res.headers.get('retry-after'));
    expect(await plain.json()).toEqual(trpc.items[0]);
    expect(trpc.items[0]).toMatchObject({ error: { data: { code: 'RATE_LIMITED', requestId: 'hot-rl-refused', path: 'aiDetect.check' } } });
  });

  it('answers an unknown failure as a logged, generic 500, as tRPC does', async () => {
    explode = true;
    try {
      const trpc = await viaTrpc('hot_boom', image('boom'), 'hot-boom');
      const plain = await post('aiDetect.check', 'hot_boom', image('boom'), 'hot-boom');
      expect(plain.status).toBe(500);
      expect(await plain.json()).toEqual(trpc.items[0]);
      expect(trpc.items[0]).toMatchObject({ error: { message: 'Internal error', data: { code: 'INTERNAL', requestId: 'hot-boom' } } });
      // Logged with its cause for each of the three calls (two through tRPC, one here); nothing charged.
      const logged = wired.app.logs.records().filter((r) => r.requestId === 'hot-boom' && r.msg === 'procedure failed');
      expect(logged).toHaveLength(3);
      expect(await usedBy('hot_boom')).toBe(0);
    } finally {
      explode = false;
    }
  });

  it('leaves what it does not take to tRPC: a refused input, a refused token', async () => {
    const bad = await post('aiDetect.check', 'hot_v', { image: '', mimeType: 'image/png' }, 'hot-invalid');
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ error: { data: { code: 'VALIDATION_FAILED', requestId: 'hot-invalid' } } });
    const stranger = await fetch(`${wired.app.url}/trpc/aiDetect.check`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer not-a-token', 'x-request-id': 'hot-refused' },
      body: JSON.stringify(image('stranger')),
    });
    expect(stranger.status).toBe(401);
    expect(await stranger.json()).toMatchObject({ error: { data: { code: 'UNAUTHENTICATED', requestId: 'hot-refused' } } });
    expect(await usedBy('hot_v')).toBe(0);
  });
});
