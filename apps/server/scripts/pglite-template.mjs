// Build step: a PGlite data folder that is already initialised and migrated, shipped beside the
// bundle (dist/pglite-template/pglite). A first start on an empty DATA_DIR copies it instead of
// running initdb and every migration (seconds of WebAssembly), see seedFromTemplate in store.ts.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const template = fileURLToPath(new URL('../dist/pglite-template', import.meta.url));
rmSync(template, { recursive: true, force: true });
const result = spawnSync(process.execPath, [fileURLToPath(new URL('../dist/cli.js', import.meta.url)), 'migrate'], {
  // Outside the workspace, so no .env is read; DATABASE_URL empty, so it is PGlite whatever the shell says.
  cwd: tmpdir(),
  env: { PATH: process.env.PATH ?? '', NODE_ENV: 'development', DATABASE_URL: '', DATA_DIR: template, LOG_LEVEL: 'warn' },
  stdio: ['ignore', 'ignore', 'inherit'],
});
if (result.status !== 0) {
  rmSync(template, { recursive: true, force: true });
  throw new Error(`could not build the PGlite template (migrate exited ${result.status})`);
}
