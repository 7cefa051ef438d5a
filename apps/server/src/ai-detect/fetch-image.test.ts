import { EventEmitter } from 'node:events';
import * as http from 'node:http';
import { describe, expect, it, vi } from 'vitest';
import { dnsTable, PUBLIC_V4, stubResolver } from '../testing/dns-stub.js';
import { addressRefusal, type Resolver } from './address-policy.js';
import { fetchImage, type RequestFn } from './fetch-image.js';

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

  it('a connect that never completes is a FETCH_TIMEOUT from the connect timer, and the request is destroyed', async () => {
    const resolver = stubResolver(dnsTable);
    let destroyed = 0;
    const request = vi.fn<RequestFn>(() => {
      const fake = new EventEmitter() as EventEmitter & { end(): void; destroy(): void };
      fake.end = () => fake.emit('socket', Object.assign(new EventEmitter(), { connecting: true }));
      fake.destroy = () => void destroyed++;
      return fake as unknown as http.ClientRequest;
    });
    // The whole-fetch budget is far beyond the test's own timeout: only the connect timer can answer.
    await expect(fetchImage('http://public.example.com/a.png', { resolver, request, connectTimeoutMs: 50, totalTimeoutMs: 600_000 })).rejects.toMatchObject({
      code: 'FETCH_TIMEOUT',
      message: 'connecting to the image host took too long',
    });
    expect(request).toHaveBeenCalledTimes(1);
    expect(destroyed).toBe(1);
  });
});
