import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { startServerProcess, type ServerProcess } from '../testing/processes.js';
import { runCliCaptured } from '../testing/cli.js';
import { seedDataDir } from '../testing/stores.js';

/**
 * `pnpm billing webhooks trigger` against a real dev server process with no secrets at all: the server
 * verifies /webhook with the local secret it keeps in its store, and the CLI signs with the same one
 * (read through the database the server shares). Development settings, as `pnpm dev` runs.
 */
describe('pnpm billing webhooks trigger against a running dev server', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'vd-trigger-'));
  const dataDir = join(dir, 'data');
  seedDataDir(dataDir);
  let server: ServerProcess;

  beforeAll(async () => {
    server = await startServerProcess({
      args: ['--conditions=@verifieddit/source', '--import', 'tsx', 'src/main.ts'],
      env: { NODE_ENV: 'development', DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
      timeoutMs: 110_000,
    });
  }, 120_000);
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const cli = (...argv: string[]) => runCliCaptured(argv, loadConfig({ NODE_ENV: 'development', DATA_DIR: dataDir }));
  const statusOf = async (account: string) => {
    const res = await fetch(`${server.url}/subscription-status`, { headers: { authorization: `Bearer dev_${account}` } });
    return (await res.json()) as { status: string; features: string[] };
  };

  it('customer.subscription.updated --account alice turns the dev user alice active', async () => {
    expect((await statusOf('alice')).status).toBe('none');
    const sent = await cli('webhooks', 'trigger', 'customer.subscription.updated', '--account', 'alice', '--url', server.url);
    expect(sent).toMatchObject({ code: 0, err: '' });
    expect(sent.out).toMatch(/^customer\.subscription\.updated evt_trigger_\w+ for account alice -> http:\/\/127\.0\.0\.1:\d+\/webhook: 200 \{"received":true\}$/);
    expect(await statusOf('alice')).toMatchObject({ status: 'active', features: ['ai-detect'] });
    expect((await statusOf('bob')).status).toBe('none');

    const ended = await cli('webhooks', 'trigger', 'customer.subscription.deleted', '--account', 'alice', '--url', server.url);
    expect(ended.code).toBe(0);
    expect(await statusOf('alice')).toMatchObject({ status: 'canceled', features: [] });
  });

  it('is refused by the server when signed with another secret, and says so', async () => {
    const res = await runCliCaptured(
      ['webhooks', 'trigger', 'customer.subscription.updated', '--account', 'mallory', '--url', server.url],
      loadConfig({ NODE_ENV: 'development', DATA_DIR: dataDir, STRIPE_WEBHOOK_SECRET: 'whsec_notTheServersSecret' }),
    );
    expect(res.code).toBe(1);
    expect((await statusOf('mallory')).status).toBe('none');
  });

  it('explains a wrong type and a server that does not answer', async () => {
    const wrong = await cli('webhooks', 'trigger', 'customer.nope');
    expect(wrong.code).toBe(2);
    expect(wrong.err).toContain('unknown event type customer.nope; one of customer.subscription.created');
    const nobody = await cli('webhooks', 'trigger', 'customer.subscription.updated', '--url', 'http://127.0.0.1:9');
    expect(nobody.code).toBe(1);
    expect(nobody.err).toContain('no answer from http://127.0.0.1:9/webhook');
  });
});
