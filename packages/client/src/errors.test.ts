import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError, fakeServices, PNG_1X1, startApp, useWiredApp } from '@verifieddit/testing';
import { createClient, getErrorCode, getRequestId, getRetryAfterSeconds, getValidationIssues, isApiError } from './index.js';

/**
 * Issue 13 §5: every error the server can answer on a tRPC path reaches the SDK as a typed code with a
 * readable message, and so do the answers of whatever stands in the API's place (a wrong URL, a proxy).
 */
const APP = 'https://app.verifieddit.test';
const failureOf = (promise: Promise<unknown>) => promise.then(() => expect.fail('the call should have failed'), (error: unknown) => error);

describe('SDK errors against the real wired server', () => {
  const fixture = useWiredApp({ env: { AI_DETECT_RATE_BURST: '2', AI_DETECT_RATE_PER_MINUTE: '1' } });
  const clientFor = (user: string, extra: Parameters<typeof createClient>[0] extends infer O ? Partial<O> : never = {}) =>
    createClient({ url: fixture.app.url, getToken: () => `dev_${user}`, ...extra });

  it('413: a body over the limit is PAYLOAD_TOO_LARGE with the limit in the message', async () => {
    const error = await failureOf(clientFor('big').billing.createPortalSession.mutate({ returnUrl: `${APP}/${'x'.repeat(1024 * 1024)}` }));
    expect(isApiError(error)).toBe(true);
    expect(getErrorCode(error)).toBe('PAYLOAD_TOO_LARGE');
    expect((error as Error).message).toBe('Request body is larger than the 1 MB limit');
    expect(getRequestId(error)).toMatch(/^req_/);
  });

  it('415: a body that is not JSON is UNSUPPORTED_CONTENT_TYPE', async () => {
    const client = clientFor('plain', { headers: { 'content-type': 'text/plain' } });
    const error = await failureOf(client.billing.createPortalSession.mutate({ returnUrl: `${APP}/a` }));
    expect(getErrorCode(error)).toBe('UNSUPPORTED_CONTENT_TYPE');
    expect((error as Error).message).toContain('application/json');
  });

  it('invalid JSON is BAD_REQUEST with a plain message', async () => {
    const client = clientFor('badjson', { fetch: (input, init) => fetch(input, { ...init, body: '{"0":' }) });
    const error = await failureOf(client.billing.createPortalSession.mutate({ returnUrl: `${APP}/a` }));
    expect(getErrorCode(error)).toBe('BAD_REQUEST');
    expect((error as Error).message).toBe('Request body is not valid JSON');
  });

  it('404: a wrong base URL (the API answers in its REST shape) is NOT_FOUND with the request id', async () => {
    const client = createClient({ url: `${fixture.app.url}/api/v1`, headers: { 'x-request-id': 'sdk-404' } });
    const error = await failureOf(client.health.query());
    expect(isApiError(error)).toBe(true);
    expect(getErrorCode(error)).toBe('NOT_FOUND');
    expect(getRequestId(error)).toBe('sdk-404');
    expect((error as Error).message).toContain('No route for GET /api/v1/trpc/health');
  });

  it('429: a rate-limited call is RATE_LIMITED, with Retry-After on the response and in the error', async () => {
    const seen: (string | null)[] = [];
    const client = clientFor('hasty', {
      fetch: async (input, init) => {
        const response = await fetch(input, init);
        seen.push(response.headers.get('retry-after'));
        return response;
      },
    });
    const check = () => client.aiDetect.check.mutate({ image: PNG_1X1.toString('base64'), mimeType: 'image/png' });
    let error: unknown;
    for (let i = 0; i < 5 && !error; i++) error = await check().then(() => undefined, (e: unknown) => e);
    expect(getErrorCode(error)).toBe('RATE_LIMITED');
    const seconds = getRetryAfterSeconds(error);
    expect(seconds).toBeGreaterThan(0);
    expect(Number(seen.at(-1))).toBe(Math.max(1, Math.ceil(seconds!)));
  });

  it('validation messages read like the REST ones, with the structured issues', async () => {
    const client = clientFor('validator');
    const badUrl = await failureOf(client.billing.createCheckoutSession.mutate({ plan: 'pro', successUrl: `${APP}/ok`, cancelUrl: 'not a url' }));
    expect(getErrorCode(badUrl)).toBe('VALIDATION_FAILED');
    expect((badUrl as Error).message).toBe('Invalid request: cancelUrl: must be an absolute http(s) URL');
    expect(getValidationIssues(badUrl)).toEqual([expect.objectContaining({ path: ['cancelUrl'], message: 'must be an absolute http(s) URL' })]);

    // A missing field says it is missing, not that it is a bad URL.
    const missing = await failureOf(client.billing.createCheckoutSession.mutate({ plan: 'pro', successUrl: `${APP}/ok` } as never));
    expect((missing as Error).message).toBe('Invalid request: cancelUrl: required');

    // The same words over the REST alias.
    const rest = await fetch(`${fixture.app.url}/create-checkout-session`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer dev_validator' },
      body: JSON.stringify({ plan: 'pro', successUrl: `${APP}/ok`, cancelUrl: 'not a url' }),
    });
    expect(((await rest.json()) as { error: { message: string } }).error.message).toBe((badUrl as Error).message);

    const nullInput = await failureOf(client.billing.createPortalSession.mutate(null as never));
    expect(getErrorCode(nullInput)).toBe('VALIDATION_FAILED');
    expect((nullInput as Error).message).toBe('Invalid request: (body): Invalid input: expected object, received null');

    const union = await failureOf(client.aiDetect.check.mutate({ image: 'abc' } as never));
    expect((union as Error).message).toMatch(/^Invalid request: either url: required, or mimeType: /);
  });
});

describe('SDK errors when the store is down', () => {
  let server: Awaited<ReturnType<typeof startApp>>;
  beforeAll(async () => {
    const down = () => {
      throw new AppError('NOT_READY', 'The store is not reachable; retry later');
    };
    server = await startApp({ services: fakeServices({ billing: { plans: down, createCheckoutSession: down, createPortalSession: down, subscriptionStatus: down, watchStatus: down } }) });
  });
  afterAll(() => server.shutdown());

  it('503 is NOT_READY with a readable message', async () => {
    const error = await failureOf(createClient({ url: server.url }).billing.plans.query());
    expect(getErrorCode(error)).toBe('NOT_READY');
    expect((error as Error).message).toBe('The store is not reachable; retry later');
  });
});

describe('SDK errors from something standing in the API’s place', () => {
  let proxy: Server;
  let proxyUrl: string;
  beforeAll(async () => {
    proxy = createServer((req, res) => {
      if (req.url?.includes('health')) {
        res.writeHead(200, { 'content-type': 'text/html' });
        return void res.end('<!doctype html><title>My SPA</title>');
      }
      res.writeHead(503, { 'content-type': 'text/html', 'retry-after': '7' });
      res.end('<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>');
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => proxy.close(resolve)));

  it('a proxy’s HTML 503 page is NOT_READY with its Retry-After, not "Unable to transform response"', async () => {
    const error = await failureOf(createClient({ url: proxyUrl }).billing.plans.query());
    expect(isApiError(error)).toBe(true);
    expect(getErrorCode(error)).toBe('NOT_READY');
    expect(getRetryAfterSeconds(error)).toBe(7);
    expect((error as Error).message).toContain('503');
  });

  it('a 200 HTML page (a URL that is not the API) is NOT_FOUND and says to check the url', async () => {
    const error = await failureOf(createClient({ url: proxyUrl }).health.query());
    expect(getErrorCode(error)).toBe('NOT_FOUND');
    expect((error as Error).message).toContain("check the client's url");
  });

  it('a batch gets the error for each of its calls', async () => {
    const client = createClient({ url: proxyUrl });
    const [a, b] = await Promise.all([failureOf(client.billing.plans.query()), failureOf(client.aiDetect.usage.query())]);
    expect([getErrorCode(a), getErrorCode(b)]).toEqual(['NOT_READY', 'NOT_READY']);
  });
});
