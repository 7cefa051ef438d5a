// `pnpm billing …` at the repository root: the operator CLI, run in the server package (where
// DATA_DIR and .env resolve, as for `pnpm dev`). Not through a nested `pnpm run`: that would reset
// INIT_CWD (the folder the user typed the command in, where relative paths resolve), add its own
// output and turn every failure into exit 1. Contracts load from source, so no build is needed.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const serverDir = fileURLToPath(new URL('..', import.meta.url));
const child = spawn(process.execPath, ['--conditions=@verifieddit/source', '--import', 'tsx', 'src/cli.ts', ...process.argv.slice(2)], {
  cwd: serverDir,
  stdio: 'inherit',
  env: { ...process.env, INIT_CWD: process.env.INIT_CWD || process.cwd() },
});
// Ctrl-C reaches the child from the terminal; this process only waits for it.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => {});
child.on('exit', (code, signal) => {
  if (signal) process.kill(process.pid, signal);
  else process.exit(code ?? 1);
});
