import type { ResolvedAddress, Resolver } from '../ai-detect/address-policy.js';

/** A public address (example.com's) for names the tests let through. */
export const PUBLIC_V4 = '93.184.216.34';

/** DNS as the tests want it; an unknown name fails loudly (never a real lookup). */
export function stubResolver(table: Record<string, string[]>): Resolver & { calls: string[] } {
  const calls: string[] = [];
  const resolver = async (hostname: string): Promise<ResolvedAddress[]> => {
    calls.push(hostname);
    const addresses = table[hostname];
    if (!addresses) throw new Error(`unexpected lookup of ${hostname}`);
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  return Object.assign(resolver, { calls });
}


/** Names that resolve to each kind of address the URL check must tell apart. */
export const dnsTable: Record<string, string[]> = {
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

