import { EventEmitter } from 'node:events';
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { PNG_1X1 } from '../testing/images.js';
import { TEST_TLS_CERT, TEST_TLS_KEY } from '../testing/tls.js';
import { addressRefusal, type ResolvedAddress, type Resolver } from './address-policy.js';
import { fetchImage, type RequestFn } from './fetch-image.js';

const PUBLIC_V4 = '93.184.216.34';

/** DNS as the tests want it; an unknown name fails loudly (never a real lookup). */
function stubResolver(table: Record<string, string[]>): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const resolver = async (hostname: string): Promise<ResolvedAddress[]> => {
    calls.push(hostname);
    const addresses = table[hostname];
    if (!addresses) throw new Error(`unexpected lookup of ${hostname}`);
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(resolver, { calls });
}

/** A request function that must never be reached. */
function forbiddenRequest() {
  return vi.fn<RequestFn>(() => {
    throw new Error('a connection was attempted');
  });
}

/** Intercepts the connection: records what the pinned lookup answers, then fails without any socket. */
function interceptingRequest() {
  const seen: { host: unknown; servername: unknown; lookups: unknown[] }[] = [];
  const fn = vi.fn<RequestFn>((options) => {
    const lookups: unknown[] = [];
    const lookup = options.lookup as unknown as (h: string, o: object, cb: (...args: unknown[]) => void) => void;
    lookup(String(options.hostname), {}, (_err, address, family) => lookups.push({ address, family }));
    lookup(String(options.hostname), { all: true }, (_err, all) => lookups.push(all));
    seen.push({ host: options.headers && (options.headers as Record<string, unknown>).host, servername: options.servername, lookups });
    const fake = new EventEmitter() as EventEmitter & { end(): void; destroy(): void };
    fake.end = () => setImmediate(() => fake.emit('error', new Error('intercepted before connecting')));
    fake.destroy = () => {};
    return fake as unknown as http.ClientRequest;
  });
  return Object.assign(fn, { seen });
}


const dnsTable: Record<string, string[]> = {
  'public.example.com': [PUBLIC_V4],
  'internal.example.com': ['10.0.0.5'],
  'loopback.example.com': ['127.0.0.1'],
  'mixed.example.com': [PUBLIC_V4, '192.168.0.10'],
  'mixed-order.example.com': ['172.20.1.1', PUBLIC_V4],
  'metadata.example.com': ['169.254.169.254'],
  'cgnat.example.com': ['100.100.100.200'],
  'v6-ula.example.com': ['fd00::1'],
  'v6-loopback.example.com': ['::1'],
  'v6-mapped.example.com': ['::ffff:10.1.2.3'],
  'v6-nat64.example.com': ['64:ff9b::a00:1'],
  'v6-linklocal.example.com': ['fe80::1'],
  'zero.example.com': ['0.0.0.0'],
  'multicast.example.com': ['239.255.255.250'],
};

describe('fetchImage refuses hostile URLs before any connection', () => {
  const hostile: [string, string][] = [
    // literal IPv4 in every spelling WHATWG URL normalises
    ['loopback literal', 'http://127.0.0.1/a.png'],
    ['decimal loopback', 'http://2130706433/a.png'],
    ['octal loopback', 'http://0177.0.0.1/a.png'],
    ['hex short loopback', 'http://0x7f.1/a.png'],
    ['hex whole loopback', 'http://0x7f000001/a.png'],
    ['short loopback', 'http://127.1/a.png'],
    ['other loopback', 'http://127.8.9.10/a.png'],
    ['unspecified', 'http://0.0.0.0/a.png'],
    ['zero', 'http://0/a.png'],
    ['private 10/8', 'http://10.0.0.1/a.png'],
    ['private 172.16/12', 'http://172.16.5.4/a.png'],
    ['private 192.168/16 octal', 'http://0300.0250.0.1/a.png'],
    ['link-local metadata', 'http://169.254.169.254/latest/meta-data/'],
    ['CGNAT', 'http://100.64.0.1/a.png'],
    ['multicast', 'http://224.0.0.1/a.png'],
    ['broadcast', 'http://255.255.255.255/a.png'],
    ['reserved 240/4', 'http://240.0.0.1/a.png'],
    ['benchmarking 198.18/15', 'https://198.18.0.1/a.png'],
    // literal IPv6
    ['IPv6 loopback', 'http://[::1]/a.png'],
    ['IPv6 unspecified', 'http://[::]/a.png'],
    ['IPv4-mapped loopback', 'http://[::ffff:127.0.0.1]/a.png'],
    ['IPv4-mapped hex', 'http://[::ffff:7f00:1]/a.png'],
    ['IPv4-mapped private long form', 'http://[0:0:0:0:0:ffff:192.168.1.1]/a.png'],
    ['IPv4-compatible loopback', 'http://[::127.0.0.1]/a.png'],
    ['NAT64 metadata', 'http://[64:ff9b::a9fe:a9fe]/a.png'],
    ['6to4 of 192.168.1.1', 'http://[2002:c0a8:101::1]/a.png'],
    ['Teredo', 'http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/a.png'],
    ['IPv6 link-local', 'http://[fe80::1]/a.png'],
    ['IPv6 unique-local', 'http://[fd12:3456::1]/a.png'],
    ['IPv6 multicast', 'http://[ff02::1]/a.png'],
    ['IPv6 discard', 'http://[100::1]/a.png'],
    ['IPv6 documentation', 'http://[2001:db8::1]/a.png'],
    // names
    ['localhost', 'http://localhost/a.png'],
    ['localhost with trailing dot', 'http://localhost./a.png'],
    ['single-label intranet name', 'http://intranet/a.png'],
    ['name → private', 'http://internal.example.com/a.png'],
    ['name → loopback', 'http://loopback.example.com/a.png'],
    ['name → public + private', 'http://mixed.example.com/a.png'],
    ['name → private + public', 'http://mixed-order.example.com/a.png'],
    ['name → metadata', 'http://metadata.example.com/a.png'],
    ['name → CGNAT', 'http://cgnat.example.com/a.png'],
    ['name → IPv6 ULA', 'http://v6-ula.example.com/a.png'],
    ['name → IPv6 loopback', 'http://v6-loopback.example.com/a.png'],
    ['name → mapped private', 'http://v6-mapped.example.com/a.png'],
    ['name → NAT64', 'http://v6-nat64.example.com/a.png'],
    ['name → link-local v6', 'http://v6-linklocal.example.com/a.png'],
    ['name → 0.0.0.0', 'http://zero.example.com/a.png'],
    ['name → multicast', 'http://multicast.example.com/a.png'],
    // schemes, ports, credentials
    ['file scheme', 'file:///etc/passwd'],
    ['ftp scheme', 'ftp://public.example.com/a.png'],
    ['gopher scheme', 'gopher://public.example.com:70/_GET'],
    ['data URL', 'data:image/png;base64,iVBORw0KGgo='],
    ['non-standard port', 'http://public.example.com:6379/a.png'],
    ['https on 80 is fine but 8443 is not', 'https://public.example.com:8443/a.png'],
    ['ssh port', 'http://public.example.com:22/a.png'],
    ['credentials', 'http://user:pass@public.example.com/a.png'],
    ['not a URL', 'http//nope'],
  ];

  it('has at least 30 cases', () => expect(hostile.length).toBeGreaterThanOrEqual(30));

  it.each(hostile)('%s: %s → URL_NOT_ALLOWED, no connection', async (_name, url) => {
    const resolver = stubResolver(dnsTable);
    const request = forbiddenRequest();
    await expect(fetchImage(url, { resolver, request })).rejects.toMatchObject({ code: 'URL_NOT_ALLOWED' });
    expect(request).not.toHaveBeenCalled();
  });

  it('does not resolve literal addresses (no DNS traffic for IP literals)', async () => {
    const resolver = stubResolver({});
    const request = forbiddenRequest();
    for (const url of ['http://2130706433/', 'http://[::ffff:127.0.0.1]/', 'http://0x7f.1/']) {
      await expect(fetchImage(url, { resolver, request })).rejects.toMatchObject({ code: 'URL_NOT_ALLOWED' });
    }
    expect(resolver.calls).toEqual([]);
  });

  it('the loopback allowance is exactly 127.0.0.1, nothing else', () => {
    expect(addressRefusal('127.0.0.1', { allowLoopback: true })).toBeUndefined();
    expect(addressRefusal('127.0.0.2', { allowLoopback: true })).toBeDefined();
    expect(addressRefusal('::1', { allowLoopback: true })).toBeDefined();
    expect(addressRefusal('10.0.0.1', { allowLoopback: true })).toBeDefined();
    expect(addressRefusal('127.0.0.1')).toBeDefined();
    expect(addressRefusal(PUBLIC_V4)).toBeUndefined();
    expect(addressRefusal('2606:4700:4700::1111')).toBeUndefined();
  });
});

describe('pinning', () => {
  it('connects to exactly the checked address, resolving once, with the name kept for Host and TLS', async () => {
    let call = 0;
    // Rebinding: the first answer is public, every later answer private.
    const resolver: Resolver = async () => (call++ === 0 ? [{ address: PUBLIC_V4, family: 4 }] : [{ address: '127.0.0.1', family: 4 }]);
    const request = interceptingRequest();
    await expect(fetchImage('https://rebind.example.com/cat.png', { resolver, request })).rejects.toMatchObject({ code: 'FETCH_FAILED' });
    expect(call).toBe(1);
    expect(request).toHaveBeenCalledTimes(1);
    const options = request.mock.calls[0]![0];
    expect(options.hostname).toBe('rebind.example.com');
    expect(options.servername).toBe('rebind.example.com');
    expect(options.port).toBe(443);
    expect(request.seen[0]!.host).toBe('rebind.example.com');
    expect(request.seen[0]!.lookups).toEqual([{ address: PUBLIC_V4, family: 4 }, [{ address: PUBLIC_V4, family: 4 }]]);
  });

  it('pins IPv6 answers too', async () => {
    const resolver = stubResolver({ 'v6.example.com': ['2606:4700:4700::1111'] });
    const request = interceptingRequest();
    await fetchImage('http://v6.example.com/a.png', { resolver, request }).catch(() => undefined); // only the lookup matters
    expect(request.seen[0]!.lookups[0]).toEqual({ address: '2606:4700:4700::1111', family: 6 });
  });

  it('a connect that never completes is a FETCH_TIMEOUT', async () => {
    const resolver = stubResolver(dnsTable);
    const request = vi.fn<RequestFn>(() => {
      const fake = new EventEmitter() as EventEmitter & { end(): void; destroy(): void };
      fake.end = () => fake.emit('socket', Object.assign(new EventEmitter(), { connecting: true }));
      fake.destroy = () => {};
      return fake as unknown as http.ClientRequest;
    });
    const started = Date.now();
    await expect(fetchImage('http://public.example.com/a.png', { resolver, request, connectTimeoutMs: 50 })).rejects.toMatchObject({ code: 'FETCH_TIMEOUT' });
    expect(Date.now() - started).toBeLessThan(2_000);
  });
});

describe('fetchImage against a 127.0.0.1 server (loopback allowance)', () => {
  let server: http.Server;
  let base: string;
  let port: number;
  const hits: string[] = [];
  let abortedLargeStream = false;

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

  it('a Content-Length over the cap → IMAGE_TOO_LARGE at once', async () => {
    const started = Date.now();
    await expect(fetchImage(`${base}/big-declared`, allow)).rejects.toMatchObject({ code: 'IMAGE_TOO_LARGE' });
    expect(Date.now() - started).toBeLessThan(2_000);
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
