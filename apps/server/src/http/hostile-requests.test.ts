import { gzipSync } from 'node:zlib';
import { trpcErrorEnvelopeSchema } from '@verifieddit/contracts';
import { describe, expect, it } from 'vitest';
import { expectRest, expectTrpc } from '../testing/error-answers.js';
import { useWiredApp } from '../testing/fixtures.js';
import { rawRequest, type RawResponse } from '../testing/raw-http.js';

/**
 * Each failure issue 9 found with generated hostile requests, reproduced one by one through a fully
 * wired app. Every answer is a 4xx in the documented shape with the request id.
 */
const fixture = useWiredApp();
const url = () => fixture.app.url;
const alice = { authorization: 'Bearer dev_alice' };
const json = { 'content-type': 'application/json' };

const checkoutInput = { plan: 'pro', successUrl: 'https://app.verifieddit.test/ok', cancelUrl: 'https://app.verifieddit.test/cancel' };

describe('a body whose Content-Encoding does not decode', () => {
  const garbage = Buffer.from('this is not gzip at all');

  it('is a 400 on tRPC, with the request id', async () => {
    const res = await rawRequest(url(), {
      method: 'POST',
      path: '/trpc/billing.createCheckoutSession',
      headers: { ...json, ...alice, 'content-encoding': 'gzip', 'x-request-id': 'enc-1' },
      body: garbage,
    });
    const error = expectTrpc(res, 400, 'BAD_REQUEST', 'enc-1');
    expect(error.message).toContain('Content-Encoding');
  });

  it('is a 400 on a REST alias and on an unknown route', async () => {
    const headers = { ...json, ...alice, 'content-encoding': 'deflate' };
    expectRest(await rawRequest(url(), { method: 'POST', path: '/create-checkout-session', headers, body: garbage }), 400, 'BAD_REQUEST');
    expectRest(await rawRequest(url(), { method: 'POST', path: '/nowhere', headers, body: garbage }), 400, 'BAD_REQUEST');
  });

  it('is a 415 when the encoding is not one we decode', async () => {
    const res = await rawRequest(url(), { method: 'POST', path: '/create-portal-session', headers: { ...json, ...alice, 'content-encoding': 'compress' }, body: 'x' });
    expectRest(res, 415, 'UNSUPPORTED_CONTENT_TYPE');
  });

  it('still works when it does decode', async () => {
    const res = await rawRequest(url(), {
      method: 'POST',
      path: '/trpc/billing.createCheckoutSession',
      headers: { ...json, ...alice, 'content-encoding': 'gzip' },
      body: gzipSync(JSON.stringify(checkoutInput)),
    });
    expect(res.status, res.text).toBe(200);
    expect(res.json.result.data.url).toContain('/local-billing/checkout/');
  });
});

describe('a form with more than 1,000 fields', () => {
  it('is a 413 on the local Pay page, not a 500', async () => {
    const created = await rawRequest(url(), { method: 'POST', path: '/create-checkout-session', headers: { ...json, 'authorization': 'Bearer dev_formfields' }, body: JSON.stringify(checkoutInput) });
    const checkout = new URL(created.json.url as string);
    const fields = Array.from({ length: 1_001 }, (_, i) => `f${i}=1`).join('&');
    const res = await rawRequest(url(), { method: 'POST', path: `${checkout.pathname}/pay`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: fields });
    expectRest(res, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('is a 415 on the API, which takes only JSON', async () => {
    const res = await rawRequest(url(), { method: 'POST', path: '/create-checkout-session', headers: { 'content-type': 'application/x-www-form-urlencoded', ...alice }, body: 'a=1&b=2' });
    expectRest(res, 415, 'UNSUPPORTED_CONTENT_TYPE');
  });
});

describe('a malformed percent-escape in the path', () => {
  it('is a 400 on a route with parameters', async () => {
    const res = await rawRequest(url(), { path: '/local-billing/checkout/%E0%A4%A', headers: { 'x-request-id': 'esc-1' } });
    expectRest(res, 400, 'BAD_REQUEST', 'esc-1');
  });

  it('is a 400 in the tRPC envelope under /trpc, with the request id', async () => {
    expectTrpc(await rawRequest(url(), { path: '/trpc/health%E0%A4%A', headers: { 'x-request-id': 'esc-2' } }), 400, 'BAD_REQUEST', 'esc-2');
    expectTrpc(await rawRequest(url(), { path: '/trpc/%', headers: { 'x-request-id': 'esc-3' } }), 400, 'BAD_REQUEST', 'esc-3');
  });
});

describe('JSON nested 10,000 levels deep', () => {
  const deep = '['.repeat(10_000) + ']'.repeat(10_000);
  const deepObject = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000);

  it('is refused with 400 before tRPC re-serialises it', async () => {
    const res = await rawRequest(url(), { method: 'POST', path: '/trpc/billing.createCheckoutSession', headers: { ...json, ...alice }, body: deepObject });
    const error = expectTrpc(res, 400, 'BAD_REQUEST');
    expect(error.message).toContain('nested deeper than 32 levels');
    expectTrpc(await rawRequest(url(), { method: 'POST', path: '/trpc/billing.createPortalSession,billing.createCheckoutSession?batch=1', headers: { ...json, ...alice }, body: deep }), 400, 'BAD_REQUEST');
  });

  it('is refused with 400 on the REST aliases', async () => {
    expectRest(await rawRequest(url(), { method: 'POST', path: '/create-checkout-session', headers: { ...json, ...alice }, body: deep }), 400, 'BAD_REQUEST');
  });

  it('does not count brackets inside strings', async () => {
    const res = await rawRequest(url(), {
      method: 'POST',
      path: '/trpc/billing.createCheckoutSession',
      headers: { ...json, authorization: 'Bearer dev_brackets' },
      body: JSON.stringify({ ...checkoutInput, successUrl: `https://app.verifieddit.test/ok?x=${'%5B'.repeat(5)}`, feature: undefined, note: '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\"{{{' }),
    });
    expect(res.status, res.text).toBe(200);
  });
});

describe('unsupported methods', () => {
  it.each(['/trpc/health', '/health', '/create-checkout-session', '/webhook', '/nowhere'])('TRACE %s is a 405 with Allow', async (path) => {
    const res = await rawRequest(url(), { method: 'TRACE', path, headers: { 'x-request-id': 'trace-1' } });
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD, POST, OPTIONS');
    if (path.startsWith('/trpc')) expectTrpc(res, 405, 'METHOD_NOT_ALLOWED', 'trace-1');
    else expectRest(res, 405, 'METHOD_NOT_ALLOWED', 'trace-1');
  });

  it('PUT, DELETE and made-up methods are 405 too', async () => {
    for (const method of ['PUT', 'DELETE', 'PATCH', 'PROPFIND']) {
      expectRest(await rawRequest(url(), { method, path: '/create-checkout-session' }), 405, 'METHOD_NOT_ALLOWED');
    }
  });
});

describe('tRPC errors raised before the context exists', () => {
  it('a text/plain mutation is 415 UNSUPPORTED_CONTENT_TYPE with the request id', async () => {
    const res = await rawRequest(url(), {
      method: 'POST',
      path: '/trpc/billing.createCheckoutSession',
      headers: { 'content-type': 'text/plain', ...alice, 'x-request-id': 'plain-1' },
      body: JSON.stringify(checkoutInput),
    });
    expectTrpc(res, 415, 'UNSUPPORTED_CONTENT_TYPE', 'plain-1');
  });

  it('a bodiless POST without a content type (refused by tRPC itself) has the code and the request id', async () => {
    const res = await rawRequest(url(), { method: 'POST', path: '/trpc/billing.createPortalSession', headers: { ...alice, 'x-request-id': 'noct-1' } });
    expectTrpc(res, 415, 'UNSUPPORTED_CONTENT_TYPE', 'noct-1');
  });

  it('a batch mixing queries and mutations is 400 BAD_REQUEST with the request id', async () => {
    const res = await rawRequest(url(), { path: '/trpc/health,billing.createPortalSession?batch=1&input=%7B%7D', headers: { 'x-request-id': 'batch-1' } });
    expectTrpc(res, 400, 'BAD_REQUEST', 'batch-1');
  });

  it('a batch whose input is not an object is 400 BAD_REQUEST per call, not INTERNAL', async () => {
    const res = await rawRequest(url(), {
      method: 'POST',
      path: '/trpc/billing.createPortalSession,billing.createCheckoutSession?batch=1',
      headers: { ...json, ...alice, 'x-request-id': 'batch-2' },
      body: '[1]',
    });
    expect(res.status).toBe(400);
    for (const item of res.json as unknown[]) expect(trpcErrorEnvelopeSchema.parse(item).error.data).toMatchObject({ code: 'BAD_REQUEST', requestId: 'batch-2' });
  });

  it('an empty chunked or compressed body is a 400, not a 500', async () => {
    // tRPC reads an empty JSON body as no input or as invalid JSON, depending on its version: both are 400s.
    const emptyIsRefused = (res: RawResponse) => {
      expect(res.status, res.text).toBe(400);
      expect(['BAD_REQUEST', 'VALIDATION_FAILED']).toContain(trpcErrorEnvelopeSchema.parse(res.json).error.data.code);
    };
    emptyIsRefused(await rawRequest(url(), { method: 'POST', path: '/trpc/billing.createPortalSession', headers: { ...json, ...alice, 'transfer-encoding': 'chunked' }, body: '' }));
    emptyIsRefused(await rawRequest(url(), { method: 'POST', path: '/trpc/billing.createPortalSession', headers: { ...json, ...alice, 'content-encoding': 'gzip' }, body: gzipSync('') }));
    const rest = await rawRequest(url(), { method: 'POST', path: '/create-portal-session', headers: { ...json, ...alice, 'transfer-encoding': 'chunked' }, body: '' });
    expectRest(rest, 400, 'VALIDATION_FAILED');
  });

  it('a body that is not JSON is a 400 BAD_REQUEST with a plain message', async () => {
    const res = await rawRequest(url(), { method: 'POST', path: '/trpc/billing.createPortalSession', headers: { ...json, ...alice, 'x-request-id': 'badjson-1' }, body: '{nope' });
    expect(expectTrpc(res, 400, 'BAD_REQUEST', 'badjson-1').message).toBe('Request body is not valid JSON');
  });
});
