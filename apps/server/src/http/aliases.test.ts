import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services } from '../context.js';
import { fakeServices, startApp } from '../testing/harness.js';
import { rawRequest } from '../testing/raw-http.js';
import { procedureBodyLimit, REST_ALIASES, type ProcedurePath } from './aliases.js';
import { buildOpenApiDocument } from './openapi.js';
import { DEFAULT_BODY_LIMIT, IMAGE_BODY_LIMIT } from './limits.js';

/** A valid input for each aliased procedure; an alias added without one fails the table test below. */
const SAMPLE_INPUTS: Partial<Record<ProcedurePath, unknown>> = {
  'billing.createCheckoutSession': { plan: 'pro', successUrl: 'https://app.verifieddit.test/ok', cancelUrl: 'https://app.verifieddit.test/cancel' },
  'billing.createPortalSession': { returnUrl: 'https://app.verifieddit.test/account' },
  'billing.subscriptionStatus': undefined,
  'aiDetect.check': { url: 'https://images.example/cat.png' },
};

/** Services that answer from what they were given, and record each call. */
function echoingServices(calls: unknown[][]): Services {
  return fakeServices({
    billing: {
      ...fakeServices().billing,
      createCheckoutSession: async (userId, input) => (calls.push(['checkout', userId, input]), { id: `cs_${userId}`, url: input.successUrl }),
      createPortalSession: async (userId, input) => (calls.push(['portal', userId, input]), { url: input.returnUrl }),
      subscriptionStatus: async (userId) => (
        calls.push(['status', userId]), { status: 'active', plan: 'pro', features: ['ai-detect'], currentPeriodEnd: null, cancelAtPeriodEnd: false, provider: 'local' }
      ),
    },
    aiDetect: {
      ...fakeServices().aiDetect,
      check: async ({ userId, requestId, input }) => (
        calls.push(['check', userId, input]),
        { aiGenerated: 0.5, imageSha256: 'a'.repeat(64), cached: false, provider: 'local', requestId, checkedAt: '2026-01-01T00:00:00.000Z' }
      ),
    },
  });
}

describe('the REST alias table', () => {
  const calls: unknown[][] = [];
  let app: Awaited<ReturnType<typeof startApp>>;
  beforeAll(async () => {
    app = await startApp({ services: echoingServices(calls) });
  });
  afterAll(() => app.shutdown());
  const alice = { authorization: 'Bearer dev_alice', 'x-request-id': 'req-alias' };

  it.each(REST_ALIASES.map((alias) => [`${alias.method.toUpperCase()} ${alias.path}`, alias] as const))('%s answers as its procedure does on tRPC', async (_name, alias) => {
    expect(Object.hasOwn(SAMPLE_INPUTS, alias.procedure), `a sample input for ${alias.procedure}`).toBe(true);
    const input = SAMPLE_INPUTS[alias.procedure];
    const body = input === undefined ? undefined : JSON.stringify(input);
    const headers = { ...alice, ...(body ? { 'content-type': 'application/json' } : {}) };
    calls.length = 0;
    const rest = await rawRequest(app.url, { method: alias.method.toUpperCase(), path: alias.path, headers, ...(body ? { body } : {}) });
    const trpc = await rawRequest(app.url, { method: alias.method.toUpperCase(), path: `/trpc/${alias.procedure}`, headers, ...(body ? { body } : {}) });
    expect(rest.status, rest.text).toBe(200);
    expect(trpc.status, trpc.text).toBe(200);
    expect(rest.json).toEqual((trpc.json as { result: { data: unknown } }).result.data);
    expect(calls).toHaveLength(2);
    expect(calls[0]).toEqual(calls[1]);
    expect(calls[0]![1]).toBe('alice');

    const anonymous = await rawRequest(app.url, { method: alias.method.toUpperCase(), path: alias.path, headers: body ? { 'content-type': 'application/json' } : {}, ...(body ? { body } : {}) });
    expect(anonymous.status).toBe(401);
    expect((anonymous.json as { error: { code: string } }).error.code).toBe('UNAUTHENTICATED');
  });

  it.each(REST_ALIASES.filter((alias) => alias.method === 'post').map((alias) => [alias.path, alias] as const))(
    'a body over the limit of %s is the same typed error on the alias and on tRPC',
    async (_path, alias) => {
      const limit = procedureBodyLimit(alias.procedure, DEFAULT_BODY_LIMIT);
      // One byte over once decompressed, a few KB on the wire.
      const bomb = gzipSync(Buffer.alloc(limit + 1, 0x20));
      const headers = { ...alice, 'content-type': 'application/json', 'content-encoding': 'gzip' };
      const rest = await rawRequest(app.url, { method: 'POST', path: alias.path, headers, body: bomb });
      const trpc = await rawRequest(app.url, { method: 'POST', path: `/trpc/${alias.procedure}`, headers, body: bomb });
      expect(rest.status).toBe(413);
      expect(trpc.status).toBe(413);
      const restError = (rest.json as { error: { code: string; message: string; details: unknown } }).error;
      const trpcError = (trpc.json as { error: { message: string; data: { code: string; details: unknown } } }).error;
      expect(restError).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', details: { limitBytes: limit } });
      expect({ code: trpcError.data.code, message: trpcError.message, details: trpcError.data.details }).toEqual({
        code: restError.code,
        message: restError.message,
        details: restError.details,
      });
    },
  );

  it('takes the body limits from the procedures: 14 MB for image uploads, the default elsewhere', () => {
    expect(procedureBodyLimit('aiDetect.check', DEFAULT_BODY_LIMIT)).toBe(IMAGE_BODY_LIMIT);
    expect(procedureBodyLimit('billing.createPortalSession', DEFAULT_BODY_LIMIT)).toBe(DEFAULT_BODY_LIMIT);
    expect(procedureBodyLimit('constructor', DEFAULT_BODY_LIMIT)).toBe(DEFAULT_BODY_LIMIT);
  });

  it('a tRPC batch gets the largest limit among its procedures', async () => {
    const twoMb = JSON.stringify({ 0: { returnUrl: 'https://app.verifieddit.test/' + 'a'.repeat(2 * 1024 * 1024) }, 1: SAMPLE_INPUTS['aiDetect.check'] });
    const headers = { ...alice, 'content-type': 'application/json' };
    const alone = await rawRequest(app.url, { method: 'POST', path: '/trpc/billing.createPortalSession?batch=1', headers, body: twoMb });
    expect(alone.status).toBe(413);
    const batch = await rawRequest(app.url, { method: 'POST', path: '/trpc/billing.createPortalSession,aiDetect.check?batch=1', headers, body: twoMb });
    // Read whole and answered by the procedures (the portal call's own 2 MB URL is refused by its schema).
    expect(batch.status, batch.text).not.toBe(413);
    expect(batch.status, batch.text).toBeLessThan(500);
  });

  it('is what the OpenAPI document lists, with each path’s own body limit', () => {
    const doc = buildOpenApiDocument({ version: '1.2.3' }) as { paths: Record<string, Record<string, { responses: Record<string, { description: string }> }>> };
    expect(Object.keys(doc.paths).sort()).toEqual([...REST_ALIASES.map((alias) => alias.path), '/webhook'].sort());
    for (const alias of REST_ALIASES) {
      expect(Object.keys(doc.paths[alias.path]!)).toEqual([alias.method]);
      const limit = procedureBodyLimit(alias.procedure, DEFAULT_BODY_LIMIT) / (1024 * 1024);
      expect(doc.paths[alias.path]![alias.method]!.responses['413']!.description).toContain(`Body over ${limit} MB`);
    }
  });
});
