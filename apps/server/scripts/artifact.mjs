#!/usr/bin/env node
// `pnpm artifact [--out DIR] [--no-build]`: the production artifact. A folder holding everything the
// server needs at run time and nothing else, started with `node DIR/index.js` or `bun DIR/index.js`:
//   index.js, *-<hash>.js           the bundled server (every dependency inlined; migrations embedded),
//                                   split so a cold start compiles only what answers /health first
//   package.json                    "type": "module", so both runtimes load index.js as ESM
//   node_modules/@electric-sql/pglite  the one package the bundle cannot inline: PGlite loads its
//                                   WebAssembly and data files from beside its own module
// `node DIR/index.js migrate` applies the migrations from the artifact alone.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const serverDir = fileURLToPath(new URL('..', import.meta.url));
const repoRoot = resolve(serverDir, '../..');
const MARKER = 'verifieddit-server-artifact';

function parseArgs(argv) {
  const options = { out: undefined, build: true };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--out') options.out = argv[++i];
    else if (arg.startsWith('--out=')) options.out = arg.slice('--out='.length);
    else if (arg === '--no-build') options.build = false;
    else if (arg === '--') continue;
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write('usage: pnpm artifact [--out DIR] [--no-build]\n  --out DIR    where to write it (default .output/ at the repository root)\n  --no-build   package the existing apps/server/dist (CI builds first)\n');
      process.exit(0);
    } else fail(`unknown argument ${JSON.stringify(arg)} (usage: pnpm artifact [--out DIR] [--no-build])`);
  }
  if (options.out === '') fail('--out needs a folder');
  options.out ??= join(repoRoot, '.output');
  return options;
}

function fail(message) {
  process.stderr.write(`artifact: ${message}\n`);
  process.exit(1);
}

function sizeOf(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((sum, name) => sum + sizeOf(join(path, name)), 0);
}

const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

// PGlite files the server never loads: source maps, type declarations, the CommonJS build (the bundle
// imports the ESM one), and the optional extensions and adapters (pgcrypto, vector, contrib,
// node-postgres, worker) we do not enable.
function pgliteFileNeeded(path) {
  const rel = path.split(sep).join('/');
  if (/\.(map|d\.ts|d\.cts|cjs|md)$/.test(rel)) return false;
  if (/\.tar\.gz$/.test(rel)) return false;
  if (/^dist\/(contrib|vector|node-postgres|worker|live|pg_ivm)(\/|$)/.test(rel)) return false;
  return true;
}

const options = parseArgs(process.argv.slice(2));
// Relative to where the user ran `pnpm artifact` (pnpm runs scripts from the package root).
const out = resolve(process.env.INIT_CWD ?? process.cwd(), options.out);

if (options.build) {
  const built = spawnSync('pnpm', ['exec', 'turbo', 'run', 'build', '--filter=@verifieddit/server', '--output-logs=errors-only'], {
    cwd: repoRoot,
    stdio: 'inherit',
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
  });
  if (built.status !== 0) fail('the build failed');
}
const bundle = join(serverDir, 'dist/index.js');
if (!existsSync(bundle)) fail(`${relative(repoRoot, bundle)} is missing: run pnpm build (or drop --no-build)`);

// Never wipe a folder this script did not write.
if (existsSync(out) && readdirSync(out).length) {
  const marker = join(out, 'package.json');
  const ours = existsSync(marker) && JSON.parse(readFileSync(marker, 'utf8')).name === MARKER;
  if (!ours) fail(`${out} exists, is not empty and is not an artifact; choose another --out`);
  rmSync(out, { recursive: true, force: true });
}
mkdirSync(out, { recursive: true });

// index.js and the chunks it imports, found by following its relative imports; never the source maps
// nor cli.js (index.js runs the same commands).
const bundleDir = dirname(bundle);
const shipped = new Set(['index.js']);
for (const file of shipped) {
  cpSync(join(bundleDir, file), join(out, file));
  for (const [, chunk] of readFileSync(join(bundleDir, file), 'utf8').matchAll(/(?:from|import)\s*\(?\s*["']\.\/([\w.-]+\.js)["']/g)) shipped.add(chunk);
}
const { version } = JSON.parse(readFileSync(join(serverDir, 'package.json'), 'utf8'));
writeFileSync(
  join(out, 'package.json'),
  `${JSON.stringify({ name: MARKER, version, private: true, type: 'module', main: 'index.js', scripts: { start: 'node index.js', migrate: 'node index.js migrate' } }, null, 2)}\n`,
);

const pgliteEntry = createRequire(join(serverDir, 'package.json')).resolve('@electric-sql/pglite');
let pgliteDir = dirname(pgliteEntry);
while (!existsSync(join(pgliteDir, 'package.json'))) pgliteDir = dirname(pgliteDir);
pgliteDir = realpathSync(pgliteDir);
const pgliteOut = join(out, 'node_modules/@electric-sql/pglite');
cpSync(pgliteDir, pgliteOut, {
  recursive: true,
  dereference: true,
  filter: (source) => source === pgliteDir || pgliteFileNeeded(relative(pgliteDir, source)),
});

const total = sizeOf(out);
process.stdout.write(
  `artifact: ${out} ${mb(total)} ` +
    `(server ${mb(total - sizeOf(join(out, 'node_modules')))}, pglite ${mb(sizeOf(pgliteOut))})\n` +
    `  start:   node ${join(options.out, 'index.js')}   (or bun)\n  migrate: node ${join(options.out, 'index.js')} migrate\n`,
);
