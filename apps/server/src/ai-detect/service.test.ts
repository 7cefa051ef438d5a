import { describe, expect, it } from 'vitest';
import type { AppError } from '../errors.js';
import { b64, monthClock, useDetectionDoubles } from '../testing/ai-detection.js';
import { useTestStore } from '../testing/fixtures.js';
import { pngVariant, sha256Hex } from '../testing/images.js';
import { storeTargets } from '../testing/stores.js';

/** The verdict cache and its single flight, inputs (uploads and URLs), and failures. */
const s = useDetectionDoubles();
const { serviceOn, check } = s;

describe.each(storeTargets)('AI detection service on $name', (target) => {
  const t = useTestStore(target);

  it('asks upstream once per image; a user’s repeat says cached, another user’s first check reads as fresh', async () => {
    const clock = monthClock();
    const service = serviceOn(t.store, { now: clock.now });
    const image = pngVariant(`${target.name}:repeat`);
    const first = await check(service, 'user_a', image, 'req_1');
    expect(first).toMatchObject({ aiGenerated: 0.97, cached: false, provider: 'sightengine', imageSha256: sha256Hex(image), requestId: 'req_1' });
    expect(first.generators?.midjourney).toBe(0.91);
    const again = await check(service, 'user_a', image, 'req_2');
    clock.advance(5_000);
    const other = await check(service, 'user_b', image, 'req_3');
    expect(again).toMatchObject({ cached: true, aiGenerated: 0.97, checkedAt: first.checkedAt, requestId: 'req_2' });
    // user_b learns nothing about user_a: not cached, and checked "now" for user_b.
    expect(other).toMatchObject({ cached: false, aiGenerated: 0.97, checkedAt: clock.now().toISOString() });
    expect(Object.keys(other).sort()).toEqual(Object.keys(first).sort());
    expect((await check(service, 'user_b', image, 'req_4')).checkedAt).toBe(other.checkedAt);
    expect(s.double.calls).toHaveLength(1);
    expect(s.double.calls[0]!.mediaSha256).toBe(sha256Hex(image));
  });

  it('100 simultaneous identical requests cost one upstream operation', async () => {
    const clock = monthClock();
    const service = serviceOn(t.store, { now: clock.now });
    s.double.setDelay(150);
    const image = pngVariant(`${target.name}:stampede`);
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => check(service, `stampede_${i}`, image)));
    expect(s.double.calls).toHaveLength(1);
    // Each user's first check of the image: none is told that others asked too.
    expect(answers.filter((a) => a.cached)).toHaveLength(0);
    expect(new Set(answers.map((a) => a.aiGenerated))).toEqual(new Set([0.97]));
    expect((await service.budget()).used).toBe(1);
  });

  it('failures are not cached and cost no quota or budget', async () => {
    const clock = monthClock();
    const service = serviceOn(t.store, { now: clock.now });
    const image = pngVariant(`${target.name}:fails`);
    s.double.script({ fixture: 'error-media' });
    await expect(check(service, 'user_fail', image)).rejects.toMatchObject({ code: 'UNSUPPORTED_MEDIA' });
    s.double.script({ httpStatus: 503, body: 'down' }, { httpStatus: 503, body: 'down' });
    await expect(check(service, 'user_fail', image)).rejects.toMatchObject({ code: 'DETECTION_UNAVAILABLE' });
    s.double.script({ fixture: 'error-usage-limit' });
    await expect(check(service, 'user_fail', image)).rejects.toMatchObject({ code: 'DETECTION_QUOTA_EXHAUSTED', retryAfterSeconds: expect.toSatisfy((s: number) => s > 0) });
    expect((await service.usage('user_fail')).used).toBe(0);
    expect((await service.budget()).used).toBe(0);
    const ok = await check(service, 'user_fail', image);
    expect(ok.cached).toBe(false);
    expect(s.double.calls).toHaveLength(5); // 1 media + 2 (503 retried) + 1 usage_limit + 1 success
    expect((await service.usage('user_fail')).used).toBe(1);
    expect((await service.budget()).used).toBe(1);
  });

  it('concurrent requests joined to a failing upstream call all fail, cost nothing, and the next request asks again', async () => {
    const clock = monthClock();
    const service = serviceOn(t.store, { now: clock.now });
    s.double.setDelay(100);
    s.double.script({ fixture: 'error-media' });
    const image = pngVariant(`${target.name}:joined-failure`);
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => check(service, `jf_${i}`, image)));
    expect(results.map((r) => (r.status === 'rejected' ? (r.reason as AppError).code : 'ok'))).toEqual(Array(10).fill('UNSUPPORTED_MEDIA'));
    expect(s.double.calls).toHaveLength(1);
    expect((await service.usage('jf_0')).used).toBe(0);
    expect((await service.budget()).used).toBe(0);
    s.double.setDelay(0);
    expect((await check(service, 'jf_0', image)).cached).toBe(false);
    expect(s.double.calls).toHaveLength(2);
  });

  it('fetches URLs safely (loopback allowance on) and refuses private ones without spending quota', async () => {
    const clock = monthClock();
    const service = serviceOn(t.store, { now: clock.now });
    const answer = await service.check({ userId: 'user_url', requestId: 'r', input: { url: `${s.imageBase}/img/cat.png` } });
    expect(answer.imageSha256).toBe(sha256Hex(pngVariant('url:/img/cat.png')));
    await expect(service.check({ userId: 'user_url', requestId: 'r', input: { url: 'http://10.0.0.1/cat.png' } })).rejects.toMatchObject({ code: 'URL_NOT_ALLOWED' });
    await expect(service.check({ userId: 'user_url', requestId: 'r', input: { url: `${s.imageBase}/page` } })).rejects.toMatchObject({ code: 'UNSUPPORTED_MEDIA' });
    const strict = serviceOn(t.store, { now: clock.now, config: { fetchAllowLoopback: false } });
    await expect(strict.check({ userId: 'user_url2', requestId: 'r', input: { url: `${s.imageBase}/img/cat.png` } })).rejects.toMatchObject({ code: 'URL_NOT_ALLOWED' });
    expect((await service.usage('user_url')).used).toBe(1);
    expect(s.double.calls).toHaveLength(1);
  });

  it('uploaded bytes are sniffed: the declared type is not trusted, non-images are refused', async () => {
    const clock = monthClock();
    const service = serviceOn(t.store, { now: clock.now });
    const image = pngVariant(`${target.name}:declared`);
    await service.check({ userId: 'user_up', requestId: 'r', input: { image: b64(image), mimeType: 'image/jpeg' } });
    expect(s.double.calls[0]!.mediaType).toBe('image/png');
    const text = Buffer.from('just some text, not an image at all');
    await expect(service.check({ userId: 'user_up', requestId: 'r', input: { image: b64(text), mimeType: 'image/png' } })).rejects.toMatchObject({ code: 'UNSUPPORTED_MEDIA' });
    await expect(service.check({ userId: 'user_up', requestId: 'r', input: { image: '%%%not base64', mimeType: 'image/png' } })).rejects.toMatchObject({ code: 'VALIDATION_FAILED' });
    expect((await service.usage('user_up')).used).toBe(1);
  });

  it('a TTL expires cached verdicts', async () => {
    const clock = monthClock();
    const service = serviceOn(t.store, { now: clock.now, config: { cacheTtlSeconds: 1 } });
    const image = pngVariant(`${target.name}:ttl`);
    await check(service, 'user_ttl', image);
    expect((await check(service, 'user_ttl', image)).cached).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await check(service, 'user_ttl', image)).cached).toBe(false);
    expect(s.double.calls).toHaveLength(2);
  });

  it('takes over the claim of a replica that died mid-call (lease expired)', async () => {
    const clock = monthClock();
    const service = serviceOn(t.store, { now: clock.now });
    const image = pngVariant(`${target.name}:orphan`);
    await t.store.query(
      `INSERT INTO ai_detections (sha256, state, claim_token, claimed_until) VALUES ($1, 'pending', 'dead-replica', now() - interval '1 second')`,
      [sha256Hex(image)],
    );
    expect((await check(service, 'user_orphan', image)).cached).toBe(false);
    expect(s.double.calls).toHaveLength(1);
  });

});
