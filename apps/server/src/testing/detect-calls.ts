import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll } from 'vitest';
import { pngVariant } from './images.js';
import { startSightengineDouble, type SightengineDouble } from './sightengine-double.js';

/**
 * What the idempotency-key tests of `aiDetect.check` share: the Sightengine double with an image server
 * that counts its fetches, and the callers' ways in (REST with the `Idempotency-Key` header, tRPC with
 * `idempotencyKey`) with what an account was charged.
 */

/** An upload's input, its bytes a PNG made from `seed`. */
export const image = (seed: string) => ({ image: pngVariant(seed).toString('base64'), mimeType: 'image/png' });

export type Answer = { status: number; replayed: string | null; body: Record<string, any> };
export type Wired = { app: { url: string } };

/** The Sightengine double, and an image server on 127.0.0.1 that counts its fetches (every path is a PNG). */
export function useSightengine() {
  const s = { fetches: 0 } as { double: SightengineDouble; images: Server; imagesUrl: string; fetches: number };
  beforeAll(async () => {
    s.double = await startSightengineDouble();
    s.images = createServer((req, res) => {
      s.fetches++;
      res.writeHead(200, { 'content-type': 'image/png' }).end(pngVariant(`served:${req.url}`));
    });
    await new Promise<void>((resolve) => s.images.listen(0, '127.0.0.1', resolve));
    s.imagesUrl = `http://127.0.0.1:${(s.images.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await s.double.close();
    await new Promise((resolve) => s.images.close(resolve));
  });
  const env = () => ({
    AI_DETECT_FETCH_ALLOW_LOOPBACK: 'true',
    SIGHTENGINE_API_USER: s.double.apiUser,
    SIGHTENGINE_API_SECRET: s.double.apiSecret,
    SIGHTENGINE_BASE_URL: s.double.baseUrl,
    AI_DETECT_RATE_BURST: '50',
    AI_DETECT_RATE_PER_MINUTE: '600',
  });
  return Object.assign(s, { env });
}

/** The callers' ways in, and what an account was charged (the quota it used, its ledger rows). */
export function callsOn(wired: Wired, ledgerRows: (user: string) => Promise<number>) {
  const send = async (path: string, user: string, body: unknown, headers: Record<string, string> = {}): Promise<Answer> => {
    const res = await fetch(`${wired.app.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer dev_${user}`, ...headers },
      body: JSON.stringify(body),
    });
    return { status: res.status, replayed: res.headers.get('idempotent-replayed'), body: (await res.json()) as Record<string, any> };
  };
  return {
    rest: (user: string, body: unknown, key?: string) => send('/ai-detect', user, body, key === undefined ? {} : { 'idempotency-key': key }),
    trpc: (user: string, body: unknown) => send('/trpc/aiDetect.check', user, body),
    async charged(user: string) {
      const res = await fetch(`${wired.app.url}/trpc/aiDetect.usage`, { headers: { authorization: `Bearer dev_${user}` } });
      const { used } = ((await res.json()) as { result: { data: { used: number } } }).result.data;
      return { used, ledger: await ledgerRows(user) };
    },
  };
}
