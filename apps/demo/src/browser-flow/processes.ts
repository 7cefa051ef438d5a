import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';

export function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter(Boolean) as string[];
  const found = candidates.find((path) => existsSync(path));
  if (!found) throw new Error('Chromium not found: `apt-get install -y chromium` (Debian) or set CHROMIUM_PATH. This test never skips.');
  return found;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolvePort(port));
    });
  });
}

export interface DevServer {
  child: ChildProcess;
  /** Everything it printed so far, for failure messages. */
  output(): string;
}

/** The server as `pnpm dev` runs it, from source. Empty values win over any developer's .env file. */
export function spawnDevServer({ serverDir, port, dataDir, appOrigin }: { serverDir: string; port: number; dataDir: string; appOrigin: string }): DevServer {
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@verifieddit/source', 'src/main.ts'], {
    cwd: serverDir,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'development',
      LOG_LEVEL: 'warn',
      PORT: String(port),
      DATA_DIR: dataDir,
      APP_ORIGINS: appOrigin,
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
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return { child, output: () => output };
}

export async function waitForReady(url: string, { child, output }: DevServer): Promise<void> {
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

export async function stopDevServer({ child }: DevServer): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}
