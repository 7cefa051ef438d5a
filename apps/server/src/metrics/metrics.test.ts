import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWiredApp } from '../testing/harness.js';
import { pngVariant } from '../testing/images.js';
import { startSightengineDouble, type SightengineDouble } from '../testing/sightengine-double.js';
import { startStripeDouble, type StripeDouble } from '../testing/stripe-double.js';
import { signedDelivery, stripeScenario } from '../testing/stripe-events.js';
import { useTestStore } from '../testing/fixtures.js';
import { postgresTargetOrUndefined, storeTargets } from '../testing/stores.js';

const TOKEN = 'mt_9f2c41d7a0b84e6b9c3d5e7f1a2b4c6d';
const WEBHOOK_SECRET = 'whsec_metricsTestSecret';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The Prometheus text format's samples (comments skipped). */
function parse(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not a sample line: ${line}`);
      const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1]!, m[2]!]));
      return { name: match[1]!, labels, value: Number(match[3]) };
    });
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
}

describe('GET /metrics without METRICS_TOKEN', () => {
  const t = useTestStore(storeTargets[0]!);
  let app: Awaited<ReturnType<typeof startWiredApp>>;
  beforeAll(async () => {
    app = await startWiredApp({ store: t.store });
  });
  afterAll(async () => {
    await app.shutdown();
  });

  it('answers 404 in the documented shape, even with a bearer token', async () => {
    const res = await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: 'NOT_FOUND' } });
  });
});

describe('GET /metrics with METRICS_TOKEN', () => {
  const t = useTestStore(storeTargets[0]!);
  let stripe: StripeDouble;
  let sightengine: SightengineDouble;
  let app: Awaited<ReturnType<typeof startWiredApp>>;

  beforeAll(async () => {
    stripe = await startStripeDouble();
    sightengine = await startSightengineDouble();
    app = await startWiredApp({
      store: t.store,
      env: {
        METRICS_TOKEN: TOKEN,
        STRIPE_SECRET_KEY: 'sk_test_51Metrics',
        STRIPE_API_BASE_URL: stripe.url,
        STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
        SIGHTENGINE_API_USER: sightengine.apiUser,
        SIGHTENGINE_API_SECRET: sightengine.apiSecret,
        SIGHTENGINE_BASE_URL: sightengine.baseUrl,
        SIGHTENGINE_MONTHLY_BUDGET: '100',
        AI_DETECT_RATE_BURST: '50',
      },
    });
  });
  afterAll(async () => {
    await app.shutdown();
    await stripe.close();
    await sightengine.close();
  });

  const scrape = async () => {
    const res = await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parse(await res.text());
  };

  it('refuses a missing, malformed or wrong token with 401 and a Bearer challenge', async () => {
    for (const authorization of [undefined, TOKEN, `Basic ${TOKEN}`, `Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(0, -1)}`, 'Bearer ']) {
      const res = await fetch(`${app.url}/metrics`, { headers: authorization === undefined ? {} : { authorization } });
      expect(res.status, String(authorization)).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer realm="metrics"');
      expect(await res.json()).toMatchObject({ error: { code: 'UNAUTHENTICATED' } });
    }
  });

  it('exposes the process defaults and every documented series', async () => {
    const samples = await scrape();
    const names = new Set(samples.map((s) => s.name));
    for (const name of [
      'process_cpu_user_seconds_total',
      'process_resident_memory_bytes',
      'nodejs_eventloop_lag_seconds',
      'verifieddit_webhook_events',
      'verifieddit_webhook_oldest_unprocessed_age_seconds',
      'verifieddit_webhook_events_failed',
      'verifieddit_meter_outbox_backlog',
      'verifieddit_meter_outbox_failed',
      'verifieddit_sightengine_budget_used',
      'verifieddit_sightengine_budget_remaining',
      'verifieddit_ai_detection_cache_hit_ratio',
      'verifieddit_store_up',
    ]) {
      expect(names.has(name), name).toBe(true);
    }
    expect(value(samples, 'verifieddit_webhook_events', { state: 'failed' })).toBe(0);
    expect(value(samples, 'verifieddit_sightengine_budget_remaining')).toBe(100);
    expect(value(samples, 'verifieddit_store_up')).toBe(1);
  });

  it('moves the series when traffic flows', async () => {
    const before = await scrape();

    for (let i = 0; i < 3; i++) expect((await fetch(`${app.url}/health`)).status).toBe(200);
    expect((await fetch(`${app.url}/no/such/route/${Math.random()}`)).status).toBe(404);
    expect((await fetch(`${app.url}/trpc/health`)).status).toBe(200);

    const s = stripeScenario('metrics', stripe);
    const delivery = await fetch(`${app.url}/webhook`, { method: 'POST', ...signedDelivery(stripe, JSON.stringify(s.event('customer.subscription.created')), WEBHOOK_SECRET) });
    expect(delivery.status).toBe(200);

    // One image, checked twice by one account and once by another: one upstream call, two cache hits
    // (the second account's answer says `cached: false`, as it never saw that verdict, but cost nothing).
    const image = pngVariant('metrics-cat').toString('base64');
    const answers: boolean[] = [];
    for (const user of ['metrics_a', 'metrics_a', 'metrics_b']) {
      const res = await fetch(`${app.url}/ai-detect`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer dev_${user}` },
        body: JSON.stringify({ image, mimeType: 'image/png' }),
      });
      expect(res.status).toBe(200);
      answers.push(((await res.json()) as { cached: boolean }).cached);
    }
    expect(answers).toEqual([false, true, false]);
    expect(sightengine.operations()).toBe(1);

    const after = await scrape();
    const delta = (name: string, labels: Record<string, string> = {}) => (value(after, name, labels) ?? 0) - (value(before, name, labels) ?? 0);
    expect(delta('http_request_duration_seconds_count', { route: '/health', status: '200', method: 'GET' })).toBe(3);
    expect(delta('http_request_duration_seconds_count', { route: '/trpc/health', status: '200' })).toBe(1);
    // Unknown paths share one label, whatever they were.
    expect(delta('http_request_duration_seconds_count', { route: 'unmatched', status: '404' })).toBe(1);
    expect(after.filter((x) => x.name === 'http_request_duration_seconds_count' && x.labels.route?.includes('/no/such'))).toEqual([]);
    expect(delta('http_request_duration_seconds_count', { route: '/webhook', status: '200', method: 'POST' })).toBe(1);
    expect(delta('verifieddit_webhook_events', { state: 'processed' })).toBe(1);
    expect(delta('verifieddit_ai_detections_month', { cache: 'miss' })).toBe(1);
    expect(delta('verifieddit_ai_detections_month', { cache: 'hit' })).toBe(2);
    expect(value(after, 'verifieddit_ai_detection_cache_hit_ratio')).toBeCloseTo(2 / 3, 6);
    expect(delta('verifieddit_sightengine_budget_used')).toBe(1);
    expect(delta('verifieddit_sightengine_budget_remaining')).toBe(-1);
    // The wired test app runs no outbox worker: every counted detection waits in the meter outbox.
    expect(delta('verifieddit_meter_outbox_backlog')).toBe(3);
    expect(value(after, 'verifieddit_meter_outbox_oldest_pending_age_seconds')).toBeGreaterThanOrEqual(0);
  });

  it('reports an unprocessed webhook event by age, and a failed one', async () => {
    await t.store.query(
      `INSERT INTO webhook_events (id, provider, type, created, payload, status, attempts, next_attempt_at, received_at)
       VALUES ('evt_metrics_old', 'stripe', 'customer.subscription.updated', 1, '{}'::jsonb, 'retrying', 1, now() + interval '1 hour', now() - interval '90 seconds'),
              ('evt_metrics_failed', 'stripe', 'customer.subscription.updated', 1, '{}'::jsonb, 'failed', 8, NULL, now())`,
    );
    const samples = await scrape();
    expect(value(samples, 'verifieddit_webhook_oldest_unprocessed_age_seconds')).toBeGreaterThanOrEqual(90);
    expect(value(samples, 'verifieddit_webhook_events', { state: 'retrying' })).toBe(1);
    expect(value(samples, 'verifieddit_webhook_events_failed')).toBe(1);
  });

  it('never writes the token to the log, even where a caller puts it', async () => {
    // A caller-chosen request id is echoed into every log line of its request: the token must not be.
    await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}`, 'x-request-id': TOKEN } });
    await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer wrong-${TOKEN}`, 'x-request-id': `id-${TOKEN}` } });
    await fetch(`${app.url}/trpc/billing.subscriptionStatus`, { headers: { authorization: `Bearer ${TOKEN}`, 'x-request-id': TOKEN } });
    const lines = app.logs.lines();
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.filter((line) => line.includes('/metrics')).length).toBeGreaterThan(0);
    expect(lines.filter((line) => line.includes(TOKEN))).toEqual([]);
  });
});

describe.runIf(postgresTargetOrUndefined)('GET /metrics on PostgreSQL', () => {
  const t = useTestStore(postgresTargetOrUndefined!);
  let app: Awaited<ReturnType<typeof startWiredApp>>;
  beforeAll(async () => {
    app = await startWiredApp({ store: t.store, env: { METRICS_TOKEN: TOKEN } });
  });
  afterAll(async () => {
    await app.shutdown();
  });

  it('reports the store pool', async () => {
    const res = await fetch(`${app.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const samples = parse(await res.text());
    expect(value(samples, 'verifieddit_store_pool_max')).toBe(20);
    expect(value(samples, 'verifieddit_store_pool_in_use')).toBeGreaterThanOrEqual(0);
    expect(value(samples, 'verifieddit_store_pool_open')).toBeGreaterThanOrEqual(1);
    expect(value(samples, 'verifieddit_store_pool_waiting')).toBe(0);
  });
});
