import { connect } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { InProcessSubscriptionChanges } from './billing/changes/bus.js';
import { loadConfig } from './config.js';
import { loadRest, startServer, type StartOptions } from './startup.js';
import { useTestStore } from './testing/fixtures.js';
import { captureLogger } from './testing/harness.js';
import { startStripeDouble, type StripeDouble } from './testing/stripe-double.js';
import { signedDelivery, stripeScenario } from './testing/stripe-events.js';
import { storeTargets } from './testing/stores.js';
import type { QueryOptions, Store } from './store/ports.js';
import type { Rows } from './store/rows.js';
import { localWebhookSecret } from './webhooks/local-secret.js';

const SECRET = 'whsec_webhooksFirstSigningSecret';

/** A promise and whether it has settled yet. */
function watch<T>(promise: Promise<T>) {
  const w = { promise, settled: false };
  promise.then(() => (w.settled = true), () => (w.settled = true));
  return w;
}

/**
 * main.ts's startup (startup.ts) over a test store, with the real webhook pieces and the real rest of
 * the server, whose loading each test holds back until it calls `release()`.
 */
describe.each(storeTargets)('starting with the webhooks first on $name', (target) => {
  const t = useTestStore(target);
  let stripe: StripeDouble;
  beforeAll(async () => void (stripe = await startStripeDouble()));
  afterAll(async () => void (await stripe?.close()));
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });

  async function start(env: Record<string, string> = {}, seams: Pick<StartOptions, 'loadRest'> & { opened?: Promise<void>; store?: Store } = {}) {
    let release!: () => void;
    const restGate = new Promise<void>((resolve) => (release = resolve));
    const config = loadConfig({
      NODE_ENV: 'test',
      APP_ORIGINS: 'https://app.verifieddit.test',
      STRIPE_SECRET_KEY: 'sk_test_51WebhooksFirst',
      STRIPE_API_BASE_URL: stripe.url,
      STRIPE_WEBHOOK_SECRET: SECRET,
      STRIPE_RECOVERY_INTERVAL_SECONDS: '0',
      ...env,
    });
    const logs = captureLogger({ secrets: config.secrets });
    const { opened, store = t.store, loadRest: load } = seams;
    const open = async () => (await opened, { store, changes: new InProcessSubscriptionChanges(logs.logger) });
    const { running, serving, stop } = await startServer(config, logs.logger, { port: 0, host: '127.0.0.1', open, restGate, ...(load ? { loadRest: load } : {}) });
    cleanups.push(async () => {
      release();
      const full = await serving.catch(() => undefined);
      await running.shutdown(100);
      await full?.runtime.billing.streams.close();
      await full?.runtime.workers.stop();
    });
    // Logged once billing and the webhooks are wired over the open store.
    const wired = () => vi.waitFor(() => expect(logs.records().some((r) => r.msg === 'billing provider selected')).toBe(true));
    return { url: running.url, port: running.port, serving, stop, logs, release, wired };
  }

  async function deliver(url: string, event: unknown, options: { secret?: string; headers?: Record<string, string> } = {}) {
    const body = JSON.stringify(event);
    const { headers } = signedDelivery(stripe, body, options.secret ?? SECRET);
    const res = await fetch(`${url}/webhook`, { method: 'POST', headers: { ...headers, ...options.headers }, body });
    return { status: res.status, body: (await res.json()) as Record<string, unknown>, requestId: res.headers.get('x-request-id') };
  }
  const rowsFor = (id: string) => t.store.query<Rows['webhook_events']>('SELECT * FROM webhook_events WHERE id = $1', [id]);
  const asAccount = (account: string) => ({ headers: { authorization: `Bearer dev_${account}` } });

  it('applies a signed delivery once and answers it while the rest is still loading; the API waits, then answers', async () => {
    const server = await start();
    const s = stripeScenario('first', stripe);
    const rest = watch(fetch(`${server.url}/subscription-status`, asAccount(s.account)));
    const trpc = watch(fetch(`${server.url}/trpc/billing.subscriptionStatus`, asAccount(s.account)));

    expect(await deliver(server.url, s.event('customer.subscription.updated'))).toMatchObject({ status: 200, body: { received: true } });
    expect(await rowsFor(s.event('customer.subscription.updated').id)).toEqual([expect.objectContaining({ status: 'processed', outcome: 'applied', attempts: 1 })]);
    expect((await fetch(`${server.url}/ready`)).status).toBe(503);
    expect([rest.settled, trpc.settled]).toEqual([false, false]);

    server.release();
    await server.serving;
    const [restAnswer, trpcAnswer] = await Promise.all([rest.promise, trpc.promise]);
    expect(restAnswer.status).toBe(200);
    expect(await restAnswer.json()).toMatchObject({ status: 'active', features: ['ai-detect'] });
    expect(await trpcAnswer.json()).toMatchObject({ result: { data: { status: 'active' } } });
  });

  it('acknowledges redeliveries before and after the handover as duplicates, processing the event once, in one inbox', async () => {
    const server = await start();
    const s = stripeScenario('redelivered', stripe);
    const event = s.event('customer.subscription.updated');
    expect((await deliver(server.url, event)).body).toEqual({ received: true });
    expect((await deliver(server.url, event)).body).toEqual({ received: true, duplicate: true });
    server.release();
    await server.serving;
    expect((await deliver(server.url, event)).body).toEqual({ received: true, duplicate: true });
    const [row] = await rowsFor(event.id);
    expect(row).toMatchObject({ status: 'processed', attempts: 1 });
    // Each inbox stores events under its own worker id: the full app's deliveries use the early one's.
    const later = s.event('customer.subscription.updated.past-due');
    expect((await deliver(server.url, later)).body).toEqual({ received: true });
    expect((await rowsFor(later.id))[0]?.locked_by).toBe(row?.locked_by);
  });

  it('answers early deliveries as the full app does: request id and line, signature and body limit; other methods wait for it', async () => {
    const server = await start();
    const probe = async (tag: string) => {
      const event = stripeScenario(tag, stripe).event('customer.subscription.updated');
      const ok = await deliver(server.url, event, { headers: { 'x-request-id': `req-${tag}` } });
      const line = server.logs.records().filter((r) => r.requestId === `req-${tag}`);
      const forged = await deliver(server.url, event, { secret: 'whsec_notOurs' });
      const large = await fetch(`${server.url}/webhook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat(1024 * 1024 + 1) });
      return {
        ok: { status: ok.status, requestId: ok.requestId },
        line: line.map((r) => ({ msg: r.msg, path: r.path, status: r.status, eventId: r.eventId === event.id, outcome: r.outcome })),
        forged: [forged.status, (forged.body.error as { code: string }).code, (forged.body.error as { message: string }).message],
        large: [large.status, ((await large.json()) as { error: { code: string } }).error.code],
      };
    };
    const get = watch(fetch(`${server.url}/api/internal/stripe/webhook`));
    const early = await probe('early');
    expect(early).toMatchObject({ ok: { status: 200, requestId: 'req-early' }, line: [{ msg: 'request', path: '/webhook', status: 200, eventId: true }], large: [413, 'PAYLOAD_TOO_LARGE'] });
    expect(get.settled).toBe(false);
    server.release();
    await server.serving;
    const full = await probe('full');
    expect(early).toEqual({ ...full, ok: { ...full.ok, requestId: 'req-early' } });
    const refused = await get.promise;
    expect([refused.status, refused.headers.get('allow'), ((await refused.json()) as { error: { code: string } }).error.code]).toEqual([405, 'POST', 'METHOD_NOT_ALLOWED']);
  });

  it.each(['api', 'worker'])('does not serve webhooks early on a %s instance', async (role) => {
    const server = await start({ ROLE: role });
    const event = stripeScenario(`role_${role}`, stripe).event('customer.subscription.updated');
    const delivery = watch(deliver(server.url, event));
    await server.wired();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(delivery.settled).toBe(false);
    server.release();
    expect((await delivery.promise).status).toBe(404);
    expect(await rowsFor(event.id)).toEqual([]);
  });

  it.each([
    ['api', ['rest loading', 'store open']],
    ['all', ['store open', 'rest loading']],
  ])('on a %s instance starts loading the rest before the store is open, unless it takes webhooks first', async (role, order) => {
    const steps: string[] = [];
    let open!: () => void;
    const opened = new Promise<void>((resolve) => (open = resolve)).then(() => void steps.push('store open'));
    const server = await start({ ROLE: role }, { opened, loadRest: () => (steps.push('rest loading'), loadRest()) });
    await new Promise((resolve) => setTimeout(resolve, 50));
    open();
    server.release();
    await server.serving;
    expect(steps).toEqual(order);
  });

  it('stops before the full app took over: the delivery in flight is answered, the rest is not wired, the store closes', async () => {
    let answer!: () => void;
    const answering = new Promise<void>((resolve) => (answer = resolve));
    let inFlight!: () => void;
    const delivering = new Promise<void>((resolve) => (inFlight = resolve));
    const closed: string[] = [];
    const store: Store = Object.assign(Object.create(t.store) as Store, {
      query: async (text: string, params?: unknown[], options?: QueryOptions) => {
        // The delivery's statement waits for the test, as on a slow store.
        if (text.includes('webhook_events')) await (inFlight(), answering);
        return t.store.query(text, params, options);
      },
      close: async () => void closed.push('store'),
    });
    let loaded!: () => void;
    const restLoaded = new Promise<void>((resolve) => (loaded = resolve));
    const server = await start({}, { store, loadRest: () => loadRest().finally(loaded) });
    const s = stripeScenario('stopping', stripe);
    const delivery = deliver(server.url, s.event('customer.subscription.updated'));
    const waiting = fetch(`${server.url}/subscription-status`, asAccount(s.account));
    await delivering;
    const stopping = watch(server.stop());
    // The request waiting for the full app is refused at once; no new connection is accepted.
    expect((await waiting).status).toBe(503);
    await expect(new Promise((resolve, reject) => connect(server.port, '127.0.0.1', () => resolve('accepted')).once('error', reject))).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(stopping.settled).toBe(false);
    answer();
    expect(await delivery).toMatchObject({ status: 200, body: { received: true } });
    await stopping.promise;
    expect(closed).toEqual(['store']);
    await expect(server.serving).rejects.toThrow('stopped before the server finished starting');
    server.release();
    await restLoaded;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(server.logs.records().filter((r) => /background workers/.test(String(r.msg)))).toEqual([]);
  });

  it('stops after the full app took over: in-flight requests finish, then the workers stop and the store closes', async () => {
    const closed: string[] = [];
    const store: Store = Object.assign(Object.create(t.store) as Store, { close: async () => void closed.push('store') });
    const server = await start({}, { store });
    server.release();
    const { runtime } = await server.serving;
    const stopWorkers = runtime.workers.stop.bind(runtime.workers);
    const workersStopped = watch(new Promise<void>((resolve) => (runtime.workers.stop = () => stopWorkers().finally(resolve))));
    await server.stop();
    expect([closed, workersStopped.settled]).toEqual([['store'], true]);
  });

  it('verifies early deliveries with the local secret in development without STRIPE_WEBHOOK_SECRET', async () => {
    const server = await start({ NODE_ENV: 'development', STRIPE_SECRET_KEY: '', STRIPE_WEBHOOK_SECRET: '' });
    const event = stripeScenario('local_secret', stripe).event('customer.subscription.updated');
    expect(await deliver(server.url, event, { secret: await localWebhookSecret(t.store) })).toMatchObject({ status: 200, body: { received: true } });
    expect((await fetch(`${server.url}/ready`)).status).toBe(503);
  });
});
