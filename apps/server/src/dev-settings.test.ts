import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, test, type TestContext } from 'vitest';
import { CONFIG_VARIABLES, loadConfig } from './config.js';
import { freePort } from './testing/processes.js';

/** What a newcomer's `pnpm dev` sees: turbo's env lists, `.env` files, the start banner. */

const serverDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = resolve(serverDir, '../..');

// These tests run concurrently, so cleanup hangs on each test's own context: the global onTestFinished
// cannot tell concurrent tests apart and would stop one test's server when the other one ends.
type Finished = TestContext['onTestFinished'];

/** A temporary folder removed when the test that made it ends. */
function tempDir(onTestFinished: Finished, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts a command in its own process group and resolves with its output once `ready` matches it. */
function startUntil(
  onTestFinished: Finished,
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
  ready: RegExp,
) {
  const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  onTestFinished(() => stop(child));
  let output = '';
  return new Promise<string>((resolveOutput, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${ready} within 240 s:\n${output}`)), 240_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (ready.test(output)) {
        clearTimeout(timer);
        resolveOutput(output);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ${ready}:\n${output}`));
    });
  });
}

/** Stops the whole process group (turbo → pnpm → tsx watch → node) and waits for the leader. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  try {
    process.kill(-child.pid!, 'SIGTERM');
  } catch {
    return;
  }
  const force = setTimeout(() => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }, 10_000);
  await exited;
  clearTimeout(force);
}

/** A minimal environment: nothing from a developer's shell or .env decides these tests. */
function cleanEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), TURBO_TELEMETRY_DISABLED: '1', ...extra };
}

describe('every documented variable reaches the server', () => {
  test('turbo.json passes every variable config.ts reads to `pnpm dev` (strict env mode drops the rest silently)', () => {
    const turbo = JSON.parse(readFileSync(join(repoRoot, 'turbo.json'), 'utf8')) as {
      globalEnv?: string[];
      tasks: { dev: { env?: string[] } };
    };
    const passed = new Set([...(turbo.globalEnv ?? []), ...(turbo.tasks.dev.env ?? [])]);
    expect(CONFIG_VARIABLES.filter((name) => !passed.has(name))).toEqual([]);
  });

  test('.env.example lists every variable, and each value it shows is the default', () => {
    const example = readFileSync(join(repoRoot, '.env.example'), 'utf8');
    const shown = new Map([...example.matchAll(/^#? ?([A-Z][A-Z0-9_]*)=(.*)$/gm)].map((m) => [m[1]!, m[2]!.trim()]));
    expect(CONFIG_VARIABLES.filter((name) => !shown.has(name))).toEqual([]);
    const defaults = loadConfig({});
    for (const [name, value] of shown) {
      if (value === '' || !CONFIG_VARIABLES.includes(name)) continue;
      expect(loadConfig({ [name]: value }), `${name}=${value} in .env.example is not the default`).toEqual(defaults);
    }
  });
});

// Both start a real server and mostly wait for it (tsx, PGlite): side by side they take half the time.
describe.concurrent('dev settings take effect', () => {
  test('a .env at the workspace root is read, apps/server/.env wins over it, the real environment over both', async ({ onTestFinished }) => {
    // A workspace laid out like this one, so the server finds the root the way it does in a checkout.
    const root = tempDir(onTestFinished, 'verifieddit-dotenv-');
    const packageDir = join(root, 'apps/server');
    mkdirSync(packageDir, { recursive: true });
    writeFileSync(join(root, 'pnpm-workspace.yaml'), 'packages:\n  - apps/*\n');
    const [rootPort, packagePort] = [await freePort(), await freePort()];
    writeFileSync(join(root, '.env'), `AI_DETECT_FETCH_ALLOW_LOOPBACK=true\nPORT=${rootPort}\nLOG_LEVEL=debug\nDATA_DIR=${join(root, 'data')}\n`);
    writeFileSync(join(packageDir, '.env'), `PORT=${packagePort}\n`);

    const tsx = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
    const output = await startUntil(
      onTestFinished,
      process.execPath,
      ['--import', tsx, '--conditions=@verifieddit/source', join(serverDir, 'src/main.ts')],
      { cwd: packageDir, env: cleanEnv({ NODE_ENV: 'development', LOG_LEVEL: 'info' }) },
      /verifieddit server ready[\s\S]*env files read/,
    );

    expect(output).toMatch(new RegExp(`API: +http://localhost:${packagePort} `));
    expect(output).toContain('image URLs: AI_DETECT_FETCH_ALLOW_LOOPBACK=true');
    expect(output).toContain('env files read: apps/server/.env, .env');
    // LOG_LEVEL=debug from the root file lost to the real environment's info: no debug lines.
    expect(output).not.toMatch(/DEBUG/);
    expect((await fetch(`http://127.0.0.1:${packagePort}/health`)).status).toBe(200);
  }, 300_000);

  test('`AI_DETECT_FETCH_ALLOW_LOOPBACK=true pnpm dev` reaches the server through turbo, and its logs are pretty although turbo pipes them', async ({ onTestFinished }) => {
    const port = await freePort();
    const dataDir = tempDir(onTestFinished, 'verifieddit-turbo-dev-');
    // `pnpm dev`'s turbo task for the server alone (--only: the build it depends on is not under test).
    const output = await startUntil(
      onTestFinished,
      'pnpm',
      ['exec', 'turbo', 'run', 'dev', '--filter=@verifieddit/server', '--only', '--ui=stream', '--log-prefix=none'],
      {
        cwd: repoRoot,
        env: cleanEnv({ NODE_ENV: 'development', AI_DETECT_FETCH_ALLOW_LOOPBACK: 'true', PORT: String(port), DATA_DIR: dataDir }),
      },
      /verifieddit server ready[\s\S]*store:/,
    );

    expect(output).toContain('image URLs: AI_DETECT_FETCH_ALLOW_LOOPBACK=true');
    expect(output).toMatch(new RegExp(`API: +http://localhost:${port} `));
    expect(output).toContain(`store: embedded PGlite in ${dataDir}`);
    // Pretty: a local clock time and a level word, not JSON with epoch milliseconds.
    expect(output.replace(/\x1b\[[0-9;]*m/g, '')).toMatch(/\[\d{2}:\d{2}:\d{2}\.\d{3}\] INFO: verifieddit server ready/);
    expect(output).not.toMatch(/"level":\d+/);
  }, 300_000);
});
