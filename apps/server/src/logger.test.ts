import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from './app.js';
import { listen, type RunningServer } from './server.js';
import { captureLogger, fakeServices } from './testing/harness.js';

const stripeKey = 'sk_test_51SuperSecretStripeKey';
const webhookSecret = 'whsec_TopSecretSigningSecret';
const sightengineSecret = 'se_Qm9ndXNTZWNyZXQ';

describe('log redaction', () => {
  const capture = captureLogger({ secrets: [stripeKey, webhookSecret, sightengineSecret] });
  let running: RunningServer;
  beforeAll(async () => {
    running = await listen(createApp({ logger: capture.logger, services: fakeServices() }), 0, '127.0.0.1');
  });
  afterAll(() => running.shutdown());

  it('never writes authorization headers, cookies, Stripe signatures or configured secrets', async () => {
    const log = capture.logger.child({ requestId: 'redaction-1' });
    log.info({ req: { headers: { authorization: 'Bearer eyJhbGciOiJSUzI1NiJ9.session', cookie: '__session=abc123cookie', 'stripe-signature': 't=1,v1=deadbeefsig' } } }, 'incoming');
    log.warn({ detail: `calling Stripe with ${stripeKey}` }, `webhook secret is ${webhookSecret}`);
    log.error({ err: new Error(`upstream refused api_secret=${sightengineSecret}`) }, 'sightengine failed');
    log.info({ headers: { authorization: 'Bearer dev_user_1' } }, 'other shape');
    // and through the real request path
    await fetch(`${running.url}/nope`, { headers: { authorization: 'Bearer eyJhbGciOiJSUzI1NiJ9.session', cookie: '__session=abc123cookie' } });
    await new Promise((r) => setTimeout(r, 20));

    const all = capture.lines().join('\n');
    for (const leaked of ['eyJhbGciOiJSUzI1NiJ9.session', 'abc123cookie', 'deadbeefsig', stripeKey, webhookSecret, sightengineSecret, 'dev_user_1']) {
      expect(all).not.toContain(leaked);
    }
    expect(all).toContain('[REDACTED]');
    // what is not secret survives
    expect(all).toContain('calling Stripe with [REDACTED]');
    expect(all).toContain('sightengine failed');
  });
});
