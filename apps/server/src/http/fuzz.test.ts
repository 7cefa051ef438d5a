import { Agent, request } from 'node:http';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { counts, judge, send } from '../testing/fuzz-answers.js';
import { aliases, procedures, requestArb, validInputs, WEBHOOK_SECRET } from '../testing/fuzz-requests.js';
import { useWiredApp } from '../testing/fixtures.js';
import { WEBHOOK_PATHS } from '../webhooks/routes.js';

/**
 * Property-based fuzzing over real HTTP (issue 9 §3): at least 10,000 generated requests per run,
 * spread over every tRPC procedure (query, mutation, batch), every REST alias and the webhook route,
 * plus unknown routes. Whatever arrives, the answer is never a 5xx except the documented upstream
 * ones, always in the documented shape with the request id, and the server is healthy afterwards.
 */

const RUNS = Number(process.env.FUZZ_RUNS ?? 520);
const PER_RUN = 20;

const fixture = useWiredApp({
  env: { STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, AI_DETECT_RATE_BURST: '20', AI_DETECT_RATE_PER_MINUTE: '600' },
  overrides: {
    webhookInbox: { inlineDeadlineMs: 500 },
    aiDetect: {
      // Every host "resolves" to a public address, and every connection goes to a closed loopback
      // port: the URL path is exercised to its FETCH_FAILED end without a packet leaving the machine.
      fetch: {
        resolver: async () => [{ address: '93.184.216.34', family: 4 }],
        request: (options, onResponse) => request({ ...options, protocol: 'http:', host: '127.0.0.1', port: 1, lookup: undefined, agent: false }, onResponse),
      },
    },
  },
});

const agent = new Agent({ keepAlive: true, maxSockets: PER_RUN });

describe('fuzzing every route with generated requests', () => {
  afterAll(() => {
    agent.destroy();
    // The numbers the closing note quotes: printed even when the property fails.
    const list = (record: Record<string, number>) =>
      Object.entries(record)
        .map(([k, v]) => `${k}: ${v}`)
        .join(', ');
    console.log(
      `fuzz: ${counts.requests} requests in ${counts.seconds.toFixed(1)} s wall, ${counts.cpuSeconds.toFixed(1)} s CPU of this process (server and client) — ` +
        `${procedures.length} procedures, ${aliases.length} REST aliases, ${WEBHOOK_PATHS.length} webhook paths\n` +
        `  by class: ${list(counts.byClass)}\n  by status: ${list(counts.byStatus)}\n  by target: ${list(counts.byTarget)}`,
    );
  });

  it(`answers ${RUNS * PER_RUN} generated requests without an undocumented 5xx, always in the documented shape`, async () => {
    const base = new URL(fixture.app.url);
    const started = Date.now();
    const cpu = process.cpuUsage();
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(requestArb, { minLength: PER_RUN, maxLength: PER_RUN }), async (batch) => {
          const answers = await Promise.all(batch.map((r) => send(agent, base, r)));
          batch.forEach((r, i) => judge(r, answers[i]!));
        }),
        { numRuns: RUNS, endOnFailure: true, ...(process.env.FUZZ_SEED ? { seed: Number(process.env.FUZZ_SEED) } : {}) },
      );
    } finally {
      counts.seconds = (Date.now() - started) / 1000;
      counts.cpuSeconds = (process.cpuUsage(cpu).user + process.cpuUsage(cpu).system) / 1e6;
    }
    expect(counts.requests).toBeGreaterThanOrEqual(10_000);
  }, 600_000);

  it('is healthy afterwards: health, readiness and a real call through tRPC and REST', async () => {
    const url = fixture.app.url;
    expect((await fetch(`${url}/health`)).status).toBe(200);
    expect((await fetch(`${url}/ready`)).status).toBe(200);
    const checkout = await fetch(`${url}/trpc/billing.createCheckoutSession`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: 'Bearer dev_after_fuzz' },
      body: JSON.stringify(validInputs['billing.createCheckoutSession']![0]),
    });
    expect(checkout.status).toBe(200);
    const status = await fetch(`${url}/subscription-status`, { headers: { authorization: 'Bearer dev_after_fuzz' } });
    expect(status.status).toBe(200);
    // Documented 5xx are logged with their code; an unexpected failure is logged without one.
    const unexpected = fixture.app.logs.records().filter((r) => (r.msg === 'unhandled error' || r.msg === 'procedure failed') && r.code === undefined);
    expect(unexpected.map((r) => JSON.stringify(r).slice(0, 600))).toEqual([]);
  });
});
