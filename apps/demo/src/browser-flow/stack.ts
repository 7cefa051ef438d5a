import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { build, preview, type PreviewServer } from 'vite';
import { afterAll, beforeAll } from 'vitest';
import { chromiumPath, freePort, spawnDevServer, stopDevServer, waitForReady, type DevServer } from './processes.js';
import { pngWithComment } from './sample-images.js';

/**
 * What the browser flow runs against: the demo (built by Vite, served by `vite preview` with the same
 * /trpc proxy as `pnpm dev`), the real server from source with development settings (local billing
 * provider, dev identities, local detector) on free ports and a temporary DATA_DIR, and Debian's
 * Chromium, driven by playwright-core.
 */

const demoDir = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const serverDir = resolve(demoDir, '../server');
/** Screenshots of every step, per viewport (gitignored): look at them after a change to the demo. */
export const outputDir = join(demoDir, 'test-output');
const sampleImage = join(demoDir, 'public/sample.png');

export const VIEWPORTS = [
  { name: 'desktop', viewport: { width: 1280, height: 800 }, isMobile: false, deviceScaleFactor: 1 },
  { name: 'phone', viewport: { width: 390, height: 844 }, isMobile: true, deviceScaleFactor: 2 },
] as const;
export type Viewport = (typeof VIEWPORTS)[number];

export interface DemoStack {
  demoOrigin: string;
  apiPort: number;
  /** Holds `sample-<viewport>.png`, served by the demo at the same name. */
  imagesDir: string;
  browser: Browser;
  serverOutput(): string;
}

/** Starts the stack before the file's tests and stops it after them; its fields are set once beforeAll ran. */
export function useDemoStack(): DemoStack {
  let server: DevServer | undefined;
  let demo: PreviewServer | undefined;
  let browser: Browser | undefined;
  let tempDir = '';
  const stack = { serverOutput: () => server?.output() ?? '' } as DemoStack;

  beforeAll(async () => {
    tempDir = mkdtempSync(join(tmpdir(), 'verifieddit-demo-'));
    stack.apiPort = await freePort();
    const demoPort = await freePort();
    stack.demoOrigin = `http://127.0.0.1:${demoPort}`;
    server = spawnDevServer({ serverDir, port: stack.apiPort, dataDir: join(tempDir, 'data'), appOrigin: stack.demoOrigin });

    // The demo, built now from the current source, served with the same proxy config as `pnpm dev`.
    process.env.VERIFIEDDIT_API_URL = `http://127.0.0.1:${stack.apiPort}`;
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
    stack.imagesDir = outDir;
    for (const { name } of VIEWPORTS) writeFileSync(join(outDir, `sample-${name}.png`), pngWithComment(readFileSync(sampleImage), name));
    demo = await preview({ root: demoDir, logLevel: 'warn', build: { outDir }, preview: { host: '127.0.0.1' } });

    await waitForReady(`http://127.0.0.1:${stack.apiPort}`, server);
    stack.browser = browser = await chromium.launch({
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
    if (server) await stopDevServer(server);
    if (tempDir) rmSync(tempDir, { recursive: true, force: true });
  });

  return stack;
}
