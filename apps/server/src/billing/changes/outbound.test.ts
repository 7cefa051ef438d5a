import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../config.js';
import { recordingLog } from '../../testing/log-recorder.js';
import { useTestStore } from '../../testing/fixtures.js';
import { storeTargets } from '../../testing/stores.js';
import type { SubscriptionUpdate } from '../ports.js';
import { SubscriptionRepository } from '../subscriptions.js';
import { outboundUpdate, startSubscriptionEvents, type PublicationTable } from './outbound.js';

const SECRET = 'subscription-events-test-secret';

interface Received {
  id: string;
  type: string;
  data: { eventId: string; accountId: string; status: string; currentPeriodEnd: string | null };
}

/** A receiver on 127.0.0.1 that verifies Verifieddit-Signature the way a Stripe webhook receiver does. */
async function startReceiver() {
  const accepted: Received[] = [];
  const badSignatures: string[] = [];
  let requests = 0;
  let failNext = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      requests += 1;
      const body = Buffer.concat(chunks).toString('utf8');
      const header = String(req.headers['verifieddit-signature'] ?? '');
      const parts = Object.fromEntries(header.split(',').map((part) => part.split('=') as [string, string]));
      const expected = createHmac('sha256', SECRET).update(`${parts.t}.${body}`).digest();
      const given = Buffer.from(parts.v1 ?? '', 'hex');
      const fresh = Math.abs(Date.now() / 1000 - Number(parts.t)) < 300;
      if (given.length !== expected.length || !timingSafeEqual(given, expected) || !fresh) {
        badSignatures.push(header);
        res.writeHead(400).end();
        return;
      }
      if (failNext > 0) {
        failNext -= 1;
        res.writeHead(500).end();
        return;
      }
      const event = JSON.parse(body) as Received;
      // Dedupe as receivers are told to; a repeat would still be counted below.
      accepted.push(event);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    accepted,
    badSignatures,
    get requests() {
      return requests;
    },
    failOnce() {
      failNext = 1;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const update = (overrides: Partial<SubscriptionUpdate>): SubscriptionUpdate => ({
  eventId: 'evt_1',
  accountId: 'user_a',
  provider: 'stripe',
  providerCustomerId: 'cus_1',
  providerSubscriptionId: 'sub_1',
  planId: 'pro',
  status: 'active',
  features: ['ai-detect'],
  currentPeriodEnd: new Date('2026-12-20T00:00:00Z'),
  cancelAtPeriodEnd: false,
  sourceCreated: 1_763_650_000,
  sourceRank: 0,
  ...overrides,
});

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The `data` receivers get: a public contract (docs/operations.md). Changing it is a decision, so it is spelled out here. */
const PUBLISHED_KEYS = [
  'accountId',
  'cancelAtPeriodEnd',
  'currentPeriodEnd',
  'eventId',
  'features',
  'planId',
  'provider',
  'providerCustomerId',
  'providerSubscriptionId',
  'sourceCreated',
  'sourceRank',
  'status',
];

describe('the published fields of an update', () => {
  it('are the listed ones: the ordering hint stays in, dates become ISO strings', () => {
    const data = outboundUpdate(update({ authoritative: true, currentPeriodEnd: new Date('2027-01-02T03:04:05Z') }));
    expect(Object.keys(data).sort()).toEqual(PUBLISHED_KEYS);
    expect(data).not.toHaveProperty('authoritative');
    expect(data.currentPeriodEnd).toBe('2027-01-02T03:04:05.000Z');
    expect(outboundUpdate(update({ currentPeriodEnd: null })).currentPeriodEnd).toBeNull();
  });

  it('take nothing a caller adds beyond SubscriptionUpdate (what a new field would look like before its decision)', () => {
    const withExtra = { ...update({}), internalNote: 'not for receivers' } as SubscriptionUpdate;
    expect(Object.keys(outboundUpdate(withExtra)).sort()).toEqual(PUBLISHED_KEYS);
  });

  it('need a decision for every field of SubscriptionUpdate (checked by tsc)', () => {
    // @ts-expect-error a table that does not decide on every field does not compile
    const undecided: PublicationTable = { eventId: true };
    expect(undecided).toBeDefined();
  });
});

describe.each(storeTargets)('subscription events posted to SUBSCRIPTION_EVENTS_URL on $name', (target) => {
  const t = useTestStore(target);
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  beforeAll(async () => {
    receiver = await startReceiver();
  });
  afterAll(async () => {
    await receiver.close();
  });

  const outboxRows = async () => (await t.store.query<{ n: string | number }>('SELECT count(*) AS n FROM subscription_event_outbox'))[0]!.n;

  it('is off by default: nothing is queued and nothing is posted', async () => {
    expect(loadConfig({}).subscriptionEvents).toBeUndefined();
    expect(() => loadConfig({ SUBSCRIPTION_EVENTS_URL: receiver.url })).toThrow(/set both or neither/);
    const repo = new SubscriptionRepository(t.store);
    expect(await repo.apply(update({ accountId: 'user_off', eventId: 'evt_off' }))).toBe('applied');
    expect(Number(await outboxRows())).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(receiver.requests).toBe(0);
  });

  it('posts each applied update exactly once, signed, and retries after a 500', async () => {
    const config = loadConfig({ SUBSCRIPTION_EVENTS_URL: receiver.url, SUBSCRIPTION_EVENTS_SECRET: SECRET });
    expect(config.subscriptionEvents).toEqual({ url: receiver.url, secret: SECRET });
    expect(config.secrets).toContain(SECRET);
    const repo = new SubscriptionRepository(t.store, undefined, { eventOutbox: true });
    const log = recordingLog();
    receiver.failOnce();
    // Two replicas' workers: the lease lets only one post.
    const workers = [1, 2].map(() => startSubscriptionEvents({ store: t.store, url: receiver.url, secret: SECRET, log, intervalMs: 30, retryBaseMs: 50 }));
    try {
      expect(await repo.apply(update({ accountId: 'user_on', eventId: 'evt_on_1', status: 'active', sourceCreated: 100 }))).toBe('applied');
      expect(await repo.apply(update({ accountId: 'user_on', eventId: 'evt_on_2', status: 'past_due', sourceCreated: 200 }))).toBe('applied');
      // A duplicate and a stale update change nothing, so nothing is posted for them.
      expect(await repo.apply(update({ accountId: 'user_on', eventId: 'evt_on_2', status: 'past_due', sourceCreated: 200 }))).toBe('duplicate');
      expect(await repo.apply(update({ accountId: 'user_on', eventId: 'evt_on_0', status: 'active', sourceCreated: 50 }))).toBe('stale');
      await until(() => receiver.accepted.length >= 2);
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      await Promise.all(workers.map((w) => w.stop()));
    }
    expect(receiver.badSignatures).toEqual([]);
    expect(receiver.requests).toBe(3);
    expect(log.lines.filter((line) => line.msg === 'subscription event post failed; will retry')).toHaveLength(1);
    const ids = receiver.accepted.map((event) => event.id);
    expect(new Set(ids).size).toBe(2);
    expect(ids.every((id) => /^subchg_\d+$/.test(id))).toBe(true);
    expect(receiver.accepted.map((event) => [event.type, event.data.eventId, event.data.status]).sort()).toEqual([
      ['subscription.update', 'evt_on_1', 'active'],
      ['subscription.update', 'evt_on_2', 'past_due'],
    ]);
    expect(receiver.accepted[0]!.data.currentPeriodEnd).toBe('2026-12-20T00:00:00.000Z');
    expect(receiver.accepted.map((event) => Object.keys(event.data).sort())).toEqual([PUBLISHED_KEYS, PUBLISHED_KEYS]);
    const pending = await t.store.query('SELECT change_id FROM subscription_event_outbox WHERE delivered_at IS NULL');
    expect(pending).toEqual([]);
  });
});
