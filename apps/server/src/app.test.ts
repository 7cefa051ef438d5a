import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from './app.js';
import { listen, type RunningServer } from './server.js';
import { captureLogger, fakeServices, startApp } from './testing/harness.js';

describe('HTTP app', () => {
  let app: Awaited<ReturnType<typeof startApp>>;
  beforeAll(async () => {
    app = await startApp({ jsonBodyLimit: 1024 });
  });
  afterAll(() => app.shutdown());

  it('answers GET /health with status ok', async () => {
    const res = await fetch(`${app.url}/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ status: 'ok', version: '0.0.0-test' });
  });

  it('answers the tRPC health query with the same status', async () => {
    const res = await fetch(`${app.url}/trpc/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ result: { data: { status: 'ok' } } });
  });

  it('gives unknown routes a 404 in the standard error shape', async () => {
    const res = await fetch(`${app.url}/nope`, { headers: { 'x-request-id': 'abc-123' } });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: { code: 'NOT_FOUND', message: 'No route for GET /nope', requestId: 'abc-123' } });
  });

  it('refuses a JSON body over the limit with 413 PAYLOAD_TOO_LARGE, in tRPC\'s envelope under /trpc', async () => {
    const res = await fetch(`${app.url}/trpc/health`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ padding: 'x'.repeat(2048) }),
    });
    expect(res.status).toBe(413);
    const body = (await res.json()) as { error: { data: { code: string; requestId: string } } };
    expect(body.error.data.code).toBe('PAYLOAD_TOO_LARGE');
    expect(body.error.data.requestId).toBe(res.headers.get('x-request-id'));
  });

  it('answers malformed JSON with 400 BAD_REQUEST', async () => {
    const res = await fetch(`${app.url}/anything`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('BAD_REQUEST');
  });

  it('echoes a sane caller request id and replaces an unsafe one', async () => {
    const echoed = await fetch(`${app.url}/health`, { headers: { 'x-request-id': 'frontend-42' } });
    expect(echoed.headers.get('x-request-id')).toBe('frontend-42');
    const unsafe = await fetch(`${app.url}/health`, { headers: { 'x-request-id': 'bad id\twith spaces' } });
    expect(unsafe.headers.get('x-request-id')).toMatch(/^req_[0-9a-f-]{36}$/);
    const missing = await fetch(`${app.url}/health`);
    expect(missing.headers.get('x-request-id')).toMatch(/^req_/);
    expect(missing.headers.get('x-request-id')).not.toBe(unsafe.headers.get('x-request-id'));
  });

  it('puts a contract error code and the request id into tRPC errors', async () => {
    const res = await fetch(`${app.url}/trpc/doesNotExist`, { headers: { 'x-request-id': 'trpc-err-1' } });
    expect(res.status).toBe(404);
    const body = (await res.json()) as { error: { data: { code: string; requestId: string } } };
    expect(body.error.data).toMatchObject({ code: 'NOT_FOUND', requestId: 'trpc-err-1' });
  });

  it('logs one line per request with method, path, status, duration and request id', async () => {
    await fetch(`${app.url}/health?x=1`, { headers: { 'x-request-id': 'log-line-1' } });
    await new Promise((r) => setTimeout(r, 20));
    const line = app.logs.records().find((r) => r.requestId === 'log-line-1' && r.msg === 'request');
    expect(line).toMatchObject({ method: 'GET', path: '/health', status: 200, requestId: 'log-line-1' });
    expect(typeof line?.durationMs).toBe('number');
  });
});

describe('unknown failures', () => {
  let app: Awaited<ReturnType<typeof startApp>>;
  beforeAll(async () => {
    // fakeServices' billing throws a plain Error: an unexpected failure inside a procedure.
    app = await startApp();
  });
  afterAll(() => app.shutdown());

  it('answers a generic 500 INTERNAL on tRPC and logs the real error with the request id', async () => {
    const res = await fetch(`${app.url}/trpc/billing.plans`, { headers: { 'x-request-id': 'boom-trpc' } });
    expect(res.status).toBe(500);
    const body = (await res.json()) as { error: { message: string; data: { code: string; requestId: string } } };
    expect(body.error.message).toBe('Internal error');
    expect(body.error.data).toMatchObject({ code: 'INTERNAL', requestId: 'boom-trpc' });
    expect(JSON.stringify(body)).not.toContain('billing is not wired');
    const logged = app.logs.records().find((r) => r.requestId === 'boom-trpc' && r.msg === 'procedure failed');
    expect(JSON.stringify(logged)).toContain('billing is not wired');
  });

  it('answers a generic 500 INTERNAL on REST and logs the real error with the request id', async () => {
    const res = await fetch(`${app.url}/subscription-status`, { headers: { 'x-request-id': 'boom-rest', authorization: 'Bearer dev_u1' } });
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ error: { code: 'INTERNAL', message: 'Internal error', requestId: 'boom-rest' } });
    const logged = app.logs.records().find((r) => r.requestId === 'boom-rest' && r.msg === 'unhandled error');
    expect(JSON.stringify(logged)).toContain('billing is not wired');
  });
});

describe('readiness', () => {
  let running: RunningServer;
  let storeUp = true;
  beforeAll(async () => {
    const services = fakeServices({
      readiness: {
        ping: async () => {
          if (!storeUp) throw new Error('connection refused');
        },
      },
    });
    running = await listen(createApp({ logger: captureLogger().logger, services }), 0, '127.0.0.1');
  });
  afterAll(() => running.shutdown());

  it('is ready while the store answers and 503 when it does not, while /health stays 200', async () => {
    storeUp = true;
    expect((await fetch(`${running.url}/ready`)).status).toBe(200);
    storeUp = false;
    const down = await fetch(`${running.url}/ready`);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ status: 'not_ready', store: 'down' });
    expect((await fetch(`${running.url}/health`)).status).toBe(200);
  });
});
