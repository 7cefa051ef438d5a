import { promises as dns } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';
import { AppError } from '../errors.js';

/**
 * The address policy of the image fetcher (fetch-image.ts), for every hop: http/https only, a standard
 * port, no credentials, the host resolved once and EVERY address checked (only globally routable
 * unicast passes), and the connection pinned to the checked address so nothing resolves the name a
 * second time (DNS rebinding cannot slip a private address in between).
 */

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** Resolves a host name to every address it has (default: `dns.promises.lookup(host, { all: true })`). */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

/** Which targets a fetch may reach. */
export interface TargetPolicy {
  resolver?: Resolver;
  /** Test-only: lets 127.0.0.1 through (any port). The config refuses it in production. */
  allowLoopback?: boolean;
  /** Ports allowed besides the scheme's standard port (80 for http, 443 for https). */
  allowedPorts?: readonly number[];
}

const defaultResolver: Resolver = async (hostname) => {
  const addresses = await dns.lookup(hostname, { all: true, verbatim: true });
  return addresses.map((entry) => ({ address: entry.address, family: entry.family === 6 ? 6 : 4 }));
};

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
export interface CheckedTarget {
  url: URL;
  hostname: string;
  port: number;
  pinned: ResolvedAddress;
}

/** Validates one hop; resolves the host (unless it is a literal) and checks every address. Never connects. */
export async function checkTarget(
  raw: string | URL,
  options: TargetPolicy = {},
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
export function pinnedLookup(pinned: ResolvedAddress): LookupFunction {
  return ((_hostname: string, options: { all?: boolean } | number | undefined, callback: (...args: unknown[]) => void) => {
    const all = typeof options === 'object' && options !== null && options.all;
    if (all) callback(null, [{ address: pinned.address, family: pinned.family }]);
    else callback(null, pinned.address, pinned.family);
  }) as unknown as LookupFunction;
}
