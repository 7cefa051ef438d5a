// Cold start to the first /health 200, median of 5, for the server bundle and a bare Express bundle,
// on Node and on Bun, measured in the same run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'tsup';
import { coldStart, median, table } from './lib.mjs';

const here = fileURLToPath(new URL('.', import.meta.url));
const serverBundle = join(here, '../dist/index.js');
const helloDir = mkdtempSync(join(tmpdir(), 'vd-hello-'));
await build({
  entry: { hello: join(here, 'hello.ts') }, outDir: helloDir, format: ['esm'], platform: 'node', target: 'node20',
  noExternal: [/.*/], silent: true, config: false,
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
});
const helloBundle = join(helloDir, 'hello.js');
const bun = join(here, '../node_modules/.bin/bun');
const dataDir = mkdtempSync(join(tmpdir(), 'vd-bench-data-'));
const RUNS = 5;

// One warm-up start creates and migrates the PGlite directory, as a restarted replica would find it.
await coldStart(process.execPath, serverBundle, { DATA_DIR: dataDir, LOG_LEVEL: 'warn' });

const rows = [];
for (const [runtime, bin] of [['node', process.execPath], ['bun', bun]]) {
  const hello = [], server = [];
  for (let i = 0; i < RUNS; i++) {
    hello.push(await coldStart(bin, helloBundle));
    server.push(await coldStart(bin, serverBundle, { DATA_DIR: dataDir, LOG_LEVEL: 'warn' }));
  }
  const h = median(hello), s = median(server);
  rows.push({ runtime, 'bare express (ms)': h.toFixed(0), 'verifieddit server (ms)': s.toFixed(0), 'ratio server/bare': (s / h).toFixed(2) });
}
console.log(`\ncold start to first GET /health 200 (median of ${RUNS}; server on an existing PGlite data dir)\n`);
table(rows);
rmSync(helloDir, { recursive: true, force: true });
rmSync(dataDir, { recursive: true, force: true });
