import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { listen, type RunningServer } from '../server.js';
import { handOver, startingApp } from './starting.js';

describe('answering while the store opens', () => {
  let running: RunningServer | undefined;
  afterEach(async () => {
    await running?.shutdown(100);
    running = undefined;
  });

  function deferred<T>() {
    let resolve!: (value: T) => void;
    const promise = new Promise<T>((r) => (resolve = r));
    return { promise, resolve };
  }
  const realApp = () => {
    const app = express();
    app.get('/health', (_req, res) => void res.json({ status: 'ok', real: true }));
    app.post('/webhook', express.json(), (req, res) => void res.json({ handledBy: 'real', body: req.body as unknown }));
    return app;
  };

  it('is healthy at once, not ready, and holds store-needing requests until the real app is ready', async () => {
    const ready = deferred<express.Express>();
    const early = startingApp({ version: '1.2.3', role: 'all', startedAt: Date.now(), ready: ready.promise });
    running = await listen(early, 0, '127.0.0.1');
    expect(await (await fetch(`${running.url}/health`)).json()).toMatchObject({ status: 'ok', version: '1.2.3', starting: true });
    const notReady = await fetch(`${running.url}/ready`);
    expect(notReady.status).toBe(503);
    expect(notReady.headers.get('retry-after')).toBe('1');

    let answered = false;
    const held = fetch(`${running.url}/webhook`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":1}' }).then((res) => {
      answered = true;
      return res;
    });
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(answered).toBe(false);
    const real = realApp();
    ready.resolve(real);
    const res = await held;
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ handledBy: 'real', body: { n: 1 } });

    handOver(running.server, early, real);
    expect(running.server.listeners('request')).toEqual([real]);
    expect(await (await fetch(`${running.url}/health`)).json()).toEqual({ status: 'ok', real: true });
  });

  it('serves the early routes as soon as they resolve, requests that waited for them included, while the rest still waits', async () => {
    const ready = deferred<express.Express>();
    const early = deferred<express.RequestHandler | undefined>();
    const starting = startingApp({ version: '1.2.3', role: 'all', startedAt: Date.now(), ready: ready.promise, early: early.promise });
    running = await listen(starting, 0, '127.0.0.1');
    const post = (path: string) => fetch(`${running!.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"n":1}' });
    const answered: string[] = [];
    const waited = post('/webhook').then(async (res) => (answered.push('waited'), res.json()));
    const other = post('/elsewhere').then(async (res) => (answered.push('other'), res.json()));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(answered).toEqual([]);

    const routes = express.Router();
    routes.post('/webhook', express.json(), (req, res) => void res.json({ handledBy: 'early', body: req.body as unknown }));
    early.resolve(routes);
    expect(await waited).toEqual({ handledBy: 'early', body: { n: 1 } });
    expect(await (await post('/webhook')).json()).toEqual({ handledBy: 'early', body: { n: 1 } });
    expect(answered).toEqual(['waited']);

    const real = realApp();
    real.post('/elsewhere', express.json(), (req, res) => void res.json({ handledBy: 'real', body: req.body as unknown }));
    ready.resolve(real);
    expect(await other).toEqual({ handledBy: 'real', body: { n: 1 } });
  });

  it('answers 503 NOT_READY with Retry-After when the store takes longer than the wait', async () => {
    const early = startingApp({ version: '1.2.3', role: 'all', startedAt: Date.now(), ready: new Promise(() => {}), waitMs: 100 });
    running = await listen(early, 0, '127.0.0.1');
    const rest = await fetch(`${running.url}/subscription-status`, { headers: { 'x-request-id': 'starting-1' } });
    expect(rest.status).toBe(503);
    expect(rest.headers.get('retry-after')).toBe('1');
    expect(await rest.json()).toMatchObject({ error: { code: 'NOT_READY', requestId: 'starting-1' } });
    const trpc = await fetch(`${running.url}/trpc/billing.subscriptionStatus`);
    expect(trpc.status).toBe(503);
    expect(await trpc.json()).toMatchObject({ error: { data: { code: 'NOT_READY' } } });
  });

  it('counts the NOT_READY wait from arrival for a request the early routes take a while to pass on', async () => {
    const slowlyPassedOn: express.RequestHandler = (_req, _res, next) => void setTimeout(next, 500);
    const starting = startingApp({ version: '1.2.3', role: 'all', startedAt: Date.now(), ready: new Promise(() => {}), early: Promise.resolve(slowlyPassedOn), waitMs: 500 });
    running = await listen(starting, 0, '127.0.0.1');
    const arrived = Date.now();
    const res = await fetch(`${running.url}/subscription-status`);
    expect(res.status).toBe(503);
    // Its 500 ms were up when it was passed on: not another 500 ms from there.
    expect(Date.now() - arrived).toBeLessThan(850);
  });
});
