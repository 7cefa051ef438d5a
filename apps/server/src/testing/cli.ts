import { runCli } from '../cli/index.js';
import type { Config } from '../config.js';

/** One operator command run in-process: its exit code and what it printed (one line per call). */
interface CliResult {
  code: number;
  out: string;
  err: string;
}

/** Runs `pnpm billing <argv…>` in-process with `config`, keeping its stdout and stderr. */
export async function runCliCaptured(argv: string[], config: Config, options: { cwd?: string } = {}): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runCli(argv, config, { out: (text) => out.push(text), err: (text) => err.push(text), ...options });
  return { code, out: out.join('\n'), err: err.join('\n') };
}
