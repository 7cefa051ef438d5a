import { cpSync, existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { acquireLock, currentHolder } from './embedded-lock.js';
import { isStale } from './stale-statement.js';
import type { Session, Store } from './ports.js';

export { migrate } from './migrate.js';

export interface OpenStoreOptions {
  /** postgres://… selects a real PostgreSQL; otherwise embedded PGlite. */
  databaseUrl?: string | undefined;
  /** PGlite data directory; `memory://` for a throwaway store. */
  dataDir?: string;
  poolSize?: number | undefined;
  /** PostgreSQL only: how long a request waits for a new connection before it fails (default 5 s). */
  connectTimeoutMs?: number;
  /**
   * Embedded PGlite only. `share`: serve the database on a loopback port (written into the folder's
   * lock file) so other processes, e.g. the operator CLI, can use it while this one runs; the dev
   * server does. `join` (default true): if another live process holds the folder and shares it,
   * connect through its port instead of opening the folder. A server passes `join: false`, so a second
   * server stops with a message instead of quietly running on the first one's database.
   */
  embedded?: { share?: boolean; join?: boolean };
  /** In-memory PGlite only: start from this dump instead of an empty database (tests clone a migrated template). */
  loadDataDir?: Blob;
}

export async function openStore(options: OpenStoreOptions): Promise<Store> {
  return options.databaseUrl ? openPostgres(options.databaseUrl, options.poolSize ?? 10, options.connectTimeoutMs ?? 5_000) : openPglite(options.dataDir ?? '.data', { ...options.embedded, loadDataDir: options.loadDataDir });
}

function openPostgres(url: string, max: number, connectTimeoutMs: number, onClose?: () => void): Store {
  // TCP keepalive, so a peer gone without a RST (a NAT or load balancer dropping the connection) is
  // detected instead of a query waiting forever; no global statement timeout: migrations share the pool.
  const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: connectTimeoutMs, keepAlive: true, keepAliveInitialDelayMillis: 10_000 });
  // An idle client erroring (e.g. the server restarting) must not crash the process.
  pool.on('error', () => {});
  const sessionOf = (client: pg.PoolClient | pg.Pool): Session => ({
    async query(text, params) {
      return (await client.query(text, params as unknown[])).rows;
    },
    async exec(text) {
      await client.query(text);
    },
  });
  const root = sessionOf(pool);
  // Prepared statements are named by their text; few statements are hot, but the map is bounded anyway.
  const names = new Map<string, string>();
  let named = 0;
  const nameOf = (text: string) => {
    let name = names.get(text);
    if (!name && names.size < 64) names.set(text, (name = `hot_${++named}`));
    return name;
  };
  const runNamed = async (name: string, text: string, params: unknown[]) => (await pool.query({ name, text, values: params })).rows;
  return {
    kind: 'postgres',
    async query(text, params, options) {
      const name = options?.prepared ? nameOf(text) : undefined;
      if (!name) return root.query(text, params);
      try {
        return await runNamed(name, text, params as unknown[]);
      } catch (error) {
        if (!isStale(error)) throw error;
        // Each pooled connection keeps the old plan under the old name; a new name prepares it anew on each.
        names.delete(text);
        return runNamed(nameOf(text) ?? name, text, params as unknown[]);
      }
    },
    async withSession(fn) {
      const client = await pool.connect();
      try {
        return await fn(sessionOf(client));
      } finally {
        client.release();
      }
    },
    async ping() {
      await pool.query('SELECT 1');
    },
    poolStats: () => ({ max, total: pool.totalCount, inUse: pool.totalCount - pool.idleCount, waiting: pool.waitingCount }),
    async close() {
      await pool.end();
      onClose?.();
    },
  };
}

/**
 * PostgreSQL's default 128 MB of shared buffers is touched up front inside PGlite's WebAssembly
 * memory: about 140 MB of resident memory for an embedded store whose data is a few MB (idle RSS
 * 300 → 165 MB measured). One process's development store needs far less.
 */
export const PGLITE_SETTINGS = ['-c', 'shared_buffers=16MB'];

/** The initialised, migrated folder the build ships beside the bundle (absent when running from src). */
const PGLITE_TEMPLATE = fileURLToPath(new URL('./pglite-template/pglite', import.meta.url));

/**
 * A first start on an empty data folder copies the shipped template instead of running initdb
 * (seconds of WebAssembly). Copied to a temporary sibling and renamed, so a crash mid-copy never
 * leaves a half folder; migrations still run after opening, so an older template is brought up to date.
 */
export function seedFromTemplate(target: string, template = PGLITE_TEMPLATE): boolean {
  if (existsSync(target) || !existsSync(template)) return false;
  const partial = `${target}.seeding-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  cpSync(template, partial, { recursive: true });
  try {
    renameSync(partial, target);
  } catch (error) {
    rmSync(partial, { recursive: true, force: true });
    if (!existsSync(target)) throw error;
  }
  return true;
}

async function openPglite(dataDir: string, options: { share?: boolean; join?: boolean; loadDataDir?: Blob | undefined }): Promise<Store> {
  // Loaded here, not at the top: a server on PostgreSQL never compiles PGlite's JavaScript.
  const [{ PGlite }, { preparedRunner }] = await Promise.all([import('@electric-sql/pglite'), import('./pglite-prepared.js')]);
  const inMemory = dataDir.startsWith('memory://');
  const dir = resolve(dataDir);
  if (!inMemory) {
    mkdirSync(dir, { recursive: true });
    const holder = options.join === false ? undefined : currentHolder(dir);
    // The folder's owner shares it: use its database through the wire protocol, never the files.
    if (holder?.socket) return openPostgres(`postgres://postgres@${holder.socket.host}:${holder.socket.port}/postgres`, 2, 5_000);
  }
  const lock = inMemory ? undefined : acquireLock(dir);
  let client: InstanceType<typeof PGlite>;
  let shared: { stop(): Promise<void> } | undefined;
  try {
    // Only the lock holder seeds: a first start copies the shipped template instead of initdb.
    if (lock) seedFromTemplate(resolve(dir, 'pglite'));
    const startParams = [...PGlite.defaultStartParams, ...PGLITE_SETTINGS];
    client = inMemory
      ? new PGlite(dataDir, { startParams, ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}) })
      : new PGlite(resolve(dir, 'pglite'), { startParams });
    await client.waitReady;
    if (lock && options.share) {
      const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
      // Loopback only, any free port; several CLI runs may be connected at once (the server multiplexes
      // them onto the one PGlite connection and keeps each client's transaction to itself).
      const server = new PGLiteSocketServer({ db: client, host: '127.0.0.1', port: 0, maxConnections: 8 });
      const listening = new Promise<{ host: string; port: number }>((done) =>
        server.addEventListener('listening', (event) => done((event as CustomEvent<{ host: string; port: number }>).detail), { once: true }),
      );
      await server.start();
      lock.advertise(await listening);
      shared = server;
    }
  } catch (error) {
    lock?.release();
    throw error;
  }
  let closed = false;
  const session: Session = {
    async query(text, params) {
      return (await client.query(text, params as unknown[])).rows as never[];
    },
    async exec(text) {
      await client.exec(text);
    },
  };
  const runPrepared = preparedRunner(client);
  const store: Store & { dumpDataDir?(): Promise<Blob> } = {
    kind: 'pglite',
    async query(text, params, options) {
      const rows = options?.prepared ? runPrepared(text, params ?? []) : undefined;
      return ((await rows) ?? (await session.query(text, params))) as never[];
    },
    // PGlite is a single connection: every caller already shares one session.
    withSession: (fn) => fn(session),
    async ping() {
      if (closed) throw new Error('store is closed');
      await client.query('SELECT 1');
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await shared?.stop();
        await client.close();
      } finally {
        lock?.release();
      }
    },
  };
  if (inMemory) store.dumpDataDir = () => client.dumpDataDir('none');
  return store;
}

/** An in-memory PGlite store's database as a tarball (tests migrate one once and clone the rest from it). */
export function dumpDataDir(store: Store): Promise<Blob> {
  const dump = (store as Store & { dumpDataDir?(): Promise<Blob> }).dumpDataDir;
  if (!dump) throw new Error('only an in-memory PGlite store can be dumped');
  return dump();
}

/**
 * Whether a failed statement was refused for its data (SQLSTATE class 22 data exception, 23
 * integrity violation) rather than because the store is unreachable or unwell. Retrying the same
 * data can never succeed; every other failure may.
 */
export function isDataError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^2[23][0-9A-Z]{3}$/.test(code);
}

/**
 * Whether a failure says the store could not be reached or used right now (connection refused or
 * lost, server shutting down or out of resources), as opposed to a statement that was refused.
 * Such failures are worth retrying soon, and say nothing about the work being attempted.
 */
export function isStoreUnavailable(error: unknown): boolean {
  // A caller's error may wrap the driver's as `cause`; follow a few levels, but never into a provider's error.
  for (let e = error as { code?: unknown; message?: unknown; cause?: unknown; name?: unknown } | null | undefined, depth = 0; e && depth < 4; e = e.cause as typeof e, depth++) {
    if (e.name === 'AppError') return false;
    const code = typeof e.code === 'string' ? e.code : '';
    // SQLSTATE 08 connection exception, 53 insufficient resources, 57 operator intervention (e.g.
    // admin shutdown), 58 system error; and Node socket errors (ECONNREFUSED, ECONNRESET, …).
    if (/^(08|53|57|58)[0-9A-Z]{3}$/.test(code) || /^E[A-Z]+$/.test(code)) return true;
    if (/Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection ended|store is closed|after calling end on the pool/i.test(String(e.message ?? ''))) return true;
  }
  return false;
}
