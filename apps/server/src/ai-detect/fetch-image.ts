import { promises as dns } from 'node:dns';
import * as http from 'node:http';
import * as https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { MAX_IMAGE_BYTES, SUPPORTED_IMAGE_TYPES } from '@verifieddit/contracts';
import ipaddr from 'ipaddr.js';
import { AppError } from '../errors.js';

/**
 * SSRF-safe image fetching.
 *
 * Every hop (the URL and each redirect) goes through the same gate: http/https only, a standard port,
 * no credentials, the host resolved once and EVERY address checked (only globally routable unicast
 * passes), and the connection pinned to the checked address through the request's `lookup` option, so
 * nothing resolves the name a second time (DNS rebinding cannot slip a private address in between).
 * The body is streamed under a byte cap and sniffed by its magic bytes.
 */

export type SupportedImageType = (typeof SUPPORTED_IMAGE_TYPES)[number];

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address it has (default: `dns.promises.lookup(host, { all: true })`). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

/** Opens the HTTP(S) request; injectable so tests can prove no connection is attempted. */
export type RequestFn = (options: https.RequestOptions, onResponse: (response: http.IncomingMessage) => void) => http.ClientRequest;

export interface FetchImageOptions {
  resolver?: Resolver;
  /** Defaults to node:http / node:https `request` chosen by the URL's scheme. */
  request?: RequestFn;
  /** Test-only: lets 127.0.0.1 through (any port). The config refuses it in production. */
  allowLoopback?: boolean;
  /** Ports allowed besides the scheme's standard port (80 for http, 443 for https). */
  allowedPorts?: readonly number[];
  maxBytes?: number;
  maxRedirects?: number;
  connectTimeoutMs?: number;
  totalTimeoutMs?: number;
  /** Extra trust anchors for HTTPS (tests: a self-signed certificate). */
  ca?: string | Buffer;
}

export interface FetchedImage {
  bytes: Buffer;
  mimeType: SupportedImageType;
  /** The URL the bytes finally came from (after redirects). */
  finalUrl: string;
}

const defaultResolver: Resolver = async (hostname) => {
  const addresses = await dns.lookup(hostname, { all: true, verbatim: true });
  return addresses.map((entry) => ({ address: entry.address, family: entry.family === 6 ? 6 : 4 }));
};

const defaultRequest: RequestFn = (options, onResponse) =>
  (options.protocol === 'https:' ? https.request : http.request)(options, onResponse);

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');

/**
 * Why an address must not be connected to, or undefined when it is a public unicast address.
 * IPv4-mapped IPv6 is judged as the IPv4 address it carries; IPv4-compatible (::a.b.c.d), NAT64
 * (64:ff9b::/96, 64:ff9b:1::/48), 6to4, Teredo and everything outside 2000::/3 are refused outright:
 * they can tunnel to private IPv4 space and no image host needs them.
 */
export function addressRefusal(address: string, options: { allowLoopback?: boolean } = {}): string | undefined {
  if (!ipaddr.isValid(address)) return 'not an IP address';
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6') {
    const v6 = parsed as ipaddr.IPv6;
    if (v6.isIPv4MappedAddress()) parsed = v6.toIPv4Address();
    else {
      const range = v6.range();
      if (range !== 'unicast') return `IPv6 ${range}`;
      if (!v6.match(GLOBAL_UNICAST_V6)) return 'IPv6 outside global unicast (2000::/3)';
      return undefined;
    }
  }
  const v4 = parsed as ipaddr.IPv4;
  if (options.allowLoopback && v4.toString() === '127.0.0.1') return undefined;
  const range = v4.range();
  return range === 'unicast' ? undefined : `IPv4 ${range}`;
}

function refuse(message: string, details?: Record<string, unknown>): AppError {
  return new AppError('URL_NOT_ALLOWED', message, details ? { details } : {});
}

/** The URL and its pinned address, once every check has passed. */
interface CheckedTarget {
  url: URL;
  hostname: string;
  port: number;
  pinned: ResolvedAddress;
}

/** Validates one hop; resolves the host (unless it is a literal) and checks every address. Never connects. */
async function checkTarget(
  raw: string | URL,
  options: Pick<FetchImageOptions, 'resolver' | 'allowLoopback' | 'allowedPorts'> = {},
): Promise<CheckedTarget> {
  let url: URL;
  try {
    url = typeof raw === 'string' ? new URL(raw) : raw;
  } catch {
    throw refuse('not a valid URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refuse(`scheme ${url.protocol} is not allowed`);
  if (url.username || url.password) throw refuse('URLs with credentials are not allowed');
  // WHATWG parsing already normalised decimal/octal/hex/short IPv4 forms to dotted quads.
  const hostname = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  if (!hostname) throw refuse('URL has no host');
  const standard = url.protocol === 'https:' ? 443 : 80;
  const port = url.port ? Number(url.port) : standard;

  let addresses: ResolvedAddress[];
  if (isIP(hostname)) {
    addresses = [{ address: hostname, family: isIP(hostname) === 6 ? 6 : 4 }];
  } else {
    // `localhost`, `metadata`, `intranet`…: single-label names only ever mean something internal.
    if (!hostname.replace(/\.$/, '').includes('.')) throw refuse('single-label host names are not allowed');
    try {
      addresses = await (options.resolver ?? defaultResolver)(hostname);
    } catch (error) {
      throw new AppError('FETCH_FAILED', `could not resolve ${hostname}`, { cause: error });
    }
    if (!addresses.length) throw new AppError('FETCH_FAILED', `${hostname} has no address`);
  }
  for (const entry of addresses) {
    const why = addressRefusal(entry.address, options);
    if (why) throw refuse(`${url.host} resolves to a non-public address (${why})`, { reason: why });
  }
  const loopbackOnly = options.allowLoopback && addresses.every((entry) => entry.address === '127.0.0.1');
  if (port !== standard && !loopbackOnly && !(options.allowedPorts ?? []).includes(port)) {
    throw refuse(`port ${port} is not allowed`);
  }
  return { url, hostname, port, pinned: addresses[0]! };
}

/** A `lookup` that answers with the already-checked address: no second DNS query, no rebinding. */
function pinnedLookup(pinned: ResolvedAddress): LookupFunction {
  return ((_hostname: string, options: { all?: boolean } | number | undefined, callback: (...args: unknown[]) => void) => {
    const all = typeof options === 'object' && options !== null && options.all;
    if (all) callback(null, [{ address: pinned.address, family: pinned.family }]);
    else callback(null, pinned.address, pinned.family);
  }) as unknown as LookupFunction;
}

export async function fetchImage(rawUrl: string, options: FetchImageOptions = {}): Promise<FetchedImage> {
  const maxBytes = options.maxBytes ?? MAX_IMAGE_BYTES;
  const maxRedirects = options.maxRedirects ?? 3;
  const deadline = Date.now() + (options.totalTimeoutMs ?? 15_000);
  let current: string | URL = rawUrl;
  for (let hop = 0; ; hop++) {
    const target = await checkTarget(current, options);
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw new AppError('FETCH_TIMEOUT', 'fetching the image took too long');
    const outcome = await fetchOnce(target, { ...options, maxBytes, totalTimeoutMs: remaining });
    if (outcome.kind === 'redirect') {
      if (hop >= maxRedirects) throw new AppError('FETCH_FAILED', `more than ${maxRedirects} redirects`);
      try {
        current = new URL(outcome.location, target.url);
      } catch {
        throw new AppError('FETCH_FAILED', 'redirect to an invalid URL');
      }
      continue;
    }
    const mimeType = await sniffImageType(outcome.bytes);
    if (!mimeType) throw new AppError('UNSUPPORTED_MEDIA', 'the URL does not point at a supported image');
    return { bytes: outcome.bytes, mimeType, finalUrl: target.url.toString() };
  }
}

/** The image type from the magic bytes, or undefined if it is not one Sightengine accepts. */
let fileType: Promise<typeof import('file-type')> | undefined;
export async function sniffImageType(bytes: Uint8Array): Promise<SupportedImageType | undefined> {
  const { fileTypeFromBuffer } = await (fileType ??= import('file-type'));
  const type = await fileTypeFromBuffer(bytes);
  return type && (SUPPORTED_IMAGE_TYPES as readonly string[]).includes(type.mime) ? (type.mime as SupportedImageType) : undefined;
}

type HopOutcome = { kind: 'redirect'; location: string } | { kind: 'body'; bytes: Buffer };

function fetchOnce(target: CheckedTarget, options: FetchImageOptions & { maxBytes: number; totalTimeoutMs: number }): Promise<HopOutcome> {
  const request = options.request ?? defaultRequest;
  const connectTimeoutMs = options.connectTimeoutMs ?? 5_000;
  return new Promise<HopOutcome>((resolve, reject) => {
    let settled = false;
    let req: http.ClientRequest | undefined;
    const timers: NodeJS.Timeout[] = [];
    const finish = (error: AppError | undefined, value?: HopOutcome) => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      if (error) {
        req?.destroy();
        reject(error);
      } else resolve(value!);
    };
    timers.push(setTimeout(() => finish(new AppError('FETCH_TIMEOUT', 'fetching the image took too long')), options.totalTimeoutMs));
    const connectTimer = setTimeout(() => finish(new AppError('FETCH_TIMEOUT', 'connecting to the image host took too long')), connectTimeoutMs);
    timers.push(connectTimer);

    const { url, hostname, port, pinned } = target;
    try {
      req = request(
        {
          protocol: url.protocol,
          host: hostname,
          hostname,
          port,
          path: `${url.pathname}${url.search}`,
          method: 'GET',
          // The name stays the URL's host (Host header, TLS SNI and certificate check); only the
          // address comes from the pinned lookup.
          servername: isIP(hostname) ? undefined : hostname,
          lookup: pinnedLookup(pinned),
          family: pinned.family,
          agent: false,
          ...(options.ca ? { ca: options.ca } : {}),
          headers: { host: url.host, accept: 'image/*', 'user-agent': 'verifieddit-image-fetch/1' },
        },
        (response) => {
          const status = response.statusCode ?? 0;
          if (REDIRECT_STATUSES.has(status)) {
            const location = response.headers.location;
            response.resume();
            if (!location) return finish(new AppError('FETCH_FAILED', `redirect (${status}) without a Location`));
            return finish(undefined, { kind: 'redirect', location });
          }
          if (status < 200 || status >= 300) {
            response.resume();
            return finish(new AppError('FETCH_FAILED', `the image host answered ${status}`, { details: { status } }));
          }
          const declared = Number(response.headers['content-length']);
          if (Number.isFinite(declared) && declared > options.maxBytes) {
            return finish(new AppError('IMAGE_TOO_LARGE', `the image is larger than ${options.maxBytes} bytes`));
          }
          const chunks: Buffer[] = [];
          let total = 0;
          response.on('data', (chunk: Buffer) => {
            total += chunk.length;
            if (total > options.maxBytes) {
              finish(new AppError('IMAGE_TOO_LARGE', `the image is larger than ${options.maxBytes} bytes`));
              return;
            }
            chunks.push(chunk);
          });
          response.on('end', () => finish(undefined, { kind: 'body', bytes: Buffer.concat(chunks, total) }));
          response.on('error', (error) => finish(new AppError('FETCH_FAILED', 'the image download failed', { cause: error })));
          response.on('aborted', () => finish(new AppError('FETCH_FAILED', 'the image download was cut off')));
        },
      );
    } catch (error) {
      return finish(new AppError('FETCH_FAILED', 'could not start the image request', { cause: error }));
    }
    req.on('socket', (socket) => {
      if (!socket.connecting) clearTimeout(connectTimer);
      else socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
    });
    req.on('error', (error) => finish(new AppError('FETCH_FAILED', 'could not fetch the image', { cause: error })));
    req.end();
  });
}
