// AI detection benchmarks (`pnpm bench single-flight`, run under tsx):
//  1. requests/s of cached answers through tRPC (`aiDetect.check`, PGlite in memory) next to a bare
//     Express JSON route parsing the same body, measured in the same run with the same client;
//  2. upstream operations spent for N concurrent duplicates of M distinct images (Sightengine double).
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createExpressMiddleware } from '@trpc/server/adapters/express';
import express from 'express';
import { SightengineDetector } from '../src/ai-detect/sightengine.js';
import { staticCatalog } from '../src/billing/catalog.js';
import { aiDetectRouter } from '../src/routers/ai-detect.js';
import { migrate, openStore } from '../src/store/store.js';
import { createContext } from '../src/context.js';
import { detectionServiceOver } from '../src/testing/detection-service.js';
import { fakeServices } from '../src/testing/harness.js';
import { pngVariant } from '../src/testing/images.js';
import { recordingLog } from '../src/testing/log-recorder.js';
import { startSightengineDouble } from '../src/testing/sightengine-double.js';
import { router } from '../src/trpc.js';

const DURATION_MS = Number(process.env.BENCH_DURATION_MS ?? 3_000);
const CONCURRENCY = 32;
const silentLog = { debug() {}, info() {}, warn() {}, error() {} };
const catalog = staticCatalog({
  plans: [{ id: 'free', name: 'Free', features: [], prices: [], quotas: { aiDetectionsPerMonth: 100_000_000 } }],
  meters: [{ eventName: 'ai_detection', displayName: 'AI detections', aggregation: 'sum' }],
});
const settings = { monthlyBudget: 1_000_000, cacheTtlSeconds: undefined, ratePerMinute: 1e9, rateBurst: 1e9, fetchAllowLoopback: false };

async function listen(app: express.Express): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

/** Closed-loop load: CONCURRENCY workers POSTing the same body for DURATION_MS; returns requests/s. */
async function load(url: string, body: string, headers: Record<string, string>): Promise<{ rps: number; errors: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const target = new URL(url);
  const once = () =>
    new Promise<number>((resolve, reject) => {
      const req = http.request(
        { agent, host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  for (let i = 0; i < 50; i++) await once(); // warm-up
  let done = 0;
  let errors = 0;
  const end = performance.now() + DURATION_MS;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < end) {
        const status = await once();
        if (status === 200) done++;
        else errors++;
      }
    }),
  );
  agent.destroy();
  return { rps: done / ((performance.now() - started) / 1000), errors };
}

const store = await openStore({ dataDir: 'memory://' });
await migrate(store);
const double = await startSightengineDouble();
const successBody = JSON.stringify({ status: 'success', request: { id: 'req_bench', operations: 1 }, type: { ai_generated: 0.5 } });
double.setDefault({ httpStatus: 200, body: successBody });
const detector = new SightengineDetector({ apiUser: double.apiUser, apiSecret: double.apiSecret, baseUrl: double.baseUrl, log: silentLog });
const service = detectionServiceOver(store, { detector, catalog, config: settings, log: silentLog });

// --- 1. cached answers vs a bare route
const image = pngVariant('bench-cached');
const body = JSON.stringify({ image: image.toString('base64'), mimeType: 'image/png' });
await service.check({ userId: 'warm', requestId: 'warm', input: { image: image.toString('base64'), mimeType: 'image/png' } });

const trpcApp = express();
trpcApp.use(
  '/trpc',
  createExpressMiddleware({
    router: router({ aiDetect: aiDetectRouter }),
    createContext: ({ req }) => createContext({ ...fakeServices(), aiDetect: service }, { id: 'bench', log: silentLog, headers: req.headers }),
  }),
);
const bareApp = express();
bareApp.use(express.json({ limit: '1mb' }));
bareApp.post('/echo', (req, res) => void res.json({ ok: true, length: String(req.body?.image ?? '').length }));

const trpcServer = await listen(trpcApp);
const bareServer = await listen(bareApp);
const bare = await load(`${bareServer.url}/echo`, body, {});
const cached = await load(`${trpcServer.url}/trpc/aiDetect.check`, body, { authorization: 'Bearer dev_bench_user' });
await trpcServer.close();
await bareServer.close();
const callsAfterCached = double.calls.length;

console.log(`\ncached answers, ${CONCURRENCY} concurrent keep-alive clients, ${DURATION_MS / 1000} s each (PGlite in memory, one process)\n`);
console.table([
  { route: 'bare Express POST /echo (same JSON body)', 'requests/s': Math.round(bare.rps), errors: bare.errors },
  { route: 'aiDetect.check, cached verdict', 'requests/s': Math.round(cached.rps), errors: cached.errors, 'ratio to bare': (cached.rps / bare.rps).toFixed(3) },
]);
console.log(`upstream calls during the cached run: ${callsAfterCached - 1} (expected 0)`);

// --- 2. N concurrent duplicates of M images
double.setDelay(100);
const rows = [];
for (const [n, m] of [[100, 1], [50, 10], [20, 50]] as const) {
  const before = double.calls.length;
  const started = performance.now();
  const results = await Promise.allSettled(
    Array.from({ length: n * m }, (_, i) =>
      service.check({ userId: `u${i}`, requestId: `r${i}`, input: { image: pngVariant(`stampede:${n}:${m}:${i % m}`).toString('base64'), mimeType: 'image/png' } }),
    ),
  );
  rows.push({
    'duplicates N': n,
    'images M': m,
    requests: n * m,
    ok: results.filter((r) => r.status === 'fulfilled').length,
    'upstream operations': double.calls.length - before,
    'wall ms': Math.round(performance.now() - started),
  });
}
console.log('\nupstream operations for N concurrent duplicates of M distinct images (Sightengine double, 100 ms per call)\n');
console.table(rows);
await double.close();
await store.close();
