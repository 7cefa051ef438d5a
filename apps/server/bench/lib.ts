// Helpers shared by the benchmarks: server processes, load, cold starts, medians, tables.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import { freePort } from '../src/testing/processes.js';

export const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface ServerProcess {
  child: ChildProcess;
  url: string;
  port: number;
  /** Milliseconds since spawn. */
  since(): number;
  stderr(): string;
  /** SIGTERM (graceful shutdown), SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  kill(): Promise<void>;
  rssMb(): number;
}

export async function startProcess(runtime: string, args: string[], env: Record<string, string>, cwd: string): Promise<ServerProcess> {
  const port = await freePort();
  const started = performance.now();
  const child = spawn(runtime, args, { cwd, env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env, PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (graceMs = 10_000) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  };
  return {
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    since: () => performance.now() - started,
    stderr: () => stderr,
    stop,
    kill: () => stop(0),
    rssMb() {
      const line = readFileSync(`/proc/${child.pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
      return Number(/(\d+)/.exec(line ?? '')?.[1] ?? NaN) / 1024;
    },
  };
}

export interface Attempt {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

/** Polls `attempt()` until it answers 2xx; resolves with ms since the process was spawned. */
export async function firstSuccess(proc: ServerProcess, attempt: () => Attempt, timeoutMs = 120_000): Promise<number> {
  let last = 'no answer';
  for (;;) {
    if (proc.child.exitCode !== null) throw new Error(`server exited (${proc.child.exitCode}): ${proc.stderr()}`);
    const a = attempt();
    try {
      const res = await fetch(`${proc.url}${a.path}`, { method: a.method, ...(a.headers ? { headers: a.headers } : {}), ...(a.body ? { body: a.body } : {}) });
      const text = await res.text();
      if (res.status >= 200 && res.status < 300) return proc.since();
      last = `${res.status} ${text.slice(0, 300)}`;
    } catch {
      // not listening yet
    }
    if (proc.since() > timeoutMs) throw new Error(`no 2xx from ${a.method} ${a.path} within ${timeoutMs} ms (last: ${last}): ${proc.stderr()}`);
    await sleep(2);
  }
}

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  ok: number;
  bad: number;
}

/** Closed-loop load with autocannon: `connections` keep-alive connections for `seconds`. */
export async function load(url: string, request: Attempt | { setup: () => Attempt }, seconds: number, connections = 50): Promise<LoadResult> {
  const requests =
    'setup' in request
      ? [{ setupRequest: (req: Record<string, unknown>) => {
            const a = request.setup();
            return { ...req, method: a.method, path: a.path, headers: a.headers ?? {}, body: a.body };
          } }]
      : [{ method: request.method, path: request.path, headers: request.headers ?? {}, ...(request.body ? { body: request.body } : {}) }];
  const result = await autocannon({ url, connections, duration: seconds, requests: requests as autocannon.Request[] });
  const ok = result['2xx'];
  return { rps: ok / result.duration, p50: result.latency.p50, p99: result.latency.p99, ok, bad: result.non2xx + result.errors + result.timeouts };
}

export function table(rows: Record<string, string | number>[]): string {
  if (!rows.length) return '';
  const keys = Object.keys(rows[0]!);
  const widths = keys.map((key) => Math.max(key.length, ...rows.map((row) => String(row[key] ?? '').length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(keys), line(widths.map((w) => '-'.repeat(w))), ...rows.map((row) => line(keys.map((k) => String(row[k] ?? ''))))].join('\n');
}
