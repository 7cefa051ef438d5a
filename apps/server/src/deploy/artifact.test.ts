import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProcess, serverDir } from '../testing/processes.js';
import { migrations } from '../store/migrations.js';
import type { Rows } from '../store/rows.js';
import { postgresTargetOrUndefined } from '../testing/stores.js';

/**
 * The production artifact, as an operator gets it: `pnpm artifact` writes it, and it is copied alone
 * into an empty folder outside the workspace, then run there on Node and on Bun with nothing but PATH
 * in the environment. The bundle must already be built (the test task depends on build).
 */
const runtimes = [
  { name: 'node', command: process.execPath },
  // The bun devDependency's own binary (node_modules/.bin/bun is a shell shim around it).
  { name: 'bun', command: join(serverDir, 'node_modules/bun/bin/bun.exe') },
];

/**
 * `command args` in a network namespace of its own where only loopback exists: whatever the artifact
 * tried to reach beyond this machine would fail, so passing here shows it needs no network.
 */
function offline(command: string, args: string[]): [string, string[]] {
  return ['unshare', ['--net', '--map-root-user', 'sh', '-c', 'PATH="$PATH:/usr/sbin:/sbin"; ip link set lo up && exec "$@"', 'offline', command, ...args]];
}

/**
 * Runs inside the namespace (the test cannot reach in): starts the server, waits for /ready, asks
 * /health, /ready and the API, stops it with SIGTERM and prints what it saw as one JSON line.
 */
const DRIVER = `
import { spawn } from 'node:child_process';
const [runtime, cwd] = process.argv.slice(2);
const port = String(20000 + Math.floor(Math.random() * 20000));
const child = spawn(runtime, ['index.js'], { cwd, env: { ...process.env, PORT: port }, stdio: ['ignore', 'ignore', 'inherit'] });
const exited = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
const url = 'http://127.0.0.1:' + port;
const out = {};
const deadline = Date.now() + 150000;
while (Date.now() < deadline && child.exitCode === null) {
  if (await fetch(url + '/ready').then((r) => r.ok, () => false)) break;
  await new Promise((r) => setTimeout(r, 100));
}
const health = await fetch(url + '/health').catch(() => undefined);
out.health = health ? { status: health.status, body: await health.json() } : null;
out.ready = await fetch(url + '/ready').then((r) => r.status, () => null);
out.api = await fetch(url + '/trpc/health').then((r) => r.status, () => null);
child.kill('SIGTERM');
out.exitCode = await exited;
process.stdout.write(JSON.stringify(out) + '\\n');
`;

let work: string;
let artifact: string;
let driver: string;

beforeAll(async () => {
  if (!existsSync(join(serverDir, 'dist/index.js'))) throw new Error('apps/server/dist/index.js is missing: run pnpm build first');
  work = mkdtempSync(join(tmpdir(), 'vd-artifact-'));
  const written = join(work, 'written');
  const made = await runProcess(process.execPath, ['scripts/artifact.mjs', '--out', written, '--no-build'], { cwd: serverDir, env: {} });
  expect(made.code, made.stderr).toBe(0);
  // Copied alone into an empty folder: no workspace, no node_modules above it.
  artifact = join(work, 'empty');
  cpSync(written, artifact, { recursive: true });
  driver = join(work, 'driver.mjs');
  writeFileSync(driver, DRIVER);
}, 120_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the production artifact', () => {
  it('is run here with no network: its namespace has loopback and nothing else', async () => {
    const links = await runProcess(...offline('ip', ['-o', 'link', 'show']), { cwd: artifact, env: { PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` } });
    expect(links.code, links.stderr).toBe(0);
    expect(links.stdout.trim().split('\n').map((line) => line.split(':')[1]?.trim())).toEqual(['lo']);
  });

  it('holds the bundle, its package.json and PGlite, and nothing else', async () => {
    const files = readdirSync(artifact);
    expect(files.filter((f) => !f.endsWith('.js')).sort()).toEqual(['node_modules', 'package.json']);
    // The bundle is index.js and the chunks it loads: every other .js file is imported by one of them.
    const imported = new Set(files.flatMap((f) => (f.endsWith('.js') ? [...readFileSync(join(artifact, f), 'utf8').matchAll(/["']\.\/([\w.-]+\.js)["']/g)].map((m) => m[1]) : [])));
    expect(files.filter((f) => f.endsWith('.js') && f !== 'index.js' && !imported.has(f))).toEqual([]);
    expect(files).toContain('index.js');
    expect(readdirSync(join(artifact, 'node_modules'))).toEqual(['@electric-sql']);
    expect(readdirSync(join(artifact, 'node_modules/@electric-sql'))).toEqual(['pglite']);
    const pglite = readdirSync(join(artifact, 'node_modules/@electric-sql/pglite/dist'));
    expect(pglite).toEqual(expect.arrayContaining(['pglite.wasm', 'pglite.data', 'initdb.wasm', 'index.js']));
    expect(pglite.filter((f) => /\.(map|cjs|d\.ts)$|\.tar\.gz$/.test(f))).toEqual([]);
    // Started as `<runtime> index.js` (the Nix image names Bun by its store path): no shebang to resolve.
    expect(readFileSync(join(artifact, 'index.js'), 'utf8').startsWith('#!')).toBe(false);
    // Nothing from the workspace is reachable from there (asked in a clean process: pnpm sets NODE_PATH here).
    for (const name of ['@electric-sql/pglite', 'express', '@verifieddit/contracts']) {
      const probe = await runProcess(process.execPath, ['--input-type=module', '-e', `await import(${JSON.stringify(name)})`], { cwd: artifact, env: {} });
      expect(probe.code, name).toBe(name === '@electric-sql/pglite' ? 0 : 1);
    }
  });

  describe.each(runtimes)('on $name', ({ name, command }) => {
    it('migrates from the artifact alone, then a second run has nothing to do', async () => {
      const env = { DATA_DIR: join(work, `data-${name}`) };
      const first = await runProcess(...offline(command, ['index.js', 'migrate']), { cwd: artifact, env, timeoutMs: 150_000 });
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toMatch(/^applied: 0001_billing_core, /);
      const second = await runProcess(...offline(command, ['index.js', 'migrate']), { cwd: artifact, env, timeoutMs: 150_000 });
      expect(second.code, second.stderr).toBe(0);
      expect(second.stdout).toMatch(/^nothing to do \(\d+ already applied\)/);
    }, 320_000);

    it('serves /health, /ready and the API, and stops cleanly on SIGTERM', async () => {
      const run = await runProcess(...offline(process.execPath, [driver, command, artifact]), {
        cwd: artifact,
        env: { DATA_DIR: join(work, `data-${name}`), LOG_LEVEL: 'warn' },
        timeoutMs: 170_000,
      });
      expect(run.code, run.stderr).toBe(0);
      const seen = JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, any>;
      expect(seen.health, run.stderr).toMatchObject({ status: 200, body: { status: 'ok', role: 'all' } });
      expect(seen.ready).toBe(200);
      expect(seen.api).toBe(200);
      expect(seen.exitCode).toBe(0);
    }, 180_000);

    it('refuses to start in production without the keys, naming each', async () => {
      const result = await runProcess(...offline(command, ['index.js']), { cwd: artifact, env: { NODE_ENV: 'production' }, timeoutMs: 60_000 });
      expect(result.code).toBe(1);
      for (const variable of ['DATABASE_URL', 'STRIPE_SECRET_KEY', 'STRIPE_WEBHOOK_SECRET', 'CLERK_PUBLISHABLE_KEY', 'SIGHTENGINE_API_USER']) {
        expect(result.stderr).toContain(`${variable}`);
      }
      expect(result.stderr).toContain('required in production');
    }, 90_000);
  });

  it.runIf(postgresTargetOrUndefined)('migrates a PostgreSQL database from the artifact alone', async () => {
    const t = await postgresTargetOrUndefined!.open({ migrated: false });
    try {
      const result = await runProcess(process.execPath, ['index.js', 'migrate'], { cwd: artifact, env: { DATABASE_URL: t.databaseUrl! }, timeoutMs: 60_000 });
      expect(result.code, result.stderr).toBe(0);
      const applied = await t.store.query<Pick<Rows['schema_migrations'], 'id'>>('SELECT id FROM schema_migrations ORDER BY id');
      expect(applied.map((row) => row.id)).toEqual(migrations.map((m) => m.id));
    } finally {
      await t.dispose();
    }
  }, 90_000);
});
