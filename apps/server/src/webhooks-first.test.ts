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

  async function serve() {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const router = express.Router();
    router.post('/webhook', (_req, res) => void held.then(() => res.json({ received: true })));
    const early = earlyWebhookRoutes(captureLogger().logger, router);
    const app = express();
    app.use(early.routes, (_req, res) => void res.status(418).json({ passedOn: true }));
    running = await listen(app, 0, '127.0.0.1');
    return { early, release, url: running.url };
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
});
