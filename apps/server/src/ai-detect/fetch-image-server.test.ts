import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { dnsTable, stubResolver } from '../testing/dns-stub.js';
import { PNG_1X1 } from '../testing/images.js';
import { TEST_TLS_CERT, TEST_TLS_KEY } from '../testing/tls.js';
import { fetchImage, type RequestFn } from './fetch-image.js';

/** fetchImage against real local HTTP and HTTPS servers: what it downloads, refuses and how it pins. */
describe('fetchImage against a 127.0.0.1 server (loopback allowance)', () => {
  let server: http.Server;
  let base: string;
  let port: number;
  const hits: string[] = [];
  let abortedLargeStream = false;
  let bigDeclaredClosed = false;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      hits.push(req.url ?? '');
      const url = new URL(req.url ?? '/', 'http://x');
      switch (url.pathname) {
        case '/cat.png':
          res.setHeader('content-type', 'application/octet-stream'); // the header is not trusted
          res.end(PNG_1X1);
          return;
        case '/host-echo.png':
          if (req.headers.host !== `images.example.com:${port}`) {
            res.statusCode = 400;
            res.end('wrong host');
            return;
          }
          res.end(PNG_1X1);
          return;
        case '/page.html':
          res.setHeader('content-type', 'image/png'); // lies: it is HTML
          res.end('<!doctype html><html><body>not an image</body></html>');
          return;
        case '/big-declared':
          res.setHeader('content-length', String(11 * 1024 * 1024));
          res.write(PNG_1X1);
          res.on('close', () => (bigDeclaredClosed = true));
          return; // never finishes: the client must give up on the header alone
        case '/big-stream': {
          // chunked, no Content-Length: the cap must be enforced while streaming
          res.write(PNG_1X1);
          const chunk = Buffer.alloc(256 * 1024);
          let sent = 0;
          const pump = () => {
            if (res.destroyed || sent > 64 * 1024 * 1024) {
              abortedLargeStream = sent <= 64 * 1024 * 1024;
              res.end();
              return;
            }
            sent += chunk.length;
            if (res.write(chunk)) setImmediate(pump);
            else res.once('drain', pump);
          };
          res.on('close', () => {
            if (sent <= 64 * 1024 * 1024) abortedLargeStream = true;
          });
          pump();
          return;
        }
        case '/slow':
          res.write(PNG_1X1.subarray(0, 8));
          return; // hangs
        case '/error':
          res.statusCode = 500;
          res.end('boom');
          return;
        case '/redirect': {
          const to = url.searchParams.get('to')!;
          res.statusCode = 302;
          res.setHeader('location', to);
          res.end();
          return;
        }
        case '/chain': {
          const n = Number(url.searchParams.get('n'));
          res.statusCode = 301;
          res.setHeader('location', n > 0 ? `/chain?n=${n - 1}` : '/cat.png');
          res.end();
          return;
        }
        default:
          res.statusCode = 404;
          res.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
    base = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const allow = { allowLoopback: true, resolver: stubResolver({ ...dnsTable, 'images.example.com': ['127.0.0.1'] }) };

  it('downloads and sniffs an image (the Content-Type header is ignored)', async () => {
    const image = await fetchImage(`${base}/cat.png`, allow);
    expect(image.mimeType).toBe('image/png');
    expect(image.bytes.equals(PNG_1X1)).toBe(true);
  });

  it('connects by the pinned address with the original Host header', async () => {
    const image = await fetchImage(`http://images.example.com:${port}/host-echo.png`, allow);
    expect(image.mimeType).toBe('image/png');
  });

  it('without the allowance the same server is refused', async () => {
    await expect(fetchImage(`${base}/cat.png`, { resolver: allow.resolver })).rejects.toMatchObject({ code: 'URL_NOT_ALLOWED' });
  });

  it('HTML served as image/png → UNSUPPORTED_MEDIA', async () => {
    await expect(fetchImage(`${base}/page.html`, allow)).rejects.toMatchObject({ code: 'UNSUPPORTED_MEDIA' });
  });

  it('a Content-Length over the cap → IMAGE_TOO_LARGE on the header alone, and the client hangs up', async () => {
    // The server sends 67 bytes of the 11 MB it declares and never ends: neither the byte count while
    // streaming nor the end of the body can be what refuses it, and the total timer is out of reach.
    await expect(fetchImage(`${base}/big-declared`, { ...allow, totalTimeoutMs: 600_000 })).rejects.toMatchObject({ code: 'IMAGE_TOO_LARGE' });
    await vi.waitFor(() => expect(bigDeclaredClosed).toBe(true));
  });

  it('a stream over the cap → IMAGE_TOO_LARGE, aborted early', async () => {
    await expect(fetchImage(`${base}/big-stream`, { ...allow, maxBytes: 1024 * 1024 })).rejects.toMatchObject({ code: 'IMAGE_TOO_LARGE' });
    await vi.waitFor(() => expect(abortedLargeStream).toBe(true));
  });

  it('a body that never finishes → FETCH_TIMEOUT', async () => {
    await expect(fetchImage(`${base}/slow`, { ...allow, totalTimeoutMs: 200 })).rejects.toMatchObject({ code: 'FETCH_TIMEOUT' });
  });

  it('an upstream 500 → FETCH_FAILED', async () => {
    await expect(fetchImage(`${base}/error`, allow)).rejects.toMatchObject({ code: 'FETCH_FAILED' });
  });

  it('follows up to 3 redirects, not 4', async () => {
    expect((await fetchImage(`${base}/chain?n=2`, allow)).mimeType).toBe('image/png'); // 3 redirects
    await expect(fetchImage(`${base}/chain?n=3`, allow)).rejects.toMatchObject({ code: 'FETCH_FAILED' }); // 4 redirects
  });

  it.each([
    ['private literal', 'http://10.0.0.1/x.png'],
    ['other loopback', 'http://127.0.0.2/x.png'],
    ['metadata', 'http://169.254.169.254/latest/meta-data/'],
    ['decimal loopback other port', 'http://2130706434/x.png'],
    ['mapped IPv6', 'http://[::ffff:10.0.0.1]/x.png'],
    ['name → private', 'http://internal.example.com/x.png'],
    ['file scheme', 'file:///etc/passwd'],
  ])('a redirect to %s is refused before connecting there', async (_name, target) => {
    const connected: unknown[] = [];
    const request: RequestFn = (options, onResponse) => {
      connected.push(options.hostname);
      if (options.hostname !== '127.0.0.1') throw new Error(`connection attempted to ${String(options.hostname)}`);
      return http.request(options, onResponse);
    };
    const url = `${base}/redirect?to=${encodeURIComponent(target)}`;
    await expect(fetchImage(url, { ...allow, request })).rejects.toMatchObject({ code: 'URL_NOT_ALLOWED' });
    expect(connected).toEqual(['127.0.0.1']);
  });
});

describe('fetchImage over HTTPS to a pinned address', () => {
  let server: https.Server;
  let port: number;
  const sni: (string | undefined)[] = [];
  beforeAll(async () => {
    server = https.createServer({ cert: TEST_TLS_CERT, key: TEST_TLS_KEY }, (_req, res) => res.end(PNG_1X1));
    server.on('secureConnection', (socket) => sni.push((socket as unknown as { servername?: string }).servername));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('connects to the checked address while TLS verifies the certificate by name (SNI sent)', async () => {
    const resolver = stubResolver({ 'images.example.com': ['127.0.0.1'] });
    const image = await fetchImage(`https://images.example.com:${port}/cat.png`, { resolver, allowLoopback: true, ca: TEST_TLS_CERT });
    expect(image.mimeType).toBe('image/png');
    expect(sni).toContain('images.example.com');
    expect(resolver.calls).toEqual(['images.example.com']);
  });

  it('a certificate for another name fails (the pinned address does not bypass verification)', async () => {
    const resolver = stubResolver({ 'other.example.com': ['127.0.0.1'] });
    await expect(fetchImage(`https://other.example.com:${port}/cat.png`, { resolver, allowLoopback: true, ca: TEST_TLS_CERT })).rejects.toMatchObject({ code: 'FETCH_FAILED' });
  });
});
