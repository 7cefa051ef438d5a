import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { crc32 } from 'node:zlib';
import { chromium, type Browser, type Page } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

/**
 * The whole newcomer flow in a real browser: the demo (built by Vite, served by `vite preview` with the
 * same /trpc proxy as `pnpm dev`), the real server from source with development settings (local billing
 * provider, dev identities, local detector) on free ports and a temporary DATA_DIR, and the server's
 * real local Checkout and Portal pages. Debian's Chromium, driven by playwright-core.
 */

const demoDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const serverDir = resolve(demoDir, '../server');
/** Screenshots of every step, per viewport (gitignored): look at them after a change to the demo. */
const outputDir = join(demoDir, 'test-output');
const sampleImage = join(demoDir, 'public/sample.png');

const VIEWPORTS = [
  { name: 'desktop', viewport: { width: 1280, height: 800 }, isMobile: false, deviceScaleFactor: 1 },
  { name: 'phone', viewport: { width: 390, height: 844 }, isMobile: true, deviceScaleFactor: 2 },
] as const;

function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean) as string[];
  const found = candidates.find((path) => existsSync(path));
  if (!found) throw new Error('Chromium not found: `apt-get install -y chromium` (Debian) or set CHROMIUM_PATH. This test never skips.');
  return found;
}

async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolvePort(port));
    });
  });
}

async function waitForReady(url: string, child: ChildProcess, output: () => string): Promise<void> {
  const deadline = Date.now() + 240_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${output()}`);
    try {
      if ((await fetch(`${url}/ready`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`server was not ready within 240 s:\n${output()}`);
}

let server: ChildProcess | undefined;
let serverOutput = '';
let demo: PreviewServer | undefined;
let browser: Browser | undefined;
let demoOrigin = '';
let tempDir = '';
let imagesDir = '';
let apiPort = 0;

beforeAll(async () => {
  tempDir = mkdtempSync(join(tmpdir(), 'verifieddit-demo-'));
  apiPort = await freePort();
  const demoPort = await freePort();
  demoOrigin = `http://127.0.0.1:${demoPort}`;

  // The server as `pnpm dev` runs it, from source. Empty values win over any developer's .env file.
  server = spawn(process.execPath, ['--import', 'tsx', '--conditions=@verifieddit/source', 'src/main.ts'], {
    cwd: serverDir,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      PORT: String(apiPort),
      DATA_DIR: join(tempDir, 'data'),
      APP_ORIGINS: demoOrigin,
      // The demo's sample image is served from 127.0.0.1, which only this lets the URL check reach.
      AI_DETECT_FETCH_ALLOW_LOOPBACK: 'true',
      DATABASE_URL: '',
      STRIPE_SECRET_KEY: '',
      STRIPE_WEBHOOK_SECRET: '',
      CLERK_SECRET_KEY: '',
      CLERK_JWT_KEY: '',
      CLERK_PUBLISHABLE_KEY: '',
      SIGHTENGINE_API_USER: '',
      SIGHTENGINE_API_SECRET: '',
      PUBLIC_URL: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  server.stdout!.on('data', (chunk: Buffer) => (serverOutput += chunk.toString()));
  server.stderr!.on('data', (chunk: Buffer) => (serverOutput += chunk.toString()));

  // The demo, built now from the current source, served with the same proxy config as `pnpm dev`.
  process.env.VERIFIEDDIT_API_URL = `http://127.0.0.1:${apiPort}`;
  process.env.DEMO_PORT = String(demoPort);
  const outDir = join(tempDir, 'dist');
  // The production bundle, as `pnpm --filter @verifieddit/demo build` makes it (vitest sets NODE_ENV=test,
  // which would otherwise give React's development build).
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ root: demoDir, logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  } finally {
    process.env.NODE_ENV = nodeEnv;
  }
  imagesDir = outDir;
  for (const { name } of VIEWPORTS) writeFileSync(join(outDir, `sample-${name}.png`), pngWithComment(readFileSync(sampleImage), name));
  demo = await preview({ root: demoDir, logLevel: 'warn', build: { outDir }, preview: { host: '127.0.0.1' } });

  await waitForReady(`http://127.0.0.1:${apiPort}`, server, () => serverOutput);
  browser = await chromium.launch({
    executablePath: chromiumPath(),
    headless: true,
    // Playwright gives every launch a fresh temporary profile (--user-data-dir) of its own.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  rmSync(outputDir, { recursive: true, force: true });
}, 360_000);

afterAll(async () => {
  await browser?.close();
  await demo?.close();
  if (server && server.exitCode === null) {
    const exited = new Promise((r) => server!.once('exit', r));
    server.kill('SIGTERM');
    await exited;
  }
  if (tempDir) rmSync(tempDir, { recursive: true, force: true });
});

describe.each(VIEWPORTS)('the demo in Chromium at $name width', ({ name, viewport, isMobile, deviceScaleFactor }) => {
  test(`${name}: sign in, subscribe and pay, check an image by upload and by URL, cancel in the portal, come back`, async () => {
    const context = await browser!.newContext({ viewport, isMobile, hasTouch: isMobile, deviceScaleFactor });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      // The API has no favicon; the browser asks for one on the Checkout and Portal pages.
      if (message.type() === 'error' && !message.location().url.endsWith(`:${apiPort}/favicon.ico`)) problems.push(`console error: ${message.text()} (${message.location().url})`);
    });
    let step = 0;
    const shot = async (label: string) => {
      const dir = join(outputDir, name);
      mkdirSync(dir, { recursive: true });
      await page.screenshot({ path: join(dir, `${String(++step).padStart(2, '0')}-${label}.png`), fullPage: true });
    };
    const status = () => page.getByTestId('subscription-status');
    const user = `${name}-user`;

    try {
      // Sign in with a name: the demo sends `Bearer dev_<name>`.
      await page.goto(demoOrigin);
      await expect.poll(() => page.getByRole('heading', { name: 'Sign in' }).isVisible()).toBe(true);
      await shot('sign-in');
      await page.getByLabel('Your name').fill(user);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expectText(page, `Signed in as ${user}`);
      await expectStatus(status, 'none');
      await expectText(page, '0 of 10 detections used');
      await shot('signed-in');

      // Subscribe: the local Checkout page in the same tab, Pay, back to the demo's own success page.
      await page.getByRole('button', { name: 'Subscribe to Pro' }).click();
      await page.waitForURL(/\/local-billing\/checkout\//);
      await expectText(page, 'Pro');
      await shot('checkout');
      await page.getByRole('button', { name: 'Pay' }).click();
      await page.waitForURL(`${demoOrigin}/billing/success?**`);
      await expectText(page, 'Thanks — payment received');
      await expectStatus(status, 'active');
      await expectText(page, 'of 1000 detections used');
      await shot('paid-active');

      // Upload an image: a fresh verdict from the local detector, counted in the meter. Each viewport has
      // its own bytes, because verdicts are cached across users by the image's hash.
      await page.locator('input[type=file]').setInputFiles(join(imagesDir, `sample-${name}.png`));
      await expect.poll(() => page.getByTestId('verdict').textContent()).toMatch(/\d+% likely AI-generated/);
      await expectText(page, 'fresh verdict');
      await expectText(page, '1 of 1000 detections used');
      await shot('verdict-upload');

      // The same bytes by URL: the server fetches them and answers from its verdict cache.
      await page.getByPlaceholder('https://…/image.jpg').fill(`${demoOrigin}/sample-${name}.png`);
      await page.getByRole('button', { name: 'Check', exact: true }).click();
      await expectText(page, 'cached verdict');
      await expectText(page, '2 of 1000 detections used');
      await shot('verdict-url-cached');

      // A second tab stays on the demo: the status stream (billing.onStatusChange) updates it live.
      const watcher = await context.newPage();
      await watcher.goto(demoOrigin);
      await expect.poll(() => watcher.getByTestId('live-state').textContent(), { timeout: 10_000 }).toBe('● live');
      await expectStatus(() => watcher.getByTestId('subscription-status'), 'active');

      // The Portal: cancel now, then return to the demo, which shows the ended subscription.
      await page.bringToFront();
      await page.getByRole('button', { name: 'Manage billing' }).click();
      await page.waitForURL(/\/local-billing\/portal\//);
      await expectText(page, 'Status: active');
      await shot('portal');
      await page.getByRole('button', { name: 'Cancel now' }).click();
      await expectText(page, 'Status: canceled');
      await shot('portal-canceled');
      await expectStatus(() => watcher.getByTestId('subscription-status'), 'canceled');
      await expect.poll(() => watcher.getByTestId('usage').textContent(), { timeout: 10_000 }).toContain('of 10 detections used');
      await watcher.screenshot({ path: join(outputDir, name, `${String(++step).padStart(2, '0')}-other-tab-live-canceled.png`), fullPage: true });
      await page.getByRole('link', { name: 'Return to verifieddit' }).click();
      await page.waitForURL(`${demoOrigin}/`);
      await expectStatus(status, 'canceled');
      await expectText(page, 'of 10 detections used');
      await shot('back-canceled');

      expect(problems, problems.join('\n')).toEqual([]);
    } catch (error) {
      await shot('failure').catch(() => undefined);
      throw new Error(`${(error as Error).message}\n--- server output ---\n${serverOutput.slice(-4000)}`, { cause: error });
    } finally {
      await context.close();
    }
  }, 120_000);
});

async function expectText(page: Page, text: string): Promise<void> {
  await expect.poll(() => page.getByText(text, { exact: false }).first().isVisible(), { message: `"${text}" visible`, timeout: 10_000 }).toBe(true);
}

async function expectStatus(status: () => ReturnType<Page['getByTestId']>, value: string): Promise<void> {
  await expect.poll(() => status().textContent(), { message: `subscription status ${value}`, timeout: 10_000 }).toBe(value);
}

/** The same picture with a tEXt chunk before IEND: other bytes, so another hash and a fresh verdict. */
function pngWithComment(png: Buffer, comment: string): Buffer {
  const data = Buffer.concat([Buffer.from('tEXt'), Buffer.from(`Comment\0${comment}`, 'latin1')]);
  const chunk = Buffer.alloc(data.length + 8);
  chunk.writeUInt32BE(data.length - 4, 0);
  data.copy(chunk, 4);
  chunk.writeUInt32BE(crc32(data) >>> 0, data.length + 4);
  const iend = png.length - 12;
  return Buffer.concat([png.subarray(0, iend), chunk, png.subarray(iend)]);
}
