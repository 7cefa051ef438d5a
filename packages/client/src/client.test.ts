import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp } from '@verifieddit/testing';
import { createClient, getErrorCode, getRequestId, isApiError } from './index.js';

describe('createClient against a real server', () => {
  let server: Awaited<ReturnType<typeof startApp>>;
  beforeAll(async () => {
    server = await startApp();
  });
  afterAll(() => server.shutdown());

  it('calls health with inferred types', async () => {
    const client = createClient({ url: server.url });
    const health = await client.health.query();
    expect(health.status).toBe('ok');
    expect(health.version).toBe('0.0.0-test');
    expect(health.uptimeSeconds).toBeGreaterThanOrEqual(0);
  });

  it('sends the token from getToken and the extra headers on every call', async () => {
    const seen: Headers[] = [];
    const client = createClient({
      url: `${server.url}/`,
      getToken: async () => 'dev_user_123',
      headers: { 'x-request-id': 'sdk-test-1' },
      fetch: async (input, init) => {
        seen.push(new Headers(init?.headers));
        return fetch(input, init);
      },
    });
    await client.health.query();
    expect(seen[0]?.get('authorization')).toBe('Bearer dev_user_123');
    expect(seen[0]?.get('x-request-id')).toBe('sdk-test-1');
  });

  it('exposes the contract error code and request id of a failed call', async () => {
    // Point the client at a path that does not exist to get a real API error back.
    const client = createClient({ url: `${server.url}/missing` });
    const error = await client.health.query().catch((e: unknown) => e);
    expect(getErrorCode(error)).toBe('NOT_FOUND'); // the API's REST 404, read by the SDK
    expect(getErrorCode(new Error('plain'))).toBeUndefined();

    const raw = createClient({ url: server.url, headers: { 'x-request-id': 'sdk-err-1' } });
    // @ts-expect-error — the procedure does not exist; the types must say so
    const failure = await raw.nope.query().catch((e: unknown) => e);
    expect(isApiError(failure)).toBe(true);
    expect(getErrorCode(failure)).toBe('NOT_FOUND');
    expect(getRequestId(failure)).toBe('sdk-err-1');
  });
});
