import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { wireAiDetection } from '../ai-detect/wiring.js';
import { StoreCatalog } from '../billing/catalog.js';
import { createUsageLedger } from '../billing/usage/ledger.js';
import { SubscriptionRepository } from '../billing/subscriptions.js';
import { loadConfig } from '../config.js';
import { createContext } from '../context.js';
import { fakeServices } from '../testing/harness.js';
import { pngVariant, sha256Hex } from '../testing/images.js';
import { recordingLog } from '../testing/log-recorder.js';
import { startSightengineDouble, type SightengineDouble } from '../testing/sightengine-double.js';
import { useTestStore } from '../testing/fixtures.js';
import { storeTargets } from '../testing/stores.js';
import { createCallerFactory, router } from '../trpc.js';
import { aiDetectRouter } from './ai-detect.js';

const testRouter = router({ aiDetect: aiDetectRouter });
const createCaller = createCallerFactory(testRouter);


describe('aiDetect router (wired from config, Sightengine double)', () => {
  const target = storeTargets[0]!;
  const t = useTestStore(target);
  let double: SightengineDouble;
  let callerFor: (authorization: string | undefined) => ReturnType<typeof createCaller>;

  beforeAll(async () => {
    double = await startSightengineDouble();
    const config = loadConfig({
      NODE_ENV: 'test',
      SIGHTENGINE_API_USER: double.apiUser,
      SIGHTENGINE_API_SECRET: double.apiSecret,
      SIGHTENGINE_BASE_URL: double.baseUrl,
    });
    const log = recordingLog();
    const catalog = new StoreCatalog(t.store);
    const aiDetect = wireAiDetection(
      config,
      t.store,
      { catalog, subscriptions: new SubscriptionRepository(t.store), usage: createUsageLedger(t.store, catalog) },
      log,
    );
    const services = { ...fakeServices(), aiDetect };
    callerFor = (authorization) => createCaller(createContext(services, { id: 'req_router', log, headers: { authorization } }));
  });
  afterAll(async () => {
    await double.close();
  });

  it('check: a signed-in user gets a verdict that matches the contract', async () => {
    const image = pngVariant('router');
    const answer = await callerFor('Bearer dev_router_user').aiDetect.check({ image: image.toString('base64'), mimeType: 'image/png' });
    expect(answer).toEqual({
      aiGenerated: 0.97,
      generators: expect.objectContaining({ midjourney: 0.91 }),
      imageSha256: sha256Hex(image),
      cached: false,
      provider: 'sightengine',
      requestId: 'req_router',
      checkedAt: expect.any(String),
    });
    expect(double.calls).toHaveLength(1);
  });

  it('usage: the caller’s month and rate-limit state', async () => {
    const usage = await callerFor('Bearer dev_router_user').aiDetect.usage();
    expect(usage).toMatchObject({ used: 1, limit: 10, rateLimit: { limit: 5, remaining: 4, retryAfterSeconds: 0 } });
    expect(new Date(usage.resetsAt).getUTCDate()).toBe(1);
  });

  it('refuses anonymous callers, and URLs that are not public (the loopback allowance is off by default)', async () => {
    await expect(callerFor(undefined).aiDetect.check({ url: 'https://example.com/a.png' })).rejects.toMatchObject({ cause: { code: 'UNAUTHENTICATED' } });
    await expect(callerFor('Bearer dev_router_user').aiDetect.check({ url: 'http://127.0.0.1:8787/a.png' })).rejects.toMatchObject({ cause: { code: 'URL_NOT_ALLOWED' } });
    await expect(callerFor('Bearer dev_router_user').aiDetect.check({ url: 'ftp://example.com/a.png' } as never)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect(double.calls).toHaveLength(1);
  });
});
