import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../cli/index.js';
import { loadConfig } from '../config.js';
import { runProcess, serverDir } from '../testing/processes.js';
import { LOCK_FILE, StoreLockedError, type LockInfo } from './embedded-lock.js';
import { migrate, openStore } from './store.js';

const root = mkdtempSync(join(tmpdir(), 'vd-embedded-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
// Creating a PGlite folder runs initdb (seconds); each test starts from a copy of one migrated folder.
const template = join(root, 'template');
beforeAll(async () => {
  const store = await openStore({ dataDir: template, embedded: { join: false } });
  await migrate(store);
  await store.close();
}, 120_000);
let folders = 0;
const folder = () => {
  const dir = join(root, `data${++folders}`);
  cpSync(template, dir, { recursive: true });
  return dir;
};
const lockOf = (dir: string) => JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8')) as LockInfo;

/** The pid of a process that has exited (its lock is stale). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid!;
}

// Generous timeouts: these tests start processes and open real data folders on a shared machine.
describe('embedded PGlite data folder: one process at a time', { timeout: 120_000 }, () => {
  it('refuses a second opener, naming the holder and the two ways on, until the first closes', async () => {
    const dir = folder();
    const first = await openStore({ dataDir: dir, embedded: { join: false } });
    expect(lockOf(dir)).toMatchObject({ pid: process.pid, hostname: hostname() });
    const second = openStore({ dataDir: dir, embedded: { join: false } });
    await expect(second).rejects.toBeInstanceOf(StoreLockedError);
    await expect(second).rejects.toThrow(`in use by another process (pid ${process.pid}`);
    await expect(second).rejects.toThrow(/stop that process.*or set DATABASE_URL/);
    await first.close();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
    const again = await openStore({ dataDir: dir, embedded: { join: false } });
    await again.close();
  });

  it('takes over the lock of a process that died', async () => {
    const dir = folder();
    const pid = await deadPid();
    writeFileSync(join(dir, LOCK_FILE), JSON.stringify({ pid, hostname: hostname(), startedAt: new Date().toISOString(), token: 'dead' }));
    const store = await openStore({ dataDir: dir, embedded: { join: false } });
    expect(lockOf(dir)).toMatchObject({ pid: process.pid });
    await store.close();
  });

  it('a second server process exits with the message instead of opening the folder', async () => {
    const dir = folder();
    const held = await openStore({ dataDir: dir, embedded: { join: false } });
    try {
      const second = await runProcess(process.execPath, ['--conditions=@verifieddit/source', '--import', 'tsx', 'src/main.ts'], {
        cwd: serverDir,
        env: { NODE_ENV: 'development', DATA_DIR: dir, PORT: '0', LOG_LEVEL: 'warn' },
        timeoutMs: 90_000,
      });
      expect(second.code).toBe(1);
      expect(second.stderr).toContain(`The embedded database in ${dir} is in use by another process (pid ${process.pid}`);
      expect(second.stderr).toContain('DATABASE_URL');
      expect(second.stderr).not.toContain('    at '); // a message, not a stack trace
    } finally {
      await held.close();
    }
  }, 120_000);

  it('lets the CLI work while the server runs, through the database the server shares on a loopback port', async () => {
    const dir = folder();
    // The server's way of opening the folder (bootstrap): it shares the database.
    const server = await openStore({ dataDir: dir, embedded: { share: true, join: false } });
    await migrate(server);
    try {
      const { socket } = lockOf(dir);
      expect(socket).toMatchObject({ host: '127.0.0.1', port: expect.any(Number) });
      const catalogFile = join(root, 'catalog.json');
      const config = loadConfig({ NODE_ENV: 'development', DATA_DIR: dir });
      const out: string[] = [];
      const io = { out: (t: string) => out.push(t), err: (t: string) => out.push(t), cwd: root };
      expect(await runCli(['catalog', 'template'], config, io)).toBe(0);
      writeFileSync(catalogFile, out.join('\n'));
      expect(await runCli(['catalog', 'put', '--file', 'catalog.json'], config, io)).toBe(0);
      // The server sees what the CLI wrote, at once: one database, not two copies of a folder.
      expect(await server.query<{ n: number }>('SELECT count(*)::int AS n FROM catalogs')).toEqual([{ n: 1 }]);
      expect(await runCli(['webhooks', 'list', '--failed'], config, io)).toBe(0);
      expect(out.at(-1)).toBe('no failed events');
      // The CLI never took the folder's lock.
      expect(lockOf(dir)).toMatchObject({ pid: process.pid, socket });
    } finally {
      await server.close();
    }
    // Without a running server, the CLI opens the folder itself.
    expect(await runCli(['catalog', 'get'], loadConfig({ NODE_ENV: 'development', DATA_DIR: dir }), { out: () => {}, err: () => {} })).toBe(0);
  });

  it('reopens cleanly after a writer is killed with SIGKILL mid-burst, with every reported write kept', async () => {
    const dir = folder();
    for (let round = 1; round <= 2; round++) {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/testing/embedded-writer.ts', dir], { cwd: serverDir, stdio: ['ignore', 'pipe', 'pipe'] });
      let reported = 0;
      let stderr = '';
      child.stderr.on('data', (d) => (stderr += d));
      const killed = new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => {
          for (const line of String(chunk).split('\n')) if (/^\d+$/.test(line)) reported = Number(line);
          // Kill at a different point of the burst each round.
          if (reported >= round * 150 && child.exitCode === null && !child.killed) child.kill('SIGKILL');
        });
        child.once('exit', (_code, signal) => (signal === 'SIGKILL' ? resolve() : reject(new Error(`writer exited on its own: ${stderr}`))));
      });
      await killed;
      // The lock names the dead writer; opening takes it over and the folder opens.
      expect(lockOf(dir).pid).toBe(child.pid);
      const store = await openStore({ dataDir: dir, embedded: { join: false } });
      try {
        const [row] = await store.query<{ n: number; max: number }>('SELECT count(*)::int AS n, max(n)::int AS max FROM burst');
        expect(row!.max).toBeGreaterThanOrEqual(reported);
        expect(row!.n).toBe(row!.max); // no gaps: every committed insert is there
        expect(await store.query('SELECT id FROM schema_migrations')).not.toHaveLength(0);
        await store.query('SELECT count(*) FROM webhook_events'); // indexes and jsonb readable
      } finally {
        await store.close();
      }
    }
  }, 180_000);
});
