// `pnpm bench`: every row of the speed table (issue 11), each a ratio against the bare bundle
// (bench/baseline.ts) measured in the same run, interleaved round by round; medians of the rounds.
// Stores: PGlite always, PostgreSQL too when BENCH_DATABASE_URL is set.
//   BENCH_ROUNDS (3), BENCH_SECONDS per measurement (3), BENCH_ONLY=throughput|cold-start|rss,
//   BENCH_STORES=pglite,postgres, BENCH_PATHS=webhook,… (throughput rows whose path starts so), BENCH_STRICT=1 (exit 1 when a target is missed).
import { mkdtempSync } from 'node:fs';
import { join } from 'node:path';
import { pgliteFloor } from './pglite-floor.js';
import { firstSuccess, load, median, sleep, startProcess, table, type Attempt, type LoadResult, type ServerProcess } from './lib.js';
import { bunBinary, buildBaseline, call, fixtures, prepareStore, serverBundle, WEBHOOK_SECRET, type BenchStore, type Fixtures, type StoreKind } from './setup.js';

const ROUNDS = Math.max(3, Number(process.env.BENCH_ROUNDS ?? 3));
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const CONNECTIONS = 50;
const only = process.env.BENCH_ONLY;
const stores: StoreKind[] = (process.env.BENCH_STORES?.split(',') as StoreKind[] | undefined) ?? ['pglite', ...(process.env.BENCH_DATABASE_URL ? (['postgres'] as const) : [])];
if (stores.includes('postgres') && !process.env.BENCH_DATABASE_URL) throw new Error('BENCH_STORES names postgres but BENCH_DATABASE_URL is not set');

interface Verdict {
  path: string;
  store: StoreKind;
  baseline: string;
  ours: string;
  ratio: number;
  /** ours / baseline p99, for the throughput rows. */
  p99Ratio?: number;
  target: string;
  pass: boolean;
  moonshot?: boolean;
  /** A measured reference with no target (the PGlite floor). */
  floor?: boolean;
}
const verdicts: Verdict[] = [];
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

const fx = await fixtures();
const baselineBundle = await buildBaseline(join(fx.scratch, 'baseline'));
const health: Attempt = { method: 'GET', path: '/health' };
const startOurs = (store: BenchStore, runtime = process.execPath, extra: Record<string, string> = {}) =>
  startProcess(runtime, [serverBundle], { ...fx.serverEnv, ...store.env, ...extra }, fx.scratch);
const startBase = (runtime = process.execPath, env: Record<string, string> = {}) =>
  startProcess(runtime, [baselineBundle], { STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET, ...env }, fx.scratch);

console.log(`verifieddit bench: ${ROUNDS} interleaved rounds, ${SECONDS} s per measurement, ${CONNECTIONS} connections (autocannon), stores: ${stores.join(', ')}`);
console.log(`node ${process.version}; bun ${await bunVersion()}; ${new Date().toISOString()}\n`);

try {
  for (const kind of stores) {
    const store = await prepareStore(kind, fx.scratch);
    try {
      if (!only || only === 'throughput') await throughput(store, fx);
      if (!only || only === 'cold-start') await coldStarts(store, fx);
      if (!only || only === 'rss') await idleRss(store, fx);
    } finally {
      await store.dispose();
    }
  }
} finally {
  await fx.close();
}

console.log('\n=== summary: ratios against the bare Express + tRPC bundle measured in the same run ===\n');
console.log(
  table(
    verdicts.map((v) => ({
      path: v.path,
      store: v.store,
      baseline: v.baseline,
      verifieddit: v.ours,
      ratio: `${v.ratio.toFixed(2)}×`,
      'p99 ratio': v.p99Ratio === undefined ? '' : `${v.p99Ratio.toFixed(2)}×`,
      target: v.target,
      result: v.floor ? 'floor' : v.moonshot ? (v.pass ? 'moonshot met' : 'moonshot not met') : v.pass ? 'PASS' : 'MISS',
    })),
  ),
);
const targets = verdicts.filter((v) => !v.moonshot && !v.floor);
const missed = targets.filter((v) => !v.pass);
console.log(`\ntargets met: ${targets.filter((v) => v.pass).length}/${targets.length}${missed.length ? `; missed: ${missed.map((v) => `${v.path} (${v.store})`).join('; ')}` : ''}`);
if (process.env.BENCH_STRICT === '1' && missed.length) process.exitCode = 1;

// ---------------------------------------------------------------------------------------------

async function bunVersion(): Promise<string> {
  const { execFileSync } = await import('node:child_process');
  try {
    return execFileSync(bunBinary, ['--version'], { encoding: 'utf8' }).trim();
  } catch {
    return 'unavailable';
  }
}

/** Interleaves baseline and ours for ROUNDS rounds (alternating who goes first); medians. */
async function rounds(measure: { base: () => Promise<LoadResult>; ours: () => Promise<LoadResult> }) {
  const base: LoadResult[] = [];
  const ours: LoadResult[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      base.push(await measure.base());
      ours.push(await measure.ours());
    } else {
      ours.push(await measure.ours());
      base.push(await measure.base());
    }
  }
  const summary = (list: LoadResult[]) => ({ rps: median(list.map((l) => l.rps)), p99: median(list.map((l) => l.p99)), bad: list.reduce((n, l) => n + l.bad, 0), ok: list.reduce((n, l) => n + l.ok, 0) });
  return { base: summary(base), ours: summary(ours), rawBase: base, rawOurs: ours };
}

async function throughput(store: BenchStore, fx: Fixtures): Promise<void> {
  const ours = await startOurs(store);
  let base: ServerProcess | undefined;
  try {
    // Starting also seeds: the first delivery subscribes the bench user through the real webhook path.
    await firstSuccess(ours, () => fx.webhook('seed', fx.userId));
    const status = ((await call(ours.url, fx.status)) as { result: { data: unknown } }).result.data;
    const check = ((await call(ours.url, fx.check)) as { result: { data: unknown } }).result.data;
    base = await startBase(process.execPath, { BENCH_STATUS_JSON: JSON.stringify(status), BENCH_CHECK_JSON: JSON.stringify(check) });
    await firstSuccess(base, () => health);
    const b = base;

    const items: { path: string; attempt: (side: string) => Attempt | { setup: () => Attempt }; target: { ratio: number; p99?: number }; moonshot?: boolean }[] = [
      { path: 'billing.subscriptionStatus (Clerk RS256)', attempt: () => fx.status, target: store.kind === 'postgres' ? { ratio: 0.8, p99: 2 } : { ratio: 0.5 } },
      { path: 'webhook ack (new event, applied)', attempt: (side) => ({ setup: () => fx.webhook(side) }), target: store.kind === 'postgres' ? { ratio: 0.25, p99: 5 } : { ratio: 0.15 } },
      { path: 'aiDetect.check (cached, 3 KB)', attempt: () => fx.check, target: store.kind === 'postgres' ? { ratio: 0.6 } : { ratio: 0.4 } },
    ];
    const rows: Record<string, string>[] = [];
    let webhookAcks = 0;
    for (const item of items.filter((i) => !process.env.BENCH_PATHS || process.env.BENCH_PATHS.split(',').some((p) => i.path.startsWith(p)))) {
      let round = 0;
      const run = async (proc: ServerProcess, side: string, seconds = SECONDS) => load(proc.url, item.attempt(`${store.kind}_${side}_${round++}`), seconds, CONNECTIONS);
      await run(b, 'base_warm', 1);
      const warm = await run(ours, 'ours_warm', 1);
      const result = await rounds({ base: () => run(b, 'base'), ours: () => run(ours, 'ours') });
      if (item.path.startsWith('webhook')) webhookAcks = result.ours.ok + warm.ok;
      const ratio = result.ours.rps / result.base.rps;
      const p99Ratio = result.ours.p99 / Math.max(result.base.p99, 1);
      const pass = ratio >= item.target.ratio && (item.target.p99 === undefined || p99Ratio <= item.target.p99);
      verdicts.push({
        path: item.path,
        store: store.kind,
        baseline: `${fmt(result.base.rps)} req/s, p99 ${result.base.p99} ms`,
        ours: `${fmt(result.ours.rps)} req/s, p99 ${result.ours.p99} ms`,
        ratio,
        p99Ratio,
        target: `≥ ${item.target.ratio}×${item.target.p99 ? `, p99 ≤ ${item.target.p99}×` : ''}`,
        pass,
      });
      if (item.path.startsWith('billing.subscriptionStatus'))
        verdicts.push({ path: `${item.path}, moonshot`, store: store.kind, baseline: '', ours: '', ratio, target: '≥ 1.0×', pass: ratio >= 1, moonshot: true });
      rows.push({
        path: item.path,
        'baseline req/s': fmt(result.base.rps),
        'ours req/s': fmt(result.ours.rps),
        ratio: `${ratio.toFixed(2)}×`,
        'p99 base/ours ms': `${result.base.p99} / ${result.ours.p99}`,
        'rounds ours req/s': result.rawOurs.map((l) => fmt(l.rps)).join(' '),
        'non-2xx base/ours': `${result.base.bad} / ${result.ours.bad}`,
      });
    }
    console.log(`\n--- throughput, ${store.kind} (node, ${CONNECTIONS} connections, median of ${ROUNDS} × ${SECONDS} s) ---\n`);
    console.log(table(rows));
    await ours.stop();
    // Exactly once: every event we acknowledged is stored once, processed, on its first attempt.
    const s = await store.open();
    try {
      const [row] = await s.query<{ total: number; once: number }>(
        `SELECT count(*)::int AS total, count(*) FILTER (WHERE status = 'processed' AND attempts = 1)::int AS once
           FROM webhook_events WHERE id LIKE 'evt_bench_${store.kind}_ours%'`,
      );
      console.log(`\nwebhook events acknowledged 2xx: ${webhookAcks}; stored: ${row!.total}; processed exactly once on the first attempt: ${row!.once}`);
      if (row!.once !== row!.total || row!.total < webhookAcks) throw new Error('webhook events were not all processed exactly once');
    } finally {
      await s.close();
    }
  } finally {
    await ours.stop();
    await base?.stop();
  }
}

/** ms to the first /health 200 and to the first webhook 2xx, polled together from spawn. */
async function startTimes(start: () => Promise<ServerProcess>, tag: string): Promise<{ health: number; webhook: number }> {
  const proc = await start();
  try {
    const [h, w] = await Promise.all([firstSuccess(proc, () => health), firstSuccess(proc, () => fx.webhook(tag))]);
    return { health: h, webhook: w };
  } finally {
    await proc.stop();
  }
}

async function coldStarts(store: BenchStore, fx: Fixtures): Promise<void> {
  const variants = store.kind === 'pglite' ? (['existing', 'fresh'] as const) : (['existing'] as const);
  const rows: Record<string, string>[] = [];
  // The floor's script is written once, beside the scratch files.
  const floorRun = store.pgliteDir ? pgliteFloor(fx.scratch, store.pgliteDir) : undefined;
  for (const [runtime, bin] of [['node', process.execPath], ['bun', bunBinary]] as const) {
    for (const variant of variants) {
      const base: { health: number; webhook: number }[] = [];
      const ours: { health: number; webhook: number }[] = [];
      const oursOnce = (r: number) =>
        startTimes(
          () => startOurs(store, bin, variant === 'fresh' ? { DATA_DIR: mkdtempSync(join(fx.scratch, 'fresh-')) } : {}),
          `${store.kind}_cold_${runtime}_${variant}_${r}`,
        );
      const baseOnce = (r: number) => startTimes(() => startBase(bin), `${store.kind}_coldbase_${runtime}_${variant}_${r}`);
      // PGlite alone on the same folder (existing only: a fresh folder is seeded by the server itself).
      const floor: number[] = [];
      const floorOnce = floorRun && variant === 'existing' ? () => floorRun(bin) : undefined;
      // One unmeasured start of each warms the OS file cache.
      await baseOnce(-1);
      await oursOnce(-1);
      await floorOnce?.();
      for (let r = 0; r < ROUNDS; r++) {
        if (r % 2 === 0) {
          base.push(await baseOnce(r));
          ours.push(await oursOnce(r));
        } else {
          ours.push(await oursOnce(r));
          base.push(await baseOnce(r));
        }
        if (floorOnce) floor.push(await floorOnce());
      }
      if (floor.length) {
        const b = median(base.map((x) => x.webhook));
        const f = median(floor);
        const label = `PGlite alone → first write committed (${runtime}, existing data dir; no server)`;
        verdicts.push({ path: label, store: store.kind, baseline: `${fmt(b)} ms`, ours: `${fmt(f)} ms`, ratio: f / b, target: 'none (floor)', pass: true, floor: true });
        rows.push({ path: label, 'baseline ms': fmt(b), 'ours ms': fmt(f), ratio: `${(f / b).toFixed(2)}×`, 'rounds ours ms': floor.map((x) => fmt(x)).join(' ') });
      }
      const limit = store.kind === 'postgres' ? 1.5 : variant === 'existing' ? 3 : 6;
      for (const what of ['health', 'webhook'] as const) {
        const b = median(base.map((x) => x[what]));
        const o = median(ours.map((x) => x[what]));
        const label = `cold start → first ${what === 'health' ? '/health 200' : 'webhook 2xx'} (${runtime}${store.kind === 'pglite' ? `, ${variant} data dir` : ''})`;
        verdicts.push({ path: label, store: store.kind, baseline: `${fmt(b)} ms`, ours: `${fmt(o)} ms`, ratio: o / b, target: `≤ ${limit}×`, pass: o / b <= limit });
        rows.push({ path: label, 'baseline ms': fmt(b), 'ours ms': fmt(o), ratio: `${(o / b).toFixed(2)}×`, 'rounds ours ms': ours.map((x) => fmt(x[what])).join(' ') });
      }
    }
  }
  console.log(`\n--- cold start, ${store.kind} (median of ${ROUNDS}, interleaved) ---\n`);
  console.log(table(rows));
}

async function idleRss(store: BenchStore, fx: Fixtures): Promise<void> {
  const base: number[] = [];
  const ours: number[] = [];
  const settle = async (proc: ServerProcess, tag: string) => {
    // Every hot path once, so what loads lazily is loaded, then idle.
    await firstSuccess(proc, () => fx.webhook(tag));
    await call(proc.url, fx.status).catch(() => undefined);
    await call(proc.url, fx.check).catch(() => undefined);
    await sleep(1_000);
    const rss = proc.rssMb();
    await proc.stop();
    return rss;
  };
  for (let r = 0; r < ROUNDS; r++) {
    base.push(await settle(await startBase(), `${store.kind}_rssbase_${r}`));
    ours.push(await settle(await startOurs(store), `${store.kind}_rss_${r}`));
  }
  const b = median(base);
  const o = median(ours);
  const limit = store.kind === 'postgres' ? 2 : 4;
  verdicts.push({ path: 'idle RSS (node, after one request of each kind)', store: store.kind, baseline: `${fmt(b)} MB`, ours: `${fmt(o)} MB`, ratio: o / b, target: `≤ ${limit}×`, pass: o / b <= limit });
  console.log(`\n--- idle RSS, ${store.kind}: baseline ${fmt(b)} MB, ours ${fmt(o)} MB (${(o / b).toFixed(2)}×); rounds ours ${ours.map((x) => fmt(x)).join(' ')} MB ---`);
}
