import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { listen, type RunningServer } from './server.js';
import { captureLogger } from './testing/harness.js';
import { earlyWebhookRoutes } from './webhooks-first.js';

/** The early webhook routes over a router whose answer the test releases. */
describe('early webhook routes', () => {
  let running: RunningServer | undefined;
  afterEach(async () => {
    await running?.shutdown(100);
    running = undefined;
  });

  /** `release` answers the deliveries; what the routes pass on is answered 418 (once `passedOn` resolves). */
  async function serve(passedOn?: Promise<void>) {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const router = express.Router();
    router.post('/webhook', (_req, res) => void held.then(() => res.json({ received: true })));
    const logs = captureLogger();
    const early = earlyWebhookRoutes(logs.logger, router);
    const app = express();
    app.use(early.routes, (_req, res) => void Promise.resolve(passedOn).then(() => res.status(418).json({ passedOn: true })));
    running = await listen(app, 0, '127.0.0.1');
    return { early, release, url: running.url, logs };
  }
  const settles = (promise: Promise<unknown>) => {
    const w = { settled: false };
    void promise.then(() => (w.settled = true));
    return w;
  };

  it('tells the rest of the server when the deliveries it is answering are answered', async () => {
    const { early, release, url } = await serve();
    const delivery = fetch(`${url}/webhook`, { method: 'POST', body: '{}' });
    await new Promise((resolve) => setTimeout(resolve, 100));
    const answered = settles(early.answered(10_000));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(answered.settled).toBe(false);
    release();
    expect((await delivery).status).toBe(200);
    await expect.poll(() => answered.settled).toBe(true);
  });

  it('stops waiting after the longest wait it is given, and passes other paths on', async () => {
    const { early, url } = await serve();
    void fetch(`${url}/webhook`, { method: 'POST', body: '{}' }).catch(() => undefined);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const started = Date.now();
    await early.answered(150);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect((await fetch(`${url}/trpc/billing.plans`)).status).toBe(418);
  });

  it('serves and tracks only POST: other methods on the webhook paths pass on untouched and hold nothing back', async () => {
    let answer!: () => void;
    const passedOn = new Promise<void>((resolve) => (answer = resolve));
    const { early, url, logs } = await serve(passedOn);
    const others = ['GET', 'HEAD', 'OPTIONS'].map((method) => fetch(`${url}/webhook`, { method, headers: { 'x-request-id': `req-${method}` } }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    // Still in flight, waiting for the full app, yet the rest's load does not wait for them.
    const started = Date.now();
    await early.answered(10_000);
    expect(Date.now() - started).toBeLessThan(1_000);
    answer();
    for (const res of await Promise.all(others)) expect([res.status, res.headers.get('x-request-id')]).toEqual([418, null]);
    expect(logs.records().filter((r) => r.msg === 'request')).toEqual([]);
  });
});
