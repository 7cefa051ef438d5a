import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWiredApp } from '../../testing/harness.js';
import { storeTargets, type TestStore } from '../../testing/stores.js';

const APP = 'https://app.verifieddit.test';

describe.each(storeTargets)('local billing flow with no secrets on $name', (target) => {
  let t: TestStore;
  let app: Awaited<ReturnType<typeof startWiredApp>>;
  beforeAll(async () => {
    t = await target.open();
    app = await startWiredApp({ store: t.store });
  });
  afterAll(async () => {
    await app.shutdown();
    await t.dispose();
  });

  const call = async (path: string, user: string, body?: unknown) => {
    const res = await fetch(`${app.url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer dev_${user}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const checkout = (user: string) =>
    call('/create-checkout-session', user, { plan: 'pro', successUrl: `${APP}/billing/success?s={CHECKOUT_SESSION_ID}`, cancelUrl: `${APP}/billing` });

  it('selects the local provider and lists the default plans', async () => {
    expect(app.wiring.billing.provider.name).toBe('local');
    const res = await fetch(`${app.url}/trpc/billing.plans`);
    const plans = ((await res.json()) as any).result.data.plans as { id: string; features: string[] }[];
    expect(plans.map((p) => p.id)).toEqual(['free', 'pro']);
    expect(plans.find((p) => p.id === 'pro')?.features).toEqual(['ai-detect']);
  });

  it('gives the same Checkout URL for the same input, on this server', async () => {
    const first = await checkout('alice');
    const second = await checkout('alice');
    expect(first.status).toBe(200);
    expect(first.body.url).toBe(second.body.url);
    expect(first.body.id).toBe(second.body.id);
    expect(first.body.url.startsWith(`${app.url}/local-billing/checkout/`)).toBe(true);
  });

  it('checkout → local page → pay → status active with the plan features', async () => {
    const { body } = await checkout('bob');
    const page = await fetch(body.url);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('Pro');
    expect(html).toContain('9.00 USD / month');
    expect(html).toMatch(/<button[^>]*>Pay<\/button>/);

    const paid = await fetch(`${body.url}/pay`, { method: 'POST', redirect: 'manual' });
    expect(paid.status).toBe(303);
    expect(paid.headers.get('location')).toMatch(/^https:\/\/app\.verifieddit\.test\/billing\/success\?s=cs_local_/);

    const status = await call('/subscription-status', 'bob');
    expect(status.body).toMatchObject({ status: 'active', plan: 'pro', features: ['ai-detect'], cancelAtPeriodEnd: false, provider: 'local' });
    expect(Date.parse(status.body.currentPeriodEnd)).toBeGreaterThan(Date.now());

    // Now subscribed: a second checkout is refused, the portal opens.
    const again = await checkout('bob');
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('ALREADY_SUBSCRIBED');
    const portal = await call('/create-portal-session', 'bob', { returnUrl: `${APP}/account` });
    expect(portal.status).toBe(200);
    const portalPage = await fetch(portal.body.url);
    expect(await portalPage.text()).toContain('Status: <strong>active</strong>');

    // Cancelling in the portal goes through the same update path and turns the feature off.
    const cancelled = await fetch(`${portal.body.url}/cancel-now`, { method: 'POST', redirect: 'manual' });
    expect(cancelled.status).toBe(303);
    expect((await call('/subscription-status', 'bob')).body).toMatchObject({ status: 'canceled', features: [] });
  });

  it('checkout → cancel leaves status none', async () => {
    const { body } = await checkout('carol');
    const cancelled = await fetch(`${body.url}/cancel`, { method: 'POST', redirect: 'manual' });
    expect(cancelled.status).toBe(303);
    expect(cancelled.headers.get('location')).toBe(`${APP}/billing`);
    expect((await call('/subscription-status', 'carol')).body).toMatchObject({ status: 'none', plan: null, features: [] });
  });

  it('refuses a tampered checkout link', async () => {
    const { body } = await checkout('dave');
    const url = body.url as string;
    const dot = url.lastIndexOf('.');
    const forged = `${url.slice(0, dot + 1)}${url[dot + 1] === 'A' ? 'B' : 'A'}${url.slice(dot + 2)}`;
    expect((await fetch(forged)).status).toBe(404);
    expect((await fetch(`${forged}/pay`, { method: 'POST', redirect: 'manual' })).status).toBe(404);
    expect((await call('/subscription-status', 'dave')).body.status).toBe('none');
  });
});
