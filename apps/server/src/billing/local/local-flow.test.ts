import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startWiredApp } from '../../testing/harness.js';
import { useWiredApp } from '../../testing/fixtures.js';
import { storeTargets } from '../../testing/stores.js';
import type { Rows } from '../../store/rows.js';

const APP = 'https://app.verifieddit.test';

describe.each(storeTargets)('local billing flow with no secrets on $name', (target) => {
  const wired = useWiredApp({ target });
  const t = wired.store;

  const call = async (path: string, user: string, body?: unknown) => {
    const res = await fetch(`${wired.app.url}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer dev_${user}`, 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  const checkout = (user: string) =>
    call('/create-checkout-session', user, { plan: 'pro', successUrl: `${APP}/billing/success?s={CHECKOUT_SESSION_ID}`, cancelUrl: `${APP}/billing` });

  it('selects the local provider and lists the default plans', async () => {
    expect(wired.app.wiring.billing.provider.name).toBe('local');
    const res = await fetch(`${wired.app.url}/trpc/billing.plans`);
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
    expect(first.body.url.startsWith(`${wired.app.url}/local-billing/checkout/`)).toBe(true);
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

  const portalOf = async (user: string) => {
    const portal = await call('/create-portal-session', user, { returnUrl: `${APP}/account` });
    expect(portal.status).toBe(200);
    return portal.body.url as string;
  };
  const subscribe = async (user: string) => {
    const { body } = await checkout(user);
    expect((await fetch(`${body.url}/pay`, { method: 'POST', redirect: 'manual' })).status).toBe(303);
    return body.url as string;
  };
  const asJson = { headers: { accept: 'application/json' } };
  const tokenOf = (url: string) => url.slice(url.lastIndexOf('/') + 1);

  it('opens a checkout link only as a checkout and a portal link only as a portal (4xx with a code, never 500)', async () => {
    const checkoutUrl = (await checkout('erin')).body.url as string;
    const portalUrl = await portalOf('erin');
    const asPortal = `${wired.app.url}/local-billing/portal/${tokenOf(checkoutUrl)}`;
    const asCheckout = `${wired.app.url}/local-billing/checkout/${tokenOf(portalUrl)}`;

    const page = await fetch(asPortal);
    expect(page.status).toBe(400);
    const html = await page.text();
    expect(html).toContain('This is a checkout link, not a portal link');
    expect(html).toContain('LINK_WRONG_KIND');

    const json = await fetch(asPortal, asJson);
    expect(json.status).toBe(400);
    expect(await json.json()).toMatchObject({ error: { code: 'LINK_WRONG_KIND', details: { expected: 'portal', got: 'checkout' }, requestId: expect.any(String) } });

    for (const [url, method] of [
      [`${asPortal}/resume`, 'POST'],
      [`${asPortal}/cancel-now`, 'POST'],
      [asCheckout, 'GET'],
      [`${asCheckout}/pay`, 'POST'],
      [`${asCheckout}/cancel`, 'POST'],
    ] as const) {
      const res = await fetch(url, { method, redirect: 'manual', ...asJson });
      expect(res.status, `${method} ${url}`).toBe(400);
      expect(((await res.json()) as any).error.code).toBe('LINK_WRONG_KIND');
    }
    // Nothing was paid or changed through the wrong kind of link.
    expect((await call('/subscription-status', 'erin')).body.status).toBe('none');
  });

  it('signs links with a random key kept in the store, not one derived from the data folder', async () => {
    const rows = await t.store.query<Pick<Rows['settings'], 'value'>>("SELECT value FROM settings WHERE key = 'local_billing_link_key'");
    expect(rows).toHaveLength(1);
    const key = rows[0]!.value;
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}$/); // 32 random bytes
    expect(key).not.toBe(createHash('sha256').update(`local-billing:${resolve(wired.app.config.dataDir)}`).digest('hex'));

    // A second server on the same store (a restart, a replica) accepts the links the first one made.
    const url = (await checkout('frank')).body.url as string;
    const replica = await startWiredApp({ store: t.store });
    try {
      expect((await fetch(`${replica.url}/local-billing/checkout/${tokenOf(url)}`)).status).toBe(200);
    } finally {
      await replica.shutdown();
    }
    // The stored key is what signs: with another key in the store, a new server refuses the old link.
    await t.store.query("UPDATE settings SET value = $1 WHERE key = 'local_billing_link_key'", ['x'.repeat(43)]);
    const rekeyed = await startWiredApp({ store: t.store });
    try {
      expect((await fetch(`${rekeyed.url}/local-billing/checkout/${tokenOf(url)}`)).status).toBe(404);
    } finally {
      await rekeyed.shutdown();
      await t.store.query("UPDATE settings SET value = $1 WHERE key = 'local_billing_link_key'", [key]);
    }
  });

  it('refuses an unknown priceId with 400 UNKNOWN_PLAN instead of a "custom price" checkout', async () => {
    const res = await call('/create-checkout-session', 'gina', { priceId: 'price_doesNotExist', successUrl: `${APP}/ok`, cancelUrl: `${APP}/cancel` });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'UNKNOWN_PLAN', details: { priceId: 'price_doesNotExist' } });
    expect(res.body.error.message).toContain('There is no price "price_doesNotExist"');
    // A catalog price named by its lookup key still works.
    const known = await call('/create-checkout-session', 'gina', { priceId: 'pro_monthly', successUrl: `${APP}/ok`, cancelUrl: `${APP}/cancel` });
    expect(known.status).toBe(200);
  });

  it('lets a Pay link pay once: a replay is refused as used, and a later checkout gets a fresh link', async () => {
    const url = await subscribe('hana');
    const replay = await fetch(`${url}/pay`, { method: 'POST', redirect: 'manual', ...asJson });
    expect(replay.status).toBe(409);
    const body = (await replay.json()) as any;
    expect(body.error.code).toBe('LINK_ALREADY_USED');
    expect(body.error.message).toContain('already used');
    const page = await fetch(url);
    expect(page.status).toBe(409);
    expect(await page.text()).toContain('This checkout link was already used to pay');

    // Cancel, then subscribe again: the same request now gets a new link that works.
    expect((await fetch(`${await portalOf('hana')}/cancel-now`, { method: 'POST', redirect: 'manual' })).status).toBe(303);
    const again = (await checkout('hana')).body.url as string;
    expect(again).not.toBe(url);
    expect((await fetch(`${again}/pay`, { method: 'POST', redirect: 'manual' })).status).toBe(303);
    expect((await call('/subscription-status', 'hana')).body.status).toBe('active');
  });

  it('pays once when one Pay link is posted many times at once', async () => {
    const { body } = await checkout('ivan');
    const answers = await Promise.all(Array.from({ length: 6 }, () => fetch(`${body.url}/pay`, { method: 'POST', redirect: 'manual', ...asJson })));
    expect(answers.map((r) => r.status).sort()).toEqual([303, 409, 409, 409, 409, 409]);
    const paid = await t.store.query<{ n: number }>("SELECT count(*)::int AS n FROM local_checkout_payments WHERE account_id = 'ivan'");
    expect(paid[0]?.n).toBe(1);
  });

  it('refuses to resume a canceled subscription with a 4xx that says it is canceled', async () => {
    await subscribe('jude');
    const portal = await portalOf('jude');
    expect((await fetch(`${portal}/cancel-now`, { method: 'POST', redirect: 'manual' })).status).toBe(303);

    const resumed = await fetch(`${portal}/resume`, { method: 'POST', redirect: 'manual' });
    expect(resumed.status).toBe(409);
    const html = await resumed.text();
    expect(html).toContain('This subscription is canceled and cannot be resumed');
    expect(html).toContain('SUBSCRIPTION_CANCELED');
    const json = await fetch(`${portal}/resume`, { method: 'POST', redirect: 'manual', ...asJson });
    expect(await json.json()).toMatchObject({ error: { code: 'SUBSCRIPTION_CANCELED', details: { status: 'canceled', action: 'resume' } } });
    expect((await call('/subscription-status', 'jude')).body).toMatchObject({ status: 'canceled', features: [] });

    // Resuming a subscription that is only set to cancel at period end still works.
    await subscribe('kim');
    const kimPortal = await portalOf('kim');
    expect((await fetch(`${kimPortal}/cancel-at-period-end`, { method: 'POST', redirect: 'manual' })).status).toBe(303);
    expect((await call('/subscription-status', 'kim')).body).toMatchObject({ status: 'active', cancelAtPeriodEnd: true });
    expect((await fetch(`${kimPortal}/resume`, { method: 'POST', redirect: 'manual' })).status).toBe(303);
    expect((await call('/subscription-status', 'kim')).body).toMatchObject({ status: 'active', cancelAtPeriodEnd: false });
  });
});
