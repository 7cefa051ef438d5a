// Webhook benchmark (run by bench/webhooks.mjs under tsx): acknowledgements/s and p99 latency of our
// full route (verify → durable inbox insert → ordered apply → 2xx) next to a verify-only Express route
// (express.raw + constructEvent + 200), same client, same signed payloads, same run.
// Store: in-memory PGlite, or BENCH_DATABASE_URL (a PostgreSQL database the bench may write to).
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { createStripeClient } from '../src/billing/stripe/client.js';
import { startWiredApp } from '../src/testing/harness.js';
import { stripeEvent } from '../src/testing/stripe-events.js';
import { migrate, openStore } from '../src/store/store.js';

const EVENTS = Number(process.env.BENCH_WEBHOOK_EVENTS ?? 2_000);
const CONCURRENCY = 16;
const SECRET = 'whsec_benchmarkSecret';
const stripe = createStripeClient({ secretKey: 'sk_test_bench', apiVersion: '2026-10-28.endive' });

function payloads(tag: string): { body: string; signature: string }[] {
  return Array.from({ length: EVENTS }, (_, i) => {
    const event = stripeEvent('customer.subscription.updated');
    event.id = `evt_bench_${tag}_${i}`;
    event.created += i; // each one newer than the last, so every one is applied
    event.data.object.metadata.account_id = `user_bench_${tag}_${i % 200}`;
    const body = JSON.stringify(event);
    return { body, signature: stripe.webhooks.generateTestHeaderString({ payload: body, secret: SECRET }) };
  });
}

async function drive(url: string, list: { body: string; signature: string }[]) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  const target = new URL(url);
  const latencies: number[] = [];
  let next = 0;
  let errors = 0;
  const worker = async () => {
    while (next < list.length) {
      const item = list[next++]!;
      const started = performance.now();
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request(
          {
            agent, host: target.hostname, port: target.port, path: target.pathname, method: 'POST',
            headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(item.body), 'stripe-signature': item.signature },
          },
          (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); },
        );
        req.on('error', reject);
        req.end(item.body);
      });
      latencies.push(performance.now() - started);
      if (status !== 200) errors++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  return { rps: list.length / seconds, p50: latencies[Math.floor(latencies.length * 0.5)]!, p99: latencies[Math.floor(latencies.length * 0.99)]!, errors };
}

const baseline = express();
baseline.post('/webhook', express.raw({ type: () => true, limit: '1mb' }), (req, res) => {
  try {
    stripe.webhooks.constructEvent(req.body as Buffer, req.get('stripe-signature') ?? '', SECRET);
    res.json({ received: true });
  } catch {
    res.status(400).end();
  }
});
const baseServer = http.createServer(baseline);
await new Promise<void>((r) => baseServer.listen(0, '127.0.0.1', r));
const baseUrl = `http://127.0.0.1:${(baseServer.address() as AddressInfo).port}/webhook`;

const store = await openStore(process.env.BENCH_DATABASE_URL ? { databaseUrl: process.env.BENCH_DATABASE_URL } : { dataDir: 'memory://' });
await migrate(store);
const app = await startWiredApp({ store, env: { STRIPE_SECRET_KEY: 'sk_test_bench', STRIPE_API_BASE_URL: 'http://127.0.0.1:9', STRIPE_WEBHOOK_SECRET: SECRET, LOG_LEVEL: 'silent' } });

await drive(baseUrl, payloads('warm_base').slice(0, 200));
await drive(`${app.url}/webhook`, payloads('warm_ours').slice(0, 200));
const tag = Date.now().toString(36);
const base = await drive(baseUrl, payloads(`base_${tag}`));
const ours = await drive(`${app.url}/webhook`, payloads(`ours_${tag}`));
const [{ n }] = (await store.query<{ n: number }>("SELECT count(*)::int AS n FROM webhook_events WHERE id LIKE $1 AND status = 'processed'", [`evt_bench_ours_${tag}_%`])) as [{ n: number }];

console.log(`\nStripe webhook deliveries: ${EVENTS} distinct signed events, ${CONCURRENCY} concurrent connections, store: ${store.kind}\n`);
const rows = [
  { route: 'verify-only express (baseline)', 'acks/s': base.rps.toFixed(0), 'p50 ms': base.p50.toFixed(2), 'p99 ms': base.p99.toFixed(2), errors: base.errors },
  { route: 'verifieddit /webhook (durable + applied)', 'acks/s': ours.rps.toFixed(0), 'p50 ms': ours.p50.toFixed(2), 'p99 ms': ours.p99.toFixed(2), errors: ours.errors },
];
const keys = Object.keys(rows[0]!);
const widths = keys.map((k) => Math.max(k.length, ...rows.map((r) => String(r[k as keyof typeof r]).length)));
console.log(keys.map((k, i) => k.padEnd(widths[i]!)).join('  '));
for (const r of rows) console.log(keys.map((k, i) => String(r[k as keyof typeof r]).padEnd(widths[i]!)).join('  '));
console.log(`\nratio ours/baseline: throughput ${(ours.rps / base.rps).toFixed(2)}×, p99 ${(ours.p99 / base.p99).toFixed(2)}×; events processed exactly once: ${n}/${EVENTS}`);

await app.shutdown();
await store.close();
await new Promise((r) => baseServer.close(r));
