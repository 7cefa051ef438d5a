// `pnpm bench --profile <item> [--store postgres] [--top N]`: runs the server bundle under
// `node --cpu-prof` while driving one bench item, then prints the top functions by self time with
// names and places mapped back to the TypeScript (or dependency) source through the source maps of dist/index.js and its chunks,
// and the self time per package. Items: status, webhook, detect, cold-start.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { firstSuccess, load, startProcess, table } from './lib.js';
import { call, fixtures, prepareStore, serverBundle, type StoreKind } from './setup.js';

const args = process.argv.slice(2);
const item = args[0];
const flag = (name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);
const kind = (flag('--store') ?? 'pglite') as StoreKind;
const top = Number(flag('--top') ?? 30);
const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const ITEMS = ['status', 'webhook', 'detect', 'cold-start'];
if (!item || !ITEMS.includes(item)) {
  console.error(`usage: pnpm bench --profile <${ITEMS.join('|')}> [--store pglite|postgres] [--top N]`);
  process.exit(2);
}
if (kind === 'postgres' && !process.env.BENCH_DATABASE_URL) throw new Error('--store postgres needs BENCH_DATABASE_URL');

const fx = await fixtures();
const store = await prepareStore(kind, fx.scratch);
const profDir = join(fx.scratch, 'cpu-profile');
try {
  const proc = await startProcess(
    process.execPath,
    ['--cpu-prof', `--cpu-prof-dir=${profDir}`, '--cpu-prof-interval=250', serverBundle],
    { ...fx.serverEnv, ...store.env },
    fx.scratch,
  );
  try {
    if (item === 'cold-start') {
      const [h, w] = await Promise.all([firstSuccess(proc, () => ({ method: 'GET', path: '/health' })), firstSuccess(proc, () => fx.webhook('profile_cold'))]);
      console.log(`cold start (profiled, slower than unprofiled): /health ${h.toFixed(0)} ms, webhook ${w.toFixed(0)} ms`);
    } else {
      await firstSuccess(proc, () => fx.webhook('seed', fx.userId));
      await call(proc.url, fx.check);
      const attempt = item === 'status' ? fx.status : item === 'detect' ? fx.check : { setup: () => fx.webhook('profile') };
      const result = await load(proc.url, attempt, seconds, 50);
      console.log(`${item} under profile (${kind}): ${result.rps.toFixed(0)} req/s, p99 ${result.p99} ms, non-2xx ${result.bad}`);
    }
  } finally {
    await proc.stop();
  }
  const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  if (!file) throw new Error('no .cpuprofile was written (did the server exit cleanly?)');
  analyse(JSON.parse(readFileSync(join(profDir, file), 'utf8')) as CpuProfile);
} finally {
  await store.dispose();
  await fx.close();
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

function analyse(profile: CpuProfile): void {
  // The bundle is split into chunks beside index.js, each with its own source map.
  const bundleDir = `file://${dirname(serverBundle)}/`;
  const maps = new Map<string, SourceMap | undefined>();
  const mapOf = (url: string) => {
    if (!maps.has(url)) {
      const file = `${fileURLToPath(url)}.map`;
      maps.set(url, existsSync(file) ? new SourceMap(JSON.parse(readFileSync(file, 'utf8'))) : undefined);
    }
    return maps.get(url);
  };
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, i) => selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));

  const byFunction = new Map<string, { name: string; where: string; area: string; us: number }>();
  const byArea = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const us = selfUs.get(node.id) ?? 0;
    const { functionName, url, lineNumber, columnNumber } = node.callFrame;
    if (!us || functionName === '(idle)') continue;
    total += us;
    let where = url ? `${shorten(url)}:${lineNumber + 1}` : '';
    let source = url;
    const map = url.startsWith(bundleDir) && lineNumber >= 0 ? mapOf(url) : undefined;
    if (map) {
      const entry = map.findEntry(lineNumber, columnNumber) as { originalSource?: string; originalLine?: number };
      if (entry.originalSource) {
        source = entry.originalSource;
        where = `${shorten(entry.originalSource)}:${(entry.originalLine ?? 0) + 1}`;
      }
    }
    const name = functionName || '(anonymous)';
    const area = areaOf(name, source);
    const key = `${name} ${where}`;
    const entry = byFunction.get(key) ?? { name, where, area, us: 0 };
    entry.us += us;
    byFunction.set(key, entry);
    byArea.set(area, (byArea.get(area) ?? 0) + us);
  }
  const pct = (us: number) => `${((100 * us) / total).toFixed(1)} %`;
  console.log(`\ntop ${top} functions by self time (${(total / 1000).toFixed(0)} ms of CPU, idle excluded)\n`);
  console.log(
    table(
      [...byFunction.values()]
        .sort((a, b) => b.us - a.us)
        .slice(0, top)
        .map((f) => ({ 'self ms': (f.us / 1000).toFixed(1), self: pct(f.us), function: f.name.slice(0, 48), where: f.where.slice(0, 90) })),
    ),
  );
  console.log('\nself time by package\n');
  console.log(
    table(
      [...byArea.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, 20)
        .map(([area, us]) => ({ 'self ms': (us / 1000).toFixed(1), self: pct(us), package: area })),
    ),
  );
}

/** `drizzle-orm` from `…/.pnpm/drizzle-orm@0.45.4_…/node_modules/src/table.ts` (or a plain node_modules path). */
function packageOf(path: string): string | undefined {
  const pnpm = /\.pnpm\/([^/]+)\//.exec(path)?.[1];
  if (pnpm) return pnpm.startsWith('@') ? pnpm.slice(0, pnpm.indexOf('@', 1)).replace('+', '/') : pnpm.slice(0, pnpm.indexOf('@'));
  const nm = path.lastIndexOf('node_modules/');
  if (nm < 0) return undefined;
  const parts = path.slice(nm + 'node_modules/'.length).split('/');
  return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

function shorten(path: string): string {
  const p = path.startsWith('file://') ? fileURLToPath(path) : path;
  const pkg = packageOf(p);
  if (pkg) return `${pkg}: ${p.slice(p.lastIndexOf('node_modules/') + 'node_modules/'.length).replace(`${pkg}/`, '')}`;
  if (p.startsWith('../src/')) return p.slice(3);
  const contracts = p.indexOf('packages/contracts/');
  return contracts >= 0 ? p.slice(contracts) : p;
}

function areaOf(name: string, source: string): string {
  // Declared inside: this runs from the top-level await above, before later module constants exist.
  if (['(garbage collector)', '(program)', '(root)'].includes(name)) return name;
  if (source.startsWith('node:') || (!source.includes('/') && source !== '')) return 'node (built-in)';
  if (source.startsWith('wasm://') || source === '') return 'wasm / native';
  const p = source.startsWith('file://') ? fileURLToPath(source) : source;
  const pkg = packageOf(p);
  if (pkg) return pkg;
  if (p.startsWith('../src/')) {
    const parts = p.slice(3).split('/');
    return `ours: ${parts.length > 2 ? `${parts[0]}/${parts[1]}` : parts[0]}`;
  }
  return p.includes('packages/contracts') ? 'ours: contracts' : p;
}
