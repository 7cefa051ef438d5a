import { gzipSync } from 'node:zlib';
import { errorBodySchema } from '@verifieddit/contracts';
import { describe, expect, it } from 'vitest';
import { expectRest, expectTrpc } from '../testing/error-answers.js';
import { useWiredApp } from '../testing/fixtures.js';
import { rawRequest, streamUntilAnswered } from '../testing/raw-http.js';

/**
 * Body limits through a fully wired app (issue 9): 1 MB everywhere, 14 MB on the image-upload routes,
 * whatever the transfer encoding, compression or content type; every answer in the documented shape.
 */
const fixture = useWiredApp();
const url = () => fixture.app.url;
const alice = { authorization: 'Bearer dev_alice' };
const json = { 'content-type': 'application/json' };

describe('the 1 MB limit cannot be bypassed', () => {
  it('a streamed 30 MB multipart body to a tRPC mutation is refused before it is read, and the connection closed', async () => {
    const res = await streamUntilAnswered(url(), {
      path: '/trpc/billing.createCheckoutSession',
      headers: { 'content-type': 'multipart/form-data; boundary=x', ...alice },
      totalBytes: 30 * 1024 * 1024,
    });
    expectTrpc(res, 415, 'UNSUPPORTED_CONTENT_TYPE');
    expect(res.bytesWritten).toBeLessThan(4 * 1024 * 1024);
    expect(res.connectionClosed).toBe(true);
  });

  it('an application/octet-stream body is refused the same way', async () => {
    const res = await streamUntilAnswered(url(), { path: '/trpc/aiDetect.check', headers: { 'content-type': 'application/octet-stream', ...alice }, totalBytes: 30 * 1024 * 1024 });
    expectTrpc(res, 415, 'UNSUPPORTED_CONTENT_TYPE');
    expect(res.bytesWritten).toBeLessThan(4 * 1024 * 1024);
  });

  it('a declared 30 MB JSON body is a 413 at once', async () => {
    const res = await streamUntilAnswered(url(), {
      path: '/create-checkout-session',
      headers: { ...json, ...alice, 'content-length': String(30 * 1024 * 1024) },
      totalBytes: 30 * 1024 * 1024,
    });
    expectRest(res, 413, 'PAYLOAD_TOO_LARGE');
    expect(res.bytesWritten).toBeLessThan(4 * 1024 * 1024);
    expect(res.connectionClosed).toBe(true);
  });

  it('a chunked JSON body is cut off once it passes 1 MB', async () => {
    const res = await streamUntilAnswered(url(), { path: '/trpc/billing.createCheckoutSession', headers: { ...json, ...alice }, totalBytes: 30 * 1024 * 1024 });
    expectTrpc(res, 413, 'PAYLOAD_TOO_LARGE');
    expect(res.bytesWritten).toBeLessThan(6 * 1024 * 1024);
    expect(res.connectionClosed).toBe(true);
  });

  it('decompressed bytes count: 16 MB of gzip zeros (16 KB on the wire) is a 413', async () => {
    const bomb = gzipSync(Buffer.alloc(16 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(100 * 1024);
    const res = await rawRequest(url(), { method: 'POST', path: '/trpc/billing.createCheckoutSession', headers: { ...json, ...alice, 'content-encoding': 'gzip' }, body: bomb });
    expectTrpc(res, 413, 'PAYLOAD_TOO_LARGE');
    const rest = await rawRequest(url(), { method: 'POST', path: '/ai-detect', headers: { ...json, ...alice, 'content-encoding': 'gzip' }, body: bomb });
    expectRest(rest, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('the image-upload routes take up to 14 MB, every other route 1 MB', async () => {
    const twoMb = JSON.stringify({ image: 'A'.repeat(2 * 1024 * 1024), mimeType: 'image/png' });
    const upload = await rawRequest(url(), { method: 'POST', path: '/trpc/aiDetect.check', headers: { ...json, ...alice }, body: twoMb });
    expect(upload.status, upload.text).not.toBe(413);
    expect(upload.status, upload.text).toBeLessThan(500);
    expectTrpc(await rawRequest(url(), { method: 'POST', path: '/trpc/billing.createPortalSession', headers: { ...json, ...alice }, body: twoMb }), 413, 'PAYLOAD_TOO_LARGE');
    expectRest(await rawRequest(url(), { method: 'POST', path: '/create-portal-session', headers: { ...json, ...alice }, body: twoMb }), 413, 'PAYLOAD_TOO_LARGE');
    const fifteen = await streamUntilAnswered(url(), { path: '/ai-detect', headers: { ...json, ...alice }, totalBytes: 15 * 1024 * 1024 });
    expectRest(fifteen, 413, 'PAYLOAD_TOO_LARGE');
  });

  it('the webhook keeps reading its own raw body, with its own 1 MB limit', async () => {
    const declared = await streamUntilAnswered(url(), { path: '/webhook', headers: { ...json, 'content-length': String(2 * 1024 * 1024) }, totalBytes: 2 * 1024 * 1024 });
    expectRest(declared, 413, 'PAYLOAD_TOO_LARGE');
    const unsigned = await rawRequest(url(), { method: 'POST', path: '/webhook', headers: json, body: '{}' });
    // This app has no STRIPE_WEBHOOK_SECRET: a body within the limit reaches the route, which says so.
    expectRest(unsigned, 503, 'NOT_READY');
    expect(errorBodySchema.parse(unsigned.json).error.requestId).toBe(unsigned.headers['x-request-id']);
  });
});

describe('misleading validation answers', () => {
  it('a JSON null body is a validation error, not "not valid JSON"', async () => {
    const res = await rawRequest(url(), { method: 'POST', path: '/create-portal-session', headers: { ...json, ...alice }, body: 'null' });
    const error = expectRest(res, 400, 'VALIDATION_FAILED');
    expect(error.message).toMatch(/^Invalid request: \(body\): /);
  });
});
