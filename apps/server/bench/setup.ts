// What both the bench and the profiler need: the built bundles, a seeded store, signed webhook
// deliveries, a Clerk-shaped token, and the env the server runs with.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import Stripe from 'stripe';
import { build } from 'tsup';
import { StoreCatalog } from '../src/billing/catalog.js';
import type { Store } from '../src/store/ports.js';
import { migrate, openStore } from '../src/store/store.js';
import { createTestIssuer } from '../src/testing/clerk.js';
import { pngVariant } from '../src/testing/images.js';
import { startStripeDouble, type StripeDouble } from '../src/testing/stripe-double.js';
import { stripeEvent } from '../src/testing/stripe-events.js';
import type { Attempt } from './lib.js';

export const here = fileURLToPath(new URL('.', import.meta.url));
export const serverBundle = join(here, '../dist/index.js');
export const bunBinary = join(here, '../node_modules/bun/bin/bun.exe');
export const WEBHOOK_SECRET = 'whsec_benchmarkSigningSecret';
export const AUTHORIZED_PARTY = 'https://app.verifieddit.test';

/** Bundles bench/baseline.ts the way the server is bundled (one ESM file, every dependency inside). */
export async function buildBaseline(outDir: string): Promise<string> {
  await build({
    entry: { baseline: join(here, 'baseline.ts') }, outDir, format: ['esm'], platform: 'node', target: 'node20',
    noExternal: [/.*/], silent: true, config: false, splitting: false,
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  });
  return join(outDir, 'baseline.js');
}

export type StoreKind = 'pglite' | 'postgres';

export interface BenchStore {
  kind: StoreKind;
  /** Env that points the server at this store. */
  env: Record<string, string>;
  /** PGlite only: the database folder inside DATA_DIR (the floor row opens it directly). */
  pgliteDir?: string;
  /** Opens it from the bench process (PGlite: only while no server holds the folder). */
  open(): Promise<Store>;
  dispose(): Promise<void>;
}

const BENCH_CATALOG = {
  plans: [
    { id: 'free', name: 'Free', features: [], prices: [], quotas: { aiDetectionsPerMonth: 1_000_000_000 } },
    { id: 'pro', name: 'Pro', features: ['ai-detect'], prices: [{ lookupKey: 'pro_monthly', currency: 'usd', amount: 900, interval: 'month' }], quotas: { aiDetectionsPerMonth: 1_000_000_000 } },
  ],
  meters: [{ eventName: 'ai_detection', displayName: 'AI detections', aggregation: 'sum' }],
};

/** A migrated store with a catalog whose quotas the bench cannot exhaust. */
export async function prepareStore(kind: StoreKind, scratch: string): Promise<BenchStore> {
  if (kind === 'pglite') {
    const dataDir = join(scratch, 'data');
    const open = () => openStore({ dataDir });
    const store = await open();
    await migrate(store);
    await new StoreCatalog(store).put(BENCH_CATALOG);
    await store.close();
    return { kind, env: { DATA_DIR: dataDir }, pgliteDir: join(dataDir, 'pglite'), open, dispose: async () => rmSync(dataDir, { recursive: true, force: true }) };
  }
  const adminUrl = process.env.BENCH_DATABASE_URL!;
  const name = `vd_bench_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const databaseUrl = url.toString();
  const open = () => openStore({ databaseUrl, poolSize: 2 });
  const store = await open();
  await migrate(store);
  await new StoreCatalog(store).put(BENCH_CATALOG);
  await store.close();
  return {
    kind,
    env: { DATABASE_URL: databaseUrl },
    open,
    async dispose() {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await client.end();
    },
  };
}

export interface Fixtures {
  stripeDouble: StripeDouble;
  token: string;
  userId: string;
  /** Env for the server bundle (store env added by the caller). */
  serverEnv: Record<string, string>;
  status: Attempt;
  check: Attempt;
  /** A new, signed, handled event that will be applied (newer than every one before it). */
  webhook(tag: string, account?: string): Attempt;
  scratch: string;
  close(): Promise<void>;
}

export async function fixtures(): Promise<Fixtures> {
  const scratch = mkdtempSync(join(tmpdir(), 'vd-bench-'));
  const stripeDouble = await startStripeDouble();
  const issuer = createTestIssuer();
  const userId = 'user_2pQf8kXz7WmN3aLbBench';
  const token = await issuer.token({ sub: userId, exp: Math.floor(Date.now() / 1000) + 6 * 3600, azp: AUTHORIZED_PARTY });
  const signer = new Stripe('sk_test_bench_signer');
  const template = stripeEvent('customer.subscription.updated');
  let sequence = 0;
  const base = Math.floor(Date.now() / 1000) - 86_400;
  const webhook = (tag: string, account = `user_bench_${tag}_${sequence % 200}`): Attempt => {
    const n = sequence++;
    const event = structuredClone(template);
    event.id = `evt_bench_${tag}_${n}`;
    event.created = base + n; // newer than the last, so every one is applied
    event.data.object.id = `sub_bench_${account}`;
    event.data.object.metadata = { ...event.data.object.metadata, account_id: account };
    const body = JSON.stringify(event);
    return {
      method: 'POST',
      path: '/webhook',
      headers: { 'content-type': 'application/json', 'stripe-signature': signer.webhooks.generateTestHeaderString({ payload: body, secret: WEBHOOK_SECRET }) },
      body,
    };
  };
  const image = pngVariant(`bench-cached:${'x'.repeat(3000)}`); // about 3 KB
  return {
    stripeDouble,
    token,
    userId,
    scratch,
    serverEnv: {
      NODE_ENV: 'development',
      // Development logs are pretty (and written synchronously) by default; production writes JSON.
      LOG_FORMAT: 'json',
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'info',
      APP_ORIGINS: AUTHORIZED_PARTY,
      CLERK_JWT_KEY: issuer.publicKeyPem,
      CLERK_AUTHORIZED_PARTIES: AUTHORIZED_PARTY,
      STRIPE_SECRET_KEY: 'sk_test_bench',
      STRIPE_API_BASE_URL: stripeDouble.url,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      AI_DETECT_RATE_PER_MINUTE: '1000000000',
      AI_DETECT_RATE_BURST: '1000000000',
    },
    status: { method: 'GET', path: '/trpc/billing.subscriptionStatus', headers: { authorization: `Bearer ${token}` } },
    check: {
      method: 'POST',
      path: '/trpc/aiDetect.check',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ image: image.toString('base64'), mimeType: 'image/png' }),
    },
    webhook,
    async close() {
      await stripeDouble.close();
      rmSync(scratch, { recursive: true, force: true });
    },
  };
}

/** Sends one request and returns the parsed body, failing on a non-2xx. */
export async function call(url: string, a: Attempt): Promise<unknown> {
  const res = await fetch(`${url}${a.path}`, { method: a.method, ...(a.headers ? { headers: a.headers } : {}), ...(a.body ? { body: a.body } : {}) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${a.method} ${a.path} answered ${res.status}: ${text}`);
  return JSON.parse(text);
}
