import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The server package's folder, where `src/main.ts` runs from under tsx. */
export const serverDir = fileURLToPath(new URL('../..', import.meta.url));

/** A port nothing listens on right now (for child processes that must be told theirs). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  /** SIGTERM, then waits for the exit. */
  stop(): Promise<void>;
}

/**
 * A real server process (not an in-process app): `command args` with a clean environment (PATH and
 * `env` only) and its own port, resolved once `readyPath` answers 200.
 */
export async function startServerProcess(options: {
  command?: string;
  args?: string[];
  cwd?: string;
  env: Record<string, string>;
  readyPath?: string;
  timeoutMs?: number;
}): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(options.command ?? process.execPath, options.args ?? ['--import', 'tsx', 'src/main.ts'], {
    cwd: options.cwd ?? serverDir,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'test', LOG_LEVEL: 'warn', PORT: String(port), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (d) => (output += d));
  child.stderr?.on('data', (d) => (output += d));
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (options.timeoutMs ?? 90_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server process exited (${child.exitCode}): ${output}`);
    const ready = await fetch(`${url}${options.readyPath ?? '/ready'}`).then((r) => r.status === 200, () => false);
    if (ready) return { url, child, output: () => output, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`server process did not become ready: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Runs a command to its end; resolves with its exit code and output (never rejects on a non-zero exit). */
export async function runProcess(
  command: string,
  args: string[],
  options: { cwd: string; env: Record<string, string>; timeoutMs?: number },
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(command, args, { cwd: options.cwd, env: { PATH: process.env.PATH ?? '', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  clearTimeout(timer);
  return { code, stdout, stderr };
}
