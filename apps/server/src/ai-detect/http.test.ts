import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PNG_1X1, pngVariant, sha256Hex } from '../testing/images.js';
import { startSightengineDouble, type SightengineDouble } from '../testing/sightengine-double.js';
import { useWiredApp } from '../testing/fixtures.js';

describe('AI detection over HTTP, wired as main.ts wires it', () => {
  let sightengine: SightengineDouble;
  let images: Server;
  let imagesUrl: string;

  beforeAll(async () => {
    sightengine = await startSightengineDouble();
    images = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'image/png' });
      res.end(req.url === '/cat.png' ? pngVariant('served-cat') : PNG_1X1);
    });
    await new Promise<void>((r) => images.listen(0, '127.0.0.1', r));
    imagesUrl = `http://127.0.0.1:${(images.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await sightengine.close();
    await new Promise((r) => images.close(r));
  });
  const wired = useWiredApp({
    env: () => ({
      SIGHTENGINE_API_USER: sightengine.apiUser,
      SIGHTENGINE_API_SECRET: sightengine.apiSecret,
      SIGHTENGINE_BASE_URL: sightengine.baseUrl,
      AI_DETECT_FETCH_ALLOW_LOOPBACK: 'true',
      AI_DETECT_RATE_BURST: '50',
      AI_DETECT_RATE_PER_MINUTE: '600',
    }),
  });

  const post = async (path: string, user: string | null, body: unknown) => {
    const res = await fetch(`${wired.app.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(user ? { authorization: `Bearer dev_${user}` } : {}) },
      body: JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, any> };
  };

  it('accepts an upload larger than the 1 MB JSON limit on POST /ai-detect and spends one operation for repeats', async () => {
    const big = pngVariant(`big:${'x'.repeat(2 * 1024 * 1024)}`);
    const first = await post('/ai-detect', 'eve', { image: big.toString('base64'), mimeType: 'image/png' });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ aiGenerated: 0.97, provider: 'sightengine', cached: false, imageSha256: sha256Hex(big) });
    expect(first.body.generators).toMatchObject({ midjourney: 0.91 });
    const again = await post('/ai-detect', 'eve', { image: big.toString('base64'), mimeType: 'image/png' });
    expect(again.body).toMatchObject({ cached: true, imageSha256: sha256Hex(big) });
    expect(sightengine.operations()).toBe(1);
  });

  it('never tells one user that another checked the same image, while the upstream call is still shared', async () => {
    const image = pngVariant('cross-user-privacy').toString('base64');
    const before = sightengine.operations();
    const a = await post('/ai-detect', 'privacy_a', { image, mimeType: 'image/png' });
    expect(a.status).toBe(200);
    expect(a.body.cached).toBe(false);

    const bStarted = Date.now();
    const b = await post('/ai-detect', 'privacy_b', { image, mimeType: 'image/png' });
    expect(b.status).toBe(200);
    // B's answer is what a fresh check for B looks like: not cached, checked now, the same fields.
    expect(b.body.cached).toBe(false);
    expect(Date.parse(b.body.checkedAt)).toBeGreaterThanOrEqual(bStarted - 1);
    expect(Object.keys(b.body).sort()).toEqual(Object.keys(a.body).sort());
    expect(b.body).toMatchObject({ aiGenerated: a.body.aiGenerated, generators: a.body.generators, provider: 'sightengine', imageSha256: a.body.imageSha256 });
    // …and the same over tRPC.
    const bTrpc = await post('/trpc/aiDetect.check', 'privacy_c', { image, mimeType: 'image/png' });
    expect(bTrpc.body.result.data.cached).toBe(false);
    // The Sightengine double saw one operation for all three.
    expect(sightengine.operations() - before).toBe(1);

    // A's own repeat is the one case that says cached, with A's original check time.
    const again = await post('/ai-detect', 'privacy_a', { image, mimeType: 'image/png' });
    expect(again.body).toMatchObject({ cached: true, checkedAt: a.body.checkedAt });
  });

  it('fetches an image URL through tRPC and reports usage, counting cache hits', async () => {
    const res = await post('/trpc/aiDetect.check', 'frank', { url: `${imagesUrl}/cat.png` });
    expect(res.status).toBe(200);
    expect(res.body.result.data).toMatchObject({ provider: 'sightengine', imageSha256: sha256Hex(pngVariant('served-cat')) });
    await post('/trpc/aiDetect.check', 'frank', { url: `${imagesUrl}/cat.png` });
    const usage = await fetch(`${wired.app.url}/trpc/aiDetect.usage`, { headers: { authorization: 'Bearer dev_frank' } });
    const data = ((await usage.json()) as any).result.data;
    expect(data).toMatchObject({ used: 2, limit: 10 });
    expect(Date.parse(data.resetsAt)).toBeGreaterThan(Date.now());
  });

  it('maps Sightengine’s usage_limit to 429 DETECTION_QUOTA_EXHAUSTED with Retry-After, costing the user nothing', async () => {
    sightengine.script({ fixture: 'error-usage-limit' });
    const res = await post('/ai-detect', 'gina', { image: pngVariant('quota').toString('base64'), mimeType: 'image/png' });
    expect(res.status).toBe(429);
    expect(res.body.error.code).toBe('DETECTION_QUOTA_EXHAUSTED');
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    const usage = await fetch(`${wired.app.url}/trpc/aiDetect.usage`, { headers: { authorization: 'Bearer dev_gina' } });
    expect(((await usage.json()) as any).result.data.used).toBe(0);
  });

  it('refuses a private-range URL with URL_NOT_ALLOWED and non-images with UNSUPPORTED_MEDIA', async () => {
    const ssrf = await post('/ai-detect', 'hank', { url: 'http://169.254.169.254/latest/meta-data/' });
    expect(ssrf.status).toBe(400);
    expect(ssrf.body.error.code).toBe('URL_NOT_ALLOWED');
    const text = await post('/ai-detect', 'hank', { image: Buffer.from('hello, not an image').toString('base64'), mimeType: 'image/png' });
    expect(text.status).toBe(422);
    expect(text.body.error.code).toBe('UNSUPPORTED_MEDIA');
  });

  it('requires sign-in', async () => {
    const res = await post('/ai-detect', null, { image: PNG_1X1.toString('base64'), mimeType: 'image/png' });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHENTICATED');
  });
});
