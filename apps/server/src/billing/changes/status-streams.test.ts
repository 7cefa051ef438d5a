import { describe, expect, it } from 'vitest';
import { createTestIssuer } from '../../testing/clerk.js';
import { liveClient, recordStatusStream, until } from '../../testing/live-client.js';
import { useWiredApp } from '../../testing/fixtures.js';
import { storeTargets } from '../../testing/stores.js';
import type { SubscriptionUpdate } from '../ports.js';

const update = (accountId: string, n: number, status: SubscriptionUpdate['status'] = 'active'): SubscriptionUpdate => ({
  eventId: `evt_${accountId}_${n}`,
  accountId,
  provider: 'stripe',
  providerCustomerId: `cus_${accountId}`,
  providerSubscriptionId: `sub_${accountId}`,
  planId: 'pro',
  status,
  features: ['ai-detect'],
  currentPeriodEnd: new Date('2026-12-20T00:00:00Z'),
  cancelAtPeriodEnd: false,
  sourceCreated: 1_763_650_000 + n,
  sourceRank: 0,
});

const codeOf = (error: unknown) => (error as { data?: { code?: string } } | undefined)?.data?.code;

describe.each(storeTargets)('billing.onStatusChange over SSE on $name', (target) => {
  const issuer = createTestIssuer();
  const wired = useWiredApp({
    target,
    env: { LIVE_STREAMS_PER_ACCOUNT: '2', CLERK_JWT_KEY: issuer.publicKeyPem, CLERK_AUTHORIZED_PARTIES: 'https://app.verifieddit.test' },
  });
  const t = wired.store;

  const apply = (u: SubscriptionUpdate) => wired.app.wiring.billing.subscriptions.apply(u);
  const tokenFor = (sub: string, ttlSeconds = 300) => issuer.token({ sub, exp: Math.floor(Date.now() / 1000) + ttlSeconds });

  it('sends the current status first, then every change, each with a tracked id', async () => {
    const account = `user_live_${target.name}`;
    await apply(update(account, 1, 'trialing'));
    const token = await tokenFor(account);
    const stream = recordStatusStream(liveClient(wired.app.url, () => token));
    try {
      await until(() => stream.events.length === 1, 10_000, 'the current status');
      expect(stream.events[0]).toMatchObject({ status: 'trialing', features: ['ai-detect'] });
      await apply(update(account, 2, 'active'));
      await apply(update(account, 3, 'past_due'));
      expect(await apply(update(account, 0, 'active'))).toBe('stale'); // older than what is stored: no event
      await until(() => stream.events.length === 3, 10_000, 'two changes');
      await new Promise((r) => setTimeout(r, 200));
      expect(stream.events.map((e) => e.status)).toEqual(['trialing', 'active', 'past_due']);
      const ids = stream.events.map((e) => Number(e.id));
      expect([...ids].sort((a, b) => a - b)).toEqual(ids);
      expect(new Set(ids).size).toBe(3);
    } finally {
      stream.stop();
    }
  });

  it('resumes after lastEventId without missing or repeating a change, and sends nothing when nothing changed', async () => {
    const account = `user_resume_${target.name}`;
    await apply(update(account, 1));
    const token = await tokenFor(account);
    const first = recordStatusStream(liveClient(wired.app.url, () => token));
    await until(() => first.events.length === 1);
    first.stop();
    const last = first.events[0]!.id;

    for (let n = 2; n <= 4; n++) await apply(update(account, n, n % 2 ? 'active' : 'past_due'));
    const resumed = recordStatusStream(liveClient(wired.app.url, () => token, 'header'), { lastEventId: last });
    await until(() => resumed.events.length === 3);
    await apply(update(account, 5, 'canceled'));
    await until(() => resumed.events.length === 4);
    expect(resumed.events.map((e) => e.status)).toEqual(['past_due', 'active', 'past_due', 'canceled']);
    resumed.stop();

    // Reconnecting at the newest id: no repeat of the current status.
    const quiet = recordStatusStream(liveClient(wired.app.url, () => token), { lastEventId: resumed.events[3]!.id });
    await until(() => quiet.started() > 0);
    await new Promise((r) => setTimeout(r, 300));
    expect(quiet.events).toEqual([]);
    quiet.stop();
  });

  it('refuses a stream without a valid token when it opens', async () => {
    const anonymous = recordStatusStream(liveClient(wired.app.url, () => 'not-a-jwt'));
    await until(() => anonymous.error() !== undefined);
    expect(codeOf(anonymous.error())).toBe('UNAUTHENTICATED');
    expect(anonymous.events).toEqual([]);
  });

  it('ends the stream with UNAUTHENTICATED when the token expires', async () => {
    const account = `user_expiry_${target.name}`;
    const token = await tokenFor(account, 2);
    const stream = recordStatusStream(liveClient(wired.app.url, () => token));
    await until(() => stream.events.length === 1);
    expect(stream.events[0]).toMatchObject({ status: 'none' });
    await until(() => stream.error() !== undefined, 10_000, 'the expiry');
    expect(codeOf(stream.error())).toBe('UNAUTHENTICATED');
  });

  it('caps open streams per account with TOO_MANY_STREAMS, and frees a slot when one closes', async () => {
    const account = `user_cap_${target.name}`;
    const token = await tokenFor(account);
    const a = recordStatusStream(liveClient(wired.app.url, () => token));
    const b = recordStatusStream(liveClient(wired.app.url, () => token));
    await until(() => a.events.length === 1 && b.events.length === 1);
    const c = recordStatusStream(liveClient(wired.app.url, () => token));
    await until(() => c.error() !== undefined);
    expect(codeOf(c.error())).toBe('TOO_MANY_STREAMS');
    expect((c.error() as { data: { details: unknown } }).data.details).toEqual({ limit: 2 });
    a.stop();
    await until(() => wired.app.wiring.billing.streams.size === 1);
    const d = recordStatusStream(liveClient(wired.app.url, () => token));
    await until(() => d.events.length === 1);
    b.stop();
    d.stop();
  });

  it('ends every stream on a graceful stop, with NOT_READY so clients reconnect elsewhere', async () => {
    const account = `user_stop_${target.name}`;
    const token = await tokenFor(account);
    const res = await fetch(`${wired.app.url}/trpc/billing.onStatusChange`, {
      headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' },
    });
    expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
    const reader = res.body!.getReader();
    let text = '';
    const read = (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        text += Buffer.from(value).toString();
      }
    })();
    await until(() => text.includes('"status":"none"'));
    await wired.app.wiring.billing.streams.close();
    await read; // the response ends
    expect(text).toMatch(/event: serialized-error\ndata: .*"code":"NOT_READY"/);
    expect(wired.app.wiring.billing.streams.size).toBe(0);
  });
});
