import { randomUUID } from 'node:crypto';
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

/**
 * One process per PGlite data folder. PGlite is a database inside one process: two processes writing
 * the same folder (a second `pnpm dev`, a CLI run beside the server) have left folders that no longer
 * open. The folder's owner writes `lock.json` (pid, and the loopback port where it shares the
 * database, if it does); everyone else either joins through that port or stops with a clear message.
 */

export const LOCK_FILE = 'lock.json';

export interface LockInfo {
  pid: number;
  hostname: string;
  startedAt: string;
  /** A random id per acquisition, so a holder never removes a lock that is not its own. */
  token: string;
  /** Where the holder serves the database over the PostgreSQL protocol (127.0.0.1 only). */
  socket?: { host: string; port: number };
}

export class StoreLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockInfo,
  ) {
    super(
      `The embedded database in ${dataDir} is in use by another process (pid ${holder.pid} on ${holder.hostname}, since ${holder.startedAt}). ` +
        'PGlite lets one process at a time open a data folder. Either stop that process (e.g. the other `pnpm dev`), ' +
        'or set DATABASE_URL to a PostgreSQL server, which any number of processes can share. ' +
        `(If no such process exists, delete ${join(dataDir, LOCK_FILE)}.)`,
    );
    this.name = 'StoreLockedError';
  }
}

/** Locks this process holds, by folder: a second open in the same process is refused too. */
const heldHere = new Map<string, string>();

function readLock(path: string): LockInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
    return typeof info.pid === 'number' && typeof info.token === 'string' ? info : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether the holder recorded in a lock file is still running (a lock of a dead pid is stale). */
function holderAlive(dataDir: string, info: LockInfo): boolean {
  if (info.hostname !== hostname()) return true; // cannot tell for another machine: assume it runs
  if (info.pid === process.pid) return heldHere.get(dataDir) === info.token; // an earlier life of this pid (containers reuse pid 1)
  return alive(info.pid);
}

/** The live holder of a folder's lock, if any. */
export function currentHolder(dataDir: string): LockInfo | undefined {
  const info = readLock(join(dataDir, LOCK_FILE));
  return info && holderAlive(dataDir, info) ? info : undefined;
}

export interface HeldLock {
  readonly info: LockInfo;
  /** Records where the database is shared, for other processes to join. */
  advertise(socket: { host: string; port: number }): void;
  release(): void;
}

/**
 * Takes the folder's lock, or throws StoreLockedError naming the live holder. A lock left by a dead
 * process (SIGKILL, crash, a watch restart that had to force-kill) is taken over.
 */
export function acquireLock(dataDir: string): HeldLock {
  const path = join(dataDir, LOCK_FILE);
  const info: LockInfo = { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString(), token: randomUUID() };
  const write = (target: string, value: LockInfo) => writeFileSync(target, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  const temp = join(dataDir, `.lock.${process.pid}.${info.token}`);
  write(temp, info);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        // link() fails if the lock exists: taking it is atomic, even between processes.
        linkSync(temp, path);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw error;
      }
      const existing = readLock(path);
      if (existing && holderAlive(dataDir, existing)) throw new StoreLockedError(dataDir, existing);
      // Stale (or unreadable): move it aside atomically, so of several processes taking it over only one
      // removes it; then check it was the stale one and not a lock that someone just took.
      const aside = join(dataDir, `.lock.stale.${info.token}`);
      try {
        renameSync(path, aside);
      } catch {
        continue;
      }
      const moved = readLock(aside);
      if (moved && existing && moved.token !== existing.token && holderAlive(dataDir, moved)) {
        try {
          linkSync(aside, path);
        } catch {
          // someone else took it meanwhile; they hold it now
        }
        unlinkSync(aside);
        throw new StoreLockedError(dataDir, moved);
      }
      unlinkSync(aside);
    }
  } finally {
    try {
      unlinkSync(temp);
    } catch {
      // already gone
    }
  }
  heldHere.set(dataDir, info.token);
  let current = info;
  const releaseOnExit = () => release();
  function release() {
    process.off('exit', releaseOnExit);
    if (heldHere.get(dataDir) !== info.token) return;
    heldHere.delete(dataDir);
    if (readLock(path)?.token !== info.token) return;
    try {
      unlinkSync(path);
    } catch {
      // already gone
    }
  }
  // A process that exits without closing the store (an uncaught error) still frees the folder.
  process.on('exit', releaseOnExit);
  return {
    get info() {
      return current;
    },
    advertise(socket) {
      current = { ...current, socket };
      const next = join(dataDir, `.lock.${process.pid}.${info.token}.next`);
      write(next, current);
      renameSync(next, path);
    },
    release,
  };
}
