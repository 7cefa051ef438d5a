import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { staticCatalog } from '../billing/catalog.js';
import { createUsageLedger } from '../billing/usage/ledger.js';
import { createUsageOutbox, ledgerOnlyMeter } from '../billing/usage/outbox.js';
import { SubscriptionRepository } from '../billing/subscriptions.js';
import type { AppError } from '../errors.js';
import type { Store } from '../store/ports.js';
import { openStore } from '../store/store.js';
import { PNG_1X1, pngVariant, sha256Hex } from '../testing/images.js';
import { recordingLog } from '../testing/log-recorder.js';
import { startSightengineDouble, type SightengineDouble } from '../testing/sightengine-double.js';
import { useTestStore } from '../testing/fixtures.js';
import { storeTargets } from '../testing/stores.js';
import type { MeterEvent, UsageMeter } from '../billing/ports.js';
import type { AiDetectionSettings } from './ports.js';
import { createAiDetection, type AiDetectionDeps } from './service.js';
import { LocalDetector, SightengineDetector } from './sightengine.js';


const b64 = (bytes: Buffer) => bytes.toString('base64');
let seq = 0;
/** A fresh month per test keeps the global budget and quotas of tests apart on one store. */
const monthClock = (startIso?: string) => {
  const month = seq++;
  let current = startIso ? new Date(startIso).getTime() : Date.UTC(2030 + Math.floor(month / 12), month % 12, 10, 12);
  return { now: () => new Date(current), advance: (ms: number) => void (current += ms) };
};

let double: SightengineDouble;
let imageServer: http.Server;
let imageBase: string;
beforeAll(async () => {
  double = await startSightengineDouble();
  imageServer = http.createServer((req, res) => {
    if (req.url?.startsWith('/img/')) res.end(pngVariant(`url:${req.url}`));
    else res.end('<html>not an image</html>');
  });
  await new Promise<void>((resolve) => imageServer.listen(0, '127.0.0.1', resolve));
  imageBase = `http://127.0.0.1:${(imageServer.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await double.close();
  imageServer.closeAllConnections();
  await new Promise((resolve) => imageServer.close(resolve));
});
beforeEach(() => {
  double.calls.length = 0;
  double.setDelay(0);
  double.setDefault({ fixture: 'check-genai-success' });
});

const settings = (overrides: Partial<AiDetectionSettings> = {}): AiDetectionSettings => ({
  monthlyBudget: 500,
  cacheTtlSeconds: undefined,
  ratePerMinute: 10,
  rateBurst: 5,
  fetchAllowLoopback: true,
  ...overrides,
});

function serviceOn(
  store: Store,
  options: { config?: Partial<AiDetectionSettings>; now?: () => Date; meter?: UsageMeter; customers?: { billingCustomerOf(id: string): Promise<string | undefined> } } & Omit<
    Partial<AiDetectionDeps>,
    'config'
  > = {},
) {
  const log = recordingLog();
  const detector =
    options.detector ??
    new SightengineDetector({ apiUser: double.apiUser, apiSecret: double.apiSecret, baseUrl: double.baseUrl, log, retries: 1, retryDelayMs: 1 });
  const { config, meter, customers, ...rest } = options;
  const catalog = staticCatalog();
  const service = createAiDetection({
    store,
    detector,
    catalog,
    subscriptions: new SubscriptionRepository(store),
    usage: createUsageLedger(store, catalog),
    log,
    ...rest,
    config: settings(config),
  });
  const outbox = createUsageOutbox({ store, meter: meter ?? ledgerOnlyMeter, log, customerOf: async (id) => customers?.billingCustomerOf(id) });
  return Object.assign(service, { outbox });
}

const check = (service: ReturnType<typeof serviceOn>, userId: string, image: Buffer, requestId = 'req_test') =>
  service.check({ userId, requestId, input: { image: b64(image), mimeType: 'image/png' } });

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
    expect(double.calls).toHaveLength(1);
    expect(double.calls[0]!.mediaSha256).toBe(sha256Hex(image));
  });

  it('100 simultaneous identical requests cost one upstream operation', async () => {
    const clock = monthClock();
    const service = serviceOn(t.store, { now: clock.now });
    double.setDelay(150);
    const image = pngVariant(`${target.name}:stampede`);
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => check(service, `stampede_${i}`, image)));
    expect(double.calls).toHaveLength(1);
    // Each user's first check of the image: none is told that others asked too.
    expect(answers.filter((a) => a.cached)).toHaveLength(0);
    expect(new Set(answers.map((a) => a.aiGenerated))).toEqual(new Set([0.97]));
    expect((await service.budget()).used).toBe(1);
  });

  it('failures are not cached and cost no quota or budget', async () => {
    const clock = monthClock();
    const service = serviceOn(t.store, { now: clock.now });
    const image = pngVariant(`${target.name}:fails`);
    double.script({ fixture: 'error-media' });
    await expect(check(service, 'user_fail', image)).rejects.toMatchObject({ code: 'UNSUPPORTED_MEDIA' });
    double.script({ httpStatus: 503, body: 'down' }, { httpStatus: 503, body: 'down' });
    await expect(check(service, 'user_fail', image)).rejects.toMatchObject({ code: 'DETECTION_UNAVAILABLE' });
    double.script({ fixture: 'error-usage-limit' });
    await expect(check(service, 'user_fail', image)).rejects.toMatchObject({ code: 'DETECTION_QUOTA_EXHAUSTED', retryAfterSeconds: expect.toSatisfy((s: number) => s > 0) });
    expect((await service.usage('user_fail')).used).toBe(0);
    expect((await service.budget()).used).toBe(0);
    const ok = await check(service, 'user_fail', image);
    expect(ok.cached).toBe(false);
    expect(double.calls).toHaveLength(5); // 1 media + 2 (503 retried) + 1 usage_limit + 1 success
    expect((await service.usage('user_fail')).used).toBe(1);
    expect((await service.budget()).used).toBe(1);
  });

  it('concurrent requests joined to a failing upstream call all fail, cost nothing, and the next request asks again', async () => {
    const clock = monthClock();
    const service = serviceOn(t.store, { now: clock.now });
    double.setDelay(100);
    double.script({ fixture: 'error-media' });
    const image = pngVariant(`${target.name}:joined-failure`);
    const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => check(service, `jf_${i}`, image)));
    expect(results.map((r) => (r.status === 'rejected' ? (r.reason as AppError).code : 'ok'))).toEqual(Array(10).fill('UNSUPPORTED_MEDIA'));
    expect(double.calls).toHaveLength(1);
    expect((await service.usage('jf_0')).used).toBe(0);
    expect((await service.budget()).used).toBe(0);
    double.setDelay(0);
    expect((await check(service, 'jf_0', image)).cached).toBe(false);
    expect(double.calls).toHaveLength(2);
  });

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

  it('free quota: the 10th check passes, the 11th is QUOTA_EXCEEDED with its reset; cache hits count', async () => {
    const clock = monthClock('2031-03-31T23:00:00Z');
    const service = serviceOn(t.store, { now: clock.now, config: { rateBurst: 100 } });
    const image = pngVariant(`${target.name}:quota`);
    for (let i = 0; i < 10; i++) await check(service, 'user_quota', image);
    expect(double.calls).toHaveLength(1);
    await expect(check(service, 'user_quota', image)).rejects.toMatchObject({
      code: 'QUOTA_EXCEEDED',
      httpStatus: 429,
      details: { limit: 10, resetsAt: '2031-04-01T00:00:00.000Z' },
      retryAfterSeconds: 3600,
    });
    expect(await service.usage('user_quota')).toMatchObject({ used: 10, limit: 10, resetsAt: '2031-04-01T00:00:00.000Z' });
    clock.advance(3600_000); // a new month
    expect((await check(service, 'user_quota', image)).cached).toBe(true);
  });

  it('an entitled pro subscription gets the pro quota; a canceled one falls back to free', async () => {
    const clock = monthClock();
    const service = serviceOn(t.store, { now: clock.now });
    const subscriptions = new SubscriptionRepository(t.store);
    const base = {
      accountId: 'user_pro',
      provider: 'local' as const,
      providerCustomerId: 'cus_pro',
      providerSubscriptionId: 'sub_pro',
      planId: 'pro',
      features: ['ai-detect'],
      currentPeriodEnd: null,
      cancelAtPeriodEnd: false,
      sourceRank: 0,
    };
    await subscriptions.apply({ ...base, eventId: 'evt_1', status: 'active', sourceCreated: 1 });
    expect((await service.usage('user_pro')).limit).toBe(1000);
    await subscriptions.apply({ ...base, eventId: 'evt_2', status: 'canceled', sourceCreated: 2 });
    expect((await service.usage('user_pro')).limit).toBe(10);
  });

  it('rate limit: burst 5, then RATE_LIMITED with retryAfter until the next token (6 s at 10/min)', async () => {
    const clock = monthClock();
    const service = serviceOn(t.store, { now: clock.now, detector: new LocalDetector() });
    const image = pngVariant(`${target.name}:rate`);
    for (let i = 0; i < 5; i++) await check(service, 'user_rate', image);
    await expect(check(service, 'user_rate', image)).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 6 });
    expect((await service.usage('user_rate')).rateLimit).toEqual({ limit: 5, remaining: 0, retryAfterSeconds: 6 });
    clock.advance(5_900);
    await expect(check(service, 'user_rate', image)).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    clock.advance(100);
    expect((await check(service, 'user_rate', image)).provider).toBe('local');
    await expect(check(service, 'user_rate', image)).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expect((await service.usage('user_rate')).used).toBe(6); // refused attempts cost no quota
  });

  it('global budget: upstream calls stop before the budget is passed; cached answers still flow', async () => {
    const clock = monthClock();
    const service = serviceOn(t.store, { now: clock.now, config: { monthlyBudget: 3, rateBurst: 100 } });
    for (let i = 0; i < 3; i++) await check(service, `budget_${i}`, pngVariant(`${target.name}:budget:${i}`));
    expect(double.calls).toHaveLength(3);
    await expect(check(service, 'budget_x', pngVariant(`${target.name}:budget:new`))).rejects.toMatchObject({
      code: 'DETECTION_QUOTA_EXHAUSTED',
      retryAfterSeconds: expect.toSatisfy((s: number) => s > 0),
    });
    expect(double.calls).toHaveLength(3);
    expect((await service.usage('budget_x')).used).toBe(0);
    // A verdict another user's check produced: served without an upstream call (no budget), answered as fresh.
    expect((await check(service, 'budget_x', pngVariant(`${target.name}:budget:0`))).cached).toBe(false);
    expect(double.calls).toHaveLength(3);
    expect(await service.budget()).toMatchObject({ used: 3, budget: 3 });
  });

  it('fetches URLs safely (loopback allowance on) and refuses private ones without spending quota', async () => {
    const clock = monthClock();
    const service = serviceOn(t.store, { now: clock.now });
    const answer = await service.check({ userId: 'user_url', requestId: 'r', input: { url: `${imageBase}/img/cat.png` } });
    expect(answer.imageSha256).toBe(sha256Hex(pngVariant('url:/img/cat.png')));
    await expect(service.check({ userId: 'user_url', requestId: 'r', input: { url: 'http://10.0.0.1/cat.png' } })).rejects.toMatchObject({ code: 'URL_NOT_ALLOWED' });
    await expect(service.check({ userId: 'user_url', requestId: 'r', input: { url: `${imageBase}/page` } })).rejects.toMatchObject({ code: 'UNSUPPORTED_MEDIA' });
    const strict = serviceOn(t.store, { now: clock.now, config: { fetchAllowLoopback: false } });
    await expect(strict.check({ userId: 'user_url2', requestId: 'r', input: { url: `${imageBase}/img/cat.png` } })).rejects.toMatchObject({ code: 'URL_NOT_ALLOWED' });
    expect((await service.usage('user_url')).used).toBe(1);
    expect(double.calls).toHaveLength(1);
  });

  it('uploaded bytes are sniffed: the declared type is not trusted, non-images are refused', async () => {
    const clock = monthClock();
    const service = serviceOn(t.store, { now: clock.now });
    const image = pngVariant(`${target.name}:declared`);
    await service.check({ userId: 'user_up', requestId: 'r', input: { image: b64(image), mimeType: 'image/jpeg' } });
    expect(double.calls[0]!.mediaType).toBe('image/png');
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
    expect(double.calls).toHaveLength(2);
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
    expect(double.calls).toHaveLength(1);
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

describe.runIf(storeTargets.some((target) => target.name === 'postgres'))('two replicas on one PostgreSQL', () => {
  const t = useTestStore(storeTargets.find((target) => target.name === 'postgres')!);
  let second: Store;
  beforeAll(async () => {
    second = await openStore({ databaseUrl: t.databaseUrl, poolSize: 20 });
  });
  afterAll(async () => {
    await second.close();
  });

  it('100 simultaneous identical requests across two replicas cost one upstream operation', async () => {
    const clock = monthClock();
    const a = serviceOn(t.store, { now: clock.now });
    const b = serviceOn(second, { now: clock.now });
    double.setDelay(300);
    const image = pngVariant('replicas:stampede');
    const answers = await Promise.all(Array.from({ length: 100 }, (_, i) => check(i % 2 ? a : b, `rep_${i}`, image)));
    expect(double.calls).toHaveLength(1);
    expect(answers.filter((x) => x.cached)).toHaveLength(0);
    const upstream = await t.store.query<{ n: number }>(`SELECT count(*)::int AS n FROM usage_ledger WHERE account_id LIKE 'rep\\_%' AND NOT cached`);
    expect(upstream[0]?.n).toBe(1);
    expect((await a.budget()).used).toBe(1);
  });

  it('the user quota holds across replicas under concurrency: exactly 10 of 16 pass', async () => {
    const clock = monthClock();
    const a = serviceOn(t.store, { now: clock.now, detector: new LocalDetector(), config: { rateBurst: 100 } });
    const b = serviceOn(second, { now: clock.now, detector: new LocalDetector(), config: { rateBurst: 100 } });
    const results = await Promise.allSettled(Array.from({ length: 16 }, (_, i) => check(i % 2 ? a : b, 'rep_quota', pngVariant(`rq:${i}`))));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(10);
    const codes = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as AppError).code] : []));
    expect(codes).toEqual(Array(6).fill('QUOTA_EXCEEDED'));
  });

  it('the rate limit holds across replicas: exactly 5 of 12 simultaneous pass', async () => {
    const clock = monthClock();
    const a = serviceOn(t.store, { now: clock.now, detector: new LocalDetector() });
    const b = serviceOn(second, { now: clock.now, detector: new LocalDetector() });
    const results = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => check(i % 2 ? a : b, 'rep_rate', PNG_1X1)));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(5);
  });

  it('the global budget holds across replicas: 6 distinct images, budget 4 → 4 upstream calls', async () => {
    const clock = monthClock();
    const a = serviceOn(t.store, { now: clock.now, config: { monthlyBudget: 4 } });
    const b = serviceOn(second, { now: clock.now, config: { monthlyBudget: 4 } });
    double.setDelay(50);
    const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => check(i % 2 ? a : b, `rep_budget_${i}`, pngVariant(`rb:${i}`))));
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(4);
    expect(double.calls).toHaveLength(4);
  });
});
